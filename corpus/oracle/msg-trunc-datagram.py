"""recvmsg(3, 0, MSG_TRUNC) on a 6-byte datagram (spec §5, §11).

CPython returns (b'abc', [], 32, None); PyPy 7.3.11 aborts the process with
a fatal RPython AssertionError.  The call runs in a child so the abort is
observed, not suffered.
Run: python corpus/oracle/msg-trunc-datagram.py
"""
import os
import socket
import sys

from _common import report

r, w = os.pipe()
pid = os.fork()
if pid == 0:
    os.close(r)
    a, b = socket.socketpair(socket.AF_UNIX, socket.SOCK_DGRAM)
    a.send(b"abcdef")
    res = b.recvmsg(3, 0, socket.MSG_TRUNC)
    os.write(w, repr(res).encode())
    os._exit(0)
os.close(w)
out = os.read(r, 4096).decode()
_, status = os.waitpid(pid, 0)
got = out if os.WIFEXITED(status) else "killed by signal %d" % os.WTERMSIG(status)
sys.exit(report([("recvmsg(3, 0, MSG_TRUNC) on 6 bytes", got,
                  "(b'abc', [], 32, None)")]))
