"""fig_fuzz.py - figure 1 of `make bench` (issue 5): libFuzzer exec/s of
the cmsg_parse target as a fraction of the engine's ceiling.

Why: a fuzz target that spends its time outside the code under test finds
less per CPU-second.  The ceiling is an empty target (bench/empty_target.c)
compiled and linked exactly like fuzz/cmsg_parse.c in each build (the fuzz
section's flags and instrumented library objects), so the ratio is "how
much of the engine's speed the target keeps".

A third binary, the bare walk (bench/walk_target.c: one model walked
through the library, nothing checked), is measured the same way beside
them: its ratio to the empty target (fuzz_*_bare_walk_vs_empty) is the
most any target that walks the library at all reaches here, so it tells
how much of figure 1's gap is cmsg_parse's own work (five models and the
invariants of issue 3) and how much the engine's, which no target change
can remove.

Method, per build (plain = build/fuzz-fast, ASan+UBSan = build/fuzz):
- each binary runs with -seed=1 on the same seed corpus (corpus/cmsg_parse,
  read-only: new units go to a scratch directory that is emptied before
  every run) and a fixed run count per binary (RUNS below; the counts
  differ between the two targets only so that each run lasts about a
  second: exec/s does not depend on the count);
  the bare walk runs the same way;
- each binary also runs with -runs=1, which loads and executes the seed
  corpus and stops; its wall time is subtracted, so startup and corpus
  load are not counted: exec/s = (runs - runs at INITED) / (t(runs) -
  t(1));
- rounds interleave the three targets (the order rotates) and the figure
  is the median of the per-round ratios.
A crash, a timeout or a run count that libFuzzer does not confirm makes
the figure Missing with the reason (a crash leaves its input under
build/bench/fuzz-artifacts/).
"""

import os
import re
import shutil

from bench import common

CORPUS = os.path.join(common.REPO, "corpus", "cmsg_parse")
# Fixed run counts: (build, target) -> -runs.
RUNS = {("plain", "parse"): 300000, ("plain", "empty"): 2000000,
        ("plain", "walk"): 1000000,
        ("asan", "parse"): 50000, ("asan", "empty"): 1000000,
        ("asan", "walk"): 300000}
TARGETS = ("parse", "empty", "walk")
BINARIES = {
    ("plain", "parse"): "build/fuzz-fast/cmsg_parse",
    ("plain", "empty"): "build/bench/empty-fast",
    ("asan", "parse"): "build/fuzz/cmsg_parse",
    ("asan", "empty"): "build/bench/empty-asan",
    ("plain", "walk"): "build/bench/walk-fast",
    ("asan", "walk"): "build/bench/walk-asan",
}
_INITED = re.compile(r"#(\d+)\s+INITED")
_EXECUTED = re.compile(r"stat::number_of_executed_units:\s*(\d+)")


def _one(exe, runs, timeout):
    """One libFuzzer run; returns (seconds, executed units, units at
    INITED).  Raises Missing on a crash, a timeout or unparsable output."""
    scratch = os.path.join(common.OUT, "fuzz-scratch")
    artifacts = os.path.join(common.OUT, "fuzz-artifacts") + os.sep
    shutil.rmtree(scratch, ignore_errors=True)
    os.makedirs(scratch)
    if not os.path.isdir(artifacts):
        os.makedirs(artifacts)
    cmd = [exe, "-seed=1", "-runs=%d" % runs, "-print_final_stats=1",
           "-artifact_prefix=" + artifacts, scratch, CORPUS]
    res = common.run(cmd, timeout)
    shutil.rmtree(scratch, ignore_errors=True)
    name = os.path.relpath(exe, common.REPO)
    if res.returncode is None:
        raise common.Missing("%s -runs=%d did not finish in %ds" % (
            name, runs, timeout))
    err = res.stderr.decode("utf-8", "replace")
    if res.returncode != 0:
        raise common.Missing("%s crashed or failed (exit %d) on the seed "
                             "corpus or its mutations: %s (artifact under "
                             "build/bench/fuzz-artifacts/)" % (
                                 name, res.returncode, _first_error(err)))
    m, e = _INITED.search(err), _EXECUTED.search(err)
    if m is None or e is None:
        raise common.Missing("%s printed no INITED line or final stats" % name)
    return res.seconds, int(e.group(1)), int(m.group(1))


