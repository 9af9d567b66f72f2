"""worker.py - the per-interpreter process of the oracle.

Why: each interpreter under test runs the suites in its own process, so a
crash, a leaked fd or a preloaded shim in one never touches another or the
driver.  The driver (oracle.judge.driver) starts
    PY -m oracle.worker --suite SUITE [--only SUBSTRING|=ID] [--after ID]
        [--part waiting|computing] [--lib PATH] [--libc MODEL]
        [--format json|frames] [--profile]
from the repo root with PYTHONPATH set, and reads one record per case from
stdout.  Progress goes to stderr.

Two encodings of the same records: "json" (the default, for people: one
JSON object a line) and "frames" (what the driver asks for: per record the
4 bytes FRAME_MAGIC, its length as 4 little-endian bytes, then
marshal.dumps(record, FRAME_VERSION)).  Why frames: marshal is built into
every CPython and PyPy (version 4 is read by every CPython 3.4+ and
PyPy 3) and is much cheaper than pure-Python json on a cold PyPy; version
4's back-references and short strings make a record cheaper to write and
to read than version 2 does.  A record that
marshal refuses (an int or str subclass, say) is sent as its JSON round
trip.  Otherwise the driver gets what the json encoding would give, except
that a tuple stays a tuple and bytes or a set pass where json would refuse
them; the suites' records hold none of these (canonical results are lists,
str and ints; test_worker_frames compares the two encodings), and the
report writes any that slip through as their repr.  read_frames() is the
one decoder.

Contract with the suites (the packages oracle.suites.<SUITE>): iter_cases() yields
(family, case_id); run_case(case_id) returns a dict with "family", "id",
"native", "reference", "leaked_fds", "repro" (see oracle/README.md).  The
worker adds "suite" and "python"; an exception from run_case becomes a record
with "error": "<type>: <msg>".  It never compares: the driver does.

The library path is handed to the suites through the CMSGREF_LIB environment
variable and suite.configure(lib=..., libc=...), with the libc model the
driver chose for this interpreter (--libc; oracle/sources/model.py).  The
driver also names the interpreter's entry in CMSGREF_INTERP (JSON: argv,
env, select, source, model, model_how), which repro_line() uses.

--only SUBSTRING selects the cases whose family/id contains it; --only =ID
the one case whose id (or family/id) is ID, exactly (a reproducer's).

--after ID runs only the selected cases that come after case ID: the
driver restarts a worker that died in a case (a crash) with the rest.
--part waiting runs only the selected cases whose call waits out wall
time (a timeout, a signal), --part computing only the others: a suite
says which by waits(case_id) (none waits when it has no such hook).  The
driver runs the two parts in two workers, so the waits of one overlap
the other's work.
--profile adds "cost": [wall seconds, CPU seconds] of run_case to every
record (CPU: this process's and its reaped children's), for the driver's
per-family profile.
Test hook: CMSGREF_ORACLE_CRASH_AT=ID makes the worker kill itself with
SIGKILL where case ID would start, so the driver's crash handling can be
tested on any interpreter.

Exit status: 0 when every case produced a record (failures included), 2 on
bad arguments or a suite that cannot be imported, configured or list its
cases, 141 (quietly, at the next record) when stdout's reader went away.
"""

import argparse
import gc
import importlib
import json
import marshal
import os
import struct
import platform
import signal
import sys
import time
import traceback

SUITE_NAMES = ("inject", "sockets")
PROGRESS_EVERY = 0.2     # seconds between progress lines on stderr
FORMATS = ("json", "frames")
FRAME_MAGIC = b"CRr1"
FRAME_MAX = 64 << 20     # a longer frame means a desynchronised stream
FRAME_VERSION = 4
PARTS = ("waiting", "computing")
INTERP_ENV = "CMSGREF_INTERP"
CRASH_AT_ENV = "CMSGREF_ORACLE_CRASH_AT"
# The heap checks the worker runs under (the driver's heap_env names,
# ","-joined; its records carry them as "heapcheck").  Under them a
# collection follows each case, so a block the case left to the collector
# is freed, and a check that fires on free fires, in that case.
HEAPCHECK_ENV = "CMSGREF_HEAPCHECK"


def interp():
    """The driver's entry for this interpreter (CMSGREF_INTERP: argv, env,
    select, source, model, model_how), or one describing this process alone when
    run by hand."""
    got = _INTERP.get("entry")
    if got is None:
        text = os.environ.get(INTERP_ENV)
        if text:
            try:
                got = json.loads(text)
            except ValueError:
                got = None
        if not isinstance(got, dict) or not isinstance(got.get("argv"),
                                                       list):
            exe = os.path.abspath(sys.executable) if sys.executable \
                else "python3"
            got = {"argv": [exe], "env": {}, "select": exe}
        _INTERP["entry"] = got
    return got


