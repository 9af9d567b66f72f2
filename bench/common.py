"""common.py - what every figure of `make bench` shares.

Why: the benchmark runs many child processes on a shared, noisy 2-core
machine, and every figure must be bounded in time, must say loudly what it
could not measure, and must never invent a number.  This module holds the
pieces for that: the Missing exception (a figure that cannot be measured
carries its reason to the table and to bench.json's "missing" list), a
deadline-bounded child runner and a peak-RSS run (both over tools.procs,
which kills a child and everything it started), medians, and the
repository paths.

Limits: Linux only (tools.procs).  Stdlib only; runs on CPython 3.6+ and
PyPy 3.9 (no f-strings with '=', no dataclasses, no walrus).
"""

import os
import select
import time

from tools import procs

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
BUILD = os.path.join(REPO, "build")
OUT = os.path.join(BUILD, "bench")


class Missing(Exception):
    """A figure (or part of one) could not be measured; str() says why."""


def median(values):
    """Median of a non-empty sequence of numbers (mean of the middle two
    for an even count).  Raises ValueError on an empty sequence."""
    v = sorted(values)
    if not v:
        raise ValueError("median of nothing")
    n = len(v)
    return v[n // 2] if n % 2 else (v[n // 2 - 1] + v[n // 2]) / 2.0


def median_run(runs):
    """The median of runs (dicts) by their "seconds", a run whose seconds
    is None (cut off at a cap) sorting after every other; for an even
    count the lower middle one."""
    ordered = sorted(runs, key=lambda r: (r["seconds"] is None,
                                          r["seconds"] or 0))
    return ordered[(len(ordered) - 1) // 2]


def majority_cut_off(runs, total):
    """True once more than half of `total` runs are cut off (seconds None):
    the median is then cut off whatever the remaining runs give."""
    return sum(1 for r in runs if r["seconds"] is None) > total // 2


def need_file(path, what, how):
    """Raise Missing unless path exists: '<what> (<path>) is missing: <how>'.
    Returns path."""
    if not os.path.exists(path):
        raise Missing("%s (%s) is missing: %s" % (what, os.path.relpath(
            path, REPO), how))
    return path


class Result(object):
    """What run() observed: returncode (None if killed at the deadline),
    stdout and stderr (bytes) and seconds of wall time."""

    def __init__(self, returncode, stdout, stderr, seconds):
        self.returncode = returncode
        self.stdout = stdout
        self.stderr = stderr
        self.seconds = seconds

    def tail(self, n=200):
        """The last non-empty line of stderr (or stdout), for messages."""
        for blob in (self.stderr, self.stdout):
            lines = [l for l in blob.decode("utf-8", "replace").splitlines()
                     if l.strip()]
            if lines:
                return lines[-1][-n:]
        return ""


def run(cmd, timeout, env=None, cwd=REPO, stdout_path=None):
    """Run cmd (a list) through tools.procs, bounded by timeout seconds.

    stdout is captured, or goes to the file stdout_path (e.g. os.devnull)
    when given; stderr is captured.  At the deadline the child and
    everything it started are killed and returncode is None.  Returns a
    Result; raises Missing if the program cannot be started."""
    try:
        r = procs.run(cmd, timeout, stdout=stdout_path or procs.CAPTURE,
                      stderr=procs.CAPTURE, env=env, cwd=cwd)
    except procs.UsageError as e:
        raise Missing(str(e))
    return Result(None if r.timed_out else r.returncode, r.stdout or b"",
                  r.stderr or b"", r.seconds)


def follow(cmd, timeout, on_line, cwd=REPO):
    """Run cmd (a list) through tools.procs, stdout to /dev/null, and call
    on_line(text, seconds since the start) for each line of its stderr as
    it arrives; a true return stops the child.  At the deadline, on a stop
    and on any exception (Ctrl-C included) the child's whole tree is
    killed.  Returns (exit status, or None when stopped or killed;
    seconds).  Raises Missing if cmd cannot be started."""
    try:
        child = procs.start(cmd, timeout, stdout=procs.DEVNULL,
                            stderr=procs.PIPE, cwd=cwd)
    except procs.UsageError as e:
        raise Missing(str(e))
    fd, pending, code = child.stderr.fileno(), b"", None
    try:
        while not child.expired():
            ready, _, _ = select.select([fd], [], [], 0.5)
            if not ready:
                continue
            chunk = os.read(fd, 65536)
            if not chunk:
                code = child.wait()
                break
            lines = (pending + chunk).split(b"\n")
            pending = lines.pop()
            now = time.monotonic() - child.started
            if any(on_line(l.decode("utf-8", "replace"), now)
                   for l in lines):
                break
    finally:
        if code is None:
            child.kill()
        child.stderr.close()
    return code, time.monotonic() - child.started


def peak_rss_kib(cmd, timeout, stdout_path=os.devnull):
    """Run cmd once in a fresh child (stdout to stdout_path, stderr
    captured) and return (returncode, peak RSS of that child in KiB,
    seconds, last stderr line), the RSS from tools.procs' os.wait4.
    Bounded by timeout: a killed child gives returncode None; -N means
    signal N ended it.  Raises Missing if the program cannot be started."""
    try:
        r = procs.run(cmd, timeout, stdout=stdout_path, stderr=procs.CAPTURE,
                      cwd=REPO)
    except procs.UsageError as e:
        raise Missing(str(e))
    text = r.text("stderr").strip().splitlines()
    return (None if r.timed_out else r.returncode), r.peak_rss_kib, \
        r.seconds, (text[-1] if text else "")
