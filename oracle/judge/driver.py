"""judge/driver.py - runs the workers and decides: every (interpreter,
suite) in its own worker process, records read as they come, the driver's
half of each record added, every record classified.

A worker is `ARGV -m oracle.worker --suite S --lib L --libc MODEL --format
frames` (ARGV: the interpreter entry's argv, oracle/sources/base.py), with
the entry's environment additions, its shim preloaded for the inject
suite, a private TMPDIR and CMSGREF_INTERP naming the entry.  Children are
started, bounded and killed through tools.procs (the one child-process
runner): a worker past --timeout is killed with its whole tree and its
unreported cases are one ERROR, as are the cases a worker that exited
normally never reported.  A worker killed by a signal in a case (SIGSEGV;
SIGABRT: an abort, CPython's and PyPy's fatal errors) makes that case,
the first it owes and did not report, a CRASH record naming how it died
with a reproducer for that case alone; the worker is started again for
the cases after it (worker --after), at most MAX_CRASHES times a job.  A
worker that exits with a status other than 0 (one that cannot start: an
ImportError, a SyntaxError) is one ERROR of the job naming the first case
it owed and did not report.  It is the only place that decides outcomes
(oracle.judge.expect).  The command line is judge/cli.py.

Scheduling: a suite that says which of its cases wait out wall time
(waits(case_id): timeouts, signals) gets two workers per interpreter,
one for those cases (--part waiting) and one for the rest (--part
computing).  At most njobs computing workers run at once, the longest
first (by an estimate: cases x the suite's and the implementation's cost
per case), and beside them at most njobs waiting workers, started first:
they sleep most of the time, so their waits overlap the computing.  Each
worker's records are completed and classified as soon as it ends, while
others still run.
"""

import fcntl
import importlib
import json
import os
import select
import time

from oracle import REPO, worker
from oracle.judge import expect
from oracle.sources import base
from oracle.suites import suite_module
from tools import procs

MAX_CRASHES = 50        # crashed cases a job may have before it is an ERROR
# Relative cost of one case, for the order of the computing jobs only.
SUITE_COST = {"sockets": 1.0, "inject": 0.3}
IMPL_COST = {"pypy": 3.0}
# Records are read in batches: after a read the driver waits READ_GAP
# seconds, and each worker's pipe holds PIPE_BYTES meanwhile (Linux's
# F_SETPIPE_SZ; the default size where that is refused), so one wake-up
# reads many records and a worker seldom waits on a full pipe.
READ_GAP = 0.02
PIPE_BYTES = 1 << 20
READ_BYTES = 1 << 20
_F_SETPIPE_SZ = getattr(fcntl, "F_SETPIPE_SZ", 1031)
_FAMILIES = {}          # (suite, case id) -> family, filled by selected()


def _reason(entry):
    """The expectation's reason for the report, with its reproducer."""
    if entry is None:
        return ""
    text = entry["reason"]
    if entry.get("issue"):
        text = "%s: %s" % (entry["issue"], text)
    if entry.get("repro"):
        return "%s [reproducer: %s]" % (text, entry["repro"])
    return text


