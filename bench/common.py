"""common.py - what every figure of `make bench` shares (issue 5).

Why: the benchmark runs many child processes on a shared, noisy 2-core
machine, and every figure must be bounded in time, must say loudly what it
could not measure, and must never invent a number.  This module holds the
pieces for that: the Missing exception (a figure that cannot be measured
carries its reason to the table and to bench.json's "missing" list), a
deadline-bounded child runner that reports peak RSS (getrusage of the child
via os.wait4), killing a process and everything it started, medians, and
the repository paths.

Limits: Linux only (/proc, os.wait4).  Stdlib only; runs on CPython 3.6+ and
PyPy 3.9 (no f-strings with '=', no dataclasses, no walrus).
"""

import os
import signal
import subprocess
import tempfile
import time

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


def need_file(path, what, how):
    """Raise Missing unless path exists: '<what> (<path>) is missing: <how>'.
    Returns path."""
    if not os.path.exists(path):
        raise Missing("%s (%s) is missing: %s" % (what, os.path.relpath(
            path, REPO), how))
    return path


def children_of(pid):
    """Pids whose parent is pid (from /proc), for cleaning up after a
    killed driver whose workers run in their own sessions."""
    out = []
    for name in os.listdir("/proc"):
        if not name.isdigit():
            continue
        try:
            with open("/proc/%s/stat" % name) as f:
                stat = f.read()
        except (IOError, OSError):
            continue
        # The command name is in parentheses and may contain spaces.
        fields = stat[stat.rfind(")") + 2:].split()
        if len(fields) > 1 and fields[1] == str(pid):
            out.append(int(name))
    return out


def kill_tree(pid):
    """SIGKILL pid's process group, and the group of each descendant that
    runs in its own session (oracle workers call setsid).  Only processes
    this benchmark started are reached this way.  Never raises."""
    todo = [pid]
    seen = set()
    while todo:
        p = todo.pop()
        if p in seen:
            continue
        seen.add(p)
        try:
            todo.extend(children_of(p))
        except OSError:
            pass
    for p in seen:
        for kill in (os.killpg, os.kill):
            try:
                kill(p, signal.SIGKILL)
            except OSError:
                pass


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
    """Run cmd (a list) in its own session, bounded by timeout seconds.

    stdout goes to a pipe, or to the file stdout_path (e.g. os.devnull)
    when given.  At the deadline the child and everything it started are
    killed and returncode is None.  Returns a Result; raises Missing if the
    program cannot be started."""
    out_f = open(stdout_path, "wb") if stdout_path else None
    started = time.time()
    try:
        proc = subprocess.Popen(cmd, cwd=cwd, env=env,
                                stdin=subprocess.DEVNULL,
                                stdout=out_f if out_f else subprocess.PIPE,
                                stderr=subprocess.PIPE,
                                preexec_fn=os.setsid)
    except OSError as e:
        if out_f:
            out_f.close()
        raise Missing("cannot start %s: %s" % (cmd[0], e))
    try:
        out, err = proc.communicate(timeout=timeout)
        killed = False
    except subprocess.TimeoutExpired:
        kill_tree(proc.pid)
        out, err = proc.communicate()
        killed = True
    except BaseException:
        kill_tree(proc.pid)   # Ctrl-C: nothing started here outlives us
        raise
    finally:
        if out_f:
            out_f.close()
    return Result(None if killed else proc.returncode, out or b"", err or b"",
                  time.time() - started)


def peak_rss_kib(cmd, timeout, stdout_path=os.devnull):
    """Run cmd once in a fresh child (stdout to stdout_path, stderr to a
    temporary file) and return (returncode, peak RSS of that child in KiB,
    seconds, last stderr line), the RSS from os.wait4's rusage.  Bounded by
    timeout: a killed child gives returncode None.  Raises Missing if the
    program cannot be started."""
    started = time.time()
    with open(stdout_path, "wb") as out_f, tempfile.TemporaryFile() as err_f:
        try:
            proc = subprocess.Popen(cmd, cwd=REPO, stdin=subprocess.DEVNULL,
                                    stdout=out_f, stderr=err_f,
                                    preexec_fn=os.setsid)
        except OSError as e:
            raise Missing("cannot start %s: %s" % (cmd[0], e))
        deadline = started + timeout
        killed = False
        try:
            while True:
                pid, status, usage = os.wait4(proc.pid, os.WNOHANG)
                if pid == proc.pid:
                    break
                if time.time() > deadline:
                    kill_tree(proc.pid)
                    pid, status, usage = os.wait4(proc.pid, 0)
                    killed = True
                    break
                time.sleep(0.02)
        except BaseException:
            kill_tree(proc.pid)
            raise
        proc.returncode = 0  # reaped here: keep Popen from waiting again
        err_f.seek(0)
        text = err_f.read().decode("utf-8", "replace").strip().splitlines()
    if killed:
        code = None
    elif os.WIFEXITED(status):
        code = os.WEXITSTATUS(status)
    else:
        code = -os.WTERMSIG(status)
    return code, usage.ru_maxrss, time.time() - started, \
        (text[-1] if text else "")
