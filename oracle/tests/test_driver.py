"""test_driver.py - the conformance driver's contract around the run:
bad arguments stop it before anything runs, a worker that owes records is
an ERROR, an interrupt kills every worker and writes no report, and a
report is replaced whole or not at all.

Why: these are the ways `make conformance` can look green, hang a CI job
or leave processes behind while every case comparison is right.  The
interpreters here are small shell wrappers around the running one: they
answer discovery as it does and misbehave only as oracle.worker.
"""

import json
import os
import shlex
import shutil
import signal
import stat
import subprocess
import sys
import tempfile
import time
import unittest

from oracle import worker
from oracle.judge import driver as conformance, report
from oracle.suites import suite_module
from oracle.tests.helpers import REPO

FEW = "cmsg-macros/method=CMSG_LEN,call=n1"     # matches 1 to 3 cases


def _wrapper(path, worker_body):
    """An executable that runs worker_body (sh) when started as
    `-m oracle.worker ...`, and is the running interpreter otherwise."""
    with open(path, "w") as f:
        f.write("#!/bin/sh\nif [ \"$2\" = oracle.worker ]; then\n%s\nfi\n"
                "exec %s \"$@\"\n" % (worker_body, sys.executable))
    os.chmod(path, os.stat(path).st_mode | stat.S_IXUSR)
    return path


