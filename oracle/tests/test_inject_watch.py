"""Self-tests of the inject suite's close() log (suites.inject.session._Session and
the shim's watch): the error path's close() calls are logged in order and
not performed, so a buffer naming the worker's own fds harms nothing; a
descriptor the call opens is a leak and one closed behind the shim's back
is an error; a call that never reaches libc's recvmsg is an error.  Each
test runs the interpreter under test (sys.executable) with the shim
preloaded, so the real call is exercised."""

import json
import os
import subprocess
import sys
import unittest

from oracle.tests.helpers import LIB, REPO, SHIM


def run_snippet(code):
    env = dict(os.environ)
    env["PYTHONPATH"] = REPO
    env["LD_PRELOAD"] = SHIM
    p = subprocess.Popen([sys.executable, "-c", code], cwd=REPO, env=env,
                         stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    out, err = p.communicate(timeout=120)
    if p.returncode != 0:
        raise AssertionError("snippet exit %d: %s" % (p.returncode,
                                                      err.decode()))
    return json.loads(out.decode().splitlines()[-1])


PRELUDE = r'''
import ctypes, gc, json, os, struct, sys
from oracle.judge import canon
from oracle.suites import inject as s
from tools import fdtable
from oracle.suites.inject import reference, session
s.configure(lib=%(lib)r)
k01 = [f for f in os.listdir(s.CORPUS + "/cmsg_parse")
       if f.startswith("seed-k01-")][0]
s.run_case("corpus:cmsg_parse/" + k01 + "@record")
ses = s.get_session()

def truncated_rights(*fds):
    # cmsg_len claims one int more than the buffer holds: truncated (§2).
    data = struct.pack("<%%di" %% len(fds), *fds)
    return struct.pack("<Qii", 16 + len(data) + 4, 1, 1) + data
out = {}
'''

OWN_FDS = PRELUDE + r'''
mine = ses.sock.fileno()
fds = [0, 1, 2, mine, ses.peer.fileno(), -5, 0x7fffffff, 1, mine]
buf = truncated_rights(*fds)
out["ref"] = reference.reference_parse(buf)["close_on_error"]
table = fdtable.snapshot().table
res, leaks, lost, delivered = ses.observe(buf, "error", "recvmsg")
out["closed"] = res["fds_closed"]
out["exc"] = (res["exception"] or {}).get("type")
out["leaks"], out["lost"], out["delivered"] = leaks, lost, delivered
out["table_same"] = fdtable.snapshot().table == table
out["gc"] = gc.isenabled()
res2, _, _, _ = ses.observe(buf, "record", "recvmsg")
out["record_closed"] = res2["fds_closed"]
out["record_data"] = res2["data"]
print(json.dumps(out))
'''

MISBEHAVING = PRELUDE + r'''
buf = truncated_rights(40)
real = session.CALLS["recvmsg"]
null = []
def opens(sock, clen):
    null.append(os.open("/dev/null", os.O_RDONLY))
    return real(sock, clen)
victim = os.dup(0)
ses.retake()
libc = ctypes.CDLL(None, use_errno=True)
def closes_behind(sock, clen):
    libc.syscall(3, victim)          # SYS_close on x86-64: not close()
    return real(sock, clen)
def never_receives(sock, clen):
    return (sock.recv(1), [], 0, None)
for name, fn in (("opens", opens), ("closes_behind", closes_behind),
                 ("never_receives", never_receives)):
    session.CALLS["recvmsg"] = fn
    res, leaks, lost, delivered = ses.observe(buf, "error",
                                              "recvmsg")
    out[name] = {"leaks": leaks, "lost": lost, "delivered": delivered}
session.CALLS["recvmsg"] = real
out["null"] = null[0]
out["victim"] = victim
res, leaks, lost, delivered = ses.observe(buf, "error", "recvmsg")
out["after"] = {"leaks": leaks, "lost": lost, "delivered": delivered,
                "closed": res["fds_closed"]}
print(json.dumps(out))
'''


class CloseLog(unittest.TestCase):

    def test_error_path_closes_are_logged_in_order_and_not_performed(self):
        got = run_snippet(OWN_FDS % {"lib": LIB})
        # Every slot, in order, repeats and invalid ints included (§4).
        self.assertEqual(got["closed"], got["ref"])
        self.assertEqual(len(got["closed"]), 9, got)
        self.assertEqual(got["exc"], "OSError" if "PyPy" in sys.version
                         else "RuntimeWarning")
        self.assertTrue(got["delivered"])
        self.assertEqual((got["leaks"], got["lost"]), ([], []))
        self.assertTrue(got["table_same"], got)
        self.assertTrue(got["gc"], "the collector was left paused")

    def test_record_mode_closes_nothing_unless_pypy(self):
        got = run_snippet(OWN_FDS % {"lib": LIB})
        if "PyPy" in sys.version:
            # PyPy raises whatever the filter and closes the same fds.
            self.assertEqual(got["record_closed"], got["ref"])
        else:
            self.assertEqual(got["record_closed"], [])
            self.assertEqual(got["record_data"], "78")


class TableChecks(unittest.TestCase):

    def test_opened_vanished_and_undelivered_are_each_reported(self):
        got = run_snippet(MISBEHAVING % {"lib": LIB})
        self.assertEqual(got["opens"]["leaks"],
                         ["%d -> /dev/null" % got["null"]], got)
        self.assertEqual(got["opens"]["lost"], [])
        self.assertEqual(got["closes_behind"]["lost"], [got["victim"]], got)
        self.assertFalse(got["never_receives"]["delivered"], got)
        self.assertTrue(got["opens"]["delivered"])
        # Each change is reported once; the next good call is clean.
        self.assertEqual(got["after"]["leaks"], [])
        self.assertEqual(got["after"]["lost"], [])
        self.assertEqual(got["after"]["closed"], [40])


NAMELEN = r'''
import ctypes, json, socket
shim = ctypes.CDLL(None)
shim.cr_inject_arm.argtypes = [ctypes.c_int, ctypes.c_char_p, ctypes.c_size_t]
a, b = socket.socketpair()
out = {}
for forced in (None, 16, 110, 200, -1):
    a.send(b"x")
    shim.cr_inject_arm(b.fileno(), b"", 0)
    if forced is not None:
        out["set %s" % forced] = shim.cr_inject_namelen(forced)
    out[str(forced)] = repr(b.recvmsg(1, 16)[3])
print(json.dumps(out))
'''


class ForcedNameLength(unittest.TestCase):

    def test_the_armed_call_decodes_the_length_given(self):
        # A socketpair's kernel writes no name: unforced, None; forced to
        # 16 or 110 (the whole sockaddr_un), CPython decodes the AF_UNSPEC
        # it preset as (0, 14 zeros); 200 is cut to the caller's
        # msg_namelen (CPython's is 110: the same); a negative one is
        # refused and changes nothing.  PyPy declares a larger msg_namelen
        # than its buffer, so past 110 it corrupts its heap: the oracle
        # forces no more than a real kernel writes (inject.h).
        snippet = NAMELEN
        if "PyPy" in sys.version:
            snippet = snippet.replace("110, 200, ", "110, ")
        out = run_snippet(snippet)
        self.assertEqual(out["None"], "None")
        self.assertEqual(out["set 16"], 0)
        self.assertEqual(out["set 110"], 0)
        self.assertEqual(out["set -1"], -1)
        self.assertEqual(out["-1"], "None")
        if "PyPy" not in sys.version:
            zeros = repr((0, b"\0" * 14))
            self.assertEqual(out["16"], zeros)
            self.assertEqual(out["110"], zeros)
            self.assertEqual(out["200"], zeros)


if __name__ == "__main__":
    unittest.main()

