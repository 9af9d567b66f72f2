"""judge/cli.py - `make conformance`: every Python here against the
reference (`python3 -m oracle.conformance`).

Finds the interpreters (oracle.sources, or PYTHONS / --pythons), chooses
each one's libc model once (oracle.sources.model), runs each suite in each
interpreter in its own worker (judge/driver.py), applies the comparison and
the per-implementation expectations (judge/expect.py), and writes the
terminal matrix, build/conformance/report.json and report.html
(judge/report.py).

Usage (`make conformance` runs it from the repo root; paths given on the
command line are relative to the current directory, the defaults to the
repo):
  python3 -m oracle.conformance [--suites inject,sockets] [--only SUBSTR|=ID]
      [--pythons LIST] [--lib build/libcmsgref.so]
      [--shim build/inject/libcrinject.so] [--out build/conformance]
      [--jobs N] [--timeout SECONDS] [--profile]
Exit status: 0 when every case is PASS or XFAIL; 1 on any FAIL, XPASS,
ERROR or leaked fd (leaks are FAIL); 2 on bad arguments (an interpreter
named in --pythons / PYTHONS that is missing or not a usable Python, an
--only that selects no case, an unusable --lib or --shim, an expectation
file that does not validate, an output directory that cannot be written);
128 + the signal when stopped by SIGINT, SIGTERM or SIGHUP (every worker
is killed with its tree, no report is written; tools.procs.guarded).

Limits: at most --jobs workers run at once (default 2: the machine is
shared), and beside them at most --jobs workers of the cases that wait
out wall time (judge/driver.py), each bounded by --timeout (default
900 s).  Each run gives its
workers a private TMPDIR (removed afterwards, also after a killed
worker), and the report files are replaced whole (written beside, then
renamed), never left half written.
"""

import argparse
import math
import os
import shutil
import subprocess
import sys
import tempfile
import time

from oracle import REPO, REPO_LIB, REPO_SHIM, sources, worker
from oracle.judge import expect, report
from oracle.judge.driver import (build_jobs, classify_all, complete_all,
                                 make_status, profile, run_jobs, selected)
from oracle.sources import model
from oracle.suites import SUITES, generator, suite_module
from tools import procs

MAX_JOBS = 64
GENERATE = 100      # generated scenarios per run unless told


class _Parser(argparse.ArgumentParser):
    def error(self, message):
        sys.stderr.write("oracle.conformance: %s\n" % message)
        sys.exit(2)


def _parser():
    ap = _Parser(
        prog="python3 -m oracle.conformance",
        description="Every Python here against the cmsgref reference: runs "
        "each suite in each interpreter, prints the conformance matrix and "
        "writes report.json and report.html.",
        epilog="Exit status: 0 every case PASS or XFAIL; 1 any FAIL, XPASS, "
        "ERROR or leaked fd; 2 bad arguments (also: an interpreter named "
        "in --pythons/PYTHONS that is missing or unusable, an --only that "
        "selects nothing, an unusable --lib or --shim, an invalid "
        "expectation file, an unwritable --out); 130/143 interrupted by "
        "SIGINT/SIGTERM (workers killed, no report).")
    ap.add_argument("--suites", default=",".join(SUITES),
                    metavar="LIST", help="comma-separated suites to run "
                    "(default: %(default)s)")
    ap.add_argument("--only", default="", metavar="SUBSTR",
                    help="run only the cases whose FAMILY/ID contains "
                    "SUBSTR; =ID: only the case whose id (or FAMILY/ID) "
                    "is ID, exactly, as reproducers use (default: all)")
    ap.add_argument("--pythons", default=None, metavar="LIST",
                    help="interpreters to run: paths or names on PATH, "
                    "separated by spaces, commas or colons; a value that "
                    "is one existing file's path is that interpreter alone, "
                    "separators and all (default: $PYTHONS, else every "
                    "CPython 3.6+ and PyPy found)")
    ap.add_argument("--lib", default=None, metavar="PATH",
                    help="the reference library (default: "
                    "build/libcmsgref.so in the repo)")
    ap.add_argument("--shim", default=None, metavar="PATH",
                    help="the LD_PRELOAD injection shim, for the inject "
                    "suite (default: build/inject/libcrinject.so in the "
                    "repo)")
    ap.add_argument("--out", default=None, metavar="DIR",
                    help="where report.json, report.html and the worker "
                    "logs go (default: build/conformance in the repo)")
    ap.add_argument("--jobs", type=int, default=2, metavar="N",
                    help="workers at once, 1-%d (default: %%(default)s)"
                    % MAX_JOBS)
    ap.add_argument("--seed", type=int, default=None, metavar="N",
                    help="the generated scenarios' seed (default: $SEED, "
                    "else a new one each run; printed, and in every "
                    "generated case's id and reproducer)")
    ap.add_argument("--generate", type=int, default=None, metavar="N",
                    help="random sockets scenarios beside the fixed matrix "
                    "(oracle.suites.generator; default: $GENERATE, else "
                    "%d)" % GENERATE)
    ap.add_argument("--heapcheck", action="store_true", default=None,
                    help="run the workers with the interpreter's debug "
                    "allocator and glibc's malloc checks (default: "
                    "$HEAPCHECK=1; judge/driver.py heap_env)")
    ap.add_argument("--timeout", type=float, default=900.0,
                    metavar="SECONDS", help="a worker still running after "
                    "this is killed and its unreported cases are one ERROR "
                    "(default: %(default)g)")
    ap.add_argument("--profile", action="store_true",
                    help="write where the time went into report.json "
                    "(profile: the driver's phases, each worker's and each "
                    "family's wall and CPU seconds)")
    return ap


