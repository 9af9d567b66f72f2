"""test_bench.py - self-tests of the benchmark code (`make check-bench`).

Why: `make bench` only reports, so nothing else would notice if its
drivers stopped measuring what they claim: a receive loop that leaks the
received fds, a table that calls a missed target "met", a missing figure
that turns into a number, a child that outlives its deadline.  These tests
check those properties with tiny inputs; none of them depends on a time
(a slow machine cannot fail them), and they need only cc and python3.

Run from the repo root after `make build/bench/recv_bench
build/bench/recv_rss`:  python3 -m unittest bench.test_bench
"""

import json
import os
import subprocess
import sys
import time
import unittest

from bench import common, run

RECV_BENCH = os.path.join(common.OUT, "recv_bench")
RECV_RSS = os.path.join(common.OUT, "recv_rss")


def _run(cmd):
    p = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                         cwd=common.REPO)
    out, err = p.communicate()
    return p.returncode, out.decode("utf-8", "replace"), \
        err.decode("utf-8", "replace")


class CDrivers(unittest.TestCase):
    def test_recv_bench_receives_three_fds_per_call_and_leaks_none(self):
        # recv_bench exits 1 if a call gets other than 3 fds or the fd
        # table changes size; both sides must have produced a time.
        code, out, err = _run([RECV_BENCH, "--rounds", "4", "--batch", "4",
                               "--warmup", "1"])
        self.assertEqual(code, 0, err)
        d = json.loads(out)
        self.assertEqual(d["fds_per_call"], 3)
        self.assertEqual(len(d["raw_ns"]), 4)
        self.assertEqual(len(d["cr_ns"]), 4)
        self.assertTrue(all(x > 0 for x in d["raw_ns"] + d["cr_ns"]), d)

    def test_recv_bench_bad_argument_is_one_line_and_exit_2(self):
        code, out, err = _run([RECV_BENCH, "--rounds", "zero"])
        self.assertEqual(code, 2)
        self.assertEqual(len(err.strip().splitlines()), 1, err)

    def test_recv_rss_returns_the_message_with_a_1gib_bufsize(self):
        code, out, err = _run([RECV_RSS, str(1 << 30), "0"])
        self.assertEqual(code, 0, err)
        d = json.loads(out)
        self.assertEqual(d["data_len"], len("small message") + 1)
        self.assertGreater(d["vmhwm_kib"], 0)

    def test_recv_rss_bad_argument_is_one_line_and_exit_2(self):
        code, out, err = _run([RECV_RSS, "-5", "0"])
        self.assertEqual(code, 2)
        self.assertEqual(len(err.strip().splitlines()), 1, err)


class Helpers(unittest.TestCase):
    def test_median_odd_even_and_empty(self):
        self.assertEqual(common.median([3, 1, 2]), 2)
        self.assertEqual(common.median([4, 1, 2, 3]), 2.5)
        self.assertRaises(ValueError, common.median, [])

    def test_run_kills_a_child_at_its_deadline(self):
        t0 = time.time()
        res = common.run([sys.executable, "-c",
                          "import time; time.sleep(30)"], 0.5)
        self.assertIsNone(res.returncode)
        self.assertLess(time.time() - t0, 20)

    def test_peak_rss_sees_a_child_that_touches_memory(self):
        # A child that touches 200 MiB must report at least that much.
        code, rss, _, _ = common.peak_rss_kib(
            [sys.executable, "-c", "b = b'x' * (200 << 20)"], 60)
        self.assertEqual(code, 0)
        self.assertGreaterEqual(rss, 200 * 1024)

    def test_need_file_raises_missing_with_the_path(self):
        with self.assertRaises(common.Missing) as cm:
            common.need_file(os.path.join(common.REPO, "no-such-file"),
                             "a thing", "nobody builds it")
        self.assertIn("no-such-file", str(cm.exception))


class Follow(unittest.TestCase):
    def test_follow_sees_lines_as_they_come_and_stops_the_child(self):
        seen = []

        def on_line(line, now):
            seen.append(line)
            return line == "two"
        code, secs = common.follow(
            [sys.executable, "-c", "import sys, time\n"
             "for w in ('one', 'two', 'three'):\n"
             "    sys.stderr.write(w + '\\n'); sys.stderr.flush()\n"
             "time.sleep(30)"], 20, on_line)
        self.assertIsNone(code)
        self.assertEqual(seen, ["one", "two"])
        self.assertLess(secs, 20)

    def test_follow_kills_at_the_deadline_and_reports_an_exit(self):
        code, _ = common.follow([sys.executable, "-c",
                                 "import time; time.sleep(30)"], 0.5,
                                lambda line, now: False)
        self.assertIsNone(code)
        code, _ = common.follow([sys.executable, "-c", "raise SystemExit(3)"],
                                20, lambda line, now: False)
        self.assertEqual(code, 3)


