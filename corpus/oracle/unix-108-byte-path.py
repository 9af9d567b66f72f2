"""A datagram from a sender bound to a 108-byte AF_UNIX path with no NUL
(sun_path exactly full): the spec (section 6) expects exactly the
108-character str.  CPython decodes sun_path as a C string, so it reads past
the 110 bytes of address buffer it zeroed into uninitialised stack memory
until a NUL: extra characters appear whenever that memory is not zero
(observed on 3.6.15, 3.7.16 and 3.13.0: 108 + 3 to 16 characters; it is an
out-of-bounds read in CPython, not a behaviour to reproduce).
Python's bind() refuses such a path, so the sender binds through libc.
Nondeterministic: 20 tries; exit 1 if any returns more than 108 characters.
Run: python corpus/oracle/unix-108-byte-path.py
"""
import ctypes
import os
import shutil
import socket
import sys
import tempfile

from _common import report

libc = ctypes.CDLL(None, use_errno=True)
tmp = tempfile.mkdtemp(prefix="cmsgref-")
try:
    path = (tmp + "/").encode()
    path += b"L" * (108 - len(path))
    lens = []
    for i in range(20):
        tx = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        rx = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        rx.bind(tmp + "/rx%d" % i)
        addr = ctypes.create_string_buffer(110)
        addr.raw = bytes(bytearray([socket.AF_UNIX, 0])) + path
        if libc.bind(tx.fileno(), addr, 110) != 0:
            sys.exit("bind: %s" % os.strerror(ctypes.get_errno()))
        tx.sendto(b"x", tmp + "/rx%d" % i)
        lens.append(len(rx.recvmsg(1)[3]))
        tx.close()
        rx.close()
        os.unlink(path.decode())
finally:
    shutil.rmtree(tmp)
sys.exit(report([("address length over 20 datagrams", sorted(set(lens)), [108])]))
