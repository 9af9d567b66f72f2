"""reference/args.py - CPython's argument handling for recvmsg(),
recvmsg_into(), CMSG_LEN() and CMSG_SPACE() (spec §5, §8), worded as the
running interpreter's version words it (or an emulated version's).

Positional-only parsing, the counts' messages, the 'n' (Py_ssize_t) and
'i' (C int) converters with their float, __index__ and __int__ rules and
their OverflowError ranges.  Stdlib only.
"""

import struct
import sys
import warnings

# Limits of the C types CPython converts to, those of the running
# interpreter's ABI (LP64: ssize_t and long 64-bit; ILP32 such as i386:
# both 32-bit, so 2**31 already fails the long or ssize_t conversion).
SSIZE_MIN, SSIZE_MAX = -sys.maxsize - 1, sys.maxsize
LONG_BITS = 8 * struct.calcsize("l")
LONG_MIN, LONG_MAX = -2 ** (LONG_BITS - 1), 2 ** (LONG_BITS - 1) - 1
INT_MIN, INT_MAX = -2 ** 31, 2 ** 31 - 1


class Messages(object):
    """CPython's argument-error texts for one language version (spec §5,
    §8).  vi is a (major, minor) tuple."""

    def __init__(self, vi):
        self.vi = tuple(vi[:2])

    def no_keywords(self, name, method):
        if method and self.vi >= (3, 11):
            return "socket.%s() takes no keyword arguments" % name
        return "%s() takes no keyword arguments" % name

    @staticmethod
    def arg_count(name, nargs, lo, hi):
        if lo == hi:
            how, n = "exactly", lo
        elif nargs < lo:
            how, n = "at least", lo
        else:
            how, n = "at most", hi
        return "%s() takes %s %d argument%s (%d given)" % (
            name, how, n, "" if n == 1 else "s", nargs)

    def float_first(self):
        """True when a float is refused before __index__ (3.6-3.9)."""
        return self.vi < (3, 10)


_emulated = []


def emulate_version(vi):
    """Test hook: word argument errors as CPython vi = (major, minor) does
    (None: the running interpreter again).  Exception classes stay the
    running interpreter's.  Returns the previous setting."""
    prev = _emulated[0] if _emulated else None
    del _emulated[:]
    if vi is not None:
        _emulated.append(tuple(vi[:2]))
    return prev


def messages_for(vi=None):
    """Messages for version vi (default: the emulated version if set,
    else the running interpreter)."""
    return Messages(vi or (_emulated[0] if _emulated
                           else sys.version_info[:2]))


def _type_name(obj):
    return type(obj).__name__


_SUBCLASS_INDEX = ("__index__ returned non-int (type %.200s).  The ability "
                   "to return an instance of a strict subclass of int is "
                   "deprecated, and may be removed in a future version of "
                   "Python.")


def _index(obj, stacklevel=4):
    """PyNumber_Index: the int, or TypeError with CPython's text.  An int
    subclass counts by its value (int.__or__(obj, 0): PyPy's int.__int__
    dispatches to an override), never by an override.  An __index__ that
    returns a strict subclass of int (an IntFlag, say) gets CPython's
    DeprecationWarning (every version from 3.6), stacklevel counted from
    here (default: the caller of the public function, through
    as_ssize_t/as_c_int and _parse)."""
    if isinstance(obj, int):
        return int.__or__(obj, 0)
    meth = getattr(type(obj), "__index__", None)
    if meth is None:
        raise TypeError("'%.200s' object cannot be interpreted as an integer"
                        % _type_name(obj))
    res = meth(obj)
    if not isinstance(res, int):
        raise TypeError("__index__ returned non-int (type %.200s)"
                        % _type_name(res))
    if type(res) is not int:
        warnings.warn(_SUBCLASS_INDEX % _type_name(res), DeprecationWarning,
                      stacklevel=stacklevel + 1)
    return int.__or__(res, 0)


def as_ssize_t(obj, msgs, stacklevel=3):
    """The 'n' converter: returns an int in ssize_t range or raises
    TypeError / OverflowError as CPython of msgs.vi does.  stacklevel: the
    public function's frame, counted from here (as as_c_int's)."""
    if msgs.float_first() and isinstance(obj, float):
        raise TypeError("integer argument expected, got float")
    val = _index(obj, stacklevel + 1)
    if not SSIZE_MIN <= val <= SSIZE_MAX:
        raise OverflowError("Python int too large to convert to C ssize_t")
    return val


def _nb_int(obj):
    """The pre-3.10 PyLong_AsLong fallback through __int__."""
    meth = getattr(type(obj), "__int__", None)
    if meth is None:
        raise TypeError("an integer is required (got type %.200s)"
                        % _type_name(obj))
    res = meth(obj)
    if not isinstance(res, int):
        raise TypeError("__int__ returned non-int (type %.200s)"
                        % _type_name(res))
    return int(res)


def as_c_int(obj, msgs, stacklevel):
    """The 'i' converter: returns an int in C int range or raises as
    CPython of msgs.vi does.  3.8/3.9 warn (DeprecationWarning) when only
    __int__ converts; stacklevel is that warning's, counted from here."""
    vi = msgs.vi
    if msgs.float_first() and isinstance(obj, float):
        raise TypeError("integer argument expected, got float")
    if isinstance(obj, int):
        val = int.__or__(obj, 0)
    elif vi >= (3, 10):
        val = _index(obj, stacklevel + 1)
    elif vi >= (3, 8) and getattr(type(obj), "__index__", None) is not None:
        val = _index(obj, stacklevel + 1)
    elif vi >= (3, 8):
        if getattr(type(obj), "__int__", None) is None:
            raise TypeError("an integer is required (got type %.200s)"
                            % _type_name(obj))
        warnings.warn("an integer is required (got type %.200s).  Implicit "
                      "conversion to integers using __int__ is deprecated, "
                      "and may be removed in a future version of Python."
                      % _type_name(obj), DeprecationWarning,
                      stacklevel=stacklevel + 1)
        val = _nb_int(obj)
    else:
        val = _nb_int(obj)
    if not LONG_MIN <= val <= LONG_MAX:
        raise OverflowError("Python int too large to convert to C long")
    if val > INT_MAX:
        raise OverflowError("signed integer is greater than maximum")
    if val < INT_MIN:
        raise OverflowError("signed integer is less than minimum")
    return val


def _parse(name, args, kwargs, lo, hi, converters, method=True):
    """PyArg_ParseTuple for a METH_VARARGS callable: keyword check, count
    check, then converters left to right.  converters[i] is None (take the
    object), "n" (Py_ssize_t) or "i" (C int).  Returns the value list with
    defaults 0 for absent optional ints.  The DeprecationWarning stacklevel
    assumes _parse is called directly by the public function."""
    msgs = messages_for()
    if kwargs:
        raise TypeError(msgs.no_keywords(name, method))
    if not lo <= len(args) <= hi:
        raise TypeError(msgs.arg_count(name, len(args), lo, hi))
    out = []
    for i, conv in enumerate(converters):
        if i >= len(args):
            out.append(0)
        elif conv is None:
            out.append(args[i])
        elif conv == "n":
            out.append(as_ssize_t(args[i], msgs, 3 if method else 4))
        else:
            out.append(as_c_int(args[i], msgs, 3 if method else 4))
    return out
