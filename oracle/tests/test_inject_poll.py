"""Self-tests of the inject suite's failed waits (cases.POLL_CASES, spec §7):
the shim's armed poll() failure is one-shot and only hits a poll() that
watches the armed fd; the interpreter under test (sys.executable) and the
reference both raise OSError(ENOMEM) with nothing received; and an
interpreter that took the failure for EINTR and waited again would
receive the queued payload, which the judge reports as a FAIL."""

import errno
import json
import unittest

from oracle.judge import expect
from oracle.suites.inject import cases
from oracle.tests.helpers import LIB, run_preloaded


run = run_preloaded


ONE_SHOT = r'''
import ctypes, errno, json, select, socket
lib = ctypes.CDLL(None)
a, b = socket.socketpair()
other, _ = socket.socketpair()
a.send(b"x")
out = []
def poll(fd):
    p = select.poll()
    p.register(fd, select.POLLIN)
    try:
        return len(p.poll(0))
    except OSError as e:
        return errno.errorcode[e.errno]
lib.cr_inject_arm(b.fileno(), b"", 0)
out.append(lib.cr_inject_poll_errno(0))       # -1: not an errno
lib.cr_inject_poll_errno(errno.ENOMEM)
out.append(poll(other.fileno()))              # another fd: real (empty)
out.append(poll(b.fileno()))                  # the armed fd: fails once
out.append(poll(b.fileno()))                  # then the real poll
lib.cr_inject_arm(b.fileno(), b"", 0)         # arm resets the errno
out.append(poll(b.fileno()))
print(json.dumps(out))
'''

# A stand-in for an interpreter whose wait retries every poll() error as
# if it were EINTR (the CPython mutant this family exists for); the
# reference side (refsocket installed) is left as it is.
RETRYING = r'''
import errno, json
from oracle.reference import refsocket
from oracle.suites import inject as s
from oracle.suites.inject import session
s.configure(lib=%(lib)r)
real = session.CALLS["recvmsg"]
def retrying(sock, clen):
    while True:
        try:
            return real(sock, clen)
        except OSError as e:
            if e.errno != errno.ENOMEM or refsocket.installed():
                raise
session.CALLS["recvmsg"] = retrying
print(json.dumps(s.run_case("poll:enomem-recvmsg-stream")))
'''


class PollShim(unittest.TestCase):

    def test_armed_poll_fails_once_on_the_armed_fd_only(self):
        got = json.loads(run(None, ONE_SHOT).splitlines()[-1])
        self.assertEqual(got, [-1, 0, "ENOMEM", 1, 1])


class PollCases(unittest.TestCase):

    def test_every_method_and_socket_kind_is_a_case(self):
        self.assertEqual(sorted(cases.POLL_CASES), [
            "enomem-recvmsg-dgram", "enomem-recvmsg-stream",
            "enomem-recvmsg_into-dgram", "enomem-recvmsg_into-stream"])
        ids = [i for fam, i in cases.iter_cases() if fam == "poll-error"]
        self.assertEqual(len(ids), 4)

    def test_both_sides_raise_enomem_and_receive_nothing(self):
        out = run(["-m", "oracle.worker", "--suite", "inject", "--only",
                   "poll:", "--lib", LIB, "--no-progress"])
        recs = [json.loads(l) for l in out.splitlines()]
        self.assertEqual(len(recs), len(cases.POLL_CASES))
        for rec in recs:
            self.assertNotIn("error", rec, rec["id"])
            self.assertEqual(rec["family"], "poll-error")
            for side in ("native", "reference"):
                exc = rec[side]["exception"]
                self.assertEqual((exc["type"], exc["args"][0]),
                                 ("OSError", errno.ENOMEM),
                                 (rec["id"], side))
                self.assertIsNone(rec[side]["data"], (rec["id"], side))
            self.assertEqual(rec["leaked_fds"],
                             {"native": [], "reference": []}, rec["id"])
            self.assertEqual(expect.classify(rec, [])[0], "PASS", rec["id"])

    def test_an_interpreter_that_retries_is_a_fail(self):
        rec = json.loads(run(None, RETRYING % {"lib": LIB}).splitlines()[-1])
        self.assertNotIn("error", rec)
        self.assertEqual(rec["native"]["data"], "78")     # b"x" received
        self.assertEqual(rec["reference"]["exception"]["args"][0],
                         errno.ENOMEM)
        self.assertEqual(expect.classify(rec, [])[0], "FAIL")


if __name__ == "__main__":
    unittest.main()
