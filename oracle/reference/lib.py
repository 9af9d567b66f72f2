"""reference/lib.py - the ctypes binding of libcmsgref.so: its structs,
its constants and the loaded library with the libc model the reference
uses.

Mirrors cmsgref.h by hand (oracle/tests/test_refsocket_layout.py compares
every size and offset with the C compiler's).  One library and one model a
process: load() chooses them, reference/refsocket.py and the suites call
through them.  Stdlib only; runs on every interpreter the worker runs on.
"""

import ctypes
import os

from oracle import REPO_LIB

# cmsgref.h constants (values published there; they never change).
CR_EPY = -7
CR_ERANGE = -4
CR_WARN_RECORD = 0
(CR_PY_NONE, CR_PY_TYPE_ERROR, CR_PY_VALUE_ERROR, CR_PY_OVERFLOW_ERROR,
 CR_PY_MEMORY_ERROR, CR_PY_OS_ERROR, CR_PY_BLOCKING_IO_ERROR, CR_PY_TIMEOUT,
 CR_PY_RUNTIME_WARNING, CR_PY_SYSTEM_ERROR, CR_PY_SIGNAL) = range(11)
(CR_ADDR_NONE, CR_ADDR_INET, CR_ADDR_INET6, CR_ADDR_UNIX_STR,
 CR_ADDR_UNIX_BYTES, CR_ADDR_OTHER, CR_ADDR_RAW) = range(7)
CR_PYERR_MSG_MAX = 160
# enum cr_why: why a walk ended.
(CR_WHY_RUNNING, CR_WHY_EMPTY, CR_WHY_NO_FIRST, CR_WHY_NO_ROOM,
 CR_WHY_LEGACY_OVERRUN, CR_WHY_SHORT_HEADER, CR_WHY_LEN_TOO_SMALL,
 CR_WHY_LEN_PAST_END) = range(8)



# --------------------------------------------------------------- C structs
# Mirrors of cmsgref.h; oracle/tests/test_refsocket_layout.py compares their
# sizes and offsets with the C compiler's.

class _IOVec(ctypes.Structure):
    _fields_ = [("iov_base", ctypes.c_void_p), ("iov_len", ctypes.c_size_t)]


_EINTR_FN = ctypes.CFUNCTYPE(ctypes.c_int, ctypes.c_void_p)


class _RecvArgs(ctypes.Structure):
    _fields_ = [
        ("fd", ctypes.c_int),
        ("family", ctypes.c_int),
        ("bufsize", ctypes.c_int64),
        ("iov", ctypes.POINTER(_IOVec)),
        ("iovcnt", ctypes.c_size_t),
        ("ancbufsize", ctypes.c_int64),
        ("flags", ctypes.c_int),
        ("timeout_ns", ctypes.c_int64),
        ("libc", ctypes.c_int),
        ("policy", ctypes.c_int),
        ("on_eintr", ctypes.c_void_p),
        ("eintr_ctx", ctypes.c_void_p),
        ("sys", ctypes.c_void_p),
    ]


class _Addr(ctypes.Structure):
    _fields_ = [
        ("kind", ctypes.c_int),
        ("family", ctypes.c_int),
        ("host", ctypes.c_char * 64),
        ("port", ctypes.c_uint),
        ("flowinfo", ctypes.c_uint32),
        ("scope_id", ctypes.c_uint32),
        ("bytes", ctypes.c_ubyte * 108),
        ("nbytes", ctypes.c_size_t),
    ]


class _RecvResult(ctypes.Structure):
    _fields_ = [
        ("data", ctypes.c_void_p),
        ("data_len", ctypes.c_size_t),
        ("nbytes", ctypes.c_ssize_t),
        ("control", ctypes.c_void_p),
        ("controllen", ctypes.c_size_t),
        ("msg_flags", ctypes.c_int),
        ("addr", _Addr),
        ("libc", ctypes.c_int),
        ("stop", ctypes.c_int),
        ("warning", ctypes.c_int),
        ("nitems", ctypes.c_size_t),
    ]