class Quiet(unittest.TestCase):
    def test_busy_cores_is_between_none_and_every_core(self):
        from bench import fig_oracle
        busy = fig_oracle.busy_cores(0.2)
        self.assertGreaterEqual(busy, 0.0)
        self.assertLessEqual(busy, (os.cpu_count() or 1) + 1e-9)
        # A wait that cannot succeed ends at its limit with what it saw.
        t0 = time.time()
        fig_oracle.quiet(max_wait=0.1, cores=-1)
        self.assertLess(time.time() - t0, 5)


class Report(unittest.TestCase):
    def row(self, data, start):
        return [l for l in run.table(data).splitlines()
                if l.startswith(start)][0]

    def test_table_says_NO_for_a_missed_target_and_yes_for_a_met_one(self):
        data = {"recv_vs_raw": 1.5,
                "fuzz_full_coverage_seconds": {"plain": 3.0, "asan": 9.0}}
        self.assertTrue(self.row(data, "cr_recvmsg").endswith("NO"))
        self.assertTrue(self.row(data, "fuzz: empty corpus").endswith("yes"))
        # A row without a target is shown and never judged.
        self.assertTrue(self.row(data, "fuzz: the same, ASan").endswith("-"))

    def test_a_missing_figure_is_printed_MISSING_never_a_number(self):
        row = self.row({"recv_vs_raw": None}, "cr_recvmsg")
        self.assertIn("MISSING", row)

    def test_a_cut_off_figure_shows_its_lower_bound_and_is_not_met(self):
        row = self.row({"conformance_matrix_seconds": None,
                        "conformance_matrix_seconds_at_least": 70},
                       "make conformance")
        self.assertIn("> 70", row)
        self.assertTrue(row.endswith("NO"), row)
        data = {"fuzz_canary_detect_seconds": {"5": None, "worst": None},
                "fuzz_canary_detect_seconds_at_least": {"5": 60,
                                                        "worst": 60}}
        self.assertTrue(self.row(data, "  canary 5").endswith("NO"))
        self.assertTrue(self.row(data, "fuzz: seeded bug").endswith("NO"))

    def test_injection_is_the_median_with_the_lowest_beside_it(self):
        row = self.row({"injection_per_second": 12866.4,
                        "injection_per_second_lowest": 9000.0,
                        "injection_per_second_lowest_interpreter": "pypy"},
                       "inject suite")
        self.assertIn("12866 (lowest 9000, pypy)", row)
        self.assertTrue(row.endswith("yes"), row)

    def test_driver_bad_argument_is_one_line_and_exit_2(self):
        code, out, err = _run([sys.executable, "-m", "bench.run", "--only",
                               "nonsense"])
        self.assertEqual(code, 2)
        self.assertEqual(len(err.strip().splitlines()), 1, err)


