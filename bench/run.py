"""run.py - `make bench`: measure, print a table, write
build/bench/bench.json.

Why: the speed that matters here is how fast the fuzz targets find a bug
in the walk, how long the whole conformance matrix takes, how fast the
inject suite pushes buffers through each interpreter's recvmsg, and what
the reference's own receive call and CLI cost in time and memory.  It is
a benchmark, not a test: a missed target is reported, never a failure;
`make check` runs none of it (only check-bench, the tests of this code).

Figures and targets (each module says how it measures):
  fuzz_full_coverage_seconds    plain <= 60 (ASan+UBSan shown)  fig_coverage
  fuzz_canary_detect_seconds    every canary found, each <= 30  fig_canary
  recv_vs_raw                   <= 1.1                          fig_native
  conformance_matrix_seconds    <= 30                           fig_oracle
  conformance_matrix_roots_seconds  <= 30, with the cached Debian
                                roots of bullseye, trixie, forky  fig_oracle
  injection_per_second          median over interpreters >= 10000,
                                the lowest beside it            fig_oracle
  cli_rss_over_input            <= (64 MiB + 8 MiB) / 64 MiB    fig_native
  recv_rss_1gib_over_baseline_kib  <= 8 MiB                     fig_native
A figure that cannot be measured is null in bench.json, named with its
reason in "missing", and printed as MISSING - never estimated.  A figure
cut off at a cap is null with "<key>_at_least" and printed "> cap".

Time: the whole run is budgeted (--budget); each stage checks the budget
left and is skipped loudly (Missing) when it cannot fit; the matrix runs
last, capped at min(--matrix-cap, what is left).

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

from bench import common, fig_canary, fig_coverage, fig_native, fig_oracle

RSS_RATIO = (64.0 + fig_native.RSS_SLACK_MIB) / 64


def _rows():
    """(key, sub-key or None, label, target text, predicate or None): one
    table row each; a predicate of None means no target (shown, not
    judged)."""
    rows = [
        ("fuzz_full_coverage_seconds", "plain",
         "fuzz: empty corpus to full walk+models coverage, plain (s)",
         "<= 60", lambda v: v <= 60),
        ("fuzz_full_coverage_seconds", "asan",
         "fuzz: the same, ASan+UBSan (s)", "-", None),
        ("fuzz_canary_detect_seconds", "worst",
         "fuzz: seeded bug found, worst of %d (s)" % len(fig_canary.CANARIES),
         "<= 30", lambda v: v <= 30)]
    for n in sorted(fig_canary.CANARIES):
        rows.append(("fuzz_canary_detect_seconds", str(n),
                     "  canary %d: %s" % (n, fig_canary.CANARIES[n][1]),
                     "<= 30", lambda v: v <= 30))
    rows += [
        ("recv_vs_raw", None, "cr_recvmsg ns / raw recvmsg ns", "<= 1.1",
         lambda v: v <= 1.1),
        ("conformance_matrix_seconds", None,
         "make conformance, 2 cores (s)", "<= 30", lambda v: v <= 30),
        ("conformance_matrix_roots_seconds", None,
         "make conformance DEBIAN=<cached roots>, 2 cores (s)", "<= 30",
         lambda v: v <= 30),
        ("injection_per_second", None,
         "inject suite buffers/s, median of interpreters", ">= 10000",
         lambda v: v >= 10000),
        ("cli_rss_over_input", None, "CLI peak RSS / 64 MiB input",
         "<= %.3f" % RSS_RATIO, lambda v: v <= RSS_RATIO),
        ("recv_rss_1gib_over_baseline_kib", None,
         "recv RSS, 1 GiB bufsize - baseline (KiB)",
         "<= %d" % (fig_native.RSS_SLACK_MIB * 1024),
         lambda v: v <= fig_native.RSS_SLACK_MIB * 1024)]
    return rows


ROWS = _rows()
STAGES = ("fuzz", "native", "oracle", "matrix")
KEYS = []
for _row in ROWS:
    if _row[0] not in KEYS:
        KEYS.append(_row[0])


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

    def stage(self, keys, need, fn, *args, **kw):
        """Run fn(*args, **kw) -> dict into data if `need` seconds are
        left; on Missing (or no time) set every key in keys to None and
        record why."""
        if self.left() < need:
            why = "skipped: %.0fs of the %.0fs budget left, this stage " \
                  "needs about %.0fs" % (max(self.left(), 0), self.budget,
                                          need)
        else:
            t0 = time.time()
            try:
                got = fn(*args, **kw)
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


def run_coverage(b):
    """fuzz_full_coverage_* for both builds; a build that cannot be
    measured is null with its reason."""
    secs, execs, at_least, detail = {}, {}, {}, {}
    for build in ("plain", "asan"):
        if b.left() < 30:
            why = "skipped: %.0fs of the budget left" % b.left()
        else:
            try:
                got = fig_coverage.measure(build, say=_say)
                secs[build] = got["seconds"]
                execs[build] = got["executions"]
                if "at_least" in got:
                    at_least[build] = got["at_least"]
                detail[build] = got
                _say("    %s: %s; %d target points (of %d the corpus "
                     "reaches in the files, %d covered at start)" % (
                         build, fig_coverage.describe(got,
                                                      got["cap_seconds"]),
                         got["points_target"], got["points_by_corpus"],
                         got["points_at_start"]))
                continue
            except common.Missing as e:
                why = str(e)
        secs[build] = execs[build] = None
        b.missing.append({"keys": ["fuzz_full_coverage_seconds." + build],
                          "why": why})
        _say("  MISSING fuzz_full_coverage_seconds.%s: %s" % (build, why))
    b.data["fuzz_full_coverage_seconds"] = secs
    b.data["fuzz_full_coverage_executions"] = execs
    b.data["fuzz_full_coverage"] = detail
    if at_least:
        b.data["fuzz_full_coverage_seconds_at_least"] = at_least


def run_canaries(b):
    """fuzz_canary_detect_* (fig_canary); a canary not found within the
    cap is null with the cap as its lower bound."""
    got = b.stage(["fuzz_canary_detect_seconds"], 60, fig_canary.measure,
                  say=_say)
    if not got:
        b.data["fuzz_canary_detect_seconds"] = {}
        return
    cap = got["fuzz_canary_cap_seconds"]
    secs = got["fuzz_canary_detect_seconds"]
    missing = got.get("fuzz_canary_missing", {})
    low = dict((k, cap) for k, v in secs.items()
               if v is None and k != "worst" and k not in missing)
    if low and not missing:
        low["worst"] = cap
    b.data["fuzz_canary_detect_seconds_at_least"] = low
    for k, why in sorted(missing.items()):
        b.missing.append({"keys": ["fuzz_canary_detect_seconds." + k],
                          "why": why})
    if secs["worst"] is None:
        b.missing.append({"keys": ["fuzz_canary_detect_seconds.worst"],
                          "why": "canary %s not found" % ", ".join(
                              k for k, v in sorted(secs.items())
                              if v is None and k != "worst")})


def run_injection(b, reserve):
    """injection_per_second: the median over interpreters of each one's
    inject rate, measured one at a time on a quiet machine; the lowest
    beside it.  An interpreter is skipped (named) once less than `reserve`
    seconds are left."""
    try:
        ok, bad = fig_oracle.interpreters()
    except common.Missing as e:
        b.data["injection_per_second"] = None
        b.missing.append({"keys": ["injection_per_second"], "why": str(e)})
        _say("  MISSING injection_per_second: %s" % e)
        return
    b.data["not_run_interpreters"] = [
        {"executable": e["executable"], "status": e["status"],
         "reason": e["reason"]} for e in bad]
    for e in bad:
        _say("  NOT RUN %s (%s: %s)" % (e["executable"], e["status"],
                                       e["reason"]))
    per = {}
    for it in ok:
        row = per.setdefault(it["label"], {})
        if b.left() < reserve:
            row["inject_per_s"] = None
            row["missing"] = "skipped: the time budget was used up"
            continue
        row["busy_cores_before"] = fig_oracle.quiet()
        try:
            row["inject_per_s"] = round(fig_oracle.worker_rate(it), 1)
        except common.Missing as e:
            row["inject_per_s"] = None
            row["missing"] = str(e)
        _say("  %-16s inject %8s/s  (rest of the machine: %.2f cores)" % (
            it["label"], row["inject_per_s"] or row.get("missing"),
            row["busy_cores_before"]))
    b.data["per_interpreter"] = per
    rates = dict((k, r["inject_per_s"]) for k, r in per.items())
    lacking = ["%s: %s" % (k, per[k].get("missing", "not measured"))
               for k, v in sorted(rates.items()) if v is None]
    if lacking or not rates:
        b.data["injection_per_second"] = None
        b.missing.append({"keys": ["injection_per_second"],
                          "why": "; ".join(lacking) or "no interpreter"})
        return
    low = min(rates, key=rates.get)
    b.data["injection_per_second"] = round(common.median(
        list(rates.values())), 1)
    b.data["injection_per_second_lowest"] = rates[low]
    b.data["injection_per_second_lowest_interpreter"] = low


def run_matrix(b, cap):
    b.data["conformance_matrix_busy_cores_before"] = fig_oracle.quiet()
    secs, code, last = fig_oracle.matrix_seconds(cap)
    b.data["conformance_matrix_exit"] = code
    if secs is None:
        b.data["conformance_matrix_seconds"] = None
        b.data["conformance_matrix_seconds_at_least"] = cap
        b.missing.append({"keys": ["conformance_matrix_seconds"],
                          "why": "`make conformance` was killed at the "
                          "%ds cap (so it takes at least that long)" % cap})
        _say("  MISSING conformance_matrix_seconds: killed at the %ds cap"
             % cap)
        return
    b.data["conformance_matrix_seconds"] = round(secs, 1)
    _say("  conformance matrix %.1fs (exit %s: %s; rest of the machine "
         "before: %.2f cores)" % (secs, code, last,
                                  b.data["conformance_matrix_busy_cores_before"]))
    roots = fig_oracle.cached_roots()
    b.data["conformance_matrix_roots"] = list(roots)
    left = min(cap, b.left() - 5 - fig_oracle.QUIET_WAIT)
    if not roots or left < 20:
        b.data["conformance_matrix_roots_seconds"] = None
        b.missing.append({"keys": ["conformance_matrix_roots_seconds"],
                          "why": "no Debian root cached (scripts/debian-root "
                          "build bullseye trixie forky; root needed)"
                          if not roots else "skipped: %.0fs of the budget "
                          "left" % b.left()})
        return
    fig_oracle.quiet()
    secs, code, last = fig_oracle.matrix_seconds(
        left, ["DEBIAN=%s" % " ".join(roots)])
    b.data["conformance_matrix_roots_exit"] = code
    b.data["conformance_matrix_roots_seconds"] = (None if secs is None
                                                  else round(secs, 1))
    if secs is None:
        b.data["conformance_matrix_roots_seconds_at_least"] = left
        b.missing.append({"keys": ["conformance_matrix_roots_seconds"],
                          "why": "killed at the %ds cap" % left})
        return
    _say("  conformance matrix with %s %.1fs (exit %s: %s)"
         % (" ".join(roots), secs, code, last))


def value(data, key, sub):
    """(value, lower bound or None) of a table row in data."""
    v, low = data.get(key), data.get(key + "_at_least")
    if sub is not None:
        v = v.get(sub) if isinstance(v, dict) else None
        low = low.get(sub) if isinstance(low, dict) else None
    return v, low


def _shown(v):
    if isinstance(v, float):
        return "%.0f" % v if abs(v) >= 1000 else "%.4g" % v
    return str(v)


def table(data):
    """The figure table as text: figure, measured, target, met?"""
    rows = [("figure", "measured", "target", "met?")]
    for key, sub, label, target, ok in ROWS:
        v, low = value(data, key, sub)
        if v is None:
            shown = ("> %s (cut off)" % _shown(low)) if low else "MISSING"
            met = "MISSING" if not low else "NO" if ok and not ok(low) \
                else "-"
        else:
            shown = _shown(v)
            met = "-" if ok is None else "yes" if ok(v) else "NO"
        if key == "injection_per_second" and v is not None and \
                data.get("injection_per_second_lowest") is not None:
            shown += " (lowest %s, %s)" % (
                _shown(data["injection_per_second_lowest"]),
                data.get("injection_per_second_lowest_interpreter"))
        rows.append((label, shown, target, met))
    w = [max(len(r[i]) for r in rows) for i in range(4)]
    lines = ["  ".join(c.ljust(w[i]) for i, c in enumerate(r)).rstrip()
             for r in rows]
    lines.insert(1, "  ".join("-" * x for x in w))
    return "\n".join(lines)


def main(argv=None):
    ap = _Parser(prog="python3 -m bench.run")
    ap.add_argument("--budget", type=float, default=480.0)
    ap.add_argument("--matrix-cap", type=float, default=90.0)
    ap.add_argument("--only", default=",".join(STAGES))
    ap.add_argument("--json", default=os.path.join(common.OUT, "bench.json"))
    args = ap.parse_args(argv)
    only = [s for s in args.only.split(",") if s]
    for s in only:
        if s not in STAGES:
            ap.error("unknown stage %r (stages: %s)" % (s, ", ".join(STAGES)))
    if args.budget <= 0 or args.matrix_cap <= 0:
        ap.error("--budget and --matrix-cap must be positive")
    if not os.path.isdir(common.OUT):
        os.makedirs(common.OUT)
    b = Bench(args.budget)
    _say("make bench: budget %.0fs, stages %s" % (args.budget,
                                                  ", ".join(only)))
    if "fuzz" in only:
        run_coverage(b)
        run_canaries(b)
    if "native" in only:
        b.stage(["recv_vs_raw"], 5, fig_native.recv_vs_raw)
        b.stage(["cli_rss_over_input"], 10, fig_native.cli_rss)
        b.stage(["recv_rss_1gib_over_baseline_kib"], 3, fig_native.recv_rss)
    if "oracle" in only:
        # The matrix (next) keeps what is left above 40 s.
        run_injection(b, 40 + 10)
    if "matrix" in only:
        cap = min(args.matrix_cap, b.left() - 5 - fig_oracle.QUIET_WAIT)
        if cap < 20:
            b.data["conformance_matrix_seconds"] = None
            b.missing.append({"keys": ["conformance_matrix_seconds"],
                              "why": "skipped: %.0fs of the budget left"
                              % b.left()})
        else:
            run_matrix(b, cap)
    for key in KEYS:
        if key not in b.data:
            b.data[key] = None
            b.missing.append({"keys": [key], "why": "not run: its stage is "
                              "not in --only %s" % ",".join(only)})
    for key, sub, label, target, ok in ROWS:
        name = key if sub is None else "%s.%s" % (key, sub)
        v, low = value(b.data, key, sub)
        b.data.setdefault("targets", {})[name] = target
        if v is None and low is not None and ok is not None and not ok(low):
            v = low             # cut off past the target: not met
        b.data.setdefault("met", {})[name] = \
            None if v is None or ok is None else ok(v)
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
