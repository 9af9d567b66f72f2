"""socket.CMSG_LEN / CMSG_SPACE argument errors (spec §8; PyPy's differ).

CPython: one positional Py_ssize_t; keywords -> "CMSG_LEN() takes no keyword
arguments"; a float -> the version's integer TypeError; 2**63 ->
"Python int too large to convert to C ssize_t".
Run: python corpus/oracle/cmsg-macro-arguments.py
"""
import socket
import sys

from _common import outcome, report

rows = [
    ("CMSG_LEN(length=1)", outcome(lambda: socket.CMSG_LEN(length=1)),
     ("TypeError", "CMSG_LEN() takes no keyword arguments")),
    ("CMSG_LEN(2**63)", outcome(lambda: socket.CMSG_LEN(2 ** 63)),
     ("OverflowError", "Python int too large to convert to C ssize_t")),
    ("CMSG_SPACE(1.5) raises TypeError",
     outcome(lambda: socket.CMSG_SPACE(1.5))[0], "TypeError"),
]
sys.exit(report(rows))
