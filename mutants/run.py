"""run.py - `make mutants`: build, mutate, judge, report.

Why: the detection power of the oracle and of CPython's own tests (the
CPython side), and of the reference's unit tests, corpus replay and fuzz
targets (the reference side), as mutation scores over the same kind of
single-point mutants.

Each side's mutants are numbered in source order (mutator.py); MUTANTS_MAX
of them spread evenly over that order are judged (0: all).  A mutant that
does not compile, or compiles to the same machine code as the original
(code the platform does not build, or a change the compiler folds away),
is dropped and counted.  The report is rewritten after every mutant, so an
interrupted run leaves what it judged.
"""

import json
import os
import shutil
import tempfile
import time

from mutants import cpython, mutator, reference, report, sides

# The CPython functions behind recvmsg/recvmsg_into, CMSG_LEN/CMSG_SPACE,
# the control-message walk, the fd-closing error path, the timeout and
# EINTR loop, and address decoding for AF_INET, AF_UNIX and AF_INET6.
CPYTHON_FUNCS = (
    "internal_select", "sock_call_ex",
    "makesockaddr[AF_INET,AF_UNIX,AF_INET6]", "make_ipv4_addr",
    "make_ipv6_addr", "get_CMSG_LEN", "get_CMSG_SPACE", "cmsg_min_space",
    "get_cmsg_data_space", "get_cmsg_data_len", "sock_recvmsg_guts",
    "makeval_recvmsg", "sock_recvmsg", "makeval_recvmsg_into",
    "sock_recvmsg_into", "socket_CMSG_LEN", "socket_CMSG_SPACE")
CPYTHON_FILE = "Modules/socketmodule.c"
# A CPython side's time limit: LIMIT_FACTOR x its baseline time +
# LIMIT_MARGIN seconds.  A mutant that makes a call loop is only stopped by
# this limit (the oracle's per-worker --timeout), so it sets how long a
# hanging mutant costs; the margin absorbs a shared machine's jitter, and
# the baseline is run again at the end (baseline_stable) to show that the
# unmutated build stayed within it.
LIMIT_FACTOR = 2
LIMIT_MARGIN = 15


def _wanted(specs, funcs):
    if not funcs:
        return list(specs)
    return [s for s in specs if mutator.parse_spec(s)[0] in funcs]


def cpython_mutants(src, funcs=None):
    return mutator.mutants(src, _wanted(CPYTHON_FUNCS, funcs), CPYTHON_FILE)


def reference_mutants(copy, funcs=None):
    out = []
    for name in reference.FILES:
        src = copy.source(name)
        specs = _wanted(mutator.functions_in(src), funcs)
        if specs:
            ms = mutator.mutants(src, specs, name)
            out += ms
    for n, m in enumerate(out, 1):
        m.num = n
    return out