_INTERP = {}


def repro_line(tail, env=None):
    """A shell command running this interpreter with the arguments tail,
    from the repo, as printed from any directory (sources.base.shell_line
    on interp()).  env: variables the command needs ({name: value})."""
    from oracle.sources import base
    return base.shell_line(interp(), tail, env)


def stdout_gone():
    """After a BrokenPipeError on stdout (its reader, `head` say, went
    away): point fd 1 at /dev/null so the interpreter's last flush cannot
    raise again, and return 141, the status a shell shows for a process
    killed by SIGPIPE.  The command lines of the oracle use it."""
    try:
        fd = os.open(os.devnull, os.O_WRONLY)
        os.dup2(fd, sys.stdout.fileno())
        os.close(fd)
    except (OSError, ValueError, AttributeError):
        pass
    return 141


def json_line(rec):
    """One record in the "json" encoding (bytes, newline-terminated)."""
    return (json.dumps(rec) + "\n").encode("utf-8")


def frame(rec):
    """One record in the "frames" encoding (bytes; see the module doc)."""
    try:
        body = marshal.dumps(rec, FRAME_VERSION)
    except ValueError:              # a type marshal refuses: as JSON has it
        body = marshal.dumps(json.loads(json.dumps(rec)), FRAME_VERSION)
    return FRAME_MAGIC + struct.pack("<I", len(body)) + body


def read_frames(buf, start=0):
    """Decode the whole frames in buf[start:].  Returns (records, offset
    of the first byte not consumed).  Raises ValueError on a stream that is
    not frames (bad magic, absurd length, undecodable body)."""
    out = []
    n = len(buf)
    while n - start >= 8:
        if buf[start:start + 4] != FRAME_MAGIC:
            raise ValueError("not a record frame at byte %d: %r" % (
                start, bytes(buf[start:start + 16])))
        size = struct.unpack_from("<I", buf, start + 4)[0]
        if size > FRAME_MAX:
            raise ValueError("record frame of %d bytes" % size)
        if n - start - 8 < size:
            break
        try:
            rec = marshal.loads(bytes(buf[start + 8:start + 8 + size]))
        except (EOFError, ValueError, TypeError) as e:
            raise ValueError("undecodable record frame at byte %d: %s" % (
                start, e))
        if not isinstance(rec, dict):
            raise ValueError("record frame at byte %d holds a %s" % (
                start, type(rec).__name__))
        out.append(rec)
        start += 8 + size
    return out, start


class _Parser(argparse.ArgumentParser):
    """argparse that fails with one line on stderr and exit status 2."""

    def error(self, message):
        sys.stderr.write("oracle.worker: %s\n" % message)
        sys.exit(2)


def python_info():
    """{"impl", "version", "executable", "bits"} of the running
    interpreter (bits: Py_ssize_t's width, 32 or 64)."""
    return {"impl": platform.python_implementation().lower(),
            "version": platform.python_version(),
            "executable": sys.executable,
            "bits": 64 if sys.maxsize > 2 ** 32 else 32}


def select_cases(suite, only, after=None, part=None):
    """[(family, case_id)] of a suite module that --only selects: those
    whose "family/case_id" contains it (all when it is empty), or, for an
    --only "=ID", the one whose case id or "family/case_id" is ID, in the
    suite's order; with part ("waiting" or "computing"), only those of
    that part (see the module doc); with after, only those that come
    after case after.  The driver calls it too, to know which records a
    worker owes it."""
    if only.startswith("="):
        out = [(fam, cid) for fam, cid in suite.iter_cases()
               if only[1:] in (cid, "%s/%s" % (fam, cid))]
    else:
        out = [(fam, cid) for fam, cid in suite.iter_cases()
               if not only or only in "%s/%s" % (fam, cid)]
    if part is not None:
        waits = getattr(suite, "waits", None)
        want = part == "waiting"
        out = [(fam, cid) for fam, cid in out
               if bool(waits and waits(cid)) == want]
    if after is not None:
        ids = [cid for _, cid in out]
        out = out[ids.index(after) + 1:] if after in ids else []
    return out


