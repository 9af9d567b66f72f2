"""fig_canary.py - `make bench`'s fuzz time to detect: how long libFuzzer,
started from the committed corpus, takes to trap on each seeded bug.

Why: coverage says the fuzz targets reach the walk; only a seeded bug
says their invariants would notice it going wrong there.  Each canary is a
realistic slip compiled into the library only under -DCR_CANARY=N (the
blocks in harness/src; a default build has none), built like
build/fuzz-fast (the plain libFuzzer flags) into
build/bench/canary<N>/<target> by the Makefile's bench section.

Method, per canary: the target that holds the invariant for it (CANARIES)
runs with -seed=N for N in SEEDS on a scratch copy of corpus/cmsg_parse,
stderr read as it comes; the time is the moment libFuzzer reports the
first failing input ("ERROR: libFuzzer" or a sanitizer's report), and the
check that trapped is kept from the "invariant failed" line.  A run that
finds nothing within CAP seconds is "not found".  The canary's figure is
the median over the seeds (a run that found nothing counts as slower than
any that did; seeds stop once more than half found nothing); the worst
canary is the figure's headline, null when any canary's median found
nothing.
"""

import os
import re
import shutil
import tempfile

from bench import common

CORPUS = os.path.join(common.REPO, "corpus", "cmsg_parse")
# N -> (the fuzz target whose invariants should catch it, the slip).
CANARIES = {
    1: ("cmsg_parse", "glibc's next-header bound N + 16 <= C made strict"),
    2: ("cmsg_parse", "a truncated item reported ok"),
    3: ("cmsg_parse", "a truncated item's last int left off the close list"),
    4: ("cmsg_parse", "no warning for a truncated item with no data"),
    5: ("cmsg_parse", "musl's strict bound N + 16 < C made non-strict"),
    6: ("cmsg_parse", "legacy glibc aligns the next header to 4, not 8"),
}
SEEDS = (1, 2, 3)
CAP = 60.0
_FOUND = re.compile(r"ERROR: (libFuzzer|AddressSanitizer|"
                    r"UndefinedBehaviorSanitizer)|runtime error:")
_CHECK = re.compile(r"^(\S+:\d+): invariant failed")


def binary(n):
    """The canary's libFuzzer binary (path), or Missing."""
    target = CANARIES[n][0]
    return common.need_file(
        os.path.join(common.OUT, "canary%d" % n, target),
        "the canary %d build of %s" % (n, target),
        "make bench builds it (clang with libFuzzer; the target must be "
        "one of the fuzz section's FUZZ_TARGETS)")


def one_run(exe, seed, cap=CAP):
    """One run from a scratch copy of the corpus.  Returns {"seconds": s
    or None, "check": "file:line" of the trapping invariant or the report
    line}.  Raises Missing when libFuzzer exits without a finding."""
    tmp = tempfile.mkdtemp(prefix="cr-canary-", dir=common.OUT)
    st = {"at": None, "check": None}

    def on_line(line, now):
        m = _CHECK.match(line)
        if m and st["check"] is None:
            st["check"] = m.group(1)
        if st["at"] is None and _FOUND.search(line):
            st["at"] = now
            st["check"] = st["check"] or line.strip()[:120]
            return True
        return False

    try:
        corpus = os.path.join(tmp, "corpus")
        shutil.copytree(CORPUS, corpus)
        cmd = [exe, "-seed=%d" % seed, "-artifact_prefix=" + tmp + os.sep,
               corpus]
        code, _ = common.follow(cmd, cap, on_line)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    if code is not None and st["at"] is None:
        raise common.Missing("%s -seed=%d exited %d and reported nothing" % (
            os.path.relpath(exe, common.REPO), seed, code))
    return {"seconds": None if st["at"] is None else round(st["at"], 2),
            "check": st["check"]}


def measure(seeds=SEEDS, cap=CAP, say=None):
    """Every canary: a dict of bench.json keys.  A canary whose binary is
    missing is null with its reason in "canary_missing"; the run raises
    Missing only when no canary could run."""
    seconds, detail, missing = {}, {}, {}
    for n in sorted(CANARIES):
        target, slip = CANARIES[n]
        try:
            exe = binary(n)
            runs = []
            for seed in seeds:
                r = one_run(exe, seed, cap)
                r["seed"] = seed
                runs.append(r)
                if common.majority_cut_off(runs, len(seeds)):
                    break
        except common.Missing as e:
            seconds[str(n)] = None
            missing[str(n)] = str(e)
            if say:
                say("    canary %d MISSING: %s" % (n, e))
            continue
        mid = common.median_run(runs)
        seconds[str(n)] = mid["seconds"]
        detail[str(n)] = {"target": target, "slip": slip, "runs": runs,
                          "check": mid["check"]}
        if say:
            say("    canary %d (%s, %s): %s" % (
                n, target, slip, "; ".join(
                    "seed %d %s" % (r["seed"], "not found in %.0f s" % cap
                                    if r["seconds"] is None else
                                    "%.2f s at %s" % (r["seconds"],
                                                      r["check"]))
                    for r in runs)))
    if len(missing) == len(CANARIES):
        raise common.Missing("no canary build: %s" % missing["1"])
    found = [v for v in seconds.values() if v is not None]
    worst = max(found) if len(found) == len(CANARIES) else None
    out = {"fuzz_canary_detect_seconds": dict(seconds, worst=worst),
           "fuzz_canary_detect": detail, "fuzz_canary_cap_seconds": cap}
    if missing:
        out["fuzz_canary_missing"] = missing
    return out
