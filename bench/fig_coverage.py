"""fig_coverage.py - `make bench`'s fuzz time to full coverage: how long
libFuzzer, started from nothing, takes to reach every branch of the walk
and the libc models that the committed corpus reaches.

Why: a fuzz target is worth what it finds per CPU-second, and the walk
(harness/src/walk.c, with internal.h's helpers compiled into it) and the
models (harness/src/models.c) are the code every other part trusts.  A
target that needs the corpus to get there would find little on its own.

Method, per build of cmsg_parse (plain = build/fuzz-fast, ASan+UBSan =
build/fuzz), with sancov.py naming each branch by its coverage point:
- the target set is the points of those files that libFuzzer's merge of
  corpus/cmsg_parse covers, less the points a one-byte input already
  covers together with what the target runs once per process: libFuzzer
  covers those with its first calls, before it starts printing new
  points (-print_pcs=1), so no run could report them;
- each run starts from an empty scratch directory, no dictionary, no
  seeds, -seed=N for N in SEEDS, and stderr is read as it comes: the
  run's time is the moment the last point of the target set appears in a
  NEW_PC line, its executions the count on the status line that follows;
  a run is stopped there, or at CAP seconds ("not reached", with the
  number of points still missing);
- the figure is the median over the seeds, a run that did not reach
  counting as slower than any that did (seeds stop once more than half
  did not reach); when the median run did not reach, the figure is null
  and "_at_least" holds the cap.
A crash before full coverage makes the figure Missing, its input kept
under build/bench/coverage-artifacts/.
"""

import os
import re
import shutil
import tempfile

from bench import common, sancov

CORPUS = os.path.join(common.REPO, "corpus", "cmsg_parse")
FILES = ("harness/src/walk.c", "harness/src/models.c",
         "harness/src/internal.h")
BINARIES = {"plain": "build/fuzz-fast/cmsg_parse",
            "asan": "build/fuzz/cmsg_parse"}
SEEDS = (1, 2, 3, 4, 5)
CAP = 120.0
_STATUS = re.compile(r"^#(\d+)\s")


def target_set(exe):
    """(table address, {link-time PC: index}, target indices, counts for
    the report).  Raises Missing."""
    addr, pcs = sancov.pc_table(exe)
    mine = sancov.files_of(exe, pcs, FILES)
    corpus = sancov.reached(exe, CORPUS) & mine
    tmp = tempfile.mkdtemp(prefix="cr-cov-start-")
    try:
        with open(os.path.join(tmp, "newline"), "wb") as f:
            f.write(b"\n")
        start = sancov.reached(exe, tmp) & mine
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    want = corpus - start
    if not want:
        raise common.Missing("the corpus reaches no point of %s beyond a "
                             "one-byte input" % ", ".join(FILES))
    by_pc = dict((pc, i) for i, pc in enumerate(pcs))
    return addr, by_pc, want, {"points_in_files": len(mine),
                               "points_by_corpus": len(corpus),
                               "points_at_start": len(start & corpus),
                               "points_target": len(want)}


def one_run(exe, seed, addr, by_pc, want, cap=CAP):
    """One libFuzzer run from nothing.  Returns {"seconds": s or None,
    "executions": n or None, "left": points not reached}.  Raises Missing
    on a crash or a run that printed no PC table."""
    scratch = tempfile.mkdtemp(prefix="cr-cov-", dir=common.OUT)
    artifacts = os.path.join(common.OUT, "coverage-artifacts") + os.sep
    if not os.path.isdir(artifacts):
        os.makedirs(artifacts)
    st = {"table": None, "left": set(want), "at": None, "execs": None,
          "crash": None}

    def on_line(line, now):
        if st["table"] is None:
            m = sancov.TABLE_AT.search(line)
            if m:
                st["table"] = int(m.group(2), 16)
            return False
        m = sancov.NEW_PC.match(line)
        if m:
            st["left"].discard(sancov.index_of(int(m.group(1), 16),
                                               st["table"], addr, by_pc))
            if not st["left"] and st["at"] is None:
                st["at"] = now
            return False
        m = _STATUS.match(line)
        if m and st["at"] is not None:
            st["execs"] = int(m.group(1))
            return True
        if "ERROR: libFuzzer" in line or "invariant failed" in line:
            st["crash"] = st["crash"] or line.strip()[:200]
        return False

    cmd = [exe, "-seed=%d" % seed, "-print_pcs=1",
           "-artifact_prefix=" + artifacts, scratch]
    try:
        code, secs = common.follow(cmd, cap, on_line)
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
    name = os.path.relpath(exe, common.REPO)
    if st["crash"] and st["at"] is None:
        raise common.Missing("%s -seed=%d crashed before full coverage: %s "
                             "(input under build/bench/coverage-artifacts/)"
                             % (name, seed, st["crash"]))
    if st["table"] is None:
        raise common.Missing("%s printed no PC table (exit %s)" % (
            name, code))
    if code is not None and st["at"] is None:
        raise common.Missing("%s -seed=%d exited %d before full coverage"
                             % (name, seed, code))
    return {"seconds": None if st["at"] is None else round(st["at"], 2),
            "executions": st["execs"], "left": len(st["left"])}


def measure(build, seeds=SEEDS, cap=CAP, say=None):
    """The figure for one build ("plain" or "asan"): a dict of bench.json
    keys.  Raises Missing."""
    exe = common.need_file(os.path.join(common.REPO, BINARIES[build]),
                           "the %s cmsg_parse libFuzzer binary" % build,
                           "make bench builds it (needs clang with "
                           "libFuzzer)")
    addr, by_pc, want, counts = target_set(exe)
    runs = []
    for seed in seeds:
        r = one_run(exe, seed, addr, by_pc, want, cap)
        r["seed"] = seed
        runs.append(r)
        if say:
            say("    %s seed %d: %s" % (build, seed, describe(r, cap)))
        if common.majority_cut_off(runs, len(seeds)):
            break
    mid = common.median_run(runs)
    out = dict(counts)
    out.update({"seconds": mid["seconds"], "executions": mid["executions"],
                "runs": runs, "cap_seconds": cap})
    if mid["seconds"] is None:
        out["at_least"] = cap
    return out


def describe(run, cap):
    """'12.3 s, 456789 execs' or 'not reached in 120 s (3 points left)'."""
    if run["seconds"] is None:
        return "not reached in %.0f s (%d point%s left)" % (
            cap, run["left"], "" if run["left"] == 1 else "s")
    return "%.1f s, %s execs" % (run["seconds"], run["executions"])