class Job(object):
    """One worker: an interpreter running one suite.  error: why the
    worker's part is broken (None while it is not), set by feed(),
    finish() or a driver that could not start it."""

    def __init__(self, interp, suite, cmd, env, log_path, expected=None,
                 part=None):
        self.interp = interp
        self.suite = suite
        self.part = part            # worker --part, or None (all cases)
        self.cmd = cmd
        self.env = env
        self.log_path = log_path
        self.expected = expected    # the case ids the worker owes, or None
        self.child = None
        self.buf = b""
        self.records = []
        self.error = None
        self.ended = False
        self.crashes = 0            # cases that killed the worker
        self.restart = False        # finish() wants the rest run again
        self.seconds = 0.0          # wall time of its workers so far
        self.cpu = 0.0              # their CPU time (tools.procs)
        self.began = None           # time.monotonic() of its first start
        self.rows = None            # classified records, once settled

    def start(self, timeout):
        """Starts the worker, its deadline timeout seconds away; after a
        crash, with the cases after the crashed one (--after) and a log of
        its own."""
        cmd = list(self.cmd)
        log = self.log_path
        if self.crashes:
            cmd += ["--after", self.records[-1]["id"]]
            log = "%s.%d" % (self.log_path, self.crashes)
        self.restart = False
        self.buf = b""
        if self.began is None:
            self.began = time.monotonic()
        try:
            self.child = procs.start(cmd, timeout=timeout,
                                     stdout=procs.PIPE,
                                     stderr=log, env=self.env,
                                     cwd=REPO)
        except procs.UsageError as e:
            self.error = str(e)
            self.ended = True
            return
        try:
            fcntl.fcntl(self.child.stdout.fileno(), _F_SETPIPE_SZ,
                        PIPE_BYTES)
        except OSError:
            pass            # the default size: only more wake-ups

    def running(self):
        return self.child is not None and not self.ended

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

    def finish(self):
        """After its stdout ended or its deadline passed: reaps (or kills)
        the worker and says what went wrong, if anything."""
        self.child.stdout.close()
        if self.child.expired():
            self.child.timed_out = True
        if self.child.timed_out:
            self.child.kill()
        else:
            self.child.wait()
        self.ended = True
        res = self.child.result()
        self.seconds += res.seconds or 0.0
        self.cpu += self.child.cpu_seconds or 0.0
        if res.timed_out:
            self.error = "worker killed after the %gs timeout (%d cases " \
                "reported); log: %s" % (round(res.seconds, 1),
                                        len(self.records), self.log_path)
        elif self.error is None and self._crashed(res):
            return
        elif res.returncode != 0 and self.error is None:
            self.error = "worker %s%s: %s (log: %s)" % (
                "exited with status %d" % res.returncode
                if res.signal is None else res.status(),
                self._first_missing(), _tail(self._log()), self._log())
        elif self.error is None and self.expected is not None:
            self.error = self.unreported()

    def _log(self):
        """The log of the worker started last."""
        if not self.crashes:
            return self.log_path
        return "%s.%d" % (self.log_path, self.crashes)

    def _missing(self):
        have = set(r.get("id") for r in self.records)
        return [c for c in (self.expected or ()) if c not in have]

    def _first_missing(self):
        """" (N of M cases reported; first missing: ID)", or "" when
        nothing is owed."""
        missing = self._missing()
        if not missing:
            return ""
        return " (%d of %d cases reported; first missing: %s)" % (
            len(self.expected) - len(missing), len(self.expected),
            missing[0])

    def _crashed(self, res):
        """After a death by a signal (SIGSEGV; SIGABRT from abort(), which
        CPython's and PyPy's fatal errors call): the first case owed and
        not reported becomes a CRASH record and, when cases remain,
        restart is set.  False when this end is not a case's crash: an
        exit status (a worker that cannot start, or gave up: the job's
        ERROR), no list of owed cases, nothing owed, too many crashes."""
        if self.expected is None or res.signal is None:
            return False
        missing = self._missing()
        if not missing or self.crashes >= MAX_CRASHES:
            return False
        cid = missing[0]
        how = procs.signame(res.signal)
        log = self._log()
        self.crashes += 1
        self.records.append({
            "suite": self.suite, "id": cid,
            "family": _FAMILIES.get((self.suite, cid), "?"),
            "python": {"impl": self.interp.get("impl"),
                       "version": self.interp.get("version"),
                       "executable": self.interp.get("executable")},
            "crash": "the worker died in this case: %s (log: %s: %s)" % (
                how, log, _tail(log)),
            "native": {"crash": how}, "repro": self.repro(only=cid)})
        if len(missing) > 1:
            self.restart = True
            self.ended = False
        return True

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

    def repro(self, only=None):
        """A shell command that reruns this worker by hand, with its
        records as JSON lines (sources.base.shell_line); with only, for
        that case id alone (--only =ID: exactly that id)."""
        env = dict((k, self.env[k]) for k in (
            "PYTHONPATH", "CMSGREF_LIB", "LD_PRELOAD", "CMSGREF_INJECT",
            "CMSGREF_INJECT_CORPUS", "CMSGREF_GEN", "PYTHONMALLOC",
            "MALLOC_CHECK_", "MALLOC_PERTURB_") if self.env.get(k))
        entry = {"argv": [], "env": self.interp.get("env") or {}}
        cmd = list(self.cmd)
        i = cmd.index("--format")
        del cmd[i:i + 2]
        if only is not None:
            if "--only" in cmd:
                i = cmd.index("--only")
                del cmd[i:i + 2]
            cmd += ["--only", "=" + only]
        return base.shell_line(entry, cmd, env)


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
    the suite packages (oracle.worker.select_cases, as the workers do)."""
    out = {}
    for suite in suites:
        pairs = worker.select_cases(suite_module(suite), only)
        for fam, cid in pairs:
            _FAMILIES[(suite, cid)] = fam
        out[suite] = [cid for _, cid in pairs]
    return out


# glibc 2.34+ keeps its malloc checks in a library of their own, active
# only when preloaded (MALLOC_CHECK_ alone does nothing there).
MALLOC_DEBUG_LIBS = ("/lib/x86_64-linux-gnu/libc_malloc_debug.so.0",
                     "/usr/lib/x86_64-linux-gnu/libc_malloc_debug.so.0")
MALLOC_PERTURB = "165"      # freed and new blocks filled with 0xa5 / 0x5a


def heap_env(it, env):
    """Adds the heap checks to a worker's environment env for entry it:
    CPython's debug allocator (PYTHONMALLOC=debug: guard bytes around
    every block the interpreter allocates, checked on free; CPython only,
    PyPy has none), glibc's MALLOC_PERTURB_ (every interpreter) and, for
    an interpreter of the host's libc, glibc's malloc checks
    (MALLOC_CHECK_=3 with libc_malloc_debug.so preloaded, after any other
    preload).  An overflow of a block the call allocated then aborts the
    worker in that case: a CRASH of the case.  Returns the names of the
    checks in effect."""
    on = ["MALLOC_PERTURB_"]
    env["MALLOC_PERTURB_"] = MALLOC_PERTURB
    if it.get("impl") == "cpython":
        env["PYTHONMALLOC"] = "debug"
        on.append("PYTHONMALLOC=debug")
    lib = [p for p in MALLOC_DEBUG_LIBS if os.path.exists(p)]
    if it.get("source", "host") == "host" and lib:
        env["MALLOC_CHECK_"] = "3"
        env["LD_PRELOAD"] = ":".join(x for x in (env.get("LD_PRELOAD"),
                                                 lib[0]) if x)
        on.append("MALLOC_CHECK_=3")
    return on


def worker_env(it, suite, pack=None, tmpdir=None, heapcheck=False):
    """The environment of interpreter entry it's worker for suite (with
    heap_env's checks when heapcheck)."""
    env = base.environ(it)
    env["PYTHONPATH"] = REPO + (os.pathsep + env["PYTHONPATH"]
                                if env.get("PYTHONPATH") else "")
    env["CMSGREF_LIB"] = it["lib"]
    env[worker.INTERP_ENV] = json.dumps(dict(
        (k, it.get(k)) for k in ("argv", "env", "select", "source",
                                 "model", "model_how")))
    env.pop("PYTHONSTARTUP", None)
    if tmpdir is not None:
        env["TMPDIR"] = tmpdir
    if suite == "inject":
        env["LD_PRELOAD"] = it["shim"]
        env["CMSGREF_INJECT"] = it["shim"]
        env["CMSGREF_INJECT_CORPUS"] = pack
    if heapcheck:
        env[worker.HEAPCHECK_ENV] = ",".join(heap_env(it, env))
    return env


