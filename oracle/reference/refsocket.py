"""oracle.reference.refsocket - the reference recvmsg()/recvmsg_into() as a drop-in.

Why this exists: to run anything written against CPython's socket API (our
own scenarios, CPython's own test_socket) against the cmsgref reference
library instead of the interpreter's socketmodule.c.  It is a ctypes binding
over build/libcmsgref.so; every decision after the argument conversion (the
wait, the system call, the control-message walk, address decoding, which fds
the error path closes) is made by the C library.  This file only does what
CPython does at the Python level (spec section 5):

  * argument parsing with the running interpreter's version's exact messages
    (positional-only; the keyword message is qualified from 3.11; the float
    and non-int messages changed in 3.10; OverflowError for C ssize_t / long
    / int ranges), and recvmsg_into's buffer validation, which CPython does
    before the ancbufsize range check;
  * mapping the library's typed failure (struct cr_pyerr) onto the exception
    class of the running version (socket.timeout before 3.10, TimeoutError
    from 3.10; OSError subclasses chosen by errno);
  * the RuntimeWarning, issued with warnings.warn(stacklevel=2) from the
    function the user called, so it is attributed to the user's line;
  * running Python signal handlers between EINTR retries.

Decisions (documented here because they are the contract with the oracle):

  Warning.  We call cr_recvmsg with CR_WARN_RECORD and issue the warning in
  Python.  If warnings.warn raises (the 'error' filter, or a showwarning
  hook that raises), we close exactly the ints cr_close_on_error() names for
  the control buffer - CPython's error path (section 4) - and re-raise.  The
  same happens for any exception while the result tuple is built.  So the
  Python filter machinery decides, as in CPython, and the library decides
  which fds.

  EINTR.  The on_eintr hook is a C function (libc strlen on a one-byte
  string, i.e. "return 1"), never a Python callback: a ctypes callback
  swallows exceptions, and a handler could run inside it.  So an EINTR makes
  cr_recvmsg return CR_PY_SIGNAL with nothing received; we then run the
  pending Python handlers (PyErr_CheckSignals where ctypes.pythonapi exists,
  otherwise by executing bytecode, which is where PyPy runs them), let a
  handler's exception propagate, and otherwise call again with the time
  left before the deadline fixed at the first call (section 7: the deadline
  is never extended).

  Address and leaks.  Items and the error path's list come from walks at
  the control buffer's own address (only the legacy glibc rule reads it).
  Descriptors the kernel installed for an SCM_RIGHTS item the model never
  visits (legacy glibc: a last item written without its padding) are left
  open, as CPython leaves them, and named by take_dropped(): the leak the
  reference predicts for the oracle.

Limits: the libc model is the library's host model unless CMSGREF_LIBC (a
model name) says otherwise.  A signal whose handler raises while this module
is turning a *successful* result into Python objects closes the received fds
(CPython would have returned them and raised at the caller's next line).
When a walk that warns meets an address that cannot be decoded (F10: only
an injected msg_namelen of 1 does that), the library raises SystemError
before this module gets to warn; CPython warns first (a raising filter then
wins over the SystemError).  From 3.11 CPython words the keyword error
"socket.recvmsg() takes no keyword arguments" only when the call goes
through the method descriptor (s.recvmsg(k=v)); through a bound-method
object (f = s.recvmsg; f(k=v)) it is unqualified.  A Python function cannot
tell the two apart; this module always gives the descriptor form.
Only Linux is supported (abstract AF_UNIX names, SO_DOMAIN).
"""

import ctypes
import os
import socket
import sys
import time
import warnings

from tools import fdtable

# The binding and the argument rules, re-exported: this module is the
# reference's one public face (tests and suites use these names from here).
from oracle.reference.args import (  # noqa: F401
    INT_MAX, Messages, as_c_int, as_ssize_t, emulate_version, messages_for,
    _parse)
from oracle.reference.lib import (  # noqa: F401
    CR_ADDR_INET, CR_ADDR_INET6, CR_ADDR_NONE, CR_ADDR_RAW,
    CR_ADDR_UNIX_BYTES, CR_ADDR_UNIX_STR, CR_EPY, CR_ERANGE, CR_PY_SIGNAL,
    CR_PY_BLOCKING_IO_ERROR, CR_PY_MEMORY_ERROR, CR_PY_OS_ERROR,
    CR_PY_OVERFLOW_ERROR, CR_PY_RUNTIME_WARNING, CR_PY_SYSTEM_ERROR,
    CR_PY_TIMEOUT, CR_PY_TYPE_ERROR, CR_PY_VALUE_ERROR, CR_WARN_RECORD,
    REPO_LIB, STRUCTS, _IOVec, _Item, _PyErr, _RecvArgs,
    _RecvResult, _State, _Walk, _lib, default_lib_path, dropped_rights,
    host_model, json_parse, libc_model, load, loaded, model_by_name,
    model_name, walk_items, CR_WHY_LEGACY_OVERRUN)