class _PyErr(ctypes.Structure):
    _fields_ = [
        ("exc", ctypes.c_int),
        ("sys_errno", ctypes.c_int),
        ("msg", ctypes.c_char * CR_PYERR_MSG_MAX),
    ]


class _Walk(ctypes.Structure):
    _fields_ = [
        ("buf", ctypes.c_void_p),
        ("len", ctypes.c_size_t),
        ("model", ctypes.c_void_p),
        ("off", ctypes.c_size_t),
        ("done", ctypes.c_int),
        ("stop", ctypes.c_int),
        ("warning", ctypes.c_int),
        ("nitems", ctypes.c_size_t),
        ("stop_offset", ctypes.c_size_t),
        ("why", ctypes.c_int),
        ("next_candidate", ctypes.c_size_t),
        ("base", ctypes.c_uint64),
        ("base_threshold", ctypes.c_uint64),
    ]


class _Item(ctypes.Structure):
    _fields_ = [
        ("offset", ctypes.c_size_t),
        ("cmsg_len", ctypes.c_uint64),
        ("level", ctypes.c_int32),
        ("type", ctypes.c_int32),
        ("data_off", ctypes.c_size_t),
        ("data_len", ctypes.c_size_t),
        ("status", ctypes.c_int),
    ]


STRUCTS = {"iovec": _IOVec, "cr_recv_args": _RecvArgs, "cr_addr": _Addr,
           "cr_recv_result": _RecvResult, "cr_pyerr": _PyErr,
           "cr_walk": _Walk, "cr_item": _Item}


# ------------------------------------------------------------ the library

class _State(object):
    """The loaded library and what the calls need from it (one per process)."""
    lib = None
    path = None
    libc_model = None
    stop_fn = None      # the C "return 1" used as on_eintr
    stop_ctx = None     # its argument: a one-byte NUL-terminated string
    stop_ctx_addr = None




def default_lib_path():
    """Returns $CMSGREF_LIB, else REPO_LIB."""
    return os.environ.get("CMSGREF_LIB") or REPO_LIB


class _ModelHead(ctypes.Structure):
    """The first members of struct cr_model (read through a pointer)."""
    _fields_ = [("libc", ctypes.c_int), ("name", ctypes.c_char_p)]


def _bind(lib):
    c_int, c_void_p, c_size_t = ctypes.c_int, ctypes.c_void_p, ctypes.c_size_t
    lib.cr_recvmsg.argtypes = [ctypes.POINTER(_RecvArgs),
                               ctypes.POINTER(_RecvResult),
                               ctypes.POINTER(_PyErr)]
    lib.cr_recvmsg.restype = c_int
    lib.cr_recv_result_free.argtypes = [ctypes.POINTER(_RecvResult)]
    lib.cr_recv_result_free.restype = None
    lib.cr_walk_init.argtypes = [ctypes.POINTER(_Walk), c_void_p, c_size_t,
                                 c_int]
    lib.cr_walk_init.restype = c_int
    lib.cr_walk_next.argtypes = [ctypes.POINTER(_Walk), ctypes.POINTER(_Item)]
    lib.cr_walk_next.restype = c_int
    lib.cr_close_on_error.argtypes = [c_void_p, c_size_t, c_int,
                                      ctypes.POINTER(ctypes.c_int32), c_size_t,
                                      ctypes.POINTER(c_size_t)]
    lib.cr_close_on_error.restype = c_int
    lib.cr_close_on_error_at.argtypes = [c_void_p, c_size_t, c_int,
                                         ctypes.c_uint64,
                                         ctypes.POINTER(ctypes.c_int32),
                                         c_size_t, ctypes.POINTER(c_size_t)]
    lib.cr_close_on_error_at.restype = c_int
    lib.cr_walk_set_base.argtypes = [ctypes.POINTER(_Walk), ctypes.c_uint64]
    lib.cr_walk_set_base.restype = c_int
    lib.cr_item_fd_count.argtypes = [c_void_p, ctypes.POINTER(_Item)]
    lib.cr_item_fd_count.restype = c_size_t
    lib.cr_item_fd_at.argtypes = [c_void_p, ctypes.POINTER(_Item), c_size_t]
    lib.cr_item_fd_at.restype = ctypes.c_int32
    for name in ("cr_cmsg_len", "cr_cmsg_space"):
        fn = getattr(lib, name)
        fn.argtypes = [c_int, ctypes.c_int64, ctypes.POINTER(ctypes.c_int64)]
        fn.restype = c_int
    lib.cr_model_host.argtypes = []
    lib.cr_model_host.restype = c_int
    lib.cr_model_by_name.argtypes = [ctypes.c_char_p, ctypes.POINTER(c_int)]
    lib.cr_model_by_name.restype = c_int
    lib.cr_model_get.argtypes = [c_int]
    lib.cr_model_get.restype = ctypes.POINTER(_ModelHead)
    lib.cr_json_parse_buf.argtypes = [c_void_p, c_size_t, c_int,
                                      ctypes.c_char_p, c_size_t,
                                      ctypes.POINTER(c_size_t)]
    lib.cr_json_parse_buf.restype = c_int
    lib.cr_json_parse_buf_at.argtypes = [c_void_p, c_size_t, c_int,
                                         ctypes.c_uint64, ctypes.c_char_p,
                                         c_size_t, ctypes.POINTER(c_size_t)]
    lib.cr_json_parse_buf_at.restype = c_int


