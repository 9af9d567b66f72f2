"""A timeout shorter than a millisecond still waits a whole one (spec 7).

CPython holds a socket timeout in nanoseconds (settimeout(1e-9) is 1 ns)
and waits for readiness with poll() for the time left rounded up to whole
milliseconds, so with nothing queued recvmsg times out after 1 ms or more.
An implementation that rounds to the nearest millisecond polls for 0 ms and
times out at once.
Run: python corpus/oracle/short-timeout-wait.py
"""
import socket
import sys
import time

from _common import outcome, report

a, b = socket.socketpair()
b.settimeout(1e-9)
start = time.monotonic()
got = outcome(lambda: b.recvmsg(1))[0]
took = time.monotonic() - start
rows = [
    ("recvmsg(1) with a 1 ns timeout and nothing queued times out", got,
     lambda g: g in ("timeout", "TimeoutError")),
    ("... after waiting at least 1 ms (took %.3f ms)" % (took * 1e3), took,
     lambda t: t >= 0.00095),
]
a.close()
b.close()
sys.exit(report(rows))
