"""conformance.py - `make conformance`: every Python here against the reference.

Why: this is cmsgref's main job (issue 4).  The driver finds the
interpreters (oracle.discover, or PYTHONS=...), runs each suite in each
interpreter in its own worker process (oracle.worker), applies the
comparison and the per-implementation expectations (oracle.expect), and
writes the terminal matrix, build/conformance/report.json and report.html
(oracle.report).  It is the only place that decides outcomes.

Usage (`make conformance` runs it from the repo root; paths given on the
command line are relative to the current directory, the defaults to the
repo):
  python3 -m oracle.conformance [--suites inject,sockets] [--only SUBSTR]
      [--pythons LIST] [--lib build/libcmsgref.so]
      [--shim build/inject/libcrinject.so] [--out build/conformance]
      [--jobs N] [--timeout SECONDS]
Exit status: 0 when every case is PASS or XFAIL; 1 on any FAIL, XPASS,
ERROR or leaked fd (leaks are FAIL); 2 on bad arguments (an interpreter
named in --pythons / PYTHONS that is missing or not a usable Python, an
--only that selects no case, an unusable --lib or --shim, an expectation
file that does not validate, an output directory that cannot be written);
130 or 143 when interrupted by SIGINT or SIGTERM (every worker is killed,
no report is written).

Limits: each (interpreter, suite) worker is bounded by --timeout (default
900 s) and killed (its whole process group) when it passes it; the cases it
did not report become one ERROR, as do the cases a worker that exited
normally never reported.  At most --jobs workers run at once (default 2:
the machine is shared).  Each run gives its workers a private TMPDIR
(removed afterwards, also after a killed worker), and the report files are
replaced whole (written beside, then renamed), never left half written.
"""

import argparse
import importlib
import math
import os
import select
import shlex
import shutil
import signal
import subprocess
import sys
import tempfile
import time

from oracle import discover, expect, report, worker

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
ALL_SUITES = ("inject", "sockets")
MAX_JOBS = 64


def _reason(entry):
    """The expectation's reason for the report, with its reproducer."""
    if entry is None:
        return ""
    if entry.get("repro"):
        return "%s [reproducer: %s]" % (entry["reason"], entry["repro"])
    return entry["reason"]


class _Parser(argparse.ArgumentParser):
    def error(self, message):
        sys.stderr.write("oracle.conformance: %s\n" % message)
        sys.exit(2)


class Job(object):
    """One worker: an interpreter running one suite."""

    def __init__(self, interp, suite, cmd, env, log_path, expected=None):
        self.interp = interp
        self.suite = suite
        self.cmd = cmd
        self.env = env
        self.log_path = log_path
        self.expected = expected    # the case ids the worker owes, or None
        self.proc = None
        self.log = None
        self.buf = b""
        self.records = []
        self.started = None
        self.error = None

    def start(self):
        self.log = open(self.log_path, "wb")
        self.proc = subprocess.Popen(self.cmd, cwd=REPO, env=self.env,
                                     stdout=subprocess.PIPE,
                                     stderr=self.log,
                                     stdin=subprocess.DEVNULL,
                                     preexec_fn=os.setsid)
        self.started = time.time()

    def feed(self, chunk):
        """Decode the worker's record frames (oracle.worker.read_frames);
        a stream that is not frames ends the decoding with an error."""
        if self.buf is None:        # the stream already proved bad
            return
        self.buf += chunk
        try:
            recs, used = worker.read_frames(self.buf)
        except ValueError as e:
            self.error = "worker stdout is not record frames: %s" % e
            self.buf = None
            return
        self.records.extend(recs)
        self.buf = self.buf[used:]

    def kill(self):
        try:
            os.killpg(self.proc.pid, signal.SIGKILL)
        except OSError:
            pass

    def finish(self, timed_out):
        rc = self.proc.wait()
        self.log.close()
        if timed_out:
            self.error = "worker killed after the %gs timeout (%d cases " \
                "reported); log: %s" % (round(time.time() - self.started, 1),
                                        len(self.records), self.log_path)
        elif rc != 0 and self.error is None:
            self.error = "worker exited with status %d: %s (log: %s)" % (
                rc, _tail(self.log_path), self.log_path)
        elif self.error is None and self.expected is not None:
            self.error = self.unreported()

    def unreported(self):
        """None when the records are exactly the expected cases, else what
        is wrong (a worker that exits 0 early, or reports other ids)."""
        hint = "; or the corpus changed during the run" \
            if self.suite == "inject" else ""
        seen = [r.get("id") for r in self.records]
        have = set(seen)
        missing = [c for c in self.expected if c not in have]
        extra = sorted(set(seen) - set(self.expected))
        if not missing and not extra and len(seen) == len(self.expected):
            return None
        if missing:
            return "worker exited with status 0 but reported %d of the %d " \
                "selected cases (first missing: %s%s; log: %s)" % (
                    len(self.expected) - len(missing), len(self.expected),
                    missing[0], hint, self.log_path)
        if extra:
            return "worker reported cases it was not given (first: %s%s; " \
                "log: %s)" % (extra[0], hint, self.log_path)
        return "worker reported some cases more than once (log: %s)" % \
            self.log_path

    def repro(self):
        """A shell command that reruns this worker by hand, with its
        records as JSON lines."""
        env = [(k, self.env[k]) for k in ("PYTHONPATH", "CMSGREF_LIB",
                                          "LD_PRELOAD", "CMSGREF_INJECT",
                                          "CMSGREF_INJECT_CORPUS")
               if self.env.get(k)]
        cmd = [a for a in self.cmd]
        i = cmd.index("--format")
        del cmd[i:i + 2]
        return "cd %s && env %s %s" % (
            shlex.quote(REPO),
            " ".join("%s=%s" % (k, shlex.quote(v)) for k, v in env),
            " ".join(shlex.quote(a) for a in cmd))


