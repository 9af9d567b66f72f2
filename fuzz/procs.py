#!/usr/bin/env python3
"""procs.py - the fuzz runner's child processes (fuzz/run.py, scripts/ci-fuzz).

Why: a fuzzer that outlives its budget or its runner burns a CI machine's
cores, and AFL++'s fork servers escape into sessions of their own.  Every
child starts in its own session, is bounded in time and is killed with its
whole process group; on Linux this process becomes a child subreaper, so
escaped helpers are reparented here and killed too; SIGINT, SIGTERM and
SIGHUP become Stopped, which guarded() turns into one line and 128 + the
signal after killing everything.  Stdlib only; CPython 3.6+.
"""

import os
import signal
import subprocess
import sys
import time


class UsageError(Exception):
    pass


class Stopped(BaseException):
    """A signal asked us to stop; not an Exception so nothing swallows it."""

    def __init__(self, signum):
        BaseException.__init__(self, signum)
        self.signum = signum


# ---- child processes ----------------------------------------------------

LIVE = []  # Popen objects not yet reaped


def become_subreaper():
    """Linux PR_SET_CHILD_SUBREAPER: orphaned descendants become our
    children, so cleanup can find them.  Silently absent elsewhere."""
    try:
        import ctypes
        ctypes.CDLL(None, use_errno=True).prctl(36, 1, 0, 0, 0)
    except Exception:  # no ctypes, no prctl: the process groups still go
        pass


def spawn(cmd, log, env=None):
    """Starts cmd in its own session (so its whole group can be killed)
    with stdout and stderr into the open file log.  A missing program is a
    UsageError."""
    try:
        p = subprocess.Popen(cmd, stdout=log, stderr=subprocess.STDOUT,
                             env=env, start_new_session=True)
    except OSError as exc:
        raise UsageError('cannot run %s: %s' % (cmd[0], exc.strerror))
    LIVE.append(p)
    return p


def kill_group(p, grace=2.0):
    """SIGTERM to p's process group, then SIGKILL after grace seconds."""
    for sig, wait in ((signal.SIGTERM, grace), (signal.SIGKILL, 5)):
        try:
            os.killpg(p.pid, sig)
            os.killpg(p.pid, signal.SIGCONT)
        except OSError:
            pass
        try:
            p.wait(timeout=wait)
            break
        except subprocess.TimeoutExpired:
            continue
    if p in LIVE:
        LIVE.remove(p)


def reap_orphans():
    """Kills and reaps the descendants that were reparented to us (we are a
    subreaper): e.g. a fork server left behind by an afl-fuzz that exited."""
    me, known = str(os.getpid()), set(p.pid for p in LIVE)
    try:
        pids = [int(n) for n in os.listdir('/proc') if n.isdigit()]
    except OSError:
        return
    for pid in pids:
        try:
            with open('/proc/%d/stat' % pid) as fh:
                stat = fh.read()
        except (IOError, OSError):
            continue
        if stat.rsplit(')', 1)[-1].split()[1] != me or pid in known:
            continue
        for sig in (signal.SIGKILL, signal.SIGCONT):
            try:
                os.kill(pid, sig)
            except OSError:
                pass
        try:
            os.waitpid(pid, 0)
        except OSError:
            pass


def stop_all():
    for p in list(LIVE):
        kill_group(p, grace=1.0)
    reap_orphans()


def wait(p, seconds, progress=None, every=0):
    """Waits for p at most seconds, calling progress(elapsed) every `every`
    seconds.  Kills p's group on timeout.  Returns the exit code, or None
    if it was killed."""
    start = time.time()
    tick = start + every
    while True:
        try:
            rc = p.wait(timeout=0.5)
            LIVE.remove(p)
            kill_group(p)  # whatever it left in its group
            return rc
        except subprocess.TimeoutExpired:
            pass
        now = time.time()
        if now - start >= seconds:
            kill_group(p)
            return None
        if progress and every and now >= tick:
            progress(now - start)
            tick += every


def run(cmd, seconds, log_path, env=None, progress=None, every=0):
    """Runs cmd with output to log_path, killed after seconds.  Returns
    (exit code or None if killed, log text); a program that cannot be
    started gives 127 (as a shell does) and the reason in the log."""
    with open(log_path, 'wb') as log:
        try:
            p = spawn(cmd, log, env)
        except UsageError as exc:   # mid-run: a failed step, not bad usage
            log.write(('%s\n' % exc).encode('utf-8', 'replace'))
            log.flush()
            p = None
        rc = 127 if p is None else wait(p, seconds, progress, every)
    reap_orphans()
    with open(log_path, 'rb') as fh:
        return rc, fh.read().decode('utf-8', 'replace')


def guarded(prog, fn):
    """Runs fn() with SIGINT, SIGTERM and SIGHUP turned into Stopped; on
    any way out, kills every child's group.  Returns fn()'s value, or
    128 + the signal after one line on stderr."""
    become_subreaper()

    stopping = []

    def on_signal(signum, frame):
        # Only the first signal stops: a second one (SIGTERM right after
        # SIGINT) arriving during the cleanup must not break it off.
        if not stopping:
            stopping.append(signum)
            raise Stopped(signum)

    sigs = (signal.SIGINT, signal.SIGTERM, signal.SIGHUP)
    old = dict((s, signal.signal(s, on_signal)) for s in sigs)
    try:
        return fn()
    except (Stopped, KeyboardInterrupt) as exc:
        for s in sigs:
            signal.signal(s, signal.SIG_IGN)
        signum = getattr(exc, 'signum', signal.SIGINT)
        stop_all()
        sys.stderr.write('%s: stopped by signal %d; every fuzzer and helper '
                         'it started was killed\n' % (prog, signum))
        return 128 + signum
    finally:
        stopping.append(None)
        for s in sigs:
            signal.signal(s, signal.SIG_IGN)
        stop_all()
        for s in sigs:
            signal.signal(s, old[s])