class Run(object):
    """One `make mutants`: options as attributes, results in self.data."""

    def __init__(self, opts, log=print):
        self.o = opts
        self.log = log
        self.data = {"started": time.strftime("%Y-%m-%dT%H:%M:%S"),
                     "options": dict(vars(opts)), "sides": {}}
        self.equivalent = report.load_equivalent(opts.equivalent)
        self.unreachable = report.load_unreachable(opts.unreachable)
        self.running = ("cpython", "reference") if opts.side == "both" \
            else (opts.side,)

    def save(self):
        """Writes the report; the sections of a side this run does not
        judge are kept from the report already in the output directory (so
        MUTANTS_SIDE=cpython and =reference runs complete each other)."""
        try:
            with open(os.path.join(self.o.out, "report.json")) as f:
                old = json.load(f).get("sides", {})
        except (OSError, ValueError):
            old = {}
        for name, sec in old.items():
            if name not in self.data["sides"] and name not in self.running:
                self.data["sides"][name] = sec
        report.write(self.data, self.equivalent, self.o.out,
                     self.unreachable)

    # ---- CPython -----------------------------------------------------------

    def run_cpython(self):
        tree = cpython.Tree(self.o.version, log=self.log)
        t0 = time.monotonic()
        tree.build()
        sec = self.data["sides"]["cpython"] = {
            "title": "CPython %s (Debian source %s) %s, oracle seed %d" % (
                self.o.version, _read(os.path.join(tree.dir, "package-version")),
                CPYTHON_FILE, self.o.seed),
            "sides": list(sides.SIDES), "seed": self.o.seed,
            "build_seconds": round(
                time.monotonic() - t0, 1), "mutants": []}
        work = tempfile.mkdtemp(prefix="cmsgref-mutcpy-")
        ext = cpython.Extension(tree, work)
        try:
            ext.restore()
            src = tree.socket_source()
            every = cpython_mutants(src, self.o.funcs)
            chosen = mutator.select(every, self.o.max)
            sec.update(generated=len(every), selected=len(chosen),
                       max=self.o.max)
            ok, pristine = ext.compile(src, "pristine")
            if not ok:
                raise cpython.BuildError("socketmodule.c does not compile "
                                         "unmutated: %s" % pristine)
            base, limits = self._cpython_baseline(tree, work)
            sec["baseline"] = base
            sec["limits"] = limits
            t_start = time.monotonic()
            for m in chosen:
                rec = m.as_dict()
                t1 = time.monotonic()
                ok, obj = ext.compile(m.apply(src), "mutant")
                if not ok:
                    rec.update(status="uncompilable", detail=obj)
                elif obj == pristine:
                    rec.update(status="unchanged",
                               detail="identical object code")
                else:
                    try:
                        ext.install("mutant")
                        rec.update(status="judged", verdicts={
                            "oracle": sides.verdict(*self._oracle(
                                tree, work, limits["oracle"], base["oracle"])),
                            "cpython-tests": sides.verdict(*self._tests(
                                tree, work, limits["cpython-tests"],
                                base["cpython-tests"]))})
                    finally:
                        ext.restore()
                rec["seconds"] = round(time.monotonic() - t1, 1)
                sec["mutants"].append(rec)
                sec["judge_seconds"] = round(time.monotonic() - t_start, 1)
                sec["total_seconds"] = round(time.monotonic() - t0, 1)
                self._progress("cpython", rec, len(sec["mutants"]), len(chosen))
                self.save()
            again, _ = self._cpython_baseline(tree, work, limits)
            sec["baseline_stable"] = again == base
            sec["total_seconds"] = round(time.monotonic() - t0, 1)
        finally:
            ext.restore()
            shutil.rmtree(work, ignore_errors=True)

    def _oracle(self, tree, work, limit, base):
        sig, r = sides.oracle(self.o.repo, tree.python, work, limit,
                              self.o.seed)
        return sig, base, r

    def _tests(self, tree, work, limit, base):
        sig, r = sides.cpython_tests(tree.python, work, limit)
        return sig, base, r

    def _cpython_baseline(self, tree, work, limits=None):
        """Both sides on the unmutated build: their signatures, and each
        side's time limit (LIMIT_FACTOR x its baseline time +
        LIMIT_MARGIN)."""
        self.log("cpython: baseline (unmutated) ...")
        base, out = {}, {}
        sig, r = sides.oracle(self.o.repo, tree.python, work,
                              (limits or {}).get("oracle", 900), self.o.seed)
        base["oracle"], out["oracle"] = sig, limit(r.seconds)
        sig, r = sides.cpython_tests(tree.python, work,
                                     (limits or {}).get("cpython-tests", 900))
        base["cpython-tests"], out["cpython-tests"] = sig, limit(r.seconds)
        for k in base:
            if base[k].get("timed_out") or "missing" in base[k].values():
                raise cpython.BuildError("cpython: baseline of %s did not run: "
                                         "%s" % (k, base[k]))
        self.log("cpython: baseline: oracle exit %s, cpython-tests exit %s "
                 "(%s tests)" % (base["oracle"]["exit"],
                                 base["cpython-tests"]["exit"],
                                 base["cpython-tests"].get("ran")))
        return base, {k: round(v) for k, v in out.items()}

    # ---- reference ---------------------------------------------------------

    def run_reference(self):
        t0 = time.monotonic()
        copy = reference.Copy(self.o.repo, self.o.fuzz_seconds, log=self.log)
        try:
            sec = self.data["sides"]["reference"] = {
                "title": "reference harness/src at %s" % copy.commit[:12],
                "sides": ["tests", "fuzz"], "mutants": []}
            base = copy.prepare()
            limits = {k: round(3 * v + 60) for k, v in base.items()}
            sec.update(baseline_seconds=base, limits=limits)
            every = reference_mutants(copy, self.o.funcs)
            chosen = mutator.select(every, self.o.max)
            sec.update(generated=len(every), selected=len(chosen),
                       max=self.o.max)
            t_start = time.monotonic()
            for m in chosen:
                t1 = time.monotonic()
                status, detail, verdicts = copy.judge(m, sec["sides"], limits)
                rec = m.as_dict()
                rec.update(status=status, detail=detail, verdicts=verdicts,
                           seconds=round(time.monotonic() - t1, 1))
                sec["mutants"].append(rec)
                sec["judge_seconds"] = round(time.monotonic() - t_start, 1)
                sec["total_seconds"] = round(time.monotonic() - t0, 1)
                self._progress("reference", rec, len(sec["mutants"]),
                               len(chosen))
                self.save()
            sec["total_seconds"] = round(time.monotonic() - t0, 1)
        finally:
            copy.close()

    def _progress(self, side, rec, n, total):
        v = rec.get("verdicts") or {}
        what = rec["status"] if not v else ", ".join(
            "%s %s" % (k, "KILLED" if x["killed"] else "survived")
            for k, x in v.items())
        self.log("%s %d/%d %s L%d %s: %s (%.0f s)" % (
            side, n, total, rec["id"], rec["line"], rec["op"], what,
            rec["seconds"]))


def limit(seconds):
    """A side's time limit for a baseline that took seconds."""
    return LIMIT_FACTOR * seconds + LIMIT_MARGIN


def _read(path):
    try:
        with open(path) as f:
            return f.read().strip()
    except OSError:
        return "?"
