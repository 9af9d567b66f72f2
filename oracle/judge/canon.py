"""canon.py - the one canonical form of a recvmsg()/recvmsg_into() result.

Why: the oracle runs every scenario twice, once through the interpreter's own
socket and once through the reference (oracle.reference.refsocket or the library's JSON),
on two identically prepared setups.  Raw results differ where they must not
matter: received descriptors get different numbers, ephemeral ports differ,
timestamps differ.  This module turns a result (or an exception) into a
JSON-able dict in which only meaningful differences remain, and defines the
comparison the driver applies.  Both oracle suites use it; nothing else in the
repo canonicalises results.

Upstream facts encoded here (spec §2, §4, §10, §12 "oracle hygiene"):
- SCM_RIGHTS data is an array of native C ints (4 bytes, little-endian on
  x86-64); trailing partial ints are kept as bytes, not as fds.
- Received fds are compared by what they refer to (fstat st_dev/st_ino, the
  file type) and by FD_CLOEXEC, never by number.
- SCM_TIMESTAMP (29), SCM_TIMESTAMPNS (35) and SCM_TIMESTAMPING (37) at
  SOL_SOCKET carry clock values: compared by shape (length) only.
- A RuntimeWarning is attributed to the caller's line, so warnings keep the
  file's base name and the line number.

Limits: Linux only (/proc/self/fd, fcntl).  Stdlib only; runs on CPython
3.6-3.13 and PyPy 3.9.

Canonical result (a dict):
  {"data": hex or None, "nbytes": int or None,
   "ancdata": [[level, type, str], ...], "msg_flags": int or None,
   "address": canonical address (see canon_address),
   "warnings": [{"category", "message", "filename", "lineno"}, ...],
   "exception": None or {"type", "message", "args", "errno"},
   "fds_closed": [ints passed to close() during the call, in order],
   "fds_received": [fd descriptions (see describe_fd)]}
The ancdata str is the data's hex, except for SCM_RIGHTS in "fds" mode
("fds:<n>" plus "+<hex>" of a trailing partial int) and for timestamps
("shape:<len>").
"""

import errno as _errno
import fcntl
import marshal
import os
import stat
import struct

SOL_SOCKET = 1
SCM_RIGHTS = 1
SCM_TIMESTAMP = 29
SCM_TIMESTAMPNS = 35
SCM_TIMESTAMPING = 37
TIMESTAMP_TYPES = (SCM_TIMESTAMP, SCM_TIMESTAMPNS, SCM_TIMESTAMPING)
INT_SIZE = 4

RESULT_KEYS = ("data", "nbytes", "ancdata", "msg_flags", "address",
               "warnings", "exception", "fds_closed", "fds_received")

_KINDS = (
    (stat.S_ISREG, "reg"), (stat.S_ISDIR, "dir"), (stat.S_ISFIFO, "fifo"),
    (stat.S_ISSOCK, "sock"), (stat.S_ISCHR, "chr"), (stat.S_ISBLK, "blk"),
    (stat.S_ISLNK, "lnk"),
)


def _kind(mode):
    for test, name in _KINDS:
        if test(mode):
            return name
    return "other"


def describe_fd(fd, labels=None):
    """What fd refers to: {"ref": label or "dev:ino", "kind", "cloexec"}.

    labels maps (st_dev, st_ino) -> a name chosen by the scenario (e.g. the
    file it sent), so both sides of a comparison name the same object the
    same way.  A descriptor that is not open is {"ref": None, "kind":
    "closed", "cloexec": None}.  The fd stays open and owned by the caller.
    """
    try:
        st = os.fstat(fd)
        flags = fcntl.fcntl(fd, fcntl.F_GETFD)
    except (OSError, ValueError, OverflowError):
        return {"ref": None, "kind": "closed", "cloexec": None}
    key = (st.st_dev, st.st_ino)
    ref = labels.get(key) if labels else None
    if ref is None:
        ref = "%d:%d" % key
    return {"ref": ref, "kind": _kind(st.st_mode),
            "cloexec": bool(flags & fcntl.FD_CLOEXEC)}


def split_fds(data):
    """The whole native ints of an SCM_RIGHTS payload and the leftover bytes.

    Returns (list of ints, bytes of a trailing partial int)."""
    n = len(data) // INT_SIZE
    fds = list(struct.unpack("<%di" % n, bytes(data[:n * INT_SIZE])))
    return fds, bytes(data[n * INT_SIZE:])


def canon_ancdata(ancdata, rights="raw", labels=None, received=None,
                  close_received=True, shapes=True):
    """Canonical ancdata: [[level, type, str], ...].

    ancdata: the list of (level, type, data) tuples a call returned.
    rights: "raw" keeps SCM_RIGHTS bytes as hex (injected buffers, where the
    ints are planted labels); "fds" replaces them by "fds:<n>[+<hex>]" and
    appends describe_fd() of each int to the list `received` (if given).
    In "fds" mode with close_received, each received fd is closed after it
    is described, so the caller's fd table is back to what it was; the
    module then owns (and has released) them.  shapes=False keeps
    timestamp bytes (injected buffers are deterministic).
    """
    out = []
    for level, type_, data in ancdata:
        data = bytes(data)
        if level == SOL_SOCKET and type_ == SCM_RIGHTS and rights == "fds":
            fds, tail = split_fds(data)
            text = "fds:%d" % len(fds)
            if tail:
                text += "+" + _hex(tail)
            for fd in fds:
                if received is not None:
                    received.append(describe_fd(fd, labels))
                if close_received:
                    _close_quietly(fd)
        elif shapes and level == SOL_SOCKET and type_ in TIMESTAMP_TYPES:
            text = "shape:%d" % len(data)
        else:
            text = _hex(data)
        out.append([int(level), int(type_), text])
    return out


