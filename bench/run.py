"""run.py - `make bench` (issue 5): measure, print a table, write
build/bench/bench.json.

Why: cmsgref has three things whose speed matters - the reference's own
receive call and CLI, its fuzz targets and its Python oracle - and this
machine is shared and noisy, so every figure is a ratio taken in one run
against a ceiling measured the same way, with both sides interleaved where
the figure is a ratio (see each fig_*.py).  It is a benchmark, not a test:
a missed target is reported, never a failure; `make check` runs none of it.

Figures and targets (issue 5):
  1 fuzz_parse_vs_empty, fuzz_parse_asan_vs_empty_asan   >= 0.8
    (beside them, no target: fuzz_{plain,asan}_bare_walk_vs_empty, the
    most a target that walks the library at all reaches; fig_fuzz.py)
  2 recv_vs_raw                                           <= 1.1
  3 conformance_vs_testsuite (lowest over interpreters)   >= 20
    conformance_matrix_seconds                            <  60
  4 injection_per_second (lowest over interpreters)       >= 10000
  5 cli_rss_over_input                   <= (64 MiB + 8 MiB) / 64 MiB
    recv_rss_1gib_over_baseline_kib                       <= 8 MiB
A figure that cannot be measured is null in bench.json, named with its
reason in "missing", and printed as MISSING - never estimated.

Time: the whole run is budgeted (--budget, default 240 s, so `make bench`
with its builds stays under 5 minutes on 2 cores); each stage checks the
budget left and is skipped loudly (Missing) when it cannot fit; the
conformance matrix runs last, capped at min(--matrix-cap, what is left).

Usage: python3 -m bench.run [--budget S] [--matrix-cap S]
           [--only fuzz,native,oracle,matrix] [--json PATH]
Exit status 0 when the run completed (targets missed or not), 2 on bad
arguments.
"""

import argparse
import json
import os
import sys
import time

from bench import common, fig_fuzz, fig_native, fig_oracle

MIB = 1 << 20
# key -> (label, target text, predicate on the value)
TARGETS = [
    ("fuzz_parse_vs_empty", "1 fuzz exec/s: cmsg_parse / empty (plain)",
     ">= 0.8", lambda v: v >= 0.8),
    ("fuzz_parse_asan_vs_empty_asan", "1 fuzz exec/s: same, ASan+UBSan",
     ">= 0.8", lambda v: v >= 0.8),
    ("recv_vs_raw", "2 cr_recvmsg ns / raw recvmsg ns", "<= 1.1",
     lambda v: v <= 1.1),
    ("conformance_vs_testsuite",
     "3 scenarios/s / test_socket tests/s (lowest)", ">= 20",
     lambda v: v >= 20),
    ("conformance_matrix_seconds", "3 whole matrix, 2 jobs (s)", "< 60",
     lambda v: v < 60),
    ("injection_per_second", "4 inject suite buffers/s (lowest)",
     ">= 10000", lambda v: v >= 10000),
    ("cli_rss_over_input", "5 CLI peak RSS / 64 MiB input",
     "<= %.3f" % ((64.0 + fig_native.RSS_SLACK_MIB) / 64),
     lambda v: v <= (64.0 + fig_native.RSS_SLACK_MIB) / 64),
    ("recv_rss_1gib_over_baseline_kib",
     "5 recv RSS, 1 GiB bufsize - baseline (KiB)",
     "<= %d" % (fig_native.RSS_SLACK_MIB * 1024),
     lambda v: v <= fig_native.RSS_SLACK_MIB * 1024),
]
STAGES = ("fuzz", "native", "oracle", "matrix")


class _Parser(argparse.ArgumentParser):
    def error(self, message):
        sys.stderr.write("bench.run: %s\n" % message)
        sys.exit(2)