__all__ = ["recvmsg", "recvmsg_into", "CMSG_LEN", "CMSG_SPACE", "install",
           "uninstall", "installed", "load", "messages_for", "WARNING_TEXT",
           "take_dropped"]

WARNING_TEXT = "received malformed or improperly-truncated ancillary data"


# ---------------------------------------------------------- the C call

def _timeout_exc():
    """socket.timeout before 3.10; it is TimeoutError from 3.10 on."""
    return socket.timeout("timed out")


def _raise_pyerr(err):
    exc = err.exc
    msg = err.msg.decode("utf-8", "replace")
    if exc == CR_PY_TYPE_ERROR:
        raise TypeError(msg)
    if exc == CR_PY_VALUE_ERROR:
        raise ValueError(msg)
    if exc == CR_PY_OVERFLOW_ERROR:
        raise OverflowError(msg)
    if exc == CR_PY_MEMORY_ERROR:
        raise MemoryError(msg) if msg else MemoryError()
    if exc == CR_PY_TIMEOUT:
        raise _timeout_exc()
    if exc == CR_PY_BLOCKING_IO_ERROR:
        raise BlockingIOError(err.sys_errno, msg or os.strerror(err.sys_errno))
    if exc == CR_PY_OS_ERROR:
        if err.sys_errno:
            # OSError(errno, text) picks the subclass by errno, as
            # PyErr_SetFromErrno does.
            raise OSError(err.sys_errno, msg or os.strerror(err.sys_errno))
        raise OSError(msg)
    if exc == CR_PY_SYSTEM_ERROR:
        raise SystemError(msg)
    if exc == CR_PY_RUNTIME_WARNING:
        raise RuntimeWarning(msg)
    raise SystemError("cmsgref: unexpected cr_pyerr %d (%s)" % (exc, msg))


def _run_signal_handlers():
    """Runs pending Python signal handlers now; a handler's exception
    propagates.  CPython: PyErr_CheckSignals through ctypes.pythonapi (a
    PyDLL, which raises the error it sets).  PyPy has no pythonapi and runs
    handlers between bytecodes, which the calls below provide."""
    api = getattr(ctypes, "pythonapi", None)
    if api is not None and hasattr(api, "PyErr_CheckSignals"):
        api.PyErr_CheckSignals.restype = ctypes.c_int
        api.PyErr_CheckSignals.argtypes = []
        api.PyErr_CheckSignals()
    else:
        for _ in range(3):
            time.sleep(0)


# The C-level socket's "family" attribute (an int), read without the
# socket.socket property's AddressFamily conversion (a cost on every
# call); objects that are not _socket.socket instances go through the
# property.
_RAW_FAMILY = getattr(getattr(socket, "_socket", None), "socket", None)
_RAW_FAMILY = getattr(_RAW_FAMILY, "family", None)


def _sock_fd_family_timeout(sock):
    """(fileno, address family as an int, timeout) of a socket object."""
    fd = sock.fileno()
    try:
        family = int(_RAW_FAMILY.__get__(sock, type(sock)))
    except (AttributeError, TypeError):
        family = int(sock.family)
    timeout = sock.gettimeout()
    return fd, family, timeout


