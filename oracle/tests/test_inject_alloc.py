"""Self-tests of the inject suite's allocation failures (cases.ALLOC_CASES,
spec §4.2): the allocation library (shim/alloc.c) fails one libc
allocation, only when armed and only after the armed recvmsg() returned,
once; the interpreter under test
(sys.executable) raises MemoryError and closes the SCM_RIGHTS ints in
every case (on PyPy, which has no PYTHONMALLOC, each case is the ERROR
pypy.json declares); a stand-in that does not close is a FAIL, and one
that dies in the call is a CRASH."""

import json
import os
import platform
import shutil
import tempfile
import unittest

from oracle.judge import expect
from oracle.suites.inject import cases
from oracle.tests.helpers import LIB, SHIM, run_preloaded

CPYTHON = platform.python_implementation() == "CPython"


run = run_preloaded
ALLOC = os.path.join(os.path.dirname(SHIM), "libcralloc.so")


# Run under PYTHONMALLOC=malloc: armed with no recvmsg, nothing fails; the
# armed recvmsg's call fails (MemoryError) and the failure is reported
# once; the next call, not armed, succeeds.
ONE_SHOT = r'''
import ctypes, json, socket
from oracle.suites.inject import cases
lib = ctypes.CDLL(None)
lib.cr_alloc_fail.argtypes = [ctypes.c_long]
lib.cr_inject_watch.argtypes = [ctypes.c_int, ctypes.c_char_p,
                                ctypes.c_size_t]
buf = cases.ALLOC_CONTROL
a, b = socket.socketpair()
out = [lib.cr_alloc_fail(-1)]           # -1: not a count
lib.cr_alloc_fail(1)
junk = [bytes(100 + i) for i in range(50)]     # not after a recvmsg
out.append(lib.cr_alloc_failed())       # 0, and disarms
def call():
    a.send(b"x")
    try:
        return repr(b.recvmsg(1, len(buf))[1])
    except MemoryError:
        return "MemoryError"
lib.cr_inject_watch(b.fileno(), buf, len(buf))
lib.cr_alloc_fail(1)
out.append(call())
out.append(lib.cr_inject_unwatch())            # 2 closes logged
out.append(lib.cr_alloc_failed())       # 1
out.append(call())                             # not armed: real, no items
print(json.dumps(out))
'''

# A stand-in for an interpreter whose error path does not close after a
# memory failure (the CPython mutants this family exists for): in the
# child, the close() log of a call that raised MemoryError is emptied;
# with CMSGREF_TEST_STANDIN=crash the child dies of SIGSEGV instead.
STANDIN = r'''
import os, signal, struct
if os.environ.get("PYTHONMALLOC") == "malloc":
    from oracle.suites.inject import session
    real = session.CALLS["recvmsg"]
    def standin(sock, clen):
        try:
            return real(sock, clen)
        except MemoryError:
            if os.environ.get("CMSGREF_TEST_STANDIN") == "crash":
                os.kill(os.getpid(), signal.SIGSEGV)
            struct.pack_into("=q", session.get_session().mm, 16, 0)
            raise
    session.CALLS["recvmsg"] = standin
'''


def worker_records(extra_path=None, env_add=None, only="alloc:"):
    out = run(["-m", "oracle.worker", "--suite", "inject", "--only", only,
               "--lib", LIB, "--no-progress"], extra_path=extra_path,
              env_add=env_add)
    return [json.loads(l) for l in out.splitlines()]


class AllocShim(unittest.TestCase):

    @unittest.skipUnless(CPYTHON, "PyPy has no PYTHONMALLOC: the cases "
                         "are declared ERROR there (WorkerCases)")
    def test_armed_failure_is_one_shot_and_after_the_armed_call(self):
        got = json.loads(run(None, ONE_SHOT, env_add={
            "PYTHONMALLOC": "malloc",
            "LD_PRELOAD": ALLOC + ":" + SHIM}).splitlines()[-1])
        self.assertEqual(got, [-1, 0, "MemoryError", 2, 1, "[]"])


