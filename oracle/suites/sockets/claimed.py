"""suites/sockets/claimed.py - a tuple whose length field claims more items
than it holds: the one way to reach recvmsg_into's count check (more than
INT_MAX buffers: OSError('recvmsg_into() argument 1 is too long'), spec
§5) without 16 GiB of item pointers.

Every CPython 3.6+ takes an exact tuple as the converted sequence as it is
(without gh-143988's fix they keep a list or tuple and convert anything
else to a list; with it, 3.14 and 3.13.6 on, to a tuple), reads its length from the object header (ob_size) and refuses a
count above INT_MAX before it reads any item, so a tuple of one bytearray
whose ob_size says 2**31 is enough.  claimed(n) makes one; restore() puts
every such tuple's true length back and the cyclic GC, which is off
meanwhile (its traversal would read the claimed items), back on.  The
call's caller runs restore() on every way out of the call.  Where the
header cannot be written safely (not CPython, a Py_ssize_t that cannot
hold n, a size field not where PyVarObject puts it), claimed() raises
Unsupported, which the case reports as an ERROR rather than a result.
"""

import ctypes
import gc
import sys


class Unsupported(RuntimeError):
    """This interpreter cannot make the tuple (one sentence why)."""


_FORGED = []            # (size field, the tuple, its true length) of each
_GC_WAS = [None]        # gc.isenabled() before the first claim


def _size_field(obj):
    """The ob_size field of obj, a PyVarObject: right after the PyObject
    header, whose size is object's basic size (whatever the build adds to
    the header)."""
    return ctypes.c_ssize_t.from_address(id(obj) + object.__basicsize__)


def claimed(n):
    """(bytearray(1),) whose length field says n (restore() undoes it)."""
    if sys.implementation.name != "cpython":
        raise Unsupported("a tuple's length is a C field only in CPython, "
                          "not in %s" % sys.implementation.name)
    if n > sys.maxsize:
        raise Unsupported("Py_ssize_t here cannot hold %d items (a 32-bit "
                          "interpreter: no count can exceed INT_MAX)" % n)
    probe = tuple(range(3))
    tup = tuple([bytearray(1)])
    if _size_field(probe).value != 3 or _size_field(tup).value != 1:
        raise Unsupported("a tuple's length field is not where PyVarObject "
                          "puts it")
    if _GC_WAS[0] is None:
        _GC_WAS[0] = gc.isenabled()
        gc.disable()
    field = _size_field(tup)
    _FORGED.append((field, tup, 1))
    field.value = n
    return tup


def restore():
    """Every claimed tuple gets its true length back, the GC its state."""
    while _FORGED:
        field, _, true_len = _FORGED.pop()
        field.value = true_len
    if _GC_WAS[0] is not None:
        if _GC_WAS[0]:
            gc.enable()
        _GC_WAS[0] = None