class _Received(object):
    """A successful cr_recvmsg result; owns the C result until free()."""

    def __init__(self, res):
        self.res = res

    def items(self):
        """(level, type, data) of every item the walk visits, at the
        control buffer's own address (the legacy glibc rule reads it)."""
        res = self.res
        found, _ = walk_items(res.control, res.controllen, res.libc,
                              res.control or 0)
        return [(it.level, it.type,
                 ctypes.string_at(res.control + it.data_off, it.data_len)
                 if it.data_len else b"") for it in found]

    def dropped(self):
        """The descriptors this call received that CPython, under the
        model, neither returns nor closes (lib.dropped_rights), as
        {"fds": [int], "cause": one sentence, "why": the walk's cr_why},
        or None when there are
        none.  They stay open: the reference leaks what CPython leaks."""
        res = self.res
        if not res.controllen:
            return None
        lost, walk = dropped_rights(res.control, res.controllen, res.libc,
                                    res.control)
        if not lost:
            return None
        return {"fds": [fd for _, fds in lost for fd in fds],
                "cause": _drop_cause(res, lost, walk), "why": walk.why}

    def address(self):
        a = self.res.addr
        kind = a.kind
        if kind == CR_ADDR_NONE:
            return None
        if kind == CR_ADDR_INET:
            return (a.host.decode("ascii"), a.port)
        if kind == CR_ADDR_INET6:
            return (a.host.decode("ascii"), a.port, a.flowinfo, a.scope_id)
        raw = bytes(bytearray(a.bytes[:a.nbytes]))
        if kind == CR_ADDR_UNIX_STR:
            return os.fsdecode(raw)
        if kind == CR_ADDR_UNIX_BYTES:
            return raw
        if kind == CR_ADDR_RAW:
            # A family cmsgref does not decode (AF_NETLINK, ...): not
            # CPython's form; out of the oracle's scope, kept visible.
            return ("cmsgref-raw", a.family, raw)
        return (a.family, raw)

    def data(self):
        res = self.res
        if not res.data_len:
            return b""
        return ctypes.string_at(res.data, res.data_len)

    def close_error_fds(self):
        """Closes CPython's error-path fd set for this control buffer
        (cr_close_on_error); EBADF and the like are ignored, as in CPython."""
        lib = _lib()
        res = self.res
        need = ctypes.c_size_t(0)
        at = res.control or 0
        lib.cr_close_on_error_at(res.control, res.controllen, res.libc, at,
                                 None, 0, ctypes.byref(need))
        if need.value == 0:
            return
        fds = (ctypes.c_int32 * need.value)()
        lib.cr_close_on_error_at(res.control, res.controllen, res.libc, at,
                                 fds, need.value, ctypes.byref(need))
        for fd in fds:
            try:
                os.close(fd)
            except OSError:
                pass

    def free(self):
        if self.res is not None:
            _lib().cr_recv_result_free(ctypes.byref(self.res))
            self.res = None


def _drop_cause(res, lost, walk):
    """One sentence on why the walk never reached the first lost item."""
    it = lost[0][0]
    nfds = sum(len(fds) for _, fds in lost)
    tail = "; the kernel installed %d descriptor(s) there, which CPython " \
        "neither returns nor closes" % nfds
    if walk.why == CR_WHY_LEGACY_OVERRUN:
        return ("%s's CMSG_NXTHDR never visits the last SCM_RIGHTS item "
                "(offset %d, cmsg_len %d, written without its padding): "
                "%d + align8(%d) = %d passes C = %d (glibc BZ#28846, spec "
                "§3.4)%s" % (model_name(res.libc), it.offset, it.cmsg_len,
                             it.offset, it.cmsg_len,
                             it.offset + ((it.cmsg_len + 7) & ~7),
                             res.controllen, tail))
    return ("the %s walk ends at offset %d (cr_why %d) before the "
            "SCM_RIGHTS item at offset %d%s" % (
                model_name(res.libc), walk.stop_offset, walk.why,
                it.offset, tail))


# The reproducer of each known cause of a leak (by the walk's cr_why).
LEAK_REPROS = {
    CR_WHY_LEGACY_OVERRUN: "corpus/oracle/legacy-glibc-rights-leak.py"}

# What the reference's calls left open as CPython does (_Received.dropped),
# until take_dropped().
_dropped = []


def _note_dropped(rcv):
    got = rcv.dropped()
    if got is not None:
        _dropped.append(got)


def take_dropped():
    """What the reference's calls since install() or the last take_dropped()
    received and, as CPython does under the model, neither returned nor
    closed (the descriptors stay open: a predicted leak): None, or
    {"fds": ["fd -> target", ...] (tools.fdtable.describe, read now),
    "cause": sentence(s), "repro": the defect's reproducer script or
    None}.  Then forgets them."""
    got = list(_dropped)
    del _dropped[:]
    if not got:
        return None
    causes = []
    for g in got:
        if g["cause"] not in causes:
            causes.append(g["cause"])
    return {"fds": [fdtable.describe(fd) for g in got for fd in g["fds"]],
            "cause": " / ".join(causes),
            "repro": LEAK_REPROS.get(got[0]["why"])}