def build_jobs(interps, suites, args, out_dir, expected=None, tmpdir=None):
    """One Job per (interpreter, suite).  For the inject suite it also
    writes the corpus pack its workers read (inject.write_pack) into
    out_dir.  args.only: the --only selection; an entry without "lib" /
    "shim" takes args.lib / args.shim.  expected: {suite: [case id]} each
    worker must report (see selected()), or None; tmpdir: the workers'
    TMPDIR, or None (inherit).  A job of an interpreter whose model could
    not be chosen (oracle.sources.model) is born ended, with its error;
    one whose model was never chosen lets its suites choose.  Raises OSError if out_dir cannot be
    written."""
    jobs = []
    logs = os.path.join(out_dir, "logs")
    if not os.path.isdir(logs):
        os.makedirs(logs)
    pack = None
    if "inject" in suites and interps:
        pack = os.path.join(out_dir, "inject-corpus.pack")
        suite_module("inject").write_pack(pack)
    parts = dict((suite, _parts(suite, args.only, expected))
                 for suite in suites)
    for it in interps:
        it.setdefault("lib", args.lib)
        it.setdefault("shim", args.shim)
        it.setdefault("argv", [it["executable"]])
        for suite in suites:
            for part, owed in parts[suite]:
                cmd = list(it["argv"]) + ["-m", "oracle.worker", "--suite",
                                          suite, "--lib", it["lib"]]
                if it.get("model"):
                    cmd += ["--libc", it["model"]]
                cmd += ["--format", "frames"]
                if args.only:
                    cmd += ["--only", args.only]
                if part:
                    cmd += ["--part", part]
                if getattr(args, "profile", False):
                    cmd += ["--profile"]
                name = "%s-%s%s.log" % (it["label"].replace("/", "_"),
                                        suite, "-" + part if part else "")
                cmd, env = base.inner_env(it, cmd, worker_env(
                    it, suite, pack, tmpdir,
                    getattr(args, "heapcheck", False)))
                job = Job(it, suite, cmd, env, os.path.join(logs, name),
                          owed, part)
                if not it.get("model") and \
                        it.get("model_how", "").startswith("not chosen"):
                    job.error = "no libc model for the reference: %s" % \
                        it.get("model_how", "")
                    job.ended = True
                jobs.append(job)
    return jobs