def load(path=None, libc=None):
    """Loads the library (path, else default_lib_path()) and selects the
    libc model (a name such as "glibc" / "musl", else $CMSGREF_LIBC, else the
    library's host model).  Returns the ctypes library.  Raises OSError if
    the library cannot be loaded, ValueError for an unknown model name.
    Calling it again with another path switches libraries."""
    path = path or default_lib_path()
    lib = ctypes.CDLL(path)
    _bind(lib)
    libc = libc or os.environ.get("CMSGREF_LIBC")
    model = _model_by_name(lib, libc) if libc else lib.cr_model_host()
    # The process's own symbols (libc among them): no ldconfig lookup.
    libc_so = ctypes.CDLL(None)
    stop_ctx = ctypes.create_string_buffer(b"\x01")
    stop_fn = ctypes.cast(libc_so.strlen, ctypes.c_void_p).value
    _State.lib, _State.path, _State.libc_model = lib, path, model
    _State.stop_fn, _State.stop_ctx = stop_fn, stop_ctx
    _State.libc_so = libc_so
    _State.stop_ctx_addr = ctypes.addressof(stop_ctx)
    return lib


def _model_by_name(lib, name):
    out = ctypes.c_int()
    if lib.cr_model_by_name(name.encode("ascii"), ctypes.byref(out)) < 0:
        raise ValueError("unknown libc model %r" % (name,))
    return out.value


def forced_model_problem(path):
    """None when $CMSGREF_LIBC is unset or names a model the library at
    path knows, else why not, in one line (a command line's argument
    check: load() raises ValueError for it)."""
    name = os.environ.get("CMSGREF_LIBC")
    if not name:
        return None
    lib = ctypes.CDLL(path)
    _bind(lib)
    try:
        _model_by_name(lib, name)
    except ValueError:
        return "CMSGREF_LIBC=%r names no libc model (one of: %s)" % (
            name[:60], ", ".join(model_names(lib)))
    return None


def model_by_name(name):
    """The libc model number (cmsgref.h enum cr_libc) of a model name such
    as "glibc" or "musl".  Raises ValueError for an unknown name."""
    return _model_by_name(_lib(), name)


def loaded():
    """True once load() has succeeded in this process."""
    return _State.lib is not None


def _lib():
    if _State.lib is None:
        load()
    return _State.lib


