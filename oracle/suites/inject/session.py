"""suites/inject/session.py - the injected call: one interpreter call with
the shim's control bytes and its close() watch.

The shim (oracle/suites/inject/shim/) interposes recvmsg and close; this
module holds its state in the worker's mmap (struct cr_inject_ctl of
shim/inject.h) and makes each case's call with plain stores and loads, no
foreign call per case.  What a call returns, raises, warns and closes is
the native result; nothing is really closed, so an int that names one of
the worker's own fds is harmless.  Worker-side: stdlib only.
"""

import atexit
import ctypes
import gc
import mmap
import os
import socket
import struct
import warnings

from oracle.judge import canon
from oracle.suites.inject.corpus import MAX_CONTROL
from tools import fdtable

PAYLOAD = b"x"
# The warnings filter each mode's call runs under.
FILTERS = {"record": "always", "error": "error", "default": "default",
           "ignore": "ignore"}
# The close() log holds every slot the error path can close: one per whole
# int of the buffer (§4), so MAX_CONTROL / 4; more means a runaway loop.
LOG_CAP = MAX_CONTROL // 4 + 1

_SHIM = []               # the preloaded shim (ctypes), once found
_SESSION = []            # the _Session of this worker, made at first use


def shim():
    """The preloaded shim's functions (ctypes.CDLL(None) with the shim's
    argument types set).  Raises RuntimeError if it is not preloaded."""
    if not _SHIM:
        me = ctypes.CDLL(None)
        if not hasattr(me, "cr_inject_arm"):
            raise RuntimeError("the injection shim is not preloaded: run "
                               "with LD_PRELOAD=build/inject/libcrinject.so")
        me.cr_inject_arm.argtypes = [ctypes.c_int, ctypes.c_char_p,
                                     ctypes.c_size_t]
        me.cr_inject_count.restype = ctypes.c_long
        _SHIM.append(me)
    return _SHIM[0]


def get_session():
    """This worker's _Session, made at its first use."""
    if not _SESSION:
        _SESSION.append(_Session())
    return _SESSION[0]


def _call_recvmsg(sock, clen):
    return sock.recvmsg(len(PAYLOAD), clen)


def _call_recvmsg_into(sock, clen):
    return sock.recvmsg_into([bytearray(len(PAYLOAD))], clen)


CALLS = {"recvmsg": _call_recvmsg, "recvmsg_into": _call_recvmsg_into}


# The file and lines a RuntimeWarning from the native call is attributed to.
CALL_FILE = os.path.basename(__file__).replace(".pyc", ".py")


CALL_LINES = dict((m, f.__code__.co_firstlineno + 1)
                  for m, f in CALLS.items())


def _call(sock, mode, method, clen, hold_lists=0):
    """The interpreter's own call under the mode's warning filter:
    (return value or None, exception or None, recorded warnings).
    hold_lists > 0: that many empty lists are made just before the call
    and held across it, which empties CPython's list free list."""
    ret = exc = None
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter(FILTERS[mode])
        held = [[] for _ in range(hold_lists)] if hold_lists else None
        try:
            ret = CALLS[method](sock, clen)
        except BaseException as e:  # the exception is the observation
            exc = e
        del held
    return ret, exc, caught


