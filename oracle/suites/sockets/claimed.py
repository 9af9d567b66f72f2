"""suites/sockets/claimed.py - a list whose length field claims more items
than it holds: the one way to reach recvmsg_into's count check (more than
INT_MAX buffers: OSError('recvmsg_into() argument 1 is too long'), spec
§5) without 16 GiB of item pointers.

CPython reads an exact list's length from its object header (Py_SIZE)
and refuses a count above INT_MAX before it reads any item, so a list of
one bytearray whose ob_size says 2**31 is enough.  claimed(n) makes one;
restore() puts every such list's true length back and the cyclic GC,
which is off meanwhile (its traversal would read the claimed items),
back on.  The call's caller runs restore() on every way out of the call.
Where the header cannot be written safely (not CPython, a Py_ssize_t
that cannot hold n, a header whose size field is not where the list's
basic size says), claimed() raises Unsupported, which the case reports
as an ERROR rather than a result.
"""

import ctypes
import gc
import sys


class Unsupported(RuntimeError):
    """This interpreter cannot make the list (one sentence why)."""


_FORGED = []            # (size field, the list, its true length) of each
_GC_WAS = [None]        # gc.isenabled() before the first claim


def _size_field(lst):
    """The ob_size field of the exact list lst, or None: a CPython list is
    PyObject_VAR_HEAD (ob_size last) then ob_item and allocated."""
    word = ctypes.sizeof(ctypes.c_ssize_t)
    off = type(lst).__basicsize__ - 3 * word
    if off < word:
        return None
    field = ctypes.c_ssize_t.from_address(id(lst) + off)
    if field.value != len(lst):
        return None
    lst.append(None)
    moved = field.value == len(lst)
    lst.pop()
    return field if moved and field.value == len(lst) else None


def claimed(n):
    """[bytearray(1)] whose length field says n (restore() undoes it)."""
    if sys.implementation.name != "cpython":
        raise Unsupported("a list's length is a C field only in CPython, "
                          "not in %s" % sys.implementation.name)
    if n > sys.maxsize:
        raise Unsupported("Py_ssize_t here cannot hold %d items (a 32-bit "
                          "interpreter: no count can exceed INT_MAX)" % n)
    lst = [bytearray(1)]
    field = _size_field(lst)
    if field is None:
        raise Unsupported("the list's length field is not where its basic "
                          "size puts it")
    if _GC_WAS[0] is None:
        _GC_WAS[0] = gc.isenabled()
        gc.disable()
    _FORGED.append((field, lst, len(lst)))
    field.value = n
    return lst


def restore():
    """Every claimed list gets its true length back, the GC its state."""
    while _FORGED:
        field, _, true_len = _FORGED.pop()
        field.value = true_len
    if _GC_WAS[0] is not None:
        if _GC_WAS[0]:
            gc.enable()
        _GC_WAS[0] = None
