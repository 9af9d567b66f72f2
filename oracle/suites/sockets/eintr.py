"""suites/sockets/eintr.py - a signal delivered to the main thread while
it is blocked in the call under test (EINTR), from one watcher thread.

Modes: "returns" (the handler sends the setup's message), "reenter" (it
sends the message, then runs the case's callback: reentry.py), "raises"
(the handler raises), "late" (it sends the message, then returns only
PAST seconds after the call's timeout: §7, the deadline has passed by
the retry, so the call times out with the message queued) and "storm" (a
handler that returns, every STORM seconds: §7's deadline).  The scenarios that use it need the main thread.
"""

import os
import signal
import threading
import time

# Linux x86-64 system call numbers a thread blocked in a receive waits in:
# read, poll, select, recvfrom, recvmsg, epoll_wait, pselect6, ppoll,
# epoll_pwait (arch/x86/entry/syscalls/syscall_64.tbl).
_WAIT_SYSCALLS = frozenset([0, 7, 23, 45, 47, 232, 270, 271, 281])


def _blocked_in_wait(path):
    """True when /proc/self/task/<tid>/syscall says that thread is blocked
    in one of _WAIT_SYSCALLS ("running" or another number: False; an
    unreadable file: None)."""
    try:
        with open(path, "rb") as f:
            text = f.read(32)
    except (IOError, OSError):
        return None
    head = text.split(b" ", 1)[0]
    return head.isdigit() and int(head) in _WAIT_SYSCALLS


