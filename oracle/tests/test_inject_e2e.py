"""End-to-end self-tests of the injection path: the shim really rewrites
the interpreter's recvmsg, the worker observes closed fds, and the driver
reports a deliberately wrong reference (the musl model's answer for a
glibc-built interpreter) as FAIL with a non-zero exit."""

import json
import os
import shutil
import subprocess
import sys
import tempfile
import unittest

from oracle import report
from oracle.tests.helpers import LIB, REPO, SHIM


def env(**extra):
    e = dict(os.environ)
    e["PYTHONPATH"] = REPO
    e.pop("PYTHONS", None)
    e.update(extra)
    return e


def run(cmd, **extra):
    p = subprocess.Popen(cmd, cwd=REPO, env=env(**extra),
                         stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    out, err = p.communicate(timeout=300)
    return p.returncode, out.decode(), err.decode()


class Built(unittest.TestCase):

    def test_build_products_exist(self):
        # Not a skip: without them every test below would prove nothing.
        for path in (LIB, SHIM):
            self.assertTrue(os.path.exists(path),
                            "%s is missing: run make conformance" % path)


class Shim(unittest.TestCase):

    SNIPPET = (
        "import ctypes, socket, errno\n"
        "lib = ctypes.CDLL(None)\n"
        "a, b = socket.socketpair(); a.send(b'xy')\n"
        "lib.cr_inject_arm(b.fileno(), b'\\x10' + b'\\0' * 15, 16)\n"
        "try:\n"
        "    b.recvmsg(1, 8)\n"
        "except OSError as e:\n"
        "    print('EMSGSIZE' if e.errno == errno.EMSGSIZE else e)\n"
        "lib.cr_inject_arm(b.fileno(), b'\\x10' + b'\\0' * 15, 16)\n"
        "print(b.recvmsg(1, 32), lib.cr_inject_count())\n"
        "print(b.recvmsg(1, 32), lib.cr_inject_count())\n")

    def test_one_shot_rewrite_and_loud_overflow(self):
        rc, out, err = run([sys.executable, "-c", self.SNIPPET],
                           LD_PRELOAD=SHIM)
        self.assertEqual(rc, 0, err)
        lines = out.splitlines()
        self.assertEqual(lines[0], "EMSGSIZE")
        self.assertEqual(lines[1], "(b'x', [(0, 0, b'')], 0, None) 1")
        self.assertEqual(lines[2], "(b'y', [], 0, None) 1")


class Worker(unittest.TestCase):

    def test_error_path_closes_exactly_the_slots_in_order(self):
        rc, out, err = run([sys.executable, "-m", "oracle.worker", "--suite",
                            "inject", "--only",
                            "corpus:cmsg_parse/seed-f9-",
                            "--lib", LIB, "--no-progress"], LD_PRELOAD=SHIM)
        self.assertEqual(rc, 0, err)
        recs = [json.loads(l) for l in out.splitlines()]
        self.assertEqual(len(recs), 2)  # record and error mode
        rec = [r for r in recs if r["id"].endswith("@error")][0]
        self.assertNotIn("error", rec)
        # scripts/make-seeds names F9's fds a..e as ints 100..104 (spec §12)
        want = [100, 101, 102, 103, 104]
        self.assertEqual(rec["reference"]["fds_closed"], want)
        self.assertEqual(rec["native"]["fds_closed"], want)
        self.assertEqual(rec["leaked_fds"], {"native": [], "reference": []})

    def test_ints_outside_rights_items_are_never_closed(self):
        # F5: fd a (100) inside a level-0 item: never passed to close().
        rc, out, err = run([sys.executable, "-m", "oracle.worker", "--suite",
                            "inject", "--only",
                            "corpus:cmsg_parse/seed-f5-", "--lib", LIB,
                            "--no-progress"], LD_PRELOAD=SHIM)
        self.assertEqual(rc, 0, err)
        rec = [json.loads(l) for l in out.splitlines()][1]
        self.assertTrue(rec["id"].endswith("@error"), rec["id"])
        self.assertIn("64000000", report.control_hex(rec))  # fd a = 100
        self.assertEqual(rec["reference"]["fds_closed"], [])
        self.assertEqual(rec["native"]["fds_closed"], [])
        self.assertEqual(rec["native"]["exception"]["type"],
                         "RuntimeWarning" if "PyPy" not in sys.version
                         else "OSError")

    def test_without_the_shim_the_suite_refuses_loudly(self):
        rc, out, err = run([sys.executable, "-m", "oracle.worker", "--suite",
                            "inject", "--only", "seed-k01", "--lib", LIB])
        self.assertEqual(rc, 2)
        self.assertEqual(out, "")
        self.assertIn("not preloaded", err)
        self.assertEqual(len(err.strip().splitlines()), 1)


class Driver(unittest.TestCase):

    def conformance(self, **extra):
        d = tempfile.mkdtemp()
        try:
            rc, out, err = run([sys.executable, "-m", "oracle.conformance",
                                "--suites", "inject", "--only",
                                "corpus:cmsg_parse/seed-k1",
                                "--pythons", sys.executable, "--out", d,
                                "--jobs", "1", "--timeout", "200"], **extra)
            with open(os.path.join(d, "report.json")) as f:
                rep = json.load(f)
            return rc, out, err, rep
        finally:
            shutil.rmtree(d)

    def test_matching_reference_passes(self):
        rc, out, err, rep = self.conformance()
        self.assertEqual(rc, 0, out + err)
        self.assertEqual(rep["totals"]["FAIL"], 0)
        self.assertEqual(rep["totals"]["PASS"] + rep["totals"]["XFAIL"], 20)  # K10-K19 x 2 modes

    def test_deliberately_wrong_reference_fails(self):
        # The musl model drops K14's and K15's trailing items and reads
        # K11/K12 at 32 bits: a wrong reference for this glibc interpreter.
        rc, out, err, rep = self.conformance(CMSGREF_LIBC="musl")
        self.assertEqual(rc, 1, out + err)
        failed = [c["id"] for c in rep["cases"] if c["outcome"] == "FAIL"]
        for seed in ("seed-k14-", "seed-k15-"):
            self.assertTrue([c for c in failed if seed in c
                             and c.endswith("@record")], failed)
        self.assertIn("RESULT: FAIL", out)

    def test_bad_arguments_exit_2_with_one_line(self):
        rc, out, err = run([sys.executable, "-m", "oracle.conformance",
                            "--suites", "nope"])
        self.assertEqual(rc, 2)
        self.assertEqual(len(err.strip().splitlines()), 1, err)


if __name__ == "__main__":
    unittest.main()
