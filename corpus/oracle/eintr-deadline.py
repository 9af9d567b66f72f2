"""A timeout is a deadline, not restarted by EINTR (spec §7, PEP 475).

With a 0.1 s timeout, nothing queued and a signal every 10 ms whose handler
returns, CPython retries each interrupted wait with the time left and
times out after about 0.1 s.  An implementation that restarts the timeout
after each EINTR waits until the signals stop (here after 1.5 s).
Run: python corpus/oracle/eintr-deadline.py
"""
import signal
import socket
import sys
import time

from _common import outcome, report

count = [0]


def handler(signum, frame):
    count[0] += 1
    if count[0] >= 150:      # 1.5 s of signals, then none
        signal.setitimer(signal.ITIMER_REAL, 0)


a, b = socket.socketpair()
b.settimeout(0.1)
old = signal.signal(signal.SIGALRM, handler)
signal.setitimer(signal.ITIMER_REAL, 0.01, 0.01)
start = time.monotonic()
got = outcome(lambda: b.recvmsg(1))[0]
took = time.monotonic() - start
signal.setitimer(signal.ITIMER_REAL, 0)
signal.signal(signal.SIGALRM, old)
rows = [
    ("recvmsg(1) under a signal storm times out", got,
     lambda g: g in ("timeout", "TimeoutError")),
    ("... after about its 0.1 s timeout (took %.2f s, %d signals)"
     % (took, count[0]), took, lambda t: t < 0.75),
]
a.close()
b.close()
sys.exit(report(rows))