def libc_model():
    """The libc model number the reference uses (cmsgref.h enum cr_libc)."""
    _lib()
    return _State.libc_model


def json_parse(control, libc=None, base=None):
    """The library's one JSON for a control buffer (cr_json_parse_buf),
    returned as a str; control is bytes.  base: the address the buffer is
    assumed at (cr_json_parse_buf_at; only the legacy glibc model reads
    it), None for the library's default.  For the injection reference.
    Raises ValueError if the library refuses (an impossible base)."""
    lib = _lib()
    model = _State.libc_model if libc is None else libc
    need = ctypes.c_size_t(0)
    cap = 4096 + 4 * len(control)
    while True:
        out = ctypes.create_string_buffer(cap)
        if base is None:
            rc = lib.cr_json_parse_buf(control, len(control), model, out,
                                       cap, ctypes.byref(need))
        else:
            rc = lib.cr_json_parse_buf_at(control, len(control), model,
                                          base, out, cap, ctypes.byref(need))
        if rc == 0:
            return out.value.decode("ascii")
        if need.value < cap:
            raise ValueError("cr_json_parse_buf failed: %d" % rc)
        cap = need.value + 1


def walk_items(control, length, libc, base):
    """The items model number libc visits in the control buffer at address
    control (an int; length bytes), the walk assuming it lies at base
    (cr_walk_set_base): (copies of each struct cr_item, the ended walk).
    Raises SystemError if the library refuses."""
    lib = _lib()
    walk = _Walk()
    rc = lib.cr_walk_init(ctypes.byref(walk), control, length, libc)
    if rc == 0 and length:
        rc = lib.cr_walk_set_base(ctypes.byref(walk), base)
    if rc < 0:
        raise SystemError("cmsgref: cr_walk_init/set_base failed: %d" % rc)
    items = []
    item = _Item()
    while lib.cr_walk_next(ctypes.byref(walk), ctypes.byref(item)) == 1:
        items.append(_Item.from_buffer_copy(item))
    return items, walk


def dropped_rights(control, length, libc, base):
    """The descriptors a Linux kernel installed that the model's walk never
    reaches: ([(item, [fds]), ...], the model's ended walk), one pair for
    every SCM_RIGHTS item of the control buffer at address control (length
    bytes, as the kernel wrote them) that the walk of model number libc at
    base does not visit.  The kernel writes well-formed headers in glibc's
    layout, each where the one before ends padded (spec §10), so the fixed
    glibc walk visits every item it wrote.  CPython under that model
    neither returns such descriptors nor closes them on its error path:
    they leak (legacy glibc drops a last SCM_RIGHTS item written without
    its padding, spec §3.4)."""
    lib = _lib()
    seen_items, walk = walk_items(control, length, libc, base)
    if libc == GLIBC:
        return [], walk
    seen = set(it.offset for it in seen_items)
    kernel_items, kernel_walk = walk_items(control, length, GLIBC, base)
    out = []
    for it in kernel_items:
        if it.offset in seen:
            continue
        n = lib.cr_item_fd_count(kernel_walk.model, ctypes.byref(it))
        if n:
            out.append((it, [lib.cr_item_fd_at(control, ctypes.byref(it), i)
                             for i in range(n)]))
    return out, walk


GLIBC = 0           # CR_LIBC_GLIBC: the layout a Linux kernel writes


def model_name(number, lib=None):
    """The library's name of libc model number (enum cr_libc), e.g. 0 ->
    "glibc", 5 -> "glibc-i386"; ValueError for a number it does not know."""
    m = (lib or _lib()).cr_model_get(number)
    if not m:
        raise ValueError("no libc model number %r" % (number,))
    return m.contents.name.decode("ascii")


def model_names(lib=None):
    """Every model name the library knows, in enum cr_libc order."""
    out = []
    while (lib or _lib()).cr_model_get(len(out)):
        out.append(model_name(len(out), lib))
    return out


def host_model():
    """The name of the library's compiled-in host model."""
    return model_name(_lib().cr_model_host())