def _call(sock, bufsize, iov, iovcnt, ancbufsize, flags):
    """Runs cr_recvmsg with the socket's fd, family and timeout, retrying
    after EINTR once the Python handlers have run.  Returns a _Received
    (the caller frees it and owns the fds in it) or raises the mapped
    exception; nothing is owned by anyone when it raises."""
    lib = _lib()
    fd, family, timeout = _sock_fd_family_timeout(sock)
    deadline = None
    if timeout is None:
        timeout_ns = -1
    elif timeout == 0:
        timeout_ns = 0
    else:
        timeout_ns = max(1, int(timeout * 1e9 + 0.5))
        deadline = time.monotonic() + timeout
    # One constructor call (fields in struct order) instead of a setattr
    # per field.
    args = _RecvArgs(fd, family, bufsize, iov, iovcnt, ancbufsize, flags,
                     timeout_ns, _State.libc_model, CR_WARN_RECORD,
                     _State.stop_fn, _State.stop_ctx_addr, None)
    byref = ctypes.byref
    while True:
        res = _RecvResult()
        err = _PyErr()
        stats["calls"] += 1
        rc = lib.cr_recvmsg(byref(args), byref(res), byref(err))
        if rc == 0:
            return _Received(res)
        if rc != CR_EPY:
            raise SystemError("cmsgref: cr_recvmsg returned %d" % rc)
        if err.exc != CR_PY_SIGNAL:
            _raise_pyerr(err)
        stats["eintr"] += 1
        _run_signal_handlers()
        # A handler may have closed or detached the socket: CPython
        # retries with the fd the socket object holds now (-1: EBADF).
        args.fd = sock.fileno()
        if deadline is not None:
            left = deadline - time.monotonic()
            if left < 0:
                raise _timeout_exc()
            args.timeout_ns = max(1, int(left * 1e9))


# ------------------------------------------------------------- public API

def recvmsg(sock, *args, **kwargs):
    """socket.recvmsg(bufsize[, ancbufsize[, flags]]) through the reference.
    sock is borrowed.  Returns (data, ancdata, msg_flags, address); the
    caller owns every fd in SCM_RIGHTS items, as with CPython."""
    bufsize, ancbufsize, flags = _parse("recvmsg", args, kwargs, 1, 3,
                                        ("n", "n", "i"))
    rcv = _call(sock, bufsize, None, 0, ancbufsize, flags)
    return _finish(rcv, rcv.data)


def _finish(rcv, first):
    """The rest of a received call (spec §2, §4): the one warning,
    attributed to the caller of recvmsg/recvmsg_into, then the result tuple
    with first() as its first element; if anything raises, the error path
    closes the fds CPython's would.  Frees rcv either way."""
    _note_dropped(rcv)
    try:
        if rcv.res.warning:
            warnings.warn(WARNING_TEXT, RuntimeWarning, stacklevel=3)
        return (first(), rcv.items(), int(rcv.res.msg_flags), rcv.address())
    except BaseException:
        rcv.close_error_fds()
        raise
    finally:
        rcv.free()


_BUFFERS_MSG = ("recvmsg_into() argument 1 must be an iterable of "
                "single-segment read-write buffers")


def _writable_views(buffers):
    """recvmsg_into's buffer validation (spec §5 steps 2-4).  Returns a list
    of (memoryview, ctypes array) pairs the caller must release; raises
    TypeError with CPython's texts.  The items are those the argument held
    when it was converted (an exact list or tuple is copied first; any
    other iterable, a list subclass included, is iterated through its own
    __iter__): code that runs in an item's export and changes the list
    changes nothing here, as in a fixed CPython."""
    if type(buffers) in (list, tuple):
        items = list(buffers)
    elif sys.version_info >= (3, 14):
        # A CPython that converts with a tuple (observed 3.14.8) replaces
        # any failure of the iteration by this TypeError.
        try:
            items = list(buffers)
        except Exception:
            raise TypeError("recvmsg_into() argument 1 must be an iterable")
    else:
        try:
            it = iter(buffers)
        except TypeError:
            raise TypeError("recvmsg_into() argument 1 must be an iterable")
        items = list(it)
    views = []
    try:
        for obj in items:
            try:
                mv = memoryview(obj)
            except Exception:
                # CPython replaces whatever the export raised (a
                # __buffer__'s own exception, BufferError) by this one.
                raise TypeError(_BUFFERS_MSG)
            if mv.readonly or not mv.c_contiguous:
                mv.release()
                raise TypeError(_BUFFERS_MSG)
            flat = mv.cast("B") if mv.ndim != 1 or mv.format != "B" else mv
            arr = (ctypes.c_char * flat.nbytes).from_buffer(flat)
            views.append((mv, flat, arr))
    except BaseException:
        _release(views)
        raise
    return views


