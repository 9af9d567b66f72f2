"""test_crash.py - a case whose interpreter dies is a CRASH of that case
alone: the driver starts the worker again for the cases after it, and a
declared crash is an XFAIL naming its issue.

Why: a crashing interpreter (gh-143988's SIGSEGV in recvmsg_into, PyPy's
abort on MSG_TRUNC) must not hide the rest of a suite's results, and an
undeclared crash must fail the run; but a worker that cannot start (an
exit status, no signal) is one ERROR, not a CRASH of every case.  The
worker's test hook
(CMSGREF_ORACLE_CRASH_AT) SIGKILLs the worker where a chosen case starts,
on the interpreter running these tests.
"""

import json
import os
import shutil
import subprocess
import sys
import tempfile
import unittest

from oracle.judge import expect
from oracle.tests.helpers import REPO

ONLY = "closed/kind=dgram"          # six cases, in table order
VICTIMS = ("closed/kind=dgram,method=recvmsg,timeout=none",
           "closed/kind=dgram,method=recvmsg_into,timeout=0")


class CrashIsACaseOutcome(unittest.TestCase):

    def setUp(self):
        self.dir = tempfile.mkdtemp(prefix="cmsgref-crash-")

    def tearDown(self):
        shutil.rmtree(self.dir, ignore_errors=True)

    def run_driver(self, crash_at, pythons=sys.executable):
        env = dict(os.environ, PYTHONPATH=REPO)
        env.pop("PYTHONS", None)
        env["CMSGREF_ORACLE_CRASH_AT"] = crash_at
        p = subprocess.run(
            [sys.executable, "-m", "oracle.conformance", "--out", self.dir,
             "--pythons", pythons, "--suites", "sockets", "--only",
             ONLY, "--seed", "1", "--generate", "0"],
            cwd=REPO, env=env, stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE, stderr=subprocess.PIPE, timeout=300)
        with open(os.path.join(self.dir, "report.json")) as f:
            return p.returncode, json.load(f)

    def test_the_crashed_case_is_crash_and_every_other_case_runs(self):
        for victim in VICTIMS:
            code, rep = self.run_driver(victim)
            self.assertEqual(code, 1, victim)
            self.assertEqual(rep["totals"]["CRASH"], 1, victim)
            self.assertEqual(rep["totals"]["PASS"], 5, victim)
            self.assertEqual(rep["totals"]["ERROR"], 0, victim)
            (case,) = rep["cases"]
            self.assertEqual((case["id"], case["outcome"]),
                             (victim, "CRASH"))
            self.assertIn("SIGKILL", case["details"][0])
            self.assertIn("--only =" + victim, case["repro"])

    def fake_python(self, worker_does):
        """An interpreter wrapper (a shell script) that runs this Python,
        but runs the shell code worker_does instead of the first worker
        (one without --after)."""
        path = os.path.join(self.dir, "python3")
        with open(path, "w") as f:
            f.write('#!/bin/sh\ncase " $* " in *" --after "*) ;;\n'
                    '*" -m oracle.worker "*) %s;;\nesac\n'
                    'exec %s "$@"\n' % (worker_does, sys.executable))
        os.chmod(path, 0o755)
        return path

    def test_a_worker_that_cannot_start_is_one_error_not_crashes(self):
        py = self.fake_python("echo 'ImportError: no oracle' >&2; exit 1")
        code, rep = self.run_driver("", pythons=py)
        self.assertEqual(code, 1)
        self.assertEqual(rep["totals"]["CRASH"], 0)
        self.assertEqual(rep["totals"]["ERROR"], 1)
        (case,) = rep["cases"]
        self.assertEqual(case["id"], "<worker>")
        self.assertIn("exited with status 1", case["details"][0])
        self.assertIn("first missing: closed/kind=dgram,method=recvmsg,",
                      case["details"][0])
        self.assertIn("ImportError: no oracle", case["details"][0])
        self.assertEqual(len(os.listdir(os.path.join(self.dir, "logs"))), 1)

    def test_a_fatal_error_aborts_so_it_is_a_crash(self):
        # Py_FatalError (CPython's fatal error path) calls abort().
        py = self.fake_python(
            "exec %s -c 'import ctypes; ctypes.pythonapi.Py_FatalError("
            "b\"oracle test\")'" % sys.executable)
        code, rep = self.run_driver("", pythons=py)
        self.assertEqual(code, 1)
        self.assertEqual((rep["totals"]["CRASH"], rep["totals"]["PASS"],
                          rep["totals"]["ERROR"]), (1, 5, 0))
        self.assertIn("SIGABRT", rep["cases"][0]["details"][0])

    def test_a_declared_crash_is_xfail_and_an_undeclared_one_is_not(self):
        rec = {"suite": "sockets", "family": "reentry", "id": "reentry/x",
               "python": {"impl": "cpython", "version": "3.12.1"},
               "crash": "the worker died in this case: SIGSEGV",
               "native": {"crash": "SIGSEGV"}}
        entry = {"suite": "sockets", "id": "reentry/*",
                 "versions": {"min": "3.12", "below": "3.13.1"},
                 "outcome": "CRASH", "issue": "gh-0", "reason": "r"}
        expect.validate({"impl": "cpython", "entries": [entry]})
        self.assertEqual(expect.classify(rec, [entry])[0], "XFAIL")
        self.assertEqual(expect.classify(rec, [])[0], "CRASH")
        xfail = dict(entry, outcome="XFAIL")
        self.assertEqual(expect.classify(rec, [xfail])[0], "CRASH")
        other = dict(rec, python={"impl": "cpython", "version": "3.11.7"})
        self.assertEqual(expect.classify(other, [entry])[0], "CRASH")
        passed = dict(rec, native={"data": "78"}, reference={"data": "78"},
                      leaked_fds={})
        del passed["crash"]
        self.assertEqual(expect.classify(passed, [entry])[0], "XPASS")


if __name__ == "__main__":
    unittest.main()