class Bench(object):
    """The figures gathered so far, what is missing and why, and the time
    budget."""

    def __init__(self, budget):
        self.started = time.time()
        self.budget = budget
        self.data = {}
        self.missing = []

    def left(self):
        return self.budget - (time.time() - self.started)

    def stage(self, keys, need, fn, *args):
        """Run fn(*args) -> dict into data if `need` seconds are left; on
        Missing (or no time) set every key in keys to None and record why."""
        if self.left() < need:
            why = "skipped: %.0fs of the %.0fs budget left, this stage " \
                  "needs about %.0fs" % (max(self.left(), 0), self.budget,
                                          need)
        else:
            t0 = time.time()
            try:
                got = fn(*args)
                self.data.update(got)
                _say("  %-34s %5.1fs" % (", ".join(keys), time.time() - t0))
                return got
            except common.Missing as e:
                why = str(e)
        for k in keys:
            self.data.setdefault(k, None)
        self.missing.append({"keys": list(keys), "why": why})
        _say("  MISSING %s: %s" % (", ".join(keys), why))
        return None


def _say(text):
    sys.stdout.write(text + "\n")
    sys.stdout.flush()


def run_oracle(b, window_inject, window_sockets, ceiling_s, sample,
               reserve):
    """Figures 3 and 4 per interpreter, then the lowest over them; a part
    is skipped (Missing) once less than `reserve` seconds are left."""
    try:
        ok, bad = fig_oracle.interpreters()
    except common.Missing as e:
        for k in ("conformance_vs_testsuite", "injection_per_second"):
            b.data[k] = None
        b.missing.append({"keys": ["conformance_vs_testsuite",
                                   "injection_per_second"], "why": str(e)})
        _say("  MISSING oracle figures: %s" % e)
        return
    b.data["not_run_interpreters"] = [
        {"executable": e["executable"], "status": e["status"],
         "reason": e["reason"]} for e in bad]
    for e in bad:
        _say("  NOT RUN %s (%s: %s)" % (e["executable"], e["status"],
                                       e["reason"]))
    counts = fig_oracle.case_counts()
    b.data["oracle_case_counts"] = counts
    per = {}
    excluded = []
    for it in ok:
        row = {}
        per[it["label"]] = row
        for what, fn, args in (
                ("inject_per_s", fig_oracle.worker_rate,
                 (it, "inject", window_inject)),
                ("tests_per_s", fig_oracle.testsuite_rate, (it, sample)),
                ("sockets_per_s", fig_oracle.worker_rate,
                 (it, "sockets", window_sockets)),
                ("inject_ceiling_per_s", fig_oracle.ceiling_rate,
                 (it, ceiling_s))):
            if b.left() < reserve:
                row[what] = None
                row[what + "_missing"] = "skipped: the time budget was " \
                    "used up"
                continue
            try:
                got = fn(*args)
            except fig_oracle.NoTestsuite as e:
                row[what] = None
                row["no_testsuite"] = str(e)
                excluded.append(str(e))
                continue
            except common.Missing as e:
                row[what] = None
                row[what + "_missing"] = str(e)
                continue
            if what == "inject_ceiling_per_s":
                row[what] = got["per_second"]
                row["inject_ceiling_buffers"] = got["buffers"]
            elif what == "tests_per_s":
                row[what] = got[0]
                row["tests_run"] = got[1]
                row["tests_selected"] = got[2]
            else:
                row[what] = round(got[0], 1)
                if what == "inject_per_s" and \
                        "inject_reference_per_s" not in b.data:
                    b.stage(["inject_reference_per_s"], 0,
                            lambda: {"inject_reference_per_s": round(
                                fig_oracle.reference_rate(got[3]), 1)})
        row["scenarios_per_s"] = _weighted(row, counts)
        if row["scenarios_per_s"] is not None and row.get("tests_per_s"):
            row["vs_testsuite"] = round(row["scenarios_per_s"] /
                                        row["tests_per_s"], 2)
        else:
            row["vs_testsuite"] = None
            if row.get("scenarios_per_s") is None:
                row["vs_testsuite_missing"] = "the scenario rate is missing"
            elif not row.get("no_testsuite"):
                row["vs_testsuite_missing"] = row.get(
                    "tests_per_s_missing", "the test_socket rate is missing")
        _say("  %-16s inject %6s/s  sockets %7s/s  scenarios %7s/s  "
             "test_socket %7s/s  ratio %6s  ceiling %7s/s" % (
                 it["label"], row.get("inject_per_s"),
                 row.get("sockets_per_s"), row["scenarios_per_s"],
                 row.get("tests_per_s"), row["vs_testsuite"],
                 row.get("inject_ceiling_per_s")))
    b.data["per_interpreter"] = per
    # Interpreters without their own test_socket have no yardstick: they
    # are left out of this lowest, by name (never silently).
    _lowest(b, dict((k, v) for k, v in per.items()
                    if not v.get("no_testsuite")),
            "vs_testsuite", "conformance_vs_testsuite")
    b.data["conformance_vs_testsuite_excluded"] = excluded
    for e in excluded:
        _say("  NO YARDSTICK (left out of conformance_vs_testsuite): %s" % e)
    _lowest(b, per, "inject_per_s", "injection_per_second")
    _lowest(b, per, "inject_ceiling_per_s", "injection_ceiling_per_second")
    rates = [(r.get("inject_per_s"), r.get("sockets_per_s"))
             for r in per.values()]
    if counts.get("inject") and counts.get("sockets") and rates and \
            all(i and s for i, s in rates):
        total = sum(counts["inject"] / i + counts["sockets"] / s
                    for i, s in rates)
        b.data["conformance_matrix_seconds_projected"] = round(total / 2, 1)


