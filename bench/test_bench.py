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
import zlib

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


class Report(unittest.TestCase):
    def test_table_says_NO_for_a_missed_target_and_yes_for_a_met_one(self):
        text = run.table({"recv_vs_raw": 1.5, "fuzz_parse_vs_empty": 0.9})
        recv = [l for l in text.splitlines() if l.startswith("2 ")][0]
        fuzz = [l for l in text.splitlines()
                if l.startswith("1 fuzz exec/s: cmsg_parse")][0]
        self.assertTrue(recv.rstrip().endswith("NO"), recv)
        self.assertTrue(fuzz.rstrip().endswith("yes"), fuzz)

    def test_a_missing_figure_is_printed_MISSING_never_a_number(self):
        text = run.table({"recv_vs_raw": None})
        recv = [l for l in text.splitlines() if l.startswith("2 ")][0]
        self.assertIn("MISSING", recv)

    def test_a_killed_matrix_shows_its_lower_bound_and_is_not_met(self):
        text = run.table({"conformance_matrix_seconds": None,
                          "conformance_matrix_seconds_at_least": 70})
        row = [l for l in text.splitlines() if "whole matrix" in l][0]
        self.assertIn("> 70", row)
        self.assertTrue(row.rstrip().endswith("no"), row)

    def test_lowest_is_null_and_missing_if_one_interpreter_lacks_it(self):
        b = run.Bench(10)
        run._lowest(b, {"a": {"x": 5.0}, "b": {"x": None,
                                                 "x_missing": "broke"}},
                    "x", "key")
        self.assertIsNone(b.data["key"])
        self.assertIn("broke", b.missing[0]["why"])
        b = run.Bench(10)
        run._lowest(b, {"a": {"x": 5.0}, "b": {"x": 3.0}}, "x", "key")
        self.assertEqual(b.data["key"], 3.0)
        self.assertEqual(b.data["key_interpreter"], "b")

    def test_scenario_rate_weights_suites_by_case_count(self):
        # 10 cases at 10/s (1 s) + 90 cases at 90/s (1 s): 100 in 2 s.
        got = run._weighted({"inject_per_s": 10.0, "sockets_per_s": 90.0},
                            {"inject": 10, "sockets": 90})
        self.assertEqual(got, 50.0)
        self.assertIsNone(run._weighted({"inject_per_s": 10.0},
                                        {"inject": 10, "sockets": 90}))

    def test_large_figures_print_whole_small_ones_four_digits(self):
        text = run.table({"injection_per_second": 12866.4,
                          "fuzz_parse_vs_empty": 0.17234})
        self.assertIn(" 12866 ", text)
        self.assertIn(" 0.1723 ", text)

    def test_reference_rate_times_the_drivers_half_and_refuses_gaps(self):
        from bench import fig_oracle
        from oracle import suite_inject
        rel = [r for r in suite_inject.corpus_files()
               if "/seed-k01-" in r][0]
        with open(os.path.join(suite_inject.CORPUS, rel), "rb") as f:
            crc = zlib.crc32(f.read()) & 0xffffffff
        good = {"id": "corpus:%s@error" % rel, "native": {},
                "leaked_fds": {"native": []}, "libc": "glibc",
                "control_crc32": crc}
        recs = [dict(good, leaked_fds={"native": []}) for _ in range(3)]
        self.assertGreater(fig_oracle.reference_rate(recs), 0)
        self.assertTrue(all("reference" in r for r in recs))
        bad = dict(good, leaked_fds={"native": []}, control_crc32=crc ^ 1)
        with self.assertRaises(common.Missing):
            fig_oracle.reference_rate([bad])

    def _measure_with(self, fake_one, build="plain", rounds=3,
                      targets=("parse", "empty", "walk")):
        """fig_fuzz.measure(build, rounds) with _one replaced by fake_one
        and the binaries of `targets` present (empty files in a temporary
        directory: a fresh clone has built none), the others absent."""
        import shutil
        import tempfile
        from bench import fig_fuzz
        d = tempfile.mkdtemp()
        saved = fig_fuzz._one, dict(fig_fuzz.BINARIES)
        try:
            for key in list(fig_fuzz.BINARIES):
                path = os.path.join(d, "%s-%s" % key)
                if key[1] in targets:
                    open(path, "w").close()
                fig_fuzz.BINARIES[key] = path
            fig_fuzz._one = fake_one
            return fig_fuzz.measure(build, rounds=rounds)
        finally:
            fig_fuzz._one = saved[0]
            fig_fuzz.BINARIES.clear()
            fig_fuzz.BINARIES.update(saved[1])
            shutil.rmtree(d)

    def test_fuzz_figure_rotates_three_targets_and_takes_median_ratios(self):
        # _one replaced by a fake engine: parse runs at 100/s, the bare
        # walk at 300/s, the empty target at 400/s, each startup 1 s; the
        # third round's parse is slow (50/s): the medians must ignore it.
        from bench import fig_fuzz
        rate = {"parse": 100.0, "walk": 300.0, "empty": 400.0}
        calls = []

        def fake_one(exe, runs, timeout):
            target = exe.rsplit("-", 1)[1]
            calls.append((target, runs))
            r = rate[target]
            if target == "parse" and len(calls) > 12:
                r = 50.0
            inited = 10
            return (1.0 + (runs - inited) / r if runs > 1 else 1.0,
                    runs, inited)

        got = self._measure_with(fake_one)
        firsts = [calls[i][0] for i in (0, 6, 12)]
        self.assertEqual(firsts, ["parse", "empty", "walk"])
        self.assertEqual(got["fuzz_parse_vs_empty"], 0.25)
        self.assertEqual(got["fuzz_plain_bare_walk_vs_empty"], 0.75)
        self.assertEqual(got["fuzz_plain_parse_exec_per_s"], 100)
        self.assertEqual(got["fuzz_plain_bare_walk_exec_per_s"], 300)
        self.assertEqual(got["fuzz_plain_empty_exec_per_s"], 400)
        line = run.fuzz_line(got, "plain")
        self.assertIn("cmsg_parse 100/s (0.25)", line)
        self.assertIn("bare one-model walk 300/s (0.75)", line)

    def test_a_failing_bare_walk_leaves_the_figure_measured(self):
        def fake_one(exe, runs, timeout):
            if exe.endswith("-walk"):
                raise common.Missing("walk crashed")
            return (1.0 + runs / 100.0 if runs > 1 else 1.0, runs, 0)
        got = self._measure_with(fake_one)
        self.assertEqual(got["fuzz_parse_vs_empty"], 1.0)
        self.assertIsNone(got["fuzz_plain_bare_walk_vs_empty"])
        self.assertEqual(got["fuzz_plain_bare_walk_missing"], "walk crashed")
        self.assertIn("bare one-model walk MISSING (walk crashed)",
                      run.fuzz_line(got, "plain"))
        # A bare walk that was never built: the same, with the reason.
        got = self._measure_with(fake_one, targets=("parse", "empty"))
        self.assertEqual(got["fuzz_parse_vs_empty"], 1.0)
        self.assertIn("bare-walk libFuzzer binary",
                      got["fuzz_plain_bare_walk_missing"])

    def test_fuzz_figure_is_missing_when_libfuzzer_does_not_confirm(self):
        with self.assertRaises(common.Missing) as cm:
            self._measure_with(lambda exe, runs, timeout: (2.0, runs - 1, 10),
                               build="asan", rounds=1)
        self.assertIn("not -runs=", str(cm.exception))
        # And without the target binary at all, Missing says which.
        with self.assertRaises(common.Missing) as cm:
            self._measure_with(lambda exe, runs, timeout: (2.0, runs, 0),
                               targets=("empty", "walk"))
        self.assertIn("parse libFuzzer binary", str(cm.exception))

    def test_driver_bad_argument_is_one_line_and_exit_2(self):
        code, out, err = _run([sys.executable, "-m", "bench.run", "--only",
                               "nonsense"])
        self.assertEqual(code, 2)
        self.assertEqual(len(err.strip().splitlines()), 1, err)