class _Eintr(object):
    """SIGALRM delivered to the main thread once it is blocked in the call:
    the handler sends the setup's message (mode "returns") or raises
    ZeroDivisionError ("raises"), once.  In mode "storm" the signal comes
    every STORM seconds for at most STORM_CAP seconds and the handler only
    notes when it ran; result() then says whether the call extended its
    deadline (more than LATE_RUNS handler runs came LATE seconds or more
    after the timeout had passed: a call that keeps its deadline gives up
    at the first EINTR after it, one that restarts its timeout at every
    EINTR goes on being interrupted until the storm ends), kept it (it was
    interrupted in the second half of its timeout and still ended before
    LATE after it: a restarted timeout would have run a whole timeout past
    that run), or neither was observed (a loaded machine starved the storm
    or the call), and whether it was interrupted at all.  run.py runs a
    side that observed too little again.
    No wall-clock bound decides: a loaded machine delays both.

    A helper thread (_Watcher) watches the main thread's
    /proc/self/task/<tid>/syscall and sends SIGALRM (signal.pthread_kill)
    as soon as the main thread is blocked in a receive or poll, so the
    signal interrupts the system call (EINTR) instead of arriving before
    it.  If the thread has not seen the main thread blocked within FIRST
    seconds (file unreadable, another architecture), it sends the signal
    anyway; until the handler has run it re-sends every AGAIN seconds as
    a safety net.  The thread is idle again before the old handler is
    put back, so no signal arrives after __exit__."""

    FIRST = 0.01        # the latest first signal
    AGAIN = 0.05        # the safety net's period
    POLL = 0.0001
    # A deadline-keeping call can only look "extended" if more than
    # LATE_RUNS handler runs land LATE after its timeout inside the call;
    # one that restarts its timeout can only look "kept" if the watcher
    # leaves a gap of a whole timeout (0.1 s) between two signals.
    STORM = 0.01        # "storm": the period of the signals
    STORM_CAP = 0.35    # "storm": no signal after this (the call must end)
    LATE = 0.05         # "storm": a run this long after the timeout ...
    LATE_RUNS = 2       # ... more than this many times: "extended"
    PAST = 0.02         # "late": the handler returns this long after
                        # the timeout (more than poll's 1 ms resolution)

    def __init__(self, mode, st, after=None, timeout=None):
        self.mode, self.st, self.fired, self.old = mode, st, False, None
        self.timeout = timeout      # "storm": the socket's timeout (s)
        self.after = after          # "reenter": the callback
        self.stop = False
        self.sent = 0
        self.seen_blocked = False   # the first signal found it blocked
        self.main_ident = self.main_tid = None
        self.handled = 0            # "storm": handler runs
        self.runs = []              # "storm": when each ran (monotonic)
        self.started = self.ended = None

    def handler(self, signum, frame):
        if self.mode == "storm":
            self.handled += 1
            self.runs.append(time.monotonic())
            return
        if self.fired:
            return
        self.fired = True
        if self.mode == "raises":
            raise ZeroDivisionError("raised by the SIGALRM handler")
        self.st.send()
        if self.mode == "reenter":
            self.after()
        elif self.mode == "late":
            rest = self.started + self.timeout + self.PAST - time.monotonic()
            if rest > 0:
                time.sleep(rest)

    def watch(self):
        """The watcher thread's work for this call (see the class doc);
        returns once stop is set."""
        if self.mode == "storm":
            self._storm()
            return
        path = "/proc/self/task/%d/syscall" % self.main_tid
        next_kill = time.monotonic() + self.FIRST
        watch = True
        while not self.stop:
            if not self.fired:
                now = time.monotonic()
                due = now >= next_kill
                if watch and not due:
                    blocked = _blocked_in_wait(path)
                    if blocked is None:
                        watch = False
                    due = bool(blocked)
                    self.seen_blocked = due
                if due:
                    signal.pthread_kill(self.main_ident, signal.SIGALRM)
                    self.sent += 1
                    next_kill = now + self.AGAIN
                    watch = False
            time.sleep(self.POLL)

    def _storm(self):
        """Mode "storm": a signal every STORM seconds until stop is set or
        STORM_CAP seconds have passed."""
        start = time.monotonic()
        next_kill = start + self.STORM
        while not self.stop:
            now = time.monotonic()
            if now >= next_kill and now - start < self.STORM_CAP:
                signal.pthread_kill(self.main_ident, signal.SIGALRM)
                self.sent += 1
                next_kill = now + self.STORM
            # Asleep until the next signal is due, or a whole period once
            # the storm is over (never a busy poll: this runs beside the
            # call for its whole timeout).
            if time.monotonic() - start >= self.STORM_CAP:
                time.sleep(self.STORM)
            else:
                time.sleep(min(max(next_kill - time.monotonic(), self.POLL),
                               self.STORM))

    def result(self):
        """What the canonical result records of a "storm" call (equal on
        both sides when both keep the deadline); in mode "late" whether
        the signal came while the call waited (the watcher saw it blocked:
        "never" otherwise, and run.py runs that side again); {} in other
        modes."""
        if self.mode == "late":
            return {"interrupted": "in the wait"
                    if self.fired and self.seen_blocked else "never"}
        if self.mode != "storm":
            return {}
        late = self.started + self.timeout + self.LATE
        nlate = len([t for t in self.runs if t >= late])
        if nlate > self.LATE_RUNS:
            deadline = "extended"
        elif self.runs and self.runs[-1] >= self.started + self.timeout / 2 \
                and self.ended <= late:
            deadline = "kept"
        else:
            deadline = "not observed"
        return {"deadline": deadline,
                "interrupted": "yes" if self.handled else "never"}

    def __enter__(self):
        self.old = signal.signal(signal.SIGALRM, self.handler)
        self.main_ident = threading.get_ident()
        self.main_tid = os.getpid()     # the main thread's tid is the pid
        _WATCHER.arm(self)
        self.started = time.monotonic()
        return self

    def __exit__(self, *exc):
        self.ended = time.monotonic()
        _WATCHER.disarm(self)
        signal.signal(signal.SIGALRM, self.old)
        return False


class _Watcher(object):
    """One daemon thread per process that runs _Eintr.watch for the armed
    call.  It is started once (per process: a forked child starts its own)
    and never exits before the process, because a thread that exits can
    open files at that moment (glibc loads libgcc_s.so.1 to unwind a
    pthread_exit, as CPython 3.6 does), which the fd snapshots would see
    as a leak.  disarm() returns only when the thread is idle again, so no
    signal is sent after it."""

    def __init__(self):
        self.cond = threading.Condition()
        self.job = None
        self.done = None
        self.pid = None

    def ensure(self):
        """Starts the thread if this process has none; call it before the
        case's first fd snapshot."""
        if self.pid == os.getpid():
            return
        self.cond = threading.Condition()
        self.job = self.done = None
        t = threading.Thread(target=self._loop, name="cmsgref-eintr")
        t.daemon = True
        t.start()
        self.pid = os.getpid()

    def _loop(self):
        cond = self.cond
        while True:
            with cond:
                while self.job is None:
                    cond.wait()
                job = self.job
            try:
                job.watch()
            finally:
                with cond:
                    self.job = None
                    self.done = job
                    cond.notify_all()

    def arm(self, job):
        self.ensure()
        with self.cond:
            self.done = None
            self.job = job
            self.cond.notify_all()

    def disarm(self, job):
        with self.cond:
            job.stop = True
            while self.done is not job:
                self.cond.wait()


_WATCHER = _Watcher()