def _weighted(row, counts):
    """Scenarios/s of a full run of both suites: total cases over the time
    the measured rates give them; None unless both rates and counts exist."""
    i, s = row.get("inject_per_s"), row.get("sockets_per_s")
    ni, nsock = counts.get("inject"), counts.get("sockets")
    if not (i and s and ni and nsock):
        return None
    return round((ni + nsock) / (ni / i + nsock / s), 1)


def _lowest(b, per, field, key):
    """data[key] = the lowest per-interpreter field, with the interpreter;
    None and a missing entry if any interpreter lacks it."""
    lacking = []
    for lab, r in sorted(per.items()):
        if r.get(field) is None:
            why = r.get(field + "_missing") or "not measured"
            lacking.append(why if why.startswith(lab + ":")
                           else "%s: %s" % (lab, why))
    if lacking or not per:
        b.data[key] = None
        b.missing.append({"keys": [key], "why": "; ".join(lacking)
                          or "no interpreter"})
        return
    lab = min(per, key=lambda k: per[k][field])
    b.data[key] = per[lab][field]
    b.data[key + "_interpreter"] = lab


def run_matrix(b, cap):
    secs, code, last = fig_oracle.matrix_seconds(cap)
    b.data["conformance_matrix_exit"] = code
    if secs is None:
        b.data["conformance_matrix_seconds"] = None
        b.data["conformance_matrix_seconds_at_least"] = cap
        b.missing.append({"keys": ["conformance_matrix_seconds"],
                          "why": "`python3 -m oracle.conformance` was "
                          "killed at the %ds cap (so it takes at least "
                          "that long)" % cap})
        _say("  MISSING conformance_matrix_seconds: killed at the %ds cap"
             % cap)
        return
    b.data["conformance_matrix_seconds"] = round(secs, 1)
    _say("  conformance matrix %.1fs (exit %s: %s)" % (secs, code, last))


def fuzz_line(got, build):
    """One line of figure 1's rates for a build, from fig_fuzz.measure's
    dict: the target, the bare walk (the floor of any target walking the
    library) and the empty target, exec/s, with the two ratios."""
    sub = "plain" if build == "plain" else "asan"
    main = "fuzz_parse_vs_empty" if build == "plain" else \
        "fuzz_parse_asan_vs_empty_asan"
    walk = got.get("fuzz_%s_bare_walk_vs_empty" % sub)
    if walk is None:
        walk_text = "MISSING (%s)" % got.get(
            "fuzz_%s_bare_walk_missing" % sub, "not measured")
    else:
        walk_text = "%d/s (%.3g)" % (
            got["fuzz_%s_bare_walk_exec_per_s" % sub], walk)
    return ("    %-5s cmsg_parse %d/s (%.3g)  bare one-model walk %s  "
            "empty %d/s" % (
                sub, got["fuzz_%s_parse_exec_per_s" % sub], got[main],
                walk_text, got["fuzz_%s_empty_exec_per_s" % sub]))