class Yardstick(unittest.TestCase):
    # The interpreter running the tests may lack test.test_socket
    # (Debian's python3): exit 3 with a "missing" line is its answer then.
    def run_sample(self, *args):
        env = dict(os.environ, PYTHONPATH=common.REPO)
        p = subprocess.Popen([sys.executable, "-m", "bench.testsuite_sample"]
                             + list(args), stdout=subprocess.PIPE,
                             stderr=subprocess.PIPE, cwd=common.REPO, env=env)
        out, err = p.communicate(timeout=120)
        return p.returncode, out.decode(), err.decode()

    def test_a_sample_runs_every_kth_test_of_the_selection(self):
        code, out, err = self.run_sample("--sample", "3")
        if code == 3:
            self.assertIn("missing", json.loads(out))
            return
        self.assertEqual(code, 0, err)
        d = json.loads(out)
        self.assertEqual(d["sampled"], len(range(0, d["selected"],
                                                 -(-d["selected"] // 3))))
        self.assertEqual(d["outcomes"]["run"], d["sampled"])
        self.assertEqual(d["outcomes"]["failures"] + d["outcomes"]["errors"],
                         0)

    def test_bad_sample_is_one_line_and_exit_2(self):
        for args in (["--sample", "0"], ["--sample", "x"], ["--bogus"]):
            code, out, err = self.run_sample(*args)
            self.assertEqual((code, out), (2, ""), args)
            self.assertEqual(len(err.strip().splitlines()), 1, err)


if __name__ == "__main__":
    unittest.main()