def _tail(path, n=300):
    try:
        with open(path, "rb") as f:
            data = f.read()
    except OSError:
        return ""
    text = data.decode("utf-8", "replace").replace("\r", "\n")
    lines = [l for l in text.splitlines() if l.strip()]
    return (lines[-1] if lines else "")[-n:]


def selected(suites, only):
    """{suite: [case id]} that --only selects, listed by the driver from
    the suite modules (oracle.worker.select_cases, as the workers do)."""
    out = {}
    for suite in suites:
        mod = importlib.import_module("oracle.suite_" + suite)
        out[suite] = [cid for _, cid in worker.select_cases(mod, only)]
    return out


def build_jobs(interps, suites, args, out_dir, expected=None, tmpdir=None):
    """One Job per (interpreter, suite).  For the inject suite it also
    writes the corpus pack its workers read (suite_inject.write_pack) into
    out_dir.  expected: {suite: [case id]} each worker must report (see
    selected()), or None; tmpdir: the workers' TMPDIR, or None (inherit).
    Raises OSError if out_dir cannot be written."""
    jobs = []
    logs = os.path.join(out_dir, "logs")
    if not os.path.isdir(logs):
        os.makedirs(logs)
    pack = None
    if "inject" in suites and interps:
        from oracle import suite_inject
        pack = os.path.join(out_dir, "inject-corpus.pack")
        suite_inject.write_pack(pack)
    for it in interps:
        for suite in suites:
            env = dict(os.environ)
            env["PYTHONPATH"] = REPO + (os.pathsep + env["PYTHONPATH"]
                                        if env.get("PYTHONPATH") else "")
            env["CMSGREF_LIB"] = args.lib
            env.pop("PYTHONSTARTUP", None)
            if tmpdir is not None:
                env["TMPDIR"] = tmpdir
            if suite == "inject":
                env["LD_PRELOAD"] = args.shim
                env["CMSGREF_INJECT"] = args.shim
                env["CMSGREF_INJECT_CORPUS"] = pack
            cmd = [it["executable"], "-m", "oracle.worker", "--suite", suite,
                   "--lib", args.lib, "--format", "frames"]
            if args.only:
                cmd += ["--only", args.only]
            name = "%s-%s.log" % (it["label"].replace("/", "_"), suite)
            jobs.append(Job(it, suite, cmd, env, os.path.join(logs, name),
                            None if expected is None else expected[suite]))
    return jobs


def run_jobs(jobs, njobs, timeout, status):
    """Run jobs, at most njobs at a time, each bounded by timeout seconds.
    status(jobs) is called whenever progress changes."""
    pending = list(jobs)
    running = []
    while pending or running:
        while pending and len(running) < njobs:
            j = pending.pop(0)
            j.start()
            running.append(j)
            status(jobs)
        fds = dict((j.proc.stdout.fileno(), j) for j in running)
        ready, _, _ = select.select(list(fds), [], [], 0.5)
        for fd in ready:
            j = fds[fd]
            chunk = os.read(fd, 65536)
            if chunk:
                j.feed(chunk)
            else:
                j.proc.stdout.close()
                j.finish(False)
                running.remove(j)
        now = time.time()
        for j in list(running):
            if now - j.started > timeout:
                j.kill()
                j.proc.stdout.close()
                j.finish(True)
                running.remove(j)
        status(jobs)


