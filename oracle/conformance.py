"""conformance.py - `make conformance`: every Python here against the reference.

Why: this is cmsgref's main job (issue 4).  The driver finds the
interpreters (oracle.discover, or PYTHONS=...), runs each suite in each
interpreter in its own worker process (oracle.worker), applies the
comparison and the per-implementation expectations (oracle.expect), and
writes the terminal matrix, build/conformance/report.json and report.html
(oracle.report).  It is the only place that decides outcomes.

Usage (from the repo root; `make conformance` does this):
  python3 -m oracle.conformance [--suites inject,sockets] [--only SUBSTR]
      [--pythons LIST] [--lib build/libcmsgref.so]
      [--shim build/inject/libcrinject.so] [--out build/conformance]
      [--jobs N] [--timeout SECONDS]
Exit status: 0 when every case is PASS or XFAIL; 1 on any FAIL, XPASS,
ERROR or leaked fd (leaks are FAIL), or when an interpreter named in PYTHONS
is missing or broken; 2 on bad arguments or missing build products.

Limits: each (interpreter, suite) worker is bounded by --timeout (default
900 s) and killed (its whole process group) when it passes it; the cases it
did not report become one ERROR.  At most --jobs workers run at once
(default 2: the machine is shared).
"""

import argparse
import importlib
import os
import select
import signal
import subprocess
import sys
import time

from oracle import discover, expect, report, worker

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
ALL_SUITES = ("inject", "sockets")


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

    def __init__(self, interp, suite, cmd, env, log_path):
        self.interp = interp
        self.suite = suite
        self.cmd = cmd
        self.env = env
        self.log_path = log_path
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
            self.error = "worker killed after the %ds timeout (%d cases " \
                "reported); log: %s" % (int(time.time() - self.started),
                                        len(self.records), self.log_path)
        elif rc != 0 and self.error is None:
            self.error = "worker exited with status %d: %s (log: %s)" % (
                rc, _tail(self.log_path), self.log_path)


def _tail(path, n=300):
    try:
        with open(path, "rb") as f:
            data = f.read()
    except OSError:
        return ""
    text = data.decode("utf-8", "replace").replace("\r", "\n")
    lines = [l for l in text.splitlines() if l.strip()]
    return (lines[-1] if lines else "")[-n:]


def build_jobs(interps, suites, args, out_dir):
    """One Job per (interpreter, suite).  For the inject suite it also
    writes the corpus pack its workers read (suite_inject.write_pack) into
    out_dir.  Raises OSError if out_dir cannot be written."""
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
            if suite == "inject":
                env["LD_PRELOAD"] = args.shim
                env["CMSGREF_INJECT"] = args.shim
                env["CMSGREF_INJECT_CORPUS"] = pack
            cmd = [it["executable"], "-m", "oracle.worker", "--suite", suite,
                   "--lib", args.lib, "--format", "frames"]
            if args.only:
                cmd += ["--only", args.only]
            name = "%s-%s.log" % (it["label"].replace("/", "_"), suite)
            jobs.append(Job(it, suite, cmd, env, os.path.join(logs, name)))
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
                         "reason": "", "record": {"repro": " ".join(j.cmd)}})
    return rows


def main(argv=None):
    ap = _Parser(prog="python3 -m oracle.conformance")
    ap.add_argument("--suites", default=",".join(ALL_SUITES))
    ap.add_argument("--only", default="")
    ap.add_argument("--pythons", default=None,
                    help="interpreters (default: PYTHONS or discovery)")
    ap.add_argument("--lib", default="build/libcmsgref.so")
    ap.add_argument("--shim", default="build/inject/libcrinject.so")
    ap.add_argument("--out", default="build/conformance")
    ap.add_argument("--jobs", type=int, default=2)
    ap.add_argument("--timeout", type=float, default=900.0)
    args = ap.parse_args(argv)
    suites = [s for s in args.suites.split(",") if s]
    for s in suites:
        if s not in ALL_SUITES:
            ap.error("unknown suite %r (known: %s)" % (s, ", ".join(
                ALL_SUITES)))
    if args.jobs < 1 or args.timeout <= 0:
        ap.error("--jobs and --timeout must be positive")
    args.lib = os.path.abspath(args.lib)
    args.shim = os.path.abspath(args.shim)
    for path, what in ((args.lib, "reference library"),
                       (args.shim, "injection shim")):
        if not os.path.exists(path) and (what != "injection shim" or
                                         "inject" in suites):
            sys.stderr.write("oracle.conformance: %s %s not found (run "
                             "make conformance)\n" % (what, path))
            return 2
    try:
        for impl in ("cpython", "pypy"):
            expect.load(impl)
    except expect.ExpectationError as e:
        sys.stderr.write("oracle.conformance: %s\n" % e)
        return 2
    pythons = args.pythons if args.pythons is not None else \
        (os.environ.get("PYTHONS") or None)
    explicit = pythons is not None
    if explicit and not discover.split_list(pythons):
        ap.error("--pythons / PYTHONS names no interpreter")
    entries = discover.discover(pythons)
    interps = [e for e in entries if e["status"] == "ok"]
    others = [e for e in entries if e["status"] != "ok"]
    out = sys.stdout
    out.write("make conformance: %d interpreter(s), suites %s\n"
              % (len(interps), ", ".join(suites)))
    for e in others:
        out.write("  NOT RUN %-11s %s: %s\n" % (e["status"], e["executable"],
                                               e["reason"]))
    if not interps:
        sys.stderr.write("oracle.conformance: no usable interpreter\n")
        return 1
    out_dir = os.path.abspath(args.out)
    started = time.time()
    try:
        jobs = build_jobs(interps, suites, args, out_dir)
    except OSError as e:
        sys.stderr.write("oracle.conformance: cannot prepare %s: %s\n"
                         % (out_dir, e))
        return 2
    run_jobs(jobs, args.jobs, args.timeout, make_status(out))
    complete_all(jobs, args.lib)
    rows = classify_all(jobs)
    rep = report.build(rows, entries, suites, time.time() - started,
                       explicit)
    out.write("\n" + report.terminal(rep) + "\n")
    paths = report.write(rep, rows, out_dir)
    out.write("report: %s\n        %s\n" % paths)
    return 1 if rep["failed"] else 0


if __name__ == "__main__":
    sys.exit(main())