def _parts(suite, only, expected):
    """[(part, the case ids it owes or None)] of a suite's workers: one
    worker (part None) unless the suite says which cases wait
    (oracle.worker --part) and both parts have cases; with expected None,
    nothing is owed."""
    mod = suite_module(suite)
    owed = None if expected is None else expected[suite]
    if getattr(mod, "waits", None) is None:
        return [(None, owed)]
    out = []
    for part in worker.PARTS:
        ids = [cid for _, cid in worker.select_cases(mod, only, part=part)]
        if ids:
            out.append((part, None if owed is None else ids))
    if len(out) < 2:
        return [(None, owed)]
    return out


def _cost(job):
    """The estimated work of a job (the order of the computing jobs)."""
    n = len(job.expected) if job.expected is not None else 1000
    return n * SUITE_COST.get(job.suite, 1.0) * \
        IMPL_COST.get(job.interp.get("impl"), 1.0)


def run_jobs(jobs, njobs, timeout, status, lib=None):
    """Run jobs, each bounded by timeout seconds: at most njobs
    computing jobs at a time, the costliest first, and beside them at
    most njobs waiting ones (part "waiting"), those first (see the
    module doc).  status(jobs) is called whenever progress changes.
    With lib, each job is settled (settle(): completed with lib and
    classified) as soon as it has ended for good."""
    pending = sorted((j for j in jobs if not j.ended),
                     key=lambda j: (j.part != "waiting", -_cost(j)))
    running = []
    cache = {}
    while pending or running:
        for j in list(pending):
            slots = njobs - len([r for r in running
                                 if (r.part == "waiting") ==
                                 (j.part == "waiting")])
            if slots <= 0:
                continue
            pending.remove(j)
            j.start(timeout)
            if j.running():
                running.append(j)
            status(jobs)
        fds = dict((j.child.stdout.fileno(), j) for j in running)
        ready = select.select(list(fds), [], [], 0.5)[0] if fds else []
        for fd in ready:
            j = fds[fd]
            chunk = os.read(fd, READ_BYTES)
            if chunk:
                j.feed(chunk)
            else:
                _end(j, running, timeout)
        for j in list(running):
            if j.child.expired():
                _end(j, running, timeout)
        status(jobs)
        if lib is not None:
            for j in jobs:
                if j.ended and j.rows is None:
                    settle(j, lib, cache)
        if ready:
            time.sleep(READ_GAP)


def _end(job, running, timeout):
    """A running job's stdout ended or its deadline passed: finish it, and
    start it again for the cases after a crashed one."""
    job.finish()
    if job.restart:
        job.start(timeout)
        if job.running():
            return
    running.remove(job)


def make_status(stream):
    """A live progress line (tty) or one line per finished worker."""
    state = {"last": 0.0, "done": set()}
    tty = hasattr(stream, "isatty") and stream.isatty()

    def status(jobs):
        now = time.monotonic()
        for j in jobs:
            key = (j.interp["label"], j.suite, j.part)
            if j.ended and key not in state["done"]:
                state["done"].add(key)
                if tty:
                    stream.write("\r\033[K")
                stream.write("  %-22s %-8s %6d cases %6.1fs%s%s\n" % (
                    key[0], key[1], len(j.records), j.seconds,
                    " (%s)" % j.part if j.part else "",
                    "  ERROR: " + j.error if j.error else ""))
        if tty and now - state["last"] > 0.2:
            state["last"] = now
            live = ["%s/%s %d" % (j.interp["label"], j.suite, len(j.records))
                    for j in jobs if j.running()]
            stream.write("\r\033[K[%d/%d] %s" % (len(state["done"]),
                                                 len(jobs),
                                                 " | ".join(live)[:150]))
        stream.flush()
    return status


