"""recvmsg_into(buffers) where the first buffer's __buffer__ (3.12+)
clears or changes the list being converted (spec §5.3).

A fixed CPython takes a snapshot of the list when it converts it, so the
buffers used are the list's items at that moment: clearing the list
changes nothing, and a replaced item is not written.  CPython 3.12.1 and
3.13.0 read the list itself while exporting: clearing it dies with SIGSEGV
(a read through the freed item array), a replaced item is the one written.
Each call runs in a child so a crash is observed, not suffered.  Before
3.12 (no __buffer__) the object is no buffer: TypeError, as CPython.
Run: python corpus/oracle/recvmsg-into-list-changed.py
"""
import os
import socket
import sys

from _common import outcome, report


class Exporter(object):
    def __init__(self, act):
        self.backing = bytearray(3)
        self.act = act

    def __buffer__(self, flags):
        self.act()
        return memoryview(self.backing)


def in_child(fn):
    """repr(outcome(fn)) from a forked child, or how the child died."""
    r, w = os.pipe()
    pid = os.fork()
    if pid == 0:
        os.close(r)
        os.write(w, repr(outcome(fn)).encode())
        os._exit(0)
    os.close(w)
    out = os.read(r, 4096).decode()
    os.close(r)
    _, status = os.waitpid(pid, 0)
    if os.WIFSIGNALED(status):
        return "killed by signal %d" % os.WTERMSIG(status)
    return out


def clear_case():
    a, b = socket.socketpair()
    a.send(b"abcdefghij")
    bufs = []
    exp = Exporter(lambda: bufs.clear())
    rest = [bytearray(3), bytearray(4)]
    bufs.extend([exp] + rest)
    n = b.recvmsg_into(bufs)[0]
    return n, bytes(exp.backing) + b"".join(bytes(x) for x in rest)


def replace_case():
    a, b = socket.socketpair()
    a.send(b"abcdefghij")
    bufs = []
    last = bytearray(4)
    exp = Exporter(lambda: bufs.__setitem__(2, bytearray(4)))
    bufs.extend([exp, bytearray(3), last])
    n = b.recvmsg_into(bufs)[0]
    return n, bytes(last)


if sys.version_info >= (3, 12) or sys.implementation.name != "cpython":
    want_clear = repr(("ok", (10, b"abcdefghij")))
    want_replace = repr(("ok", (10, b"ghij")))
else:
    msg = ("recvmsg_into() argument 1 must be an iterable of "
           "single-segment read-write buffers")
    want_clear = want_replace = repr(("TypeError", msg))
sys.exit(report([
    ("__buffer__ clears the list", in_child(clear_case), want_clear),
    ("__buffer__ replaces the last item", in_child(replace_case),
     want_replace)]))