class _Session(object):
    """What every native call of this worker shares: one AF_UNIX stream
    socketpair (the peer writes PAYLOAD, the interpreter reads it), one
    anonymous mmap that holds the shim's state (struct cr_inject_ctl of
    shim/inject.h: armed fd, byte count, watch flag, counts, the address
    of the rewritten msg_control and the control bytes) and the close() log, and the fd table as it was
    after the last call.  A call is armed and its log read by stores and
    loads in the mmap, with no ctypes call per case (a foreign call is
    slow on PyPy until its JIT warms up).  Owned by this
    module for the life of the worker; at exit the shim's state goes back
    into the shim before the mmap can be unmapped.  Raises RuntimeError if
    the shim lacks these entry points or its layout differs."""

    # fd, len, watch, delivered, nclosed: the first 24 bytes of the state.
    HEAD = struct.Struct("=iIiiq")
    DISARM = struct.Struct("=iIi")          # fd = -1, len = 0, watch = 0
    # namelen, poll_errno: at offsetof(.., namelen)
    NAMELEN = struct.Struct("=ii")
    NAMELEN_AT = 32
    CONTROL = struct.Struct("=Q")           # at offsetof(.., control)
    CONTROL_AT = 40
    BYTES = 48                              # offsetof(.., bytes)
    CTL_SIZE = BYTES + MAX_CONTROL          # sizeof(struct cr_inject_ctl)
    LOG = CTL_SIZE                          # LOG_CAP native ints
    SIZE = CTL_SIZE + 4 * LOG_CAP

    def __init__(self):
        sh = shim()
        if not hasattr(sh, "cr_inject_ctl_area"):
            raise RuntimeError("the preloaded shim has no cr_inject_ctl_area: "
                               "rebuild it (make oracle-inject-shim)")
        u = ctypes.c_size_t
        sh.cr_inject_ctl_size.restype = u
        if sh.cr_inject_ctl_size() != self.CTL_SIZE:
            raise RuntimeError("the preloaded shim's state is %d bytes, not "
                               "%d: rebuild it (make oracle-inject-shim)"
                               % (sh.cr_inject_ctl_size(), self.CTL_SIZE))
        sh.cr_inject_log_area.argtypes = [u, u]
        sh.cr_inject_ctl_area.argtypes = [u]
        self.mm = mmap.mmap(-1, self.SIZE)
        # The exported view pins the mapping; both live as long as self.
        self._view = ctypes.c_char.from_buffer(self.mm)
        self.at = ctypes.addressof(self._view)
        sh.cr_inject_log_area(self.at + self.LOG, LOG_CAP)
        sh.cr_inject_ctl_area(self.at)
        self.peer, self.sock = socket.socketpair()
        self.sock.settimeout(5.0)
        self._fd = self.sock.fileno()
        self._loaded = None
        self._named = None      # (receiver, sender, receiver's name)
        # msg_control of the last call the shim rewrote (0: none yet).
        self.control_addr = 0
        # True if the last call's armed poll() failure went out.
        self.poll_failed = False
        # True if the last call's armed allocation failure went out.
        self.alloc_failed = False
        self.table = fdtable.snapshot()
        atexit.register(self.close)

    def close(self):
        """At exit: give the shim its own state back (its close() reads the
        state on every call, and the mmap may be unmapped next), then close
        the socketpair (PyPy would warn about it)."""
        shim().cr_inject_ctl_area(0)         # NULL: the shim's own state
        shim().cr_inject_log_area(0, 0)
        self.peer.close()
        self.sock.close()
        if self._named is not None:
            self._named[0].close()
            self._named[1].close()

    def named(self):
        """(receiver, send) of an AF_UNIX datagram pair whose sender is
        bound to an abstract name, so the kernel writes an AF_UNIX address
        that starts with a NUL (§6; the F10 setup).  Made at its first use,
        then the fd table is re-taken (its two fds are the session's)."""
        if self._named is None:
            tag = b"cmsgref-inject-%d" % os.getpid()
            rx = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
            tx = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
            rx.bind(b"\0" + tag + b"-rx")
            tx.bind(b"\0" + tag + b"-tx")
            rx.settimeout(5.0)
            self._named = (rx, tx, b"\0" + tag + b"-rx")
            self.table = fdtable.snapshot()
        rx, tx, name = self._named
        return rx, lambda: tx.sendto(PAYLOAD, name)

    def call(self, buf, mode, method, target=None, namelen=-1,
             poll_errno=0, alloc_fail=0, hold_lists=0):
        """The mechanism alone: inject buf into one call of the
        interpreter's method under the mode's warning filter, with the
        close() watch open.  target: (socket, send) to use instead of the
        session's socketpair (named()); namelen >= 0: the call's
        msg_namelen is forced to it too; poll_errno > 0: the first poll()
        on the socket fails with that errno (poll_failed then tells
        whether it did); alloc_fail = k > 0: the k-th malloc, calloc or
        realloc after the system call returned fails, once (alloc_failed
        then tells whether it did; needs shim/alloc.c's library preloaded
        too, and an interpreter that allocates through libc: CPython
        under PYTHONMALLOC=malloc); hold_lists: see _call().  Returns (return value or None,
        exception or None, recorded warnings, delivered?, close() calls logged);
        control_addr is then the msg_control the shim saw, or 0 if it
        delivered nothing."""
        mm = self.mm
        sock, fd = self.sock, self._fd
        if target is not None:
            sock, send = target
            fd = sock.fileno()
        if self._loaded is not buf:
            if len(buf) > MAX_CONTROL:
                raise ValueError("a control buffer of %d bytes (at most %d "
                                 "fit the shim)" % (len(buf), MAX_CONTROL))
            mm[self.BYTES:self.BYTES + len(buf)] = buf
            self._loaded = buf
        if target is None:
            self.peer.send(PAYLOAD)
        else:
            send()
        paused = gc.isenabled()
        gc.disable()
        self.HEAD.pack_into(mm, 0, fd, len(buf), 1, 0, 0)
        self.NAMELEN.pack_into(mm, self.NAMELEN_AT, namelen, poll_errno)
        if alloc_fail:
            shim().cr_alloc_fail(ctypes.c_long(alloc_fail))
        try:
            ret, exc, caught = _call(sock, mode, method, len(buf),
                                     hold_lists)
        finally:
            if alloc_fail:
                self.alloc_failed = shim().cr_alloc_failed() == 1
            delivered, nclosed = self.HEAD.unpack_from(mm, 0)[3:]
            self.poll_failed = self.NAMELEN.unpack_from(
                mm, self.NAMELEN_AT)[1] < 0
            self.NAMELEN.pack_into(mm, self.NAMELEN_AT, -1, 0)
            self.control_addr = self.CONTROL.unpack_from(
                mm, self.CONTROL_AT)[0] if delivered else 0
            self.DISARM.pack_into(mm, 0, -1, 0, 0)
            if paused:
                gc.enable()
        if not delivered:
            self._drain(sock)
        return ret, exc, caught, delivered, nclosed

    def observe(self, buf, mode, method, target=None, namelen=-1,
                poll_errno=0, alloc_fail=0, hold_lists=0):
        """call() and what the record needs of it.  Returns (canonical
        result, leaks as "fd -> target", fds that vanished, True if the
        shim delivered the buffer)."""
        ret, exc, caught, delivered, nclosed = self.call(
            buf, mode, method, target, namelen, poll_errno, alloc_fail,
            hold_lists)
        mm = self.mm
        res = canon.canon_result(ret, exc, caught, method, rights="raw",
                                 shapes=False)
        if nclosed > 0:
            res["fds_closed"] = list(struct.unpack_from(
                "%di" % min(nclosed, LOG_CAP), mm, self.LOG))
            if nclosed > LOG_CAP:
                res["fds_closed"].append("... %d more" % (nclosed - LOG_CAP))
        leaks, lost = self.table_changes()
        return res, leaks, lost, bool(delivered)

    def table_changes(self):
        """(leaks, vanished fds) of the fd table since the last look; the
        table is re-taken, so each change is reported once.  Nothing else
        that runs between two calls opens or closes an fd it does not close
        again (reading a corpus file: corpus.buffer), so what is found here is
        the call's."""
        before = self.table
        same_count = fdtable.Snapshot(before.count, {})
        after = fdtable.snapshot(same_count)
        if after is same_count:
            return [], []
        leaks = fdtable.leaks(before, after)
        lost = fdtable.diff(before, after).vanished
        self.table = after
        return leaks, lost

    def retake(self):
        """Re-take the table if its size changed since the last look."""
        same_count = fdtable.Snapshot(self.table.count, {})
        if fdtable.snapshot(same_count) is not same_count:
            self.table = fdtable.snapshot()

    @staticmethod
    def _drain(sock):
        """Read whatever the call left queued on sock (it did not read
        PAYLOAD), without waiting: with a timeout set, recv() would wait
        for it before trying, so the socket is non-blocking meanwhile."""
        timeout = sock.gettimeout()
        sock.settimeout(0)
        try:
            while sock.recv(4096):
                pass
        except OSError:
            pass
        finally:
            sock.settimeout(timeout)
