"""procs.py - the one child-process runner of cmsgref's Python tools.

Why: the fuzz runner, the benchmark, the oracle driver, CPython's test
runner and every later tool start children that must not outlive their
budget or their parent.  A fuzzer that overruns burns a shared machine's
cores; AFL++'s fork servers and the oracle's workers leave their parent's
process group.  This module writes that discipline once.

The contract:
- start() runs a program in a new session (so its process group is its
  own) and returns a Child: a Popen-style handle (pid, stdout, poll(),
  wait(), kill()) with an optional deadline.  A program that cannot be
  started (missing, not executable, bad cwd) raises UsageError, one line.
- run() starts a child and waits for it: it returns a Result with
  returncode, timed_out and signal (and the captured output, wall seconds
  and peak RSS), calling progress(elapsed) every `every` seconds.  An
  exception while it waits (Ctrl-C outside guarded()) kills the child.
- A child's end is never left half-done: when it exits, whatever it left
  in its process group is killed; when its deadline passes or kill() is
  called, its whole tree is killed (its group, and the group of every
  descendant that moved into a session of its own), SIGTERM first when a
  grace period is given, then SIGKILL.  Every child is reaped with
  os.wait4, so Result.peak_rss_kib is the child's own high-water mark.
- Output: None inherits; DEVNULL; a path (truncated, written by the
  child); an open file or fd; PIPE (start() only: the caller reads
  Child.stdout/stderr); CAPTURE (a temporary file, read back into
  Result.stdout/stderr as bytes, so a child cannot block on a full pipe and
  a grandchild holding the pipe open cannot block us).  stderr may also be
  STDOUT.  stdin defaults to DEVNULL.
- guarded(prog, fn) runs fn() with SIGINT, SIGTERM and SIGHUP turned into
  a clean stop: the first such signal raises Stopped (a BaseException, so
  nothing swallows it), every live child's tree is killed, one line goes
  to stderr and guarded() returns 128 + the signal.  A signal that arrives
  while start() is registering a child is held until the child is
  registered, so no child escapes the stop.  On any way out of fn() every
  child still live is killed.  Call it from the main thread.
- become_subreaper() (Linux) makes this process the reaper of its orphaned
  descendants; reap_orphans() then kills and reaps every child of this
  process that start() did not start.  guarded(subreaper=True) does both,
  and reaps orphans whenever a child ends and on every way out.  Use it
  only in a process whose every child goes through this module.

Limits: Linux (/proc, process groups, os.wait4).  Not thread-safe: one
thread starts and waits.  Stdlib only; CPython 3.6+ and PyPy 3.9.
"""

import os
import signal
import subprocess
import sys
import tempfile
import time

PIPE = subprocess.PIPE
STDOUT = subprocess.STDOUT
DEVNULL = subprocess.DEVNULL
CAPTURE = -10               # a temporary file, read back into the Result

STOP_SIGNALS = (signal.SIGINT, signal.SIGTERM, signal.SIGHUP)


class UsageError(Exception):
    """A program that cannot be started, or a bad argument to this module;
    str() is one line for the user."""


class Stopped(BaseException):
    """A stop signal arrived under guarded(); signum says which."""

    def __init__(self, signum):
        BaseException.__init__(self, signum)
        self.signum = signum


LIVE = []                   # Children started and not yet reaped
_STOP = {"armed": False, "signum": None, "hold": 0, "held": None,
         "killed": 0}


def signame(signum):
    """'SIGTERM' for 15; 'signal N' for a number without a name."""
    try:
        return signal.Signals(signum).name
    except ValueError:
        return "signal %d" % signum


# ---- /proc: the process tree --------------------------------------------

def _proc_table():
    """{pid: (ppid, pgid, starttime)} of every process /proc shows."""
    table = {}
    try:
        names = os.listdir("/proc")
    except OSError:
        return table
    for name in names:
        if not name.isdigit():
            continue
        try:
            with open("/proc/%s/stat" % name, "rb") as f:
                stat = f.read()
        except (IOError, OSError):
            continue
        # The command name is in parentheses and may hold anything.
        fields = stat[stat.rfind(b")") + 2:].split()
        try:
            table[int(name)] = (int(fields[1]), int(fields[2]),
                                int(fields[19]))
        except (IndexError, ValueError):
            continue
    return table


def _tree(pid, table):
    """[(pid, starttime)] of pid and all its descendants in table."""
    kids = {}
    for p, (ppid, _, _) in table.items():
        kids.setdefault(ppid, []).append(p)
    out, todo, seen = [], [pid], set()
    while todo:
        p = todo.pop()
        if p in seen or p not in table:
            continue
        seen.add(p)
        out.append((p, table[p][2]))
        todo.extend(kids.get(p, ()))
    return out