def table(data):
    """The figure table as text: figure, measured, target, met?"""
    rows = [("figure", "measured", "target", "met?")]
    for key, label, target, ok in TARGETS:
        v = data.get(key)
        if v is None:
            extra = data.get(key + "_at_least")
            shown = ("> %s (killed)" % extra) if extra else "MISSING"
            met = "no" if extra and not ok(extra) else "MISSING"
        else:
            shown = str(v) if not isinstance(v, float) else (
                "%.0f" % v if abs(v) >= 1000 else "%.4g" % v)
            met = "yes" if ok(v) else "NO"
        rows.append((label, shown, target, met))
    w = [max(len(r[i]) for r in rows) for i in range(4)]
    lines = ["  ".join(c.ljust(w[i]) for i, c in enumerate(r)) for r in rows]
    lines.insert(1, "  ".join("-" * x for x in w))
    return "\n".join(lines)


def main(argv=None):
    ap = _Parser(prog="python3 -m bench.run")
    ap.add_argument("--budget", type=float, default=240.0)
    ap.add_argument("--matrix-cap", type=float, default=70.0)
    ap.add_argument("--fuzz-rounds", type=int, default=3)
    ap.add_argument("--only", default=",".join(STAGES))
    ap.add_argument("--json", default=os.path.join(common.OUT, "bench.json"))
    args = ap.parse_args(argv)
    only = [s for s in args.only.split(",") if s]
    for s in only:
        if s not in STAGES:
            ap.error("unknown stage %r (stages: %s)" % (s, ", ".join(STAGES)))
    if args.budget <= 0 or args.matrix_cap <= 0 or args.fuzz_rounds < 1:
        ap.error("--budget, --matrix-cap and --fuzz-rounds must be positive")
    if not os.path.isdir(common.OUT):
        os.makedirs(common.OUT)
    b = Bench(args.budget)
    _say("make bench: budget %.0fs, stages %s" % (args.budget,
                                                  ", ".join(only)))
    if "fuzz" in only:
        for build, key in (("plain", "fuzz_parse_vs_empty"),
                           ("asan", "fuzz_parse_asan_vs_empty_asan")):
            got = b.stage([key], 20, fig_fuzz.measure, build,
                          args.fuzz_rounds)
            if got:
                _say(fuzz_line(got, build))
    if "native" in only:
        b.stage(["recv_vs_raw"], 5, fig_native.recv_vs_raw)
        b.stage(["cli_rss_over_input"], 10, fig_native.cli_rss)
        b.stage(["recv_rss_1gib_over_baseline_kib"], 3, fig_native.recv_rss)
    if "oracle" in only:
        if b.left() < 60:
            for k in ("conformance_vs_testsuite", "injection_per_second"):
                b.data[k] = None
            b.missing.append({"keys": ["conformance_vs_testsuite",
                                       "injection_per_second"],
                              "why": "skipped: %.0fs of the budget left"
                              % b.left()})
        else:
            # The matrix (next) gets what is left above 25 s.
            run_oracle(b, 2.0, 1.5, 0.7, None, 25 + 5)
    if "matrix" in only:
        cap = min(args.matrix_cap, b.left() - 5)
        if cap < 20:
            b.data["conformance_matrix_seconds"] = None
            b.missing.append({"keys": ["conformance_matrix_seconds"],
                              "why": "skipped: %.0fs of the budget left"
                              % b.left()})
        else:
            run_matrix(b, cap)
    for key, _, target, ok in TARGETS:
        if key not in b.data:
            b.data[key] = None
            b.missing.append({"keys": [key], "why": "not run: its stage is "
                              "not in --only %s" % ",".join(only)})
        v = b.data[key]
        b.data.setdefault("met", {})[key] = None if v is None else ok(v)
        b.data.setdefault("targets", {})[key] = target
    b.data["missing"] = b.missing
    b.data["seconds"] = round(time.time() - b.started, 1)
    b.data["generated"] = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
    with open(args.json, "w") as f:
        json.dump(b.data, f, indent=1, sort_keys=True)
        f.write("\n")
    _say("\n" + table(b.data))
    if b.missing:
        _say("\nMISSING (null in bench.json):")
        for m in b.missing:
            _say("  %s: %s" % (", ".join(m["keys"]), m["why"]))
    _say("\nbench: %.0fs; wrote %s" % (b.data["seconds"],
                                      os.path.relpath(args.json, common.REPO)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