def _release(views):
    """Drops the ctypes arrays, then releases the views.  On PyPy an array
    may keep its export until the GC runs; the view is then left to the GC
    (BufferError is ignored), which only delays resizing a bytearray."""
    pairs = list(views)
    del views[:]
    while pairs:
        mv, flat, arr = pairs.pop()
        del arr
        for view in ((flat, mv) if flat is not mv else (mv,)):
            try:
                view.release()
            except BufferError:
                pass


def recvmsg_into(sock, *args, **kwargs):
    """socket.recvmsg_into(buffers[, ancbufsize[, flags]]) through the
    reference.  The buffers are borrowed and written in order.  Returns
    (nbytes, ancdata, msg_flags, address); the caller owns the fds."""
    buffers, ancbufsize, flags = _parse("recvmsg_into", args, kwargs, 1, 3,
                                        (None, "n", "i"))
    if type(buffers) in (list, tuple) and len(buffers) > INT_MAX:
        # CPython refuses the count before it reads an item (§5 step 2):
        # the library's own check, given the count and no item.
        _call(sock, 0, (_IOVec * 1)(), len(buffers), ancbufsize, flags)
        raise SystemError("cmsgref: cr_recvmsg took %d buffers"
                          % len(buffers))
    views = _writable_views(buffers)
    try:
        # Never a NULL iov: the library reads NULL as "recvmsg(bufsize)".
        iov = (_IOVec * max(1, len(views)))()
        for i, (_, _, arr) in enumerate(views):
            iov[i].iov_base = ctypes.addressof(arr)
            iov[i].iov_len = ctypes.sizeof(arr)
        rcv = _call(sock, 0, iov, len(views), ancbufsize, flags)
    finally:
        _release(views)
    return _finish(rcv, lambda: int(rcv.res.nbytes))


def _cmsg(name, fn_name, args, kwargs):
    (n,) = _parse(name, args, kwargs, 1, 1, ("n",), method=False)
    out = ctypes.c_int64()
    rc = getattr(_lib(), fn_name)(_State.libc_model, n, ctypes.byref(out))
    if rc == CR_ERANGE:
        raise OverflowError("%s() argument out of range" % name)
    if rc < 0:
        raise SystemError("cmsgref: %s returned %d" % (fn_name, rc))
    return out.value


def CMSG_LEN(*args, **kwargs):
    """socket.CMSG_LEN(length) through the reference (spec §8)."""
    return _cmsg("CMSG_LEN", "cr_cmsg_len", args, kwargs)


def CMSG_SPACE(*args, **kwargs):
    """socket.CMSG_SPACE(length) through the reference (spec §8)."""
    return _cmsg("CMSG_SPACE", "cr_cmsg_space", args, kwargs)


# ------------------------------------------------------ install/uninstall

_saved = {}

# Counters for tests: C calls made, and EINTR rounds that came back to run
# the Python handlers and did not raise on the way (a raising handler may
# already fire at the first bytecode after the C call returns).
stats = {"calls": 0, "eintr": 0}


def install(macros=True):
    """Puts the reference on socket.socket.recvmsg / recvmsg_into (class
    attributes: instances have __slots__) and, with macros, on
    socket.CMSG_LEN / CMSG_SPACE.  Loads the library first, so a missing
    library fails here.  Idempotent."""
    _lib()
    if _saved:
        return
    del _dropped[:]
    _saved["recvmsg"] = socket.socket.__dict__.get("recvmsg")
    _saved["recvmsg_into"] = socket.socket.__dict__.get("recvmsg_into")
    socket.socket.recvmsg = recvmsg
    socket.socket.recvmsg_into = recvmsg_into
    if macros:
        for name, fn in (("CMSG_LEN", CMSG_LEN), ("CMSG_SPACE", CMSG_SPACE)):
            _saved["mod." + name] = getattr(socket, name, None)
            setattr(socket, name, fn)


def uninstall():
    """Restores what install() replaced.  A no-op if not installed."""
    if not _saved:
        return
    for name in ("recvmsg", "recvmsg_into"):
        if _saved[name] is None:
            delattr(socket.socket, name)
        else:
            setattr(socket.socket, name, _saved[name])
    for key in ("mod.CMSG_LEN", "mod.CMSG_SPACE"):
        if key in _saved:
            if _saved[key] is None:
                delattr(socket, key[4:])
            else:
                setattr(socket, key[4:], _saved[key])
    _saved.clear()


def installed():
    """True while install() is in effect."""
    return bool(_saved)