def settle(job, lib, cache=None):
    """Completes (complete_all) and classifies (classify_all, with its
    cache) one ended job's records; classify_all then takes its rows as
    they are."""
    complete_all([job], lib)
    job.rows = classify_all([job], cache)


def complete_all(jobs, lib):
    """The driver's half of each record: a suite package that defines
    complete_records(records, lib) (the inject suite adds its reference
    there, once per buffer for every interpreter) gets its jobs' records.
    A suite whose completion fails marks its records as errors.  Settled
    jobs (settle()) are done already."""
    mods = {}
    for j in jobs:
        if not j.records or j.rows is not None:
            continue
        if j.suite not in mods:
            try:
                mods[j.suite] = importlib.import_module(
                    "oracle.suites." + j.suite)
            except Exception as e:
                mods[j.suite] = e
        mod = mods[j.suite]
        if isinstance(mod, Exception):
            _mark(j.records, "the driver cannot import oracle.suites.%s: "
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


def classify_all(jobs, cache=None):
    """Records with their outcome, and interpreter-level errors.  cache:
    {implementation: its expectation entries}, filled as they are
    loaded."""
    rows = []
    cache = {} if cache is None else cache
    for j in jobs:
        if j.rows is not None:
            rows.extend(j.rows)
            continue
        impl = j.interp.get("impl")
        if impl not in cache:
            cache[impl] = expect.load(impl)
        for rec in j.records:
            if j.env.get(worker.HEAPCHECK_ENV):
                rec["heapcheck"] = j.env[worker.HEAPCHECK_ENV].split(",")
            outcome, lines, entry = expect.classify(rec, cache[impl])
            rows.append({"interp": j.interp["label"], "suite": j.suite,
                         "family": rec.get("family", "?"),
                         "id": rec.get("id", "?"), "outcome": outcome,
                         "details": lines,
                         "reason": _reason(entry),
                         "may_pass": bool(entry and entry.get("may_pass")),
                         "record": rec})
        if j.error:
            rows.append({"interp": j.interp["label"], "suite": j.suite,
                         "family": "<worker>", "id": "<worker>",
                         "outcome": "ERROR", "details": [j.error],
                         "reason": "", "record": {"repro": j.repro()}})
    return rows



def profile(jobs, phases=None):
    """Where a run's time went (cli --profile, report.json "profile"):
    per job when it started (seconds after the first job), its workers'
    wall and CPU seconds and, from the records' "cost"
    (worker --profile; taken out of the records here), its cases' wall
    and CPU seconds in all and per family; per suite/family the sums over
    the jobs; phases: the driver's own {name: seconds}."""
    fams = {}
    out = {"phases": dict(phases or {}), "jobs": [], "families": fams}
    first = min([j.began for j in jobs if j.began is not None] or [0])
    for j in jobs:
        mine = {}
        for rec in j.records:
            cost = rec.pop("cost", None)
            if not (isinstance(cost, list) and len(cost) == 2):
                continue
            for key in (rec.get("family", "?"), None):
                got = mine.setdefault(key, [0, 0.0, 0.0])
                got[0] += 1
                got[1] += cost[0]
                got[2] += cost[1]
            tot = fams.setdefault("%s/%s" % (j.suite, rec.get("family")),
                                  [0, 0.0, 0.0])
            tot[0] += 1
            tot[1] += cost[0]
            tot[2] += cost[1]
        cases = mine.pop(None, [0, 0.0, 0.0])
        out["jobs"].append({
            "interp": j.interp["label"], "suite": j.suite, "part": j.part,
            "started_s": None if j.began is None else
            round(j.began - first, 3),
            "seconds": round(j.seconds, 3), "cpu_s": round(j.cpu, 3),
            "cases": cases[0],
            "case_wall_s": round(cases[1], 3),
            "case_cpu_s": round(cases[2], 3),
            "families": dict((f, [v[0], round(v[1], 3), round(v[2], 3)])
                             for f, v in mine.items())})
    for key, v in fams.items():
        fams[key] = {"cases": v[0], "wall_s": round(v[1], 3),
                     "cpu_s": round(v[2], 3)}
    return out
