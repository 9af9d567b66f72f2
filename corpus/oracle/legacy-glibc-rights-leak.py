"""SO_PASSCRED and one fd, ancbufsize 52: legacy glibc leaks the fd (spec §3.4).

The kernel writes the credentials (32 bytes with padding) and, at offset
32, an SCM_RIGHTS item of cmsg_len 20 without its padding (52 bytes fit,
56 would not; spec §10), and installs the fd.  A CPython built against
glibc's CMSG_NXTHDR before the BZ#28846 fix (glibc <= 2.35, e.g. Debian
bullseye's 3.9) never visits that item: 32 + align8(20) = 56 > 52.  It
returns the credentials alone, and the installed fd is neither returned
nor closed.  CPython built on a fixed glibc (2.36.1+) returns both items.
Exit 1 when the interpreter leaks the fd (or drops the item).
Run: python corpus/oracle/legacy-glibc-rights-leak.py
"""
import array
import os
import socket
import sys

from _common import report

# Linux's values; PyPy's socket module lacks these names.
SO_PASSCRED = getattr(socket, "SO_PASSCRED", 16)
SCM_CREDENTIALS = getattr(socket, "SCM_CREDENTIALS", 2)
a, b = socket.socketpair(socket.AF_UNIX, socket.SOCK_STREAM)
b.setsockopt(socket.SOL_SOCKET, SO_PASSCRED, 1)
r, w = os.pipe()
a.sendmsg([b"x"], [(socket.SOL_SOCKET, socket.SCM_RIGHTS,
                    array.array("i", [r]))])
data, anc, flags, addr = b.recvmsg(1, 52)
returned = []
for level, type_, payload in anc:
    if (level, type_) == (socket.SOL_SOCKET, socket.SCM_RIGHTS):
        returned.extend(array.array("i", payload[:len(payload) // 4 * 4]))


def same_pipe(fd):
    try:
        return os.path.samestat(os.fstat(fd), os.fstat(r))
    except OSError:
        return False


# Every fd on the pipe other than r, w and the returned ones
# was installed by the kernel and given to nobody.
leaked = [int(fd) for fd in os.listdir("/proc/self/fd")
          if int(fd) not in [r, w] + returned and same_pipe(int(fd))]
for fd in returned + leaked:
    os.close(fd)
sys.exit(report([
    ("items returned (level, type)", [(l, t) for l, t, _ in anc],
     [(socket.SOL_SOCKET, SCM_CREDENTIALS),
      (socket.SOL_SOCKET, socket.SCM_RIGHTS)]),
    ("fds received but neither returned nor closed", leaked, []),
]))