class DriverRuns(unittest.TestCase):

    def setUp(self):
        self.dir = tempfile.mkdtemp(prefix="cmsgref-drv-")
        self.out = os.path.join(self.dir, "out")
        os.mkdir(self.out)
        self.old = os.path.join(self.out, "report.json")
        with open(self.old, "w") as f:
            f.write("OLD")

    def tearDown(self):
        shutil.rmtree(self.dir, ignore_errors=True)

    def start(self, *args):
        env = dict(os.environ, PYTHONPATH=REPO)
        env.pop("PYTHONS", None)
        return subprocess.Popen(
            [sys.executable, "-m", "oracle.conformance", "--out", self.out]
            + list(args), cwd=REPO, env=env, stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE, stderr=subprocess.PIPE)

    def run_driver(self, *args):
        p = self.start(*args)
        out, err = p.communicate(timeout=300)
        return p.returncode, out.decode(), err.decode()

    def report_untouched(self):
        with open(self.old) as f:
            return f.read() == "OLD"

    def test_bad_arguments_are_one_line_exit_2_and_no_report(self):
        fake = _wrapper(os.path.join(self.dir, "notpy"), "exit 0")
        with open(fake, "w") as f:
            f.write("#!/bin/sh\necho '[1, 2]'\n")
        for args in (["--timeout", "nan"], ["--timeout", "inf"],
                     ["--timeout", "0"], ["--jobs", "0"], ["--jobs", "65"],
                     ["--only", "no case has this name"], ["--suites", ","],
                     ["--suites", "bogus"],
                     ["--pythons", "/nonexistent/python3"],
                     ["--pythons", fake],
                     ["--lib", "/etc/passwd"],
                     ["--suites", "inject", "--shim", "/etc/passwd"]):
            code, out, err = self.run_driver(*args)
            self.assertEqual(code, 2, (args, err))
            self.assertEqual(len(err.strip().splitlines()), 1, (args, err))
            self.assertNotIn("Traceback", err)
            self.assertTrue(self.report_untouched(), args)

    def test_a_worker_that_exits_0_owing_records_is_an_error(self):
        quiet = _wrapper(os.path.join(self.dir, "quietpy"), "exit 0")
        code, out, err = self.run_driver("--pythons", quiet, "--suites",
                                         "sockets", "--only", FEW)
        self.assertEqual(code, 1, err)
        with open(self.old) as f:
            rep = json.load(f)
        self.assertEqual(rep["totals"]["ERROR"], 1)
        (case,) = rep["cases"]
        self.assertIn("reported 0 of the", case["details"][0])
        self.assertIn("oracle.worker", case["repro"])

    def test_a_reader_that_goes_away_does_not_stop_the_run(self):
        # `make conformance | head -1`: the report and the status still come
        env = dict(os.environ, PYTHONPATH=REPO)
        p = subprocess.Popen(
            [sys.executable, "-m", "oracle.conformance", "--out", self.out,
             "--pythons", sys.executable, "--suites", "sockets", "--only",
             FEW], cwd=REPO, env=env, stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        p.stdout.close()
        err = p.stderr.read()
        p.stderr.close()
        p.wait()
        self.assertEqual((p.returncode, err), (0, b""))
        self.assertFalse(self.report_untouched())

    def test_an_interrupt_kills_every_worker_and_writes_no_report(self):
        # SIGINT is followed at once by SIGTERM: the second signal must not
        # break off the first one's cleanup.
        for signum in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
            mark = os.path.join(self.dir, "started-%d" % signum)
            hang = _wrapper(os.path.join(self.dir, "hang%d" % signum),
                            "echo $$ \"$TMPDIR\" > %s.tmp && mv %s.tmp %s\n"
                            "exec sleep 120" % (mark, mark, mark))
            p = self.start("--pythons", hang, "--suites", "sockets",
                           "--only", FEW)
            deadline = time.time() + 60
            while not os.path.exists(mark) and time.time() < deadline:
                time.sleep(0.05)
            self.assertTrue(os.path.exists(mark), "the worker never started")
            with open(mark) as f:
                pid, tmpdir = f.read().split()
            p.send_signal(signum)
            if signum == signal.SIGINT:
                p.send_signal(signal.SIGTERM)
            out, err = p.communicate(timeout=60)
            self.assertEqual(p.returncode, 128 + signum, err)
            self.assertEqual(len(err.decode().strip().splitlines()), 1, err)
            self.assertIn("1 worker(s) killed", err.decode())
            with self.assertRaises(OSError):
                os.kill(int(pid), 0)        # killed and reaped
            self.assertFalse(os.path.exists(tmpdir))
            self.assertTrue(tmpdir.startswith(tempfile.gettempdir()))
            self.assertTrue(self.report_untouched())


class Owed(unittest.TestCase):

    def job(self, ids):
        j = conformance.Job({"label": "x"}, "sockets", ["py", "--format",
                                                        "frames"], {},
                            "/log", expected=["a", "b", "c"])
        j.records = [{"id": i} for i in ids]
        return j

    def test_exactly_the_expected_ids_owe_nothing(self):
        self.assertIsNone(self.job(["c", "a", "b"]).unreported())

    def test_missing_extra_and_repeated_ids_are_named(self):
        self.assertIn("reported 2 of the 3 selected cases (first missing: "
                      "b", self.job(["a", "c"]).unreported())
        self.assertIn("not given (first: z",
                      self.job(["a", "b", "c", "z"]).unreported())
        self.assertIn("more than once",
                      self.job(["a", "b", "c", "c"]).unreported())

    def test_repro_is_json_lines_from_the_repo(self):
        r = self.job([]).repro()
        self.assertTrue(r.startswith("cd %s && " % REPO), r)
        self.assertTrue(r.endswith("py"), r)
        self.assertNotIn("--format", r)

    def test_a_single_case_repro_selects_that_case_alone(self):
        # --only matches substrings: anc=1 is in anc=10 and anc=11 too.
        cid = "rights/kind=stream,nfds=-1,method=recvmsg,anc=1"
        j = conformance.Job({"label": "x"}, "sockets", [
            "py", "-m", "oracle.worker", "--suite", "sockets", "--format",
            "frames", "--only", "rights/"], {}, "/log")
        argv = shlex.split(j.repro(only=cid).split(" && ", 1)[1])
        self.assertEqual(argv.count("--only"), 1)
        only = argv[argv.index("--only") + 1]
        suite = suite_module("sockets")
        self.assertEqual(worker.select_cases(suite, only),
                         [("rights", cid)])
        self.assertEqual(len(worker.select_cases(suite, cid)), 11)
        self.assertEqual(worker.select_cases(suite, "=rights/" + cid),
                         [("rights", cid)])
        self.assertEqual(worker.select_cases(suite, "=" + cid[:-1]), [])


class AtomicReport(unittest.TestCase):

    def test_a_failed_write_keeps_the_old_report_whole(self):
        d = tempfile.mkdtemp()
        try:
            for name in ("report.json", "report.html"):
                with open(os.path.join(d, name), "w") as f:
                    f.write("OLD")
            rep = report.build([], [], ["inject"], 0.0, False)
            good = os.replace

            def fails_on_html(src, dst):
                if dst.endswith(".html"):
                    raise OSError("disk full")
                return good(src, dst)
            os.replace = fails_on_html
            try:
                self.assertRaises(OSError, report.write, rep, [], d)
            finally:
                os.replace = good
            # the JSON was replaced whole, the HTML kept; nothing else left
            self.assertEqual(sorted(os.listdir(d)),
                             ["report.html", "report.json"])
            with open(os.path.join(d, "report.html")) as f:
                self.assertEqual(f.read(), "OLD")
            with open(os.path.join(d, "report.json")) as f:
                self.assertEqual(json.load(f)["suites"], ["inject"])
        finally:
            shutil.rmtree(d)


if __name__ == "__main__":
    unittest.main()