def make_status(stream):
    """A live progress line (tty) or one line per finished worker."""
    state = {"last": 0.0, "done": set()}
    tty = hasattr(stream, "isatty") and stream.isatty()

    def status(jobs):
        now = time.time()
        for j in jobs:
            key = (j.interp["label"], j.suite)
            if j.proc is not None and j.proc.returncode is not None \
                    and key not in state["done"]:
                state["done"].add(key)
                if tty:
                    stream.write("\r\033[K")
                stream.write("  %-22s %-8s %6d cases %6.1fs%s\n" % (
                    key[0], key[1], len(j.records), now - j.started,
                    "  ERROR: " + j.error if j.error else ""))
        if tty and now - state["last"] > 0.2:
            state["last"] = now
            live = ["%s/%s %d" % (j.interp["label"], j.suite, len(j.records))
                    for j in jobs if j.proc is not None
                    and j.proc.returncode is None]
            stream.write("\r\033[K[%d/%d] %s" % (len(state["done"]),
                                                 len(jobs),
                                                 " | ".join(live)[:150]))
        stream.flush()
    return status


def complete_all(jobs, lib):
    """The driver's half of each record: a suite module that defines
    complete_records(records, lib) (the inject suite adds its reference
    there, once per buffer for every interpreter) gets its jobs' records.
    A suite whose completion fails marks its records as errors."""
    mods = {}
    for j in jobs:
        if not j.records:
            continue
        if j.suite not in mods:
            try:
                mods[j.suite] = importlib.import_module("oracle.suite_" +
                                                        j.suite)
            except Exception as e:
                mods[j.suite] = e
        mod = mods[j.suite]
        if isinstance(mod, Exception):
            _mark(j.records, "the driver cannot import oracle.suite_%s: "
                  "%s: %s" % (j.suite, type(mod).__name__, mod))
            continue
        done = getattr(mod, "complete_records", None)
        if done is None:
            continue
        try:
            done(j.records, lib)
        except Exception as e:
            _mark(j.records, "the driver's side of the case failed: %s: %s"
                  % (type(e).__name__, e))


def _mark(records, why):
    for rec in records:
        rec.setdefault("error", why)


def classify_all(jobs):
    """Records with their outcome, and interpreter-level errors."""
    rows = []
    cache = {}
    for j in jobs:
        impl = j.interp["impl"]
        if impl not in cache:
            cache[impl] = expect.load(impl)
        for rec in j.records:
            outcome, lines, entry = expect.classify(rec, cache[impl])
            rows.append({"interp": j.interp["label"], "suite": j.suite,
                         "family": rec.get("family", "?"),
                         "id": rec.get("id", "?"), "outcome": outcome,
                         "details": lines,
                         "reason": _reason(entry),
                         "record": rec})
        if j.error:
            rows.append({"interp": j.interp["label"], "suite": j.suite,
                         "family": "<worker>", "id": "<worker>",
                         "outcome": "ERROR", "details": [j.error],
                         "reason": "", "record": {"repro": j.repro()}})
    return rows


class Interrupted(Exception):
    """SIGINT, SIGTERM or SIGHUP, raised in the main thread."""

    def __init__(self, signum):
        Exception.__init__(self, signum)
        self.signum = signum


STOP_SIGNALS = (signal.SIGINT, signal.SIGTERM, signal.SIGHUP)
_STOPPING = []      # the first stop signal once one arrived


def _raise_interrupted(signum, frame):
    """Raises Interrupted for the first stop signal only: a second one
    (SIGTERM right after SIGINT, say) arriving while the first is handled
    must not break off the cleanup."""
    if not _STOPPING:
        _STOPPING.append(signum)
        raise Interrupted(signum)


class _Run(object):
    """What a run started that an interrupt must undo: its jobs (workers
    are killed with their process groups) and its private TMPDIR."""

    def __init__(self):
        self.jobs = []
        self.tmpdir = None

    def stop(self):
        """Kills and reaps every worker still running; returns how many."""
        n = 0
        for j in self.jobs:
            if j.proc is not None and j.proc.returncode is None:
                j.kill()
                j.proc.wait()
                n += 1
            if j.log is not None:
                j.log.close()
        return n

    def cleanup(self):
        if self.tmpdir is not None:
            shutil.rmtree(self.tmpdir, ignore_errors=True)
            self.tmpdir = None


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
    ap.add_argument("--suites", default=",".join(ALL_SUITES),
                    metavar="LIST", help="comma-separated suites to run "
                    "(default: %(default)s)")
    ap.add_argument("--only", default="", metavar="SUBSTR",
                    help="run only the cases whose FAMILY/ID contains "
                    "SUBSTR (default: all)")
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
    ap.add_argument("--timeout", type=float, default=900.0,
                    metavar="SECONDS", help="a worker still running after "
                    "this is killed and its unreported cases are one ERROR "
                    "(default: %(default)g)")
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
    (discover.stdout_gone) and the run goes on to its report and exit
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
        discover.stdout_gone()