def _send(pid, sig, group=False):
    try:
        (os.killpg if group else os.kill)(pid, sig)
    except OSError:
        pass


def _signal_tree(pid, sig, known=()):
    """Sends sig to pid's process group and to every process of pid's tree
    (and its group, when it leads one), then SIGCONT so a stopped process
    sees it.  known: (pid, starttime) pairs found by an earlier call, hit
    again if they still are the same processes.  The tree is frozen
    (SIGSTOP) and listed twice so a process forked during the first listing
    is caught.  Returns every (pid, starttime) it reached."""
    _send(pid, signal.SIGSTOP, group=True)
    table = _proc_table()
    procs = _tree(pid, table)
    for p, _ in procs:
        _send(p, signal.SIGSTOP)
    table = _proc_table()
    procs = set(_tree(pid, table)) | set(
        k for k in known if k[0] in table and table[k[0]][2] == k[1])
    _send(pid, sig, group=True)
    for p, _ in procs:
        if table.get(p, (0, None))[1] == p:
            _send(p, sig, group=True)
        _send(p, sig)
    _send(pid, signal.SIGCONT, group=True)
    for p, _ in procs:
        if table.get(p, (0, None))[1] == p:
            _send(p, signal.SIGCONT, group=True)
        _send(p, signal.SIGCONT)
    return procs


def become_subreaper():
    """Linux PR_SET_CHILD_SUBREAPER: descendants orphaned later become this
    process's children, so reap_orphans() can find them.  Returns True if
    it took effect (False without ctypes or prctl)."""
    try:
        import ctypes
        return ctypes.CDLL(None, use_errno=True).prctl(36, 1, 0, 0, 0) == 0
    except Exception:
        return False


def reap_orphans():
    """Kills (with its tree) and reaps every child of this process that is
    not a live Child: helpers reparented here after their parent died
    (needs become_subreaper()).  Returns how many it reaped."""
    me = os.getpid()
    known = set(c.pid for c in LIVE)
    table = _proc_table()
    n = 0
    for pid, (ppid, _, _) in sorted(table.items()):
        if ppid != me or pid in known:
            continue
        _signal_tree(pid, signal.SIGKILL)
        try:
            os.waitpid(pid, 0)
            n += 1
        except OSError:
            pass
    return n


# ---- one child ----------------------------------------------------------

class Result(object):
    """What run() (or Child.result()) observed.

    returncode: the exit status, or -N when signal N ended the child
    (including the deadline's kill); timed_out: True when the deadline
    killed it; signal: N when a signal ended it, else None; stdout, stderr:
    bytes for CAPTURE, else None; seconds: wall time; peak_rss_kib: the
    child's own peak RSS (0 if unknown)."""

    def __init__(self, child):
        self.args = child.args
        self.returncode = child.returncode
        self.timed_out = child.timed_out
        self.signal = child.signal
        self.stdout = child.captured("stdout")
        self.stderr = child.captured("stderr")
        self.seconds = child.seconds
        self.peak_rss_kib = child.peak_rss_kib

    def status(self):
        """'exit 0', 'killed by SIGSEGV' or 'timed out (killed)'."""
        if self.timed_out:
            return "timed out (killed)"
        if self.signal is not None:
            return "killed by %s" % signame(self.signal)
        return "exit %d" % self.returncode

    def text(self, which="stdout"):
        """The captured stdout (or stderr) decoded, '' when not captured."""
        data = getattr(self, which)
        return data.decode("utf-8", "replace") if data else ""


def _open_out(spec, name, files):
    """The Popen argument for an output spec; files collects what the
    parent must close (and, for CAPTURE, read back)."""
    if spec == CAPTURE:
        f = tempfile.TemporaryFile()
        files[name] = f
        return f
    if isinstance(spec, str):
        f = open(spec, "wb")
        files[name + "-path"] = f
        return f
    return spec