def _lib_problem(path):
    """None when path loads as the reference library, else why not."""
    import ctypes
    try:
        lib = ctypes.CDLL(path)
    except OSError as e:
        return str(e)
    if not hasattr(lib, "cr_json_parse_buf"):
        return "it does not export cr_json_parse_buf (not libcmsgref)"
    return None


def _shim_problem(path):
    """None when path preloads into a Python and exports the shim's
    control area (what every inject worker needs), else why not."""
    probe = subprocess.Popen(
        [sys.executable, "-c", "import ctypes; "
         "ctypes.CDLL(None).cr_inject_ctl_area"],
        env=dict(os.environ, LD_PRELOAD=path), stdin=subprocess.DEVNULL,
        stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    _, err = probe.communicate()
    if probe.returncode == 0:
        return None
    lines = [l for l in err.decode("utf-8", "replace").splitlines()
             if l.strip()]
    if lines and "ld.so" in lines[0]:
        return lines[0].strip()
    return "it does not export cr_inject_ctl_area (not the injection shim)"


class _Out(object):
    """sys.stdout that outlives its reader: once a write or flush meets a
    closed pipe (`make conformance | head`), stdout goes to /dev/null
    (worker.stdout_gone) and the run goes on to its report and exit
    status, printing nothing more."""

    def __init__(self, stream):
        self.stream = stream
        self.gone = False

    def isatty(self):
        return not self.gone and self.stream.isatty()

    def write(self, text):
        if not self.gone:
            try:
                self.stream.write(text)
            except BrokenPipeError:
                self._lost()

    def flush(self):
        if not self.gone:
            try:
                self.stream.flush()
            except BrokenPipeError:
                self._lost()

    def _lost(self):
        self.gone = True
        worker.stdout_gone()


def _fail(message):
    sys.stderr.write("oracle.conformance: %s\n" % message)
    return 2


def main(argv=None):
    """The command line (see the module doc); returns the exit status."""
    tmp = []
    try:
        return procs.guarded("oracle.conformance",
                             lambda: _main(argv, tmp),
                             what="worker(s)")
    finally:
        for d in tmp:
            shutil.rmtree(d, ignore_errors=True)


def _args(argv):
    """The parsed and checked arguments (exits 2 on a bad one)."""
    ap = _parser()
    args = ap.parse_args(argv)
    args.suite_list = []
    for s in args.suites.split(","):
        if s and s not in args.suite_list:
            args.suite_list.append(s)
    for s in args.suite_list:
        if s not in SUITES:
            ap.error("unknown suite %r (known: %s)" % (s, ", ".join(SUITES)))
    if not args.suite_list:
        ap.error("--suites names no suite (known: %s)" % ", ".join(SUITES))
    if not 1 <= args.jobs <= MAX_JOBS:
        ap.error("--jobs must be 1 to %d, not %d" % (MAX_JOBS, args.jobs))
    if not (math.isfinite(args.timeout) and args.timeout > 0):
        ap.error("--timeout must be a positive number of seconds, not %s"
                 % args.timeout)
    if args.pythons is None:
        args.pythons = os.environ.get("PYTHONS") or None
    if args.pythons is not None and not sources.split_list(args.pythons):
        ap.error("--pythons / PYTHONS names no interpreter")
    for name, env in (("seed", "SEED"), ("generate", "GENERATE")):
        if getattr(args, name) is None and os.environ.get(env):
            try:
                setattr(args, name, int(os.environ[env]))
            except ValueError:
                ap.error("%s=%r is not a number" % (env, os.environ[env]))
    if args.generate is None:
        args.generate = GENERATE
    if args.seed is None:
        args.seed = int.from_bytes(os.urandom(4), "little")
    if args.seed < 0 or args.generate < 0:
        ap.error("--seed and --generate must be >= 0")
    if args.heapcheck is None:
        args.heapcheck = os.environ.get("HEAPCHECK", "") not in ("", "0")
    os.environ[generator.ENV] = "%d:%d" % (args.seed, args.generate)
    args.lib = os.path.abspath(args.lib or REPO_LIB)
    args.shim = os.path.abspath(args.shim or REPO_SHIM)
    return args


def _problem(args):
    """The one-line reason the run cannot start, or None."""
    suites = args.suite_list
    for path, what, check in (
            (args.lib, "reference library", _lib_problem),
            (args.shim, "injection shim", _shim_problem)):
        if what == "injection shim" and "inject" not in suites:
            continue
        if not os.path.isfile(path):
            return "%s %s not found (run make conformance)" % (what, path)
        why = check(path)
        if why:
            return "%s %s is not usable: %s" % (what, path, why)
    from oracle.reference import lib
    why = lib.forced_model_problem(args.lib)
    if why:
        return why
    try:
        for impl in ("cpython", "pypy"):
            expect.load(impl)
    except expect.ExpectationError as e:
        return str(e)
    return None


def _interpreters(args):
    """(every discovery entry, the ok ones with their lib, shim and
    model)."""
    entries = sources.discover(args.pythons)
    interps = [e for e in entries if e["status"] == "ok"]
    for e in interps:
        if e["lib"] == REPO_LIB:
            e["lib"] = args.lib
        if e["shim"] == REPO_SHIM:
            e["shim"] = args.shim
    from oracle.reference import refsocket
    refsocket.load(args.lib)
    model.choose(interps, refsocket.host_model())
    return entries, interps


def _main(argv, tmp):
    begun = time.time()
    args = _args(argv)
    suites = args.suite_list
    why = _problem(args)
    if why:
        return _fail(why)
    try:
        wanted = selected(suites, args.only)
    except Exception as e:
        return _fail("cannot list the cases: %s: %s" % (type(e).__name__, e))
    skipped = []
    if "inject" in suites:
        try:
            skipped = suite_module("inject").skipped_files()
        except OSError as e:
            return _fail(str(e))
    if not any(wanted.values()):
        return _fail("--only %r selects no case of suite(s) %s"
                     % (args.only, ", ".join(suites)))
    explicit = args.pythons is not None
    out = _Out(sys.stdout)
    entries, interps = _interpreters(args)
    others = [e for e in entries if e["status"] != "ok"]
    if explicit and others:
        e = others[0]
        return _fail("%s (named in --pythons/PYTHONS) is %s: %s%s" % (
            e["executable"], e["status"], e["reason"],
            " (and %d more)" % (len(others) - 1) if len(others) > 1 else ""))
    out.write("make conformance: %d interpreter(s), suites %s\n"
              % (len(interps), ", ".join(suites)))
    if "sockets" in suites:
        out.write("  generated: %d scenario(s), seed %d (rerun them: SEED=%d)"
                  "%s\n" % (args.generate, args.seed, args.seed,
                            "; heap checks on" if args.heapcheck else ""))
    for line in sources.merged_lines(entries):
        out.write("  merged: " + line + "\n")
    for e in others:
        out.write("  NOT RUN %-11s %s: %s\n" % (e["status"], e["executable"],
                                               e["reason"]))
    for path, why in skipped:   # a name may hold a newline: escaped
        out.write("  NOT RUN %-11s %s: %s\n" % (
            "corpus file", path.encode("unicode_escape").decode("ascii"),
            why))
    if not interps:
        sys.stderr.write("oracle.conformance: no usable interpreter\n")
        return 1
    started = time.time()
    out_dir = os.path.abspath(args.out or os.path.join(
        REPO, "build", "conformance"))
    try:
        tmp.append(tempfile.mkdtemp(prefix="cmsgref-run-"))
        jobs = build_jobs(interps, suites, args, out_dir, wanted, tmp[0])
    except OSError as e:
        return _fail("cannot prepare %s: %s" % (out_dir, e))
    run_jobs(jobs, args.jobs, args.timeout, make_status(out), args.lib)
    ran = time.time()
    complete_all(jobs, args.lib)
    rows = classify_all(jobs)
    rep = report.build(rows, entries, suites, time.time() - started,
                       explicit)
    if args.profile:
        rep["profile"] = profile(jobs, {
            "before_workers_s": round(started - begun, 3),
            "workers_s": round(ran - started, 3),
            "after_workers_s": round(time.time() - ran, 3),
            "driver_cpu_s": round(sum(os.times()[:2]), 3),
            "children_cpu_s": round(sum(os.times()[2:4]), 3)})
    out.write("\n" + report.terminal(rep) + "\n")
    try:
        paths = report.write(rep, rows, out_dir)
    except OSError as e:
        return _fail("cannot write the report into %s: %s" % (out_dir, e))
    out.write("report: %s\n        %s\n" % paths)
    return 1 if rep["failed"] else 0
