"""A socket object of an unknown family: CPython refuses to receive (spec §5).

CPython sizes the address buffer from the socket object's family before
ancbufsize's range check and the wait, so family 99 gives
OSError('getsockaddrlen: bad family'), even with ancbufsize -1.
Run: python corpus/oracle/unknown-family.py
"""
import socket
import sys

from _common import outcome, pair, report

a, b = pair()
odd = socket.socket(99, socket.SOCK_STREAM, 0, b.detach())
rows = [
    ("recvmsg(1) on family 99 raises OSError('getsockaddrlen: bad family')",
     outcome(lambda: odd.recvmsg(1)), ("OSError", "getsockaddrlen: bad family")),
    ("recvmsg(1, -1) reports the family first",
     outcome(lambda: odd.recvmsg(1, -1)),
     ("OSError", "getsockaddrlen: bad family")),
]
a.close()
odd.close()
sys.exit(report(rows))
