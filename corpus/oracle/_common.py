"""Shared by the divergence reproducers in corpus/oracle/ (stdlib only).

Each reproducer runs one minimal case on the interpreter that runs it and
compares the outcome with CPython's (docs/semantics.md).
Exit 0: behaves as CPython; 1: diverges (the divergence is printed); any
interpreter from CPython 3.6 and PyPy 3.9 on.
"""
import socket
import sys


def outcome(fn):
    """('ok', value) or (exception class name, message) of calling fn()."""
    try:
        return ("ok", fn())
    except Exception as e:  # the outcome is what we compare
        return (type(e).__name__, str(e))


def report(rows):
    """rows: (what, got, want) with want a predicate or a value; exit code."""
    bad = 0
    for what, got, want in rows:
        ok = want(got) if callable(want) else got == want
        print("%-4s %s: got %r" % ("ok" if ok else "DIFF", what, got))
        bad += not ok
    print("%s %s: %d of %d cases diverge from CPython" % (
        sys.implementation.name, sys.version.split()[0], bad, len(rows)))
    return 1 if bad else 0


def pair(kind=socket.SOCK_STREAM):
    """A connected AF_UNIX pair with 1 byte waiting and a 1 s timeout."""
    a, b = socket.socketpair(socket.AF_UNIX, kind)
    a.sendall(b"x")
    b.settimeout(1.0)
    return a, b
