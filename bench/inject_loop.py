"""inject_loop.py - the ceiling of injection replay (figure 4 of `make
bench`, issue 5): how many control buffers per second one interpreter's own
socket.recvmsg() can walk when nothing else is done per buffer.

Why: the oracle's inject suite (oracle/suite_inject.py) is what the project
runs, and `make bench` times it; this loop shows what the same mechanism
(the LD_PRELOAD shim of oracle/inject/, a real AF_UNIX socketpair carrying
one byte per call, the interpreter's real recvmsg) can reach without a
fork, fd planting and a comparison per buffer, so the README can say where
the suite's time goes.  It compares nothing and re-implements no walk: the
buffers and the error path's fd lists come from oracle.suite_inject (which
asks the library's JSON writer).

Run under the interpreter to measure, from the repo root:
  LD_PRELOAD=build/inject/libcrinject.so PYTHONPATH=. PY -m bench.inject_loop
      [--seconds S] [--lib build/libcmsgref.so]
Prints one JSON line {"calls", "seconds", "per_second", "buffers",
"excluded", "raised"}.  Exit 2 (one line on stderr) on bad arguments or a
missing shim/library.

Limits: warnings are ignored (CPython then closes nothing); PyPy raises
OSError for a truncated or malformed buffer and closes the error path's
ints, so buffers whose list names a descriptor open in this process are
left out ("excluded") and the socketpair lives above every listed number.
Stdlib only; CPython 3.6+ and PyPy 3.9.
"""

import ctypes
import fcntl
import json
import os
import socket
import sys
import time
import warnings


def _fail(msg):
    sys.stderr.write("bench.inject_loop: %s\n" % msg)
    sys.exit(2)


def _args(argv):
    seconds, lib = 1.0, os.path.join("build", "libcmsgref.so")
    i = 0
    while i < len(argv):
        if argv[i] == "--seconds" and i + 1 < len(argv):
            try:
                seconds = float(argv[i + 1])
            except ValueError:
                _fail("--seconds needs a number")
            if not 0 < seconds <= 600:
                _fail("--seconds must be in (0, 600]")
        elif argv[i] == "--lib" and i + 1 < len(argv):
            lib = argv[i + 1]
        else:
            _fail("usage: python -m bench.inject_loop [--seconds S] "
                  "[--lib PATH]")
        i += 2
    return seconds, lib


def _high_dup(sock, floor, avoid):
    """A socket object on a dup of sock's fd at a number >= floor outside
    avoid; sock is closed.  The caller owns the new socket."""
    n = floor
    while True:
        new = fcntl.fcntl(sock.fileno(), fcntl.F_DUPFD, n)
        if new not in avoid:
            break
        os.close(new)
        n = new + 1
    fam, typ = sock.family, sock.type
    sock.close()
    return socket.socket(fam, typ, 0, new)


def main(argv=None):
    seconds, lib = _args(sys.argv[1:] if argv is None else argv)
    if not os.path.exists(lib):
        _fail("library %s not found (run make)" % lib)
    shim = ctypes.CDLL(None)
    if not hasattr(shim, "cr_inject_arm"):
        _fail("the injection shim is not preloaded (LD_PRELOAD="
              "build/inject/libcrinject.so)")
    from oracle import suite_inject as si
    try:
        si.configure(lib=os.path.abspath(lib))
    except Exception as e:
        _fail("oracle.suite_inject.configure: %s" % e)
    shim.cr_inject_arm.argtypes = [ctypes.c_int, ctypes.c_char_p,
                                   ctypes.c_size_t]
    bufs = []
    for rel in si.corpus_files():   # the spec's K/F seeds and the corpus
        with open(os.path.join(si.CORPUS, rel), "rb") as f:
            bufs.append(f.read())
    lists = [set(si.reference_parse(b)["close_on_error"]) for b in bufs]
    listed = set()
    for s in lists:
        listed |= s
    a, b = socket.socketpair()
    a = _high_dup(a, 5000, listed)
    b = _high_dup(b, 5000, listed)
    open_now = set(int(x) for x in os.listdir("/proc/self/fd"))
    use = [buf for buf, s in zip(bufs, lists) if not (s & open_now)]
    if not use:
        _fail("every buffer names an open descriptor; nothing to replay")
    warnings.simplefilter("ignore")
    fd = b.fileno()
    calls = raised = 0
    started = time.time()
    deadline = started + seconds
    while True:
        for buf in use:
            shim.cr_inject_arm(fd, buf, len(buf))
            a.send(b"x")
            try:
                b.recvmsg(1, len(buf))
            except OSError:
                raised += 1     # PyPy: malformed or truncated (spec §11)
            calls += 1
        if time.time() >= deadline:
            break
    elapsed = time.time() - started
    a.close()
    b.close()
    print(json.dumps({"calls": calls, "seconds": round(elapsed, 3),
                      "per_second": round(calls / elapsed, 1),
                      "buffers": len(use), "excluded": len(bufs) - len(use),
                      "raised": raised}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