def run_suite(suite, suite_name, only, out, err, progress=True,
              encode=json_line, cases=None, profile=False):
    """Run every selected case of a suite module, writing each record,
    encoded by encode (json_line or frame), to the binary stream out.
    cases: select_cases(suite, only) when the caller has it already;
    profile: add each case's "cost" (see the module doc).

    Returns the number of records written.  A record is flushed as soon as
    it exists, so a crash loses only the case that crashed (the driver
    reports it by the missing record).  The progress line on err is
    rewritten at most every PROGRESS_EVERY seconds (a case can take well
    under a millisecond)."""
    info = python_info()
    if cases is None:
        cases = select_cases(suite, only)
    total = len(cases)
    crash_at = os.environ.get(CRASH_AT_ENV)
    collect = bool(os.environ.get(HEAPCHECK_ENV))
    started = time.time()
    done = 0
    shown = 0.0
    for fam, cid in cases:
        if progress and time.time() - shown >= PROGRESS_EVERY:
            shown = time.time()
            err.write("\r%s %s: %d/%d %s " % (info["impl"], info["version"],
                                               done, total,
                                               (fam + "/" + cid)[-40:]))
            err.flush()
        if crash_at == cid:
            os.kill(os.getpid(), signal.SIGKILL)
        if profile:
            cost = _cost()
        try:
            rec = suite.run_case(cid)
        except Exception as e:  # a broken case is a record, not a crash
            rec = {"family": fam, "id": cid,
                   "error": "%s: %s" % (type(e).__name__, e),
                   "traceback": traceback.format_exc()[-2000:]}
        if collect:
            gc.collect()
        if profile:
            rec["cost"] = [round(b - a, 6) for a, b in zip(cost, _cost())]
        rec.setdefault("family", fam)
        rec.setdefault("id", cid)
        rec["suite"] = suite_name
        rec["python"] = info
        out.write(encode(rec))
        out.flush()
        done += 1
    if progress:
        err.write("\r%s %s: %d/%d cases in %.1fs%s\n"
                  % (info["impl"], info["version"], done, total,
                     time.time() - started, " " * 30))
        err.flush()
    return done


def _cost():
    """(wall seconds, CPU seconds of this process and its reaped
    children) now."""
    t = os.times()
    return (time.time(), t[0] + t[1] + t[2] + t[3])


def main(argv=None):
    ap = _Parser(prog="python -m oracle.worker")
    ap.add_argument("--suite", required=True, choices=SUITE_NAMES)
    ap.add_argument("--only", default="",
                    help="run only cases whose family/id contains this; "
                    "=ID: only the case whose id (or family/id) is ID")
    ap.add_argument("--after", default=None, metavar="ID",
                    help="run only the selected cases after case ID")
    ap.add_argument("--part", choices=PARTS, default=None,
                    help="only the cases that wait, or only the others "
                    "(default: all)")
    ap.add_argument("--profile", action="store_true",
                    help="add each case's wall and CPU seconds (cost)")
    ap.add_argument("--lib", default="build/libcmsgref.so")
    ap.add_argument("--libc", default=None, metavar="MODEL",
                    help="the libc model of the reference (default: the "
                    "suite's own choice)")
    ap.add_argument("--no-progress", action="store_true")
    ap.add_argument("--format", choices=FORMATS, default="json",
                    help="json lines (default) or the driver's frames")
    args = ap.parse_args(argv)
    if not os.path.exists(args.lib):
        sys.stderr.write("oracle.worker: library %s not found (run make)\n"
                         % args.lib)
        return 2
    os.environ["CMSGREF_LIB"] = os.path.abspath(args.lib)
    try:
        suite = importlib.import_module("oracle.suites." + args.suite)
    except Exception as e:
        sys.stderr.write("oracle.worker: cannot import oracle.suites.%s: "
                         "%s: %s\n" % (args.suite, type(e).__name__, e))
        return 2
    if hasattr(suite, "configure"):
        try:
            suite.configure(lib=os.path.abspath(args.lib), libc=args.libc)
        except Exception as e:
            sys.stderr.write("oracle.worker: suite %s cannot start: %s: %s\n"
                             % (args.suite, type(e).__name__, e))
            return 2
    try:
        cases = select_cases(suite, args.only, args.after, args.part)
    except Exception as e:
        sys.stderr.write("oracle.worker: cannot list the cases of suite %s: "
                         "%s: %s\n" % (args.suite, type(e).__name__, e))
        return 2
    try:
        run_suite(suite, args.suite, args.only, sys.stdout.buffer,
                  sys.stderr, not args.no_progress,
                  frame if args.format == "frames" else json_line, cases,
                  args.profile)
    except BrokenPipeError:
        # The reader of the records (or of the progress) went away: stop
        # now, quietly; the driver counts the records it did not get.
        return stdout_gone()
    return 0


if __name__ == "__main__":
    sys.exit(main())