class Child(object):
    """A started child (see start()).  Popen-style: pid, args, stdout and
    stderr (file objects for PIPE, else None), returncode (None while it
    runs), poll(), wait(), kill().  Also: timed_out, signal, seconds,
    peak_rss_kib, cpu_seconds (once reaped), deadline (time.monotonic()
    value or None), expired(), done(), finish(), result()."""

    def __init__(self, popen, files, timeout, grace):
        self._popen = popen
        self._files = files
        self.pid = popen.pid
        self.args = popen.args
        self.stdout = popen.stdout
        self.stderr = popen.stderr
        self.started = time.monotonic()
        self.deadline = None if timeout is None else self.started + timeout
        self.grace = grace
        self.returncode = None
        self.timed_out = False
        self.signal = None
        self.seconds = None
        self.peak_rss_kib = 0
        self.cpu_seconds = None     # user + system, with reaped children
        self._reached = set()

    # -- state
    def _reaped(self, status, usage):
        if os.WIFSIGNALED(status):
            self.signal = os.WTERMSIG(status)
            self.returncode = -self.signal
        else:
            self.returncode = os.WEXITSTATUS(status)
        self.peak_rss_kib = usage.ru_maxrss if usage is not None else 0
        self.cpu_seconds = usage.ru_utime + usage.ru_stime \
            if usage is not None else None
        self._end()

    def _end(self):
        self.seconds = time.monotonic() - self.started
        self._popen.returncode = self.returncode   # Popen must not reap
        if self in LIVE:
            LIVE.remove(self)
        # What it left in its group (a helper still running) goes too,
        # and, under a subreaper, the helpers that left the group.
        _send(self.pid, signal.SIGKILL, group=True)
        _reap_if_subreaper()
        for key in list(self._files):
            f = self._files[key]
            if key.endswith("-path"):
                self._files.pop(key).close()
            elif not isinstance(f, bytes):      # CAPTURE: read it back
                f.seek(0)
                self._files[key] = f.read()
                f.close()

    def poll(self):
        """The returncode once the child has ended (reaping it), else None.
        A child reaped behind this module's back reads as 255."""
        if self.returncode is None:
            try:
                pid, status, usage = os.wait4(self.pid, os.WNOHANG)
            except ChildProcessError:       # reaped elsewhere: unknown
                self.returncode = 255
                self._end()
                return self.returncode
            if pid == self.pid:
                self._reaped(status, usage)
        return self.returncode

    def expired(self):
        """True when the deadline has passed (False without one)."""
        return self.deadline is not None and time.monotonic() >= self.deadline

    def done(self):
        """For a scheduler's loop: True once the child has ended; a child
        past its deadline is killed (timed_out) and counts as ended."""
        if self.poll() is not None:
            return True
        if self.expired():
            self.timed_out = True
            self.kill()
            return True
        return False

    def wait(self, timeout=None):
        """Waits for the child's end, at most timeout seconds (None: no
        limit; the deadline is not applied).  Returns the returncode, or
        None if it is still running."""
        end = None if timeout is None else time.monotonic() + timeout
        nap = 0.001
        while self.poll() is None:
            if end is not None and time.monotonic() >= end:
                return None
            time.sleep(nap if end is None else
                       max(0, min(nap, end - time.monotonic())))
            nap = min(nap * 2, 0.05)
        return self.returncode

    def kill(self, grace=None):
        """Kills the child's tree and reaps the child; returns its
        returncode.  grace (default: start()'s): seconds between SIGTERM
        and SIGKILL; 0 sends SIGKILL at once."""
        if self.returncode is not None:
            return self.returncode
        if _STOP["signum"] is not None:
            _STOP["killed"] += 1        # for guarded()'s line
        grace = self.grace if grace is None else grace
        if grace > 0:
            self._reached |= _signal_tree(self.pid, signal.SIGTERM)
            if self.wait(grace) is not None:
                # Exited on SIGTERM; helpers in other sessions go too.
                _signal_tree(self.pid, signal.SIGKILL, self._reached)
                return self.returncode
        self._reached |= _signal_tree(self.pid, signal.SIGKILL,
                                      self._reached)
        try:
            pid, status, usage = os.wait4(self.pid, 0)
            self._reaped(status, usage)
        except ChildProcessError:
            self.returncode = 255
            self._end()
        return self.returncode

    def finish(self, progress=None, every=0):
        """Waits for the child's end or its deadline (then kills it),
        calling progress(elapsed seconds) every `every` seconds; returns
        the Result.  Left by an exception (one progress raised, Ctrl-C,
        Stopped), it kills the child's tree first."""
        tick = self.started + every if progress and every else None
        nap = 0.001
        try:
            while not self.done():
                now = time.monotonic()
                if tick is not None and now >= tick:
                    progress(now - self.started)
                    tick += every
                wake = [now + nap]
                if tick is not None:
                    wake.append(tick)
                if self.deadline is not None:
                    wake.append(self.deadline)
                time.sleep(max(0, min(wake) - time.monotonic()))
                nap = min(nap * 2, 0.05)
        except BaseException:
            self.kill()
            raise
        return self.result()

    def captured(self, which):
        """The bytes a CAPTURE output ("stdout" or "stderr") holds once
        the child has ended (None while it runs, and for another kind of
        output); the temporary file is read and closed when it is reaped."""
        if self.returncode is None:
            return None
        return self._files.get(which)

    def result(self):
        """The Result of an ended child (ValueError while it runs)."""
        if self.returncode is None:
            raise ValueError("child %d is still running" % self.pid)
        return Result(self)


