"""Self-tests of the inject suite's in-process path (suite_inject.py:
run_inprocess): it must give exactly the records the forked path gives,
leave the worker's fd table as it found it, restore fds 0-2 when a buffer
makes the interpreter close them, and fork instead when a buffer names one
of the worker's own descriptors.  Each test runs the interpreter under test
(sys.executable) with the shim preloaded, so the real call is exercised."""

import json
import os
import subprocess
import sys
import unittest

from oracle.tests.helpers import LIB, REPO, SHIM

# Seeds whose error path closes planted fds (F9: 100..104), whose ints
# include 0-2 (level/type fields), and plain well-formed ones.
ONLY = ("seed-f9-", "seed-f5-", "seed-k01-", "seed-k08-", "seed-k14-")
SAME_KEYS = ("native", "reference", "leaked_fds", "planted_fds",
             "error_path_fds", "libc", "error", "family")


def env(**extra):
    e = dict(os.environ)
    e["PYTHONPATH"] = REPO
    e["LD_PRELOAD"] = SHIM
    e.pop("CMSGREF_INJECT_FORK", None)
    e.update(extra)
    return e


def worker_records(only, **extra):
    """{id: record} of `oracle.worker --suite inject --only only`."""
    p = subprocess.Popen([sys.executable, "-m", "oracle.worker", "--suite",
                          "inject", "--only", only, "--lib", LIB,
                          "--no-progress"], cwd=REPO, env=env(**extra),
                         stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    out, err = p.communicate(timeout=300)
    if p.returncode != 0:
        raise AssertionError("worker exit %d: %s" % (p.returncode,
                                                     err.decode()))
    recs = [json.loads(l) for l in out.decode().splitlines()]
    return dict((r["id"], r) for r in recs), err.decode()


def run_snippet(code):
    p = subprocess.Popen([sys.executable, "-c", code], cwd=REPO, env=env(),
                         stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    out, err = p.communicate(timeout=120)
    return p.returncode, out.decode(), err.decode()


class SameAsForked(unittest.TestCase):

    def test_records_equal_the_forked_path(self):
        for only in ONLY:
            fast, _ = worker_records(only)
            slow, err = worker_records(only, CMSGREF_INJECT_FORK="1")
            self.assertIn("CMSGREF_INJECT_FORK=1", err)
            self.assertEqual(sorted(fast), sorted(slow))
            self.assertTrue(fast, "no case matched %r" % only)
            for cid in fast:
                self.assertEqual(fast[cid]["native_in"], "worker", cid)
                self.assertEqual(slow[cid]["native_in"], "child", cid)
                for key in SAME_KEYS:
                    self.assertEqual(fast[cid].get(key), slow[cid].get(key),
                                     "%s: %s differs" % (cid, key))


# Runs in a child interpreter with the shim preloaded; prints one JSON line.
SNIPPET = r'''
import json, os, struct
from oracle import canon, suite_inject as s
s.configure(lib=%(lib)r)
s.run_case("corpus:cmsg_parse/" + [f for f in os.listdir(s.CORPUS +
           "/cmsg_parse") if f.startswith("seed-k01-")][0] + "@record")
s._drop_field()         # the planted fds a case keeps for the next one
base = canon.fd_table()

def rights(*fds):
    data = struct.pack("<%%di" %% len(fds), *fds)
    return struct.pack("<Qii", 16 + len(data), 1, 1) + data

out = {}
# SCM_RIGHTS naming fd 1 and 2, truncated: CPython warns; in error mode it
# closes 1 and 2 (planted over stdout/stderr), which must come back.
key1 = canon.fd_key(1)
# cmsg_len claims 3 ints, 2 are there: a truncated item (spec §2).
buf = struct.pack("<Qii", 28, 1, 1) + struct.pack("<2i", 1, 2)
parsed = s.reference_parse(buf)
out["ref_close"] = parsed["close_on_error"]
nums = s.plant_numbers(parsed["close_on_error"], buf)
res, leaks, inj = s.run_inprocess(buf, "error", "recvmsg", nums,
                                  s.buffer_ints(buf) |
                                  set(parsed["close_on_error"]))
out["closed"] = res["fds_closed"]
out["exc"] = (res["exception"] or {}).get("type")
out["leaks"] = leaks
out["injected"] = inj
out["fd1_back"] = canon.fd_key(1) == key1
s._drop_field()
out["table_same"] = canon.fd_table() == base
# A buffer naming the worker's own socket: must not run in-process.
mine = s._inproc["sock"].fileno()
buf2 = rights(mine)
out["own_fd"] = s.run_inprocess(buf2, "error", "recvmsg", {},
                                s.buffer_ints(buf2))
out["own_fd_open"] = canon.fd_key(mine) is not None
print(json.dumps(out))
'''


class Protection(unittest.TestCase):

    def run_it(self):
        rc, out, err = run_snippet(SNIPPET % {"lib": LIB})
        self.assertEqual(rc, 0, err)
        return json.loads(out.splitlines()[-1])

    def test_std_fds_closed_by_the_error_path_are_restored(self):
        got = self.run_it()
        self.assertEqual(got["injected"], 1)
        self.assertEqual(got["leaks"], [])
        self.assertTrue(got["fd1_back"], got)
        self.assertTrue(got["table_same"], got)
        if "PyPy" in sys.version:
            # PyPy raises OSError for the truncated header (spec §11) and
            # closes the same fds.
            self.assertEqual(got["exc"], "OSError")
        else:
            self.assertEqual(got["exc"], "RuntimeWarning")
        self.assertEqual(got["ref_close"], [1, 2])
        self.assertEqual(got["closed"], ["fd1", "fd2"])

    def test_buffer_naming_a_worker_fd_is_not_run_in_process(self):
        got = self.run_it()
        self.assertIsNone(got["own_fd"])
        self.assertTrue(got["own_fd_open"])


if __name__ == "__main__":
    unittest.main()


# The shim's field bookkeeping (cr_inject_field_*) must see what the old
# per-fd fstat checks saw: a misbehaving "interpreter" is simulated between
# begin() and end() by closing, replacing and opening descriptors itself.
FIELD_SNIPPET = r'''
import json, os, struct
from oracle import suite_inject as s
s.configure(lib=%(lib)r)
s._inprocess_setup()
f = s._inproc["field"]
buf = struct.pack("<Qii", 28, 1, 1) + struct.pack("<3i", 40, 41, 42)
nums = {"fd40": 40, "fd41": 41, "fd42": 42}
out = {}
prep = s._Prep(buf, nums, s.buffer_ints(buf))
out["began"] = f.begin(prep)
os.close(40)                        # closed
os.close(41)                        # replaced by another file
null = os.open("/dev/null", os.O_RDONLY)
os.dup2(null, 41)
r, w = os.pipe()                    # replaced by another (empty) pipe
os.dup2(r, 42)
os.close(r)
os.close(w)                         # null stays open: a leak
os.read(s._inproc["sock"].fileno(), 1)
closed, leaks, lost, injected = f.end()
out["closed"] = list(closed)
out["leaks"] = leaks
out["null"] = null
out["lost"] = list(lost)
out["injected"] = injected
out["after"] = list(f.check())
# A worker fd (in the base) that the call closes although no int names it.
extra = os.dup(0)
s._drop_field()                     # retakes the base: extra is in it
prep2 = s._Prep(buf, {"fd40": 40}, s.buffer_ints(buf))
out["began2"] = f.begin(prep2)
os.close(extra)
closed2, leaks2, lost2, _ = f.end()
out["lost2"] = list(lost2)
out["extra"] = extra
out["closed2"] = list(closed2)
out["after2"] = list(f.check())
print(json.dumps(out))
'''


class FieldChecks(unittest.TestCase):

    def test_closed_replaced_and_leaked_fds_are_all_reported(self):
        rc, out, err = run_snippet(FIELD_SNIPPET % {"lib": LIB})
        self.assertEqual(rc, 0, err)
        got = json.loads(out.splitlines()[-1])
        self.assertTrue(got["began"], got)
        self.assertEqual(got["closed"], [40, 41, 42])
        leaked = sorted(int(l.split(" -> ")[0]) for l in got["leaks"])
        self.assertEqual(leaked, sorted([got["null"], 41, 42]), got)
        self.assertIn("41 -> /dev/null", got["leaks"])
        self.assertEqual(got["lost"], [])
        self.assertEqual(got["injected"], 0)
        # The leaks were closed and nothing planted survived: clean table.
        self.assertEqual(got["after"], [[], 0])

    def test_a_closed_worker_fd_is_lost(self):
        rc, out, err = run_snippet(FIELD_SNIPPET % {"lib": LIB})
        self.assertEqual(rc, 0, err)
        got = json.loads(out.splitlines()[-1])
        self.assertTrue(got["began2"], got)
        self.assertEqual(got["lost2"], [got["extra"]])
        self.assertEqual(got["closed2"], [])
        self.assertEqual(got["after2"], [[], 0])
