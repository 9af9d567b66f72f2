"""End-to-end self-tests of the injection path: the shim really rewrites
the interpreter's recvmsg, the worker observes closed fds, and the driver
reports a deliberately wrong reference (the musl model's answer for a
glibc-built interpreter) as FAIL with a non-zero exit."""

import json
import marshal
import os
import shutil
import subprocess
import sys
import tempfile
import unittest
import zlib

from oracle.judge import report
from oracle.suites import inject as suite_inject
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
        self.assertEqual(sorted(r["id"].rpartition("@")[2] for r in recs),
                         ["default", "error", "ignore", "record"])
        self.assertNotIn("reference", recs[0])  # the driver's part
        suite_inject.complete_records(recs, LIB)
        by_mode = dict((r["id"].rpartition("@")[2], r) for r in recs)
        # F9 warns: shown under always and default, hidden under ignore;
        # all three return the items and close nothing (PyPy raises
        # instead: oracle/expectations/pypy.json).
        for mode, shown in (("record", 1), ("default", 1), ("ignore", 0)):
            got = by_mode[mode]
            self.assertEqual(len(got["reference"]["warnings"]), shown, mode)
            self.assertEqual(len(got["reference"]["ancdata"]), 3, mode)
            self.assertEqual(got["reference"]["fds_closed"], [], mode)
            self.assertEqual(got["error_path_fds"],
                             [100, 101, 102, 103, 104], mode)
            if "PyPy" not in sys.version:
                self.assertEqual(got["native"], got["reference"], mode)
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
        rec = suite_inject.complete_records(
            [json.loads(l) for l in out.splitlines()], LIB)[1]
        self.assertTrue(rec["id"].endswith("@error"), rec["id"])
        self.assertIn("64000000", report.control_hex(rec))  # fd a = 100
        self.assertEqual(rec["reference"]["fds_closed"], [])
        self.assertEqual(rec["native"]["fds_closed"], [])
        self.assertEqual(rec["native"]["exception"]["type"],
                         "RuntimeWarning" if "PyPy" not in sys.version
                         else "OSError")

    def test_f10_through_the_real_call_and_the_reference(self):
        # §6/F10: msg_namelen forced to 1 after an abstract AF_UNIX sender:
        # CPython's decoder raises SystemError and the error path closes
        # the SCM_RIGHTS ints 100 and 101; the reference does the same on
        # the same injected call.  With no family written, (0, 14 zeros).
        rc, out, err = run([sys.executable, "-m", "oracle.worker", "--suite",
                            "inject", "--only", "addr:", "--lib", LIB,
                            "--no-progress"], LD_PRELOAD=SHIM)
        self.assertEqual(rc, 0, err)
        recs = dict((r["id"], r) for r in
                    (json.loads(l) for l in out.splitlines()))
        self.assertEqual(len(recs), 2 * len(suite_inject.cases.ADDR_CASES))
        f10 = recs["addr:f10-abstract-namelen-1@record"]
        self.assertEqual(f10["reference"]["exception"]["type"],
                         "SystemError")
        self.assertEqual(f10["reference"]["fds_closed"], [100, 101])
        self.assertEqual(report.control_hex(f10)[-16:], "6400000065000000")
        self.assertEqual(
            recs["addr:no-family-namelen-16@error"]["reference"]["address"],
            ["tuple", [0, ["bytes", "00" * 14]]])
        self.assertEqual(
            recs["addr:abstract-namelen-2@record"]["reference"]["address"],
            ["str", ""])
        done = suite_inject.complete_records(list(recs.values()), LIB)
        for rec in done:
            self.assertNotIn("error", rec, rec["id"])
            self.assertEqual(rec["leaked_fds"],
                             {"native": [], "reference": []}, rec["id"])
            if "PyPy" not in sys.version:
                self.assertEqual(rec["native"], rec["reference"], rec["id"])

    def test_without_the_shim_the_suite_refuses_loudly(self):
        rc, out, err = run([sys.executable, "-m", "oracle.worker", "--suite",
                            "inject", "--only", "seed-k01", "--lib", LIB])
        self.assertEqual(rc, 2)
        self.assertEqual(out, "")
        self.assertIn("not preloaded", err)
        self.assertEqual(len(err.strip().splitlines()), 1)


