"""test_crash.py - a case whose interpreter dies is a CRASH of that case
alone: the driver starts the worker again for the cases after it, and a
declared crash is an XFAIL naming its issue.

Why: a crashing interpreter (gh-143988's SIGSEGV in recvmsg_into, PyPy's
abort on MSG_TRUNC) must not hide the rest of a suite's results, and an
undeclared crash must fail the run.  The worker's test hook
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

    def run_driver(self, crash_at):
        env = dict(os.environ, PYTHONPATH=REPO)
        env.pop("PYTHONS", None)
        env["CMSGREF_ORACLE_CRASH_AT"] = crash_at
        p = subprocess.run(
            [sys.executable, "-m", "oracle.conformance", "--out", self.dir,
             "--pythons", sys.executable, "--suites", "sockets", "--only",
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
            self.assertIn("--only", case["repro"])
            self.assertIn(victim, case["repro"])

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