def _fail(message):
    sys.stderr.write("oracle.conformance: %s\n" % message)
    return 2


def main(argv=None):
    run = _Run()
    del _STOPPING[:]
    old = dict((s, signal.signal(s, _raise_interrupted))
               for s in STOP_SIGNALS)
    try:
        return _main(argv, run)
    except (KeyboardInterrupt, Interrupted) as e:
        signum = getattr(e, "signum", signal.SIGINT)
        n = run.stop()
        sys.stderr.write("oracle.conformance: interrupted by %s: %d "
                         "worker(s) killed, no report written\n" % (
                             signal.Signals(signum).name, n))
        return 128 + signum
    finally:
        _STOPPING.append(None)      # no signal interrupts what follows
        run.stop()                  # workers left by any other exit
        run.cleanup()
        for s, h in old.items():
            signal.signal(s, h)


def _main(argv, run):
    ap = _parser()
    args = ap.parse_args(argv)
    suites = []
    for s in args.suites.split(","):
        if s and s not in suites:
            suites.append(s)
    for s in suites:
        if s not in ALL_SUITES:
            ap.error("unknown suite %r (known: %s)" % (s, ", ".join(
                ALL_SUITES)))
    if not suites:
        ap.error("--suites names no suite (known: %s)"
                 % ", ".join(ALL_SUITES))
    if not 1 <= args.jobs <= MAX_JOBS:
        ap.error("--jobs must be 1 to %d, not %d" % (MAX_JOBS, args.jobs))
    if not (math.isfinite(args.timeout) and args.timeout > 0):
        ap.error("--timeout must be a positive number of seconds, not %s"
                 % args.timeout)
    from oracle import refsocket, suite_inject
    args.lib = os.path.abspath(args.lib or refsocket.REPO_LIB)
    args.shim = os.path.abspath(args.shim or suite_inject.REPO_SHIM)
    out_dir = os.path.abspath(args.out or os.path.join(
        REPO, "build", "conformance"))
    for path, what, check in (
            (args.lib, "reference library", _lib_problem),
            (args.shim, "injection shim", _shim_problem)):
        if what == "injection shim" and "inject" not in suites:
            continue
        if not os.path.isfile(path):
            return _fail("%s %s not found (run make conformance)"
                         % (what, path))
        why = check(path)
        if why:
            return _fail("%s %s is not usable: %s" % (what, path, why))
    try:
        for impl in ("cpython", "pypy"):
            expect.load(impl)
    except expect.ExpectationError as e:
        return _fail(str(e))
    try:
        wanted = selected(suites, args.only)
    except Exception as e:
        return _fail("cannot list the cases: %s: %s" % (type(e).__name__, e))
    skipped = []
    if "inject" in suites:
        try:
            skipped = suite_inject.skipped_files()
        except OSError as e:
            return _fail(str(e))
    if not any(wanted.values()):
        return _fail("--only %r selects no case of suite(s) %s"
                     % (args.only, ", ".join(suites)))
    pythons = args.pythons if args.pythons is not None else \
        (os.environ.get("PYTHONS") or None)
    explicit = pythons is not None
    if explicit and not discover.split_list(pythons):
        ap.error("--pythons / PYTHONS names no interpreter")
    entries = discover.discover(pythons)
    interps = [e for e in entries if e["status"] == "ok"]
    others = [e for e in entries if e["status"] != "ok"]
    if explicit and others:
        e = others[0]
        return _fail("%s (named in --pythons/PYTHONS) is %s: %s%s" % (
            e["executable"], e["status"], e["reason"],
            " (and %d more)" % (len(others) - 1) if len(others) > 1 else ""))
    out = _Out(sys.stdout)
    out.write("make conformance: %d interpreter(s), suites %s\n"
              % (len(interps), ", ".join(suites)))
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
    try:
        run.tmpdir = tempfile.mkdtemp(prefix="cmsgref-run-")
        run.jobs = build_jobs(interps, suites, args, out_dir, wanted,
                              run.tmpdir)
    except OSError as e:
        return _fail("cannot prepare %s: %s" % (out_dir, e))
    run_jobs(run.jobs, args.jobs, args.timeout, make_status(out))
    run.cleanup()
    jobs = run.jobs
    complete_all(jobs, args.lib)
    rows = classify_all(jobs)
    rep = report.build(rows, entries, suites, time.time() - started,
                       explicit)
    out.write("\n" + report.terminal(rep) + "\n")
    try:
        paths = report.write(rep, rows, out_dir)
    except OSError as e:
        return _fail("cannot write the report into %s: %s" % (out_dir, e))
    out.write("report: %s\n        %s\n" % paths)
    return 1 if rep["failed"] else 0


if __name__ == "__main__":
    sys.exit(main())