def _hold():
    _STOP["hold"] += 1


def _release():
    _STOP["hold"] -= 1
    if not _STOP["hold"] and _STOP["held"] is not None:
        signum, _STOP["held"] = _STOP["held"], None
        raise Stopped(signum)


def start(cmd, timeout=None, stdout=None, stderr=None, stdin=DEVNULL,
          env=None, cwd=None, grace=0):
    """Starts cmd (a list) in a new session and returns its Child.

    timeout: seconds until its deadline (None: none; the deadline is
    applied by done(), finish() and run()).  stdout, stderr, stdin: see
    the module docstring.  env, cwd: as for Popen.  grace: seconds between
    SIGTERM and SIGKILL when it is killed (0: SIGKILL at once).  Raises
    UsageError when the program cannot be started."""
    if not cmd:
        raise UsageError("no program to run")
    files = {}
    _hold()
    try:
        try:
            out = _open_out(stdout, "stdout", files)
            err = _open_out(stderr, "stderr", files)
            popen = subprocess.Popen(cmd, stdin=stdin, stdout=out,
                                     stderr=err, env=env, cwd=cwd,
                                     start_new_session=True)
        except (OSError, ValueError) as e:
            for f in files.values():
                f.close()
            raise UsageError("cannot run %s: %s" % (
                cmd[0], getattr(e, "strerror", None) or e))
        child = Child(popen, files, timeout, grace)
        LIVE.append(child)
    finally:
        _release()
    return child


def run(cmd, timeout, stdout=CAPTURE, stderr=CAPTURE, stdin=DEVNULL,
        env=None, cwd=None, grace=0, progress=None, every=0):
    """Runs cmd to its end, killing its tree after timeout seconds (None:
    no limit).  Output as for start() (captured by default).  Returns the
    Result; raises UsageError when the program cannot be started."""
    if stdout == PIPE or stderr == PIPE:
        raise UsageError("run() reads no pipe: use CAPTURE")
    return start(cmd, timeout, stdout, stderr, stdin, env, cwd,
                 grace).finish(progress, every)


def stop_all(grace=0):
    """Kills every live Child's tree (reaping each), then reap_orphans().
    Returns how many children were live."""
    n = 0
    for child in list(LIVE):
        child.kill(grace)
        n += 1
    _reap_if_subreaper()
    return n


_SUBREAPER = []             # non-empty while guarded(subreaper=True) runs


def _reap_if_subreaper():
    if _SUBREAPER:
        reap_orphans()


# ---- stop signals -------------------------------------------------------

def _on_signal(signum, frame):
    # Only the first signal stops: a second one (SIGTERM right after
    # SIGINT) arriving during the clean-up must not break it off.
    if not _STOP["armed"] or _STOP["signum"] is not None:
        return
    _STOP["signum"] = signum
    if _STOP["hold"]:
        _STOP["held"] = signum
        return
    raise Stopped(signum)


def guarded(prog, fn, subreaper=False, grace=0, what="child process(es)"):
    """Runs fn() under the stop signals (see the module docstring).

    Returns fn()'s value; or, after a stop signal, kills every live child
    (SIGTERM first when grace > 0), writes '<prog>: stopped by SIGTERM: N
    <what> killed, with what they started' to stderr and returns 128 + the signal.  subreaper:
    become_subreaper() first, and reap_orphans() on every way out.  The
    previous signal handlers are restored on return."""
    if subreaper and become_subreaper():
        _SUBREAPER.append(True)
    _STOP.update(armed=True, signum=None, held=None, killed=0)
    old = dict((s, signal.signal(s, _on_signal)) for s in STOP_SIGNALS)
    try:
        return fn()
    except (Stopped, KeyboardInterrupt) as e:
        _STOP["armed"] = False
        signum = getattr(e, "signum", signal.SIGINT)
        _STOP["signum"] = signum
        stop_all(grace)
        n = _STOP["killed"]
        sys.stderr.write("%s: stopped by %s: %d %s killed, with what "
                         "they started\n" % (prog, signame(signum), n, what))
        sys.stderr.flush()
        return 128 + signum
    finally:
        _STOP.update(armed=False, signum=None)
        stop_all(grace)
        if _SUBREAPER:
            _SUBREAPER.pop()
        for s, h in old.items():
            signal.signal(s, h)
