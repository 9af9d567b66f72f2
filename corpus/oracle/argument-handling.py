"""PyPy's recvmsg argument handling is its own (spec §5, §11).

CPython: positional-only; ancbufsize range-checked; flags a C int;
recvmsg_into checks its buffers before ancbufsize.
Run: python corpus/oracle/argument-handling.py
"""
import sys

from _common import outcome, pair, report

a, b = pair()
rows = [
    ("recvmsg(bufsize=1) raises TypeError",
     outcome(lambda: b.recvmsg(bufsize=1))[0], "TypeError"),
    ("recvmsg(1, 2**31) raises ValueError",
     outcome(lambda: b.recvmsg(1, 2 ** 31)), ("ValueError", "invalid ancillary data buffer length")),
    ("recvmsg(1, 0, 2**31) raises OverflowError",
     outcome(lambda: b.recvmsg(1, 0, 2 ** 31))[0], "OverflowError"),
    ("recvmsg_into([b'x'], -1) checks the buffers first",
     outcome(lambda: b.recvmsg_into([b"x"], -1))[0], "TypeError"),
]
a.close()
b.close()
sys.exit(report(rows))