def canon_address(addr, labels=None):
    """Canonical address: None, ["label", name], ["str", hex of the
    fs-encoded path], ["bytes", hex], ["tuple", [items...]].

    labels maps an address (as returned, hashable) to a scenario's name for
    it, e.g. {("127.0.0.1", 40123): "sender"}: ephemeral ports differ
    between the two setups and are named instead of compared."""
    if addr is None:
        return None
    if labels:
        try:
            if addr in labels:
                return ["label", labels[addr]]
        except TypeError:
            pass
    if isinstance(addr, str):
        return ["str", _hex(os.fsencode(addr))]
    if isinstance(addr, (bytes, bytearray)):
        return ["bytes", _hex(addr)]
    if isinstance(addr, tuple):
        return ["tuple", [canon_address(x) if isinstance(x, (bytes, tuple))
                          else x for x in addr]]
    return ["repr", repr(addr)]


def canon_warnings(caught):
    """Canonical warnings from warnings.catch_warnings(record=True) entries
    (or any objects with category/message/filename/lineno)."""
    out = []
    for w in caught:
        out.append({"category": w.category.__name__,
                    "message": str(w.message),
                    "filename": os.path.basename(str(w.filename)),
                    "lineno": w.lineno})
    return out


def exc_type_name(exc):
    """The class name as a user sees it: builtins bare, others qualified
    (socket.timeout before 3.10 is "socket.timeout", 3.10+ "TimeoutError")."""
    cls = type(exc)
    mod = getattr(cls, "__module__", "builtins")
    if mod in ("builtins", "exceptions", "__builtin__"):
        return cls.__name__
    if mod == "_socket":
        mod = "socket"
    return "%s.%s" % (mod, cls.__name__)


def _jsonable(v):
    if v is None or isinstance(v, (bool, int, float, str)):
        return v
    if isinstance(v, (bytes, bytearray)):
        return {"bytes": _hex(v)}
    if isinstance(v, (list, tuple)):
        return [_jsonable(x) for x in v]
    return repr(v)


def canon_exception(exc):
    """Canonical exception: None or {"type", "message", "args", "errno"}."""
    if exc is None:
        return None
    return {"type": exc_type_name(exc), "message": str(exc),
            "args": _jsonable(list(exc.args)),
            "errno": getattr(exc, "errno", None)}


def canon_result(ret=None, exc=None, caught=(), method="recvmsg",
                 rights="raw", labels=None, addr_labels=None,
                 close_received=True, shapes=True):
    """Build one canonical result.

    ret: the 4-tuple a call returned (or None if it raised); exc: the
    exception (or None); caught: recorded warnings; method: "recvmsg" (data
    is bytes) or "recvmsg_into" (first element is nbytes); rights/labels/
    close_received: see canon_ancdata; addr_labels: see canon_address.
    fds_closed is left [] for the caller: what a call closed is observed
    by the suite (the inject suite's close() log).
    """
    res = {"data": None, "nbytes": None, "ancdata": [], "msg_flags": None,
           "address": None, "warnings": canon_warnings(caught),
           "exception": canon_exception(exc), "fds_closed": [],
           "fds_received": []}
    if ret is not None:
        first, ancdata, flags, addr = ret
        if method == "recvmsg_into":
            res["nbytes"] = int(first)
        else:
            res["data"] = _hex(first)
            res["nbytes"] = len(first)
        received = []
        res["ancdata"] = canon_ancdata(ancdata, rights, labels, received,
                                       close_received, shapes)
        res["fds_received"] = received
        res["msg_flags"] = int(flags)
        res["address"] = canon_address(addr, addr_labels)
    return res


def crash_result(status):
    """The canonical result of a call whose process died with waitpid
    status `status` (a signal, or a non-zero exit): an exception of type
    "process-crash" naming how."""
    how = ("signal %d" % os.WTERMSIG(status) if os.WIFSIGNALED(status)
           else "exit status %d" % os.WEXITSTATUS(status))
    res = canon_result()
    res["exception"] = {"type": "process-crash", "message": how,
                        "args": [how], "errno": None}
    return res


# ------------------------------------------------------------- comparison

def diff(native, reference, prefix=""):
    """Differences between two canonical values as a list of
    "path: native != reference" lines; [] means equal."""
    if not prefix and _same_bytes(native, reference):
        return []
    out = []
    if isinstance(native, dict) and isinstance(reference, dict):
        for k in sorted(set(native) | set(reference), key=str):
            out.extend(diff(native.get(k, "<absent>"),
                            reference.get(k, "<absent>"),
                            "%s.%s" % (prefix, k) if prefix else str(k)))
        return out
    if isinstance(native, list) and isinstance(reference, list):
        if len(native) != len(reference):
            return ["%s: %r != %r" % (prefix or "<root>", native, reference)]
        for i, (a, b) in enumerate(zip(native, reference)):
            out.extend(diff(a, b, "%s[%d]" % (prefix, i)))
        return out
    if native != reference or type(native) != type(reference):
        return ["%s: %r != %r" % (prefix or "<root>", native, reference)]
    return out


def _same_bytes(a, b):
    """True when a and b marshal to the same bytes, so they are equal
    with the same type at every level (marshal writes each value's exact
    type); False when they do not (diff() then compares them part by
    part) or marshal refuses one."""
    try:
        return marshal.dumps(a, 2) == marshal.dumps(b, 2)
    except ValueError:
        return False


# ---------------------------------------------------------------- helpers

def _hex(b):
    return bytes(b).hex() if hasattr(bytes, "hex") else \
        "".join("%02x" % c for c in bytearray(b))


def _close_quietly(fd):
    try:
        os.close(fd)
    except OSError as e:
        if e.errno != _errno.EBADF:
            raise
