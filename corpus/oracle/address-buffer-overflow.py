"""recvmsg() writes past the heap block it receives the address into
(spec §6; found by the oracle's heap checks, make conformance HEAPCHECK=1).

Two calls, each in a child started with glibc's malloc checks
(MALLOC_CHECK_=3, libc_malloc_debug.so.0 preloaded: the byte after each
block must keep its check value until the block is freed):
- a datagram from a sender bound to a path that fills sun_path (108 bytes,
  no NUL): the address block is 110 bytes and one byte (a terminating
  NUL) is written after it;
- a socket object of family 99 (an AF_UNIX stream underneath): the
  address block is empty and the two bytes of the family are written
  into it.
CPython keeps the address on the stack and sizes it from the family
(family 99: OSError('getsockaddrlen: bad family'), §5), so neither call
touches the heap out of bounds.  PyPy 7.3.11 does both writes; the block
is freed by the next collection, where glibc aborts ("free(): invalid
pointer", SIGABRT).  Valgrind shows the same writes without the checks
("Invalid write of size 1" 0 bytes after a block of size 110; "of size
2" after a block of size 0), so this is PyPy's overflow, not the checks'.
Run: python corpus/oracle/address-buffer-overflow.py  (exit 2 when this
glibc has no libc_malloc_debug.so.0)
"""
import ctypes
import gc
import os
import shutil
import socket
import struct
import subprocess
import sys
import tempfile

from _common import report

DEBUG_LIBS = ("/lib/x86_64-linux-gnu/libc_malloc_debug.so.0",
              "/usr/lib/x86_64-linux-gnu/libc_malloc_debug.so.0")


def full_path_case():
    d = tempfile.mkdtemp(prefix="cmsgref-", dir="/tmp")
    try:
        path = (os.path.join(d, "L") + "x" * 108)[:108].encode()
        r = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        r.bind(os.path.join(d, "r"))
        s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        addr = struct.pack("H", socket.AF_UNIX) + path
        libc = ctypes.CDLL(None, use_errno=True)
        if libc.bind(s.fileno(), ctypes.c_char_p(addr), len(addr)) != 0:
            raise OSError(ctypes.get_errno(), "bind")
        s.sendto(b"hi", os.path.join(d, "r"))
        got = r.recvmsg(16)
        r.close()
        s.close()
        return got[0]
    finally:
        shutil.rmtree(d, True)


def family_case():
    a, b = socket.socketpair(socket.AF_UNIX, socket.SOCK_STREAM)
    odd = socket.socket(99, socket.SOCK_STREAM, 0, b.detach())
    a.send(b"hi")
    try:
        return odd.recvmsg(1)[0]
    except OSError as e:
        return str(e)
    finally:
        a.close()
        odd.close()


CASES = {"full-path": full_path_case, "family-99": family_case}


def in_checked_child(name, lib):
    """How a child that runs case name under the malloc checks ended."""
    env = dict(os.environ, MALLOC_CHECK_="3", LD_PRELOAD=lib)
    p = subprocess.run([sys.executable, os.path.abspath(__file__), name],
                       env=env, stdout=subprocess.PIPE,
                       stderr=subprocess.PIPE)
    if p.returncode < 0:
        return "killed by signal %d: %s" % (
            -p.returncode, p.stderr.decode(errors="replace").strip())
    return "exit %d" % p.returncode


if len(sys.argv) == 2 and sys.argv[1] in CASES:
    CASES[sys.argv[1]]()
    gc.collect()        # frees the address block (PyPy: a raw buffer)
    sys.exit(0)
have = [p for p in DEBUG_LIBS if os.path.exists(p)]
if not have:
    sys.stderr.write("address-buffer-overflow.py: no libc_malloc_debug.so.0 "
                     "here (glibc 2.34+ on x86-64 has it)\n")
    sys.exit(2)
sys.exit(report([
    ("recvmsg from a sender whose path fills sun_path",
     in_checked_child("full-path", have[0]), "exit 0"),
    ("recvmsg on a socket object of family 99",
     in_checked_child("family-99", have[0]), "exit 0"),
]))