class Medians(unittest.TestCase):
    def fake_canaries(self, found):
        """fig_canary.measure with one_run replaced: found(n, seed) gives
        the seconds or None; returns (result, runs made per canary)."""
        from bench import fig_canary
        made = {}

        def one_run(exe, seed, cap):
            n = int(exe)
            made[n] = made.get(n, 0) + 1
            return {"seconds": found(n, seed), "check": "x.c:1"}
        saved = fig_canary.one_run, fig_canary.binary
        fig_canary.one_run, fig_canary.binary = one_run, str
        try:
            return fig_canary.measure(seeds=(1, 2, 3), cap=60), made
        finally:
            fig_canary.one_run, fig_canary.binary = saved

    def test_canary_median_and_worst(self):
        got, made = self.fake_canaries(lambda n, s: float(n * s))
        secs = got["fuzz_canary_detect_seconds"]
        self.assertEqual(secs["2"], 4.0)
        self.assertEqual(secs["worst"], 12.0)

    def test_a_canary_found_by_one_seed_of_three_is_not_found(self):
        got, made = self.fake_canaries(
            lambda n, s: None if n == 5 and s > 1 else 1.0)
        secs = got["fuzz_canary_detect_seconds"]
        self.assertIsNone(secs["5"])
        self.assertIsNone(secs["worst"])
        self.assertEqual(made[5], 3)
        # Two misses decide the median: the third seed is not run.
        got, made = self.fake_canaries(lambda n, s: None if n == 5 else 1.0)
        self.assertEqual(made[5], 2)
        self.assertEqual(made[1], 3)

    def test_coverage_median_counts_not_reached_as_slowest(self):
        from bench import fig_coverage
        times = {1: 5.0, 2: None, 3: 1.0, 4: None, 5: 2.0}
        saved = fig_coverage.target_set, fig_coverage.one_run
        fig_coverage.target_set = lambda exe: (0, {}, {1}, {})
        fig_coverage.one_run = lambda exe, seed, a, b, w, cap: {
            "seconds": times[seed], "executions": seed, "left": 0}
        try:
            exe = os.path.join(common.REPO, fig_coverage.BINARIES["plain"])
            if not os.path.exists(exe):
                self.fail("%s is not built (make check-bench builds it)"
                          % exe)
            got = fig_coverage.measure("plain")
            self.assertEqual((got["seconds"], got["executions"]), (5.0, 1))
            times[1] = None
            got = fig_coverage.measure("plain")
            self.assertIsNone(got["seconds"])
            self.assertEqual(got["at_least"], fig_coverage.CAP)
        finally:
            fig_coverage.target_set, fig_coverage.one_run = saved


class Coverage(unittest.TestCase):
    def test_the_target_set_is_walk_and_model_points_beyond_the_start(self):
        # On the real plain build: the points the corpus reaches in the
        # walk and the models, less those a one-byte input covers.
        from bench import fig_coverage, sancov
        exe = os.path.join(common.REPO, fig_coverage.BINARIES["plain"])
        addr, by_pc, want, counts = fig_coverage.target_set(exe)
        self.assertTrue(want)
        self.assertEqual(counts["points_target"], len(want))
        self.assertLess(counts["points_target"], counts["points_by_corpus"])
        self.assertLessEqual(counts["points_by_corpus"],
                             counts["points_in_files"])
        # A run-time PC maps back to its index, printed or one past it.
        pc = [p for p, i in by_pc.items() if i == min(want)][0]
        self.assertEqual(sancov.index_of(pc + 0x1000 + 1, addr + 0x1000,
                                         addr, by_pc), min(want))
        self.assertIsNone(sancov.index_of(1, addr, addr, by_pc))


class Canaries(unittest.TestCase):
    """Each seeded bug makes a check fail on the committed corpus where
    the clean build passes, so a canary cannot rot unnoticed."""
    CORPORA = [os.path.join(common.REPO, "corpus", d)
               for d in ("cmsg_parse", "cmsg_diff")]

    def libfuzzer(self, exe):
        import shutil
        import tempfile
        d = tempfile.mkdtemp()
        try:
            return _run([exe, "-runs=0", "-artifact_prefix=" + d + "/",
                         d, self.CORPORA[0]])
        finally:
            shutil.rmtree(d)

    def musl_diff(self, exe):
        return _run([exe, "-q"] + self.CORPORA)

    def test_the_clean_builds_pass_the_corpus(self):
        from bench import fig_canary
        for t in sorted(set(t for t, _ in fig_canary.CANARIES.values())):
            code, _, err = self.libfuzzer(os.path.join(
                common.BUILD, "fuzz-fast", t))
            self.assertEqual(code, 0, err[-500:])
        code, _, err = self.musl_diff(os.path.join(
            common.BUILD, "musl-replay", "cmsg_diff"))
        self.assertEqual(code, 0, err[-500:])

    def test_each_canary_fails_a_check_on_the_corpus(self):
        from bench import fig_canary
        for n, (target, slip) in sorted(fig_canary.CANARIES.items()):
            code, _, err = self.libfuzzer(os.path.join(
                common.OUT, "canary%d" % n, target))
            if code == 0:
                code, _, err = self.musl_diff(os.path.join(
                    common.OUT, "canary%d-musl" % n, "cmsg_diff"))
            self.assertNotEqual(code, 0, "canary %d (%s) passes %s and the "
                                "musl differential" % (n, slip, target))
            self.assertRegex(err, r"invariant failed|disagrees",
                             "canary %d: %s" % (n, err[-300:]))


if __name__ == "__main__":
    unittest.main()