def _first_error(text):
    for line in text.splitlines():
        if "ERROR" in line or "invariant" in line or "deadly" in line:
            return line.strip()[:200]
    return text.strip().splitlines()[-1][:200] if text.strip() else "?"


def _exec_per_s(exe, runs, timeout):
    """Steady-state exec/s of one binary (see the module comment)."""
    t1, _, _ = _one(exe, 1, timeout)
    tn, executed, inited = _one(exe, runs, timeout)
    if executed != runs:
        raise common.Missing("%s executed %d units, not -runs=%d" % (
            os.path.relpath(exe, common.REPO), executed, runs))
    if tn <= t1 or runs <= inited:
        raise common.Missing("%s: -runs=%d is not longer than startup "
                             "(%.3fs vs %.3fs)" % (exe, runs, tn, t1))
    return (runs - inited) / (tn - t1)


def measure(build, rounds=3, timeout=60):
    """Figure 1 for one build ("plain" or "asan").  Returns a dict of
    bench.json keys; raises Missing."""
    common.need_file(CORPUS, "the seed corpus", "the fuzz area commits it")
    if not os.listdir(CORPUS):
        raise common.Missing("corpus/cmsg_parse is empty")
    exes = {}
    for target in ("parse", "empty"):
        exes[target] = common.need_file(
            os.path.join(common.REPO, BINARIES[(build, target)]),
            "the %s %s libFuzzer binary" % (build, target),
            "make bench builds it (needs clang with libFuzzer)")
    sub = "plain" if build == "plain" else "asan"
    # The bare walk has no target of its own: when it is missing or fails,
    # the figure is still measured and only its keys say why.
    walk_missing = None
    try:
        exes["walk"] = common.need_file(
            os.path.join(common.REPO, BINARIES[(build, "walk")]),
            "the %s bare-walk libFuzzer binary" % build,
            "make bench builds it (needs clang with libFuzzer)")
    except common.Missing as e:
        walk_missing = str(e)
    rates = dict((t, []) for t in TARGETS)
    ratios, walk_ratios = [], []
    for r in range(rounds):
        order = TARGETS[r % 3:] + TARGETS[:r % 3]
        rate = {}
        for target in order:
            if target == "walk" and walk_missing is not None:
                continue
            try:
                rate[target] = _exec_per_s(exes[target],
                                           RUNS[(build, target)], timeout)
            except common.Missing as e:
                if target != "walk":
                    raise
                walk_missing = str(e)
                continue
            rates[target].append(rate[target])
        ratios.append(rate["parse"] / rate["empty"])
        if "walk" in rate:
            walk_ratios.append(rate["walk"] / rate["empty"])
    key = "fuzz_parse_vs_empty" if build == "plain" else \
        "fuzz_parse_asan_vs_empty_asan"
    out = {key: round(common.median(ratios), 4),
           "fuzz_%s_rounds" % sub: rounds,
           "fuzz_corpus_files": len(os.listdir(CORPUS))}
    for t, name in (("parse", "parse"), ("empty", "empty"),
                    ("walk", "bare_walk")):
        out["fuzz_%s_%s_exec_per_s" % (sub, name)] = \
            int(round(common.median(rates[t]))) if rates[t] else None
    out["fuzz_%s_bare_walk_vs_empty" % sub] = None
    if walk_missing is not None:
        out["fuzz_%s_bare_walk_missing" % sub] = walk_missing
    elif walk_ratios:
        out["fuzz_%s_bare_walk_vs_empty" % sub] = \
            round(common.median(walk_ratios), 4)
    return out