class Completion(unittest.TestCase):
    """The driver's half of an inject record (suite_inject.complete_records):
    the reference comes from the corpus file the worker named, under the
    model it named, and anything that would make it the wrong reference is
    an error of the case instead."""

    REL = None

    def record(self, mode="error", **over):
        if Completion.REL is None:
            d = os.path.join(suite_inject.CORPUS, "cmsg_parse")
            Completion.REL = "cmsg_parse/" + sorted(
                f for f in os.listdir(d) if f.startswith("seed-f9-"))[0]
        with open(os.path.join(suite_inject.CORPUS, self.REL), "rb") as f:
            crc = zlib.crc32(f.read()) & 0xffffffff
        rec = {"id": "corpus:%s@%s" % (self.REL, mode), "native": {},
               "leaked_fds": {"native": []}, "libc": "glibc",
               "control_crc32": crc}
        rec.update(over)
        return rec

    def test_reference_and_error_path_list(self):
        err, rec = suite_inject.complete_records(
            [self.record(), self.record("record")], LIB)
        self.assertNotIn("error", err)
        self.assertEqual(err["reference"]["fds_closed"],
                         [100, 101, 102, 103, 104])
        self.assertEqual(err["leaked_fds"]["reference"], [])
        self.assertNotIn("error_path_fds", err)
        self.assertEqual(rec["error_path_fds"], [100, 101, 102, 103, 104])
        self.assertEqual(len(rec["reference"]["ancdata"]), 3)

    def test_what_would_give_a_wrong_reference_is_an_error(self):
        recs = suite_inject.complete_records([
            self.record(control_crc32=1),
            self.record(libc="no-such-libc"),
            self.record(libc=None),
            self.record(id="corpus:cmsg_parse/no-such-file@error"),
            self.record(id="bogus"),
        ], LIB)
        for rec, want in zip(recs, ("changed between", "no-such-libc",
                                    "names no model", "cannot read",
                                    "valid case id")):
            self.assertIn(want, rec.get("error", ""), rec)
            self.assertNotIn("reference", rec)

    def test_a_worker_error_is_left_alone(self):
        rec = suite_inject.complete_records(
            [self.record(error="the shim did not rewrite the call")], LIB)[0]
        self.assertEqual(rec["error"], "the shim did not rewrite the call")
        self.assertNotIn("reference", rec)


class Pack(unittest.TestCase):
    """The driver's corpus pack: workers take their buffers from it (one
    read a worker), and a pack that is not one stops the worker loudly."""

    def setUp(self):
        self.dir = tempfile.mkdtemp()
        self.path = os.path.join(self.dir, "p.pack")

    def tearDown(self):
        shutil.rmtree(self.dir)

    def worker(self, only, **extra):
        return run([sys.executable, "-m", "oracle.worker", "--suite",
                    "inject", "--only", only, "--lib", LIB,
                    "--no-progress"], LD_PRELOAD=SHIM,
                   CMSGREF_INJECT_CORPUS=self.path, **extra)

    def test_the_worker_takes_the_packs_bytes(self):
        n = suite_inject.write_pack(self.path)
        self.assertEqual(n, len(suite_inject.corpus_files()))
        with open(self.path, "rb") as f:
            pack = marshal.loads(f.read())
        f9 = [r for r in pack if "/seed-f9-" in r][0]
        k01 = [r for r in pack if "/seed-k01-" in r][0]
        pack[f9] = pack[k01]        # a stale pack: the CRC must tell
        with open(self.path, "wb") as f:
            f.write(marshal.dumps(pack, 2))
        rc, out, err = self.worker("seed-f9-")
        self.assertEqual(rc, 0, err)
        recs = [json.loads(l) for l in out.splitlines()]
        self.assertEqual(recs[0]["control_crc32"],
                         zlib.crc32(pack[k01]) & 0xffffffff)
        rec = suite_inject.complete_records(recs, LIB)[0]
        self.assertIn("changed between", rec["error"])

    def test_a_broken_pack_stops_the_worker_with_one_line(self):
        for blob in (b"not marshal", marshal.dumps({"a": "text"}, 2)):
            with open(self.path, "wb") as f:
                f.write(blob)
            rc, out, err = self.worker("seed-k01")
            self.assertEqual(rc, 2, err)
            self.assertEqual(out, "")
            self.assertIn("corpus pack", err)
            self.assertEqual(len(err.strip().splitlines()), 1, err)


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
        # K10-K19 x 4 warning filters
        self.assertEqual(rep["totals"]["PASS"] + rep["totals"]["XFAIL"], 40)

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