# _call() with the list case's hold_lists, the call replaced by a print of
# CPython's allocator statistics (which include the list free list).
DRAINED = r'''
import sys
from oracle.suites.inject import cases, session
session.CALLS["recvmsg"] = lambda sock, clen: sys._debugmallocstats()
session._call(None, "record", "recvmsg", 0, cases.DRAIN_LISTS)
'''


class AllocCases(unittest.TestCase):

    @unittest.skipUnless(CPYTHON, "the list free list is CPython's")
    def test_list_case_empties_the_list_free_list_before_the_call(self):
        # otherwise its k = 1 fails the item's bytes, as udp-recvmsg-k1's
        import re
        import subprocess
        import sys
        from oracle.tests import helpers
        p = subprocess.run([sys.executable, "-c", DRAINED],
                           cwd=helpers.REPO, stdout=subprocess.PIPE,
                           stderr=subprocess.PIPE, universal_newlines=True,
                           timeout=60)
        self.assertEqual(p.returncode, 0, p.stderr)
        free = re.findall(r"(\d+) free PyListObjects", p.stderr)
        self.assertEqual(free, ["0"], p.stderr[-2000:])

    def test_every_k_is_a_case(self):
        self.assertEqual(sorted(cases.ALLOC_CASES), [
            "udp-recvmsg-k1", "udp-recvmsg-k2", "udp-recvmsg-k3",
            "udp-recvmsg-list-k1"])
        ids = [i for fam, i in cases.iter_cases() if fam == "alloc-error"]
        self.assertEqual(len(ids), 4)

    def test_memory_error_and_every_int_closed(self):
        recs = worker_records()
        self.assertEqual(len(recs), len(cases.ALLOC_CASES))
        for rec in recs:
            self.assertEqual(rec["family"], "alloc-error")
            self.assertEqual(rec["reference"]["exception"]["type"],
                             "MemoryError", rec["id"])
            self.assertEqual(rec["reference"]["fds_closed"], [100, 101])
            if not CPYTHON:
                self.assertIn("PYTHONMALLOC", rec["error"])
                self.assertEqual(expect.classify(
                    rec, expect.load("pypy"))[0], "XFAIL", rec["id"])
                continue
            self.assertNotIn("error", rec, rec["id"])
            self.assertEqual(rec["native"]["exception"]["type"],
                             "MemoryError", rec["id"])
            self.assertEqual(rec["native"]["fds_closed"], [100, 101])
            self.assertEqual(expect.classify(rec, [])[0], "PASS", rec["id"])


@unittest.skipUnless(CPYTHON, "the stand-ins run under PYTHONMALLOC")
class StandIns(unittest.TestCase):

    def setUp(self):
        self.dir = tempfile.mkdtemp(prefix="cmsgref-alloc-test-")
        self.addCleanup(shutil.rmtree, self.dir)
        with open(os.path.join(self.dir, "sitecustomize.py"), "w") as f:
            f.write(STANDIN)

    def test_an_interpreter_that_does_not_close_is_a_fail(self):
        rec, = worker_records(self.dir, only="=alloc:udp-recvmsg-k2")
        self.assertNotIn("error", rec)
        self.assertEqual(rec["native"]["exception"]["type"], "MemoryError")
        self.assertEqual(rec["native"]["fds_closed"], [])
        self.assertEqual(expect.classify(rec, [])[0], "FAIL")

    def test_an_interpreter_that_dies_in_the_call_is_a_crash(self):
        rec, = worker_records(self.dir, {"CMSGREF_TEST_STANDIN": "crash"},
                              only="=alloc:udp-recvmsg-k3")
        self.assertEqual(rec["native"], {"crash": "SIGSEGV"})
        self.assertEqual(expect.classify(rec, [])[0], "CRASH")


if __name__ == "__main__":
    unittest.main()
