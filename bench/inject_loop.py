"""inject_loop.py - the ceiling of injection replay (figure 4 of `make
bench`, issue 5): how many control buffers per second one interpreter's own
socket.recvmsg() can walk when nothing else is done per buffer.

Why: the oracle's inject suite (oracle/suite_inject.py) is what the project
runs, and `make bench` times it; this loop runs the same mechanism, the
suite's own _Session.call() (the LD_PRELOAD shim of oracle/inject/ armed
through shared memory, a real AF_UNIX socketpair carrying one byte per
call, the interpreter's real recvmsg under catch_warnings, the shim's
close() watch), without the canonical result, the fd-table check or the
record, so the README can say where the suite's time goes.  It compares
nothing and re-implements no walk: the buffers come from
oracle.suite_inject.

Run under the interpreter to measure, from the repo root:
  LD_PRELOAD=build/inject/libcrinject.so PYTHONPATH=. PY -m bench.inject_loop
      [--seconds S] [--lib build/libcmsgref.so]
Prints one JSON line {"calls", "seconds", "per_second", "buffers",
"raised"}.  Exit 2 (one line on stderr) on bad arguments or a missing
shim/library.

Limits: calls run in warning mode "record" (CPython then closes nothing);
PyPy raises OSError for a truncated or malformed buffer and calls close()
on the error path's ints, which the watch logs and does not perform, as in
the suite.  Stdlib only; CPython 3.6+ and PyPy 3.9.
"""

import json
import os
import sys
import time


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


def main(argv=None):
    seconds, lib = _args(sys.argv[1:] if argv is None else argv)
    if not os.path.exists(lib):
        _fail("library %s not found (run make)" % lib)
    from oracle import suite_inject as si
    try:
        si.configure(lib=os.path.abspath(lib))
        session = si._get_session()
    except Exception as e:
        _fail("oracle.suite_inject: %s" % e)
    use = []
    for rel in si.corpus_files():   # the spec's K/F seeds and the corpus
        with open(os.path.join(si.CORPUS, rel), "rb") as f:
            use.append(f.read())
    if not use:
        _fail("no corpus buffers to replay")
    call = session.call
    calls = raised = 0
    started = time.time()
    deadline = started + seconds
    while True:
        for buf in use:
            exc = call(buf, "record", "recvmsg")[1]
            if exc is not None:
                raised += 1     # PyPy: malformed or truncated (spec §11)
            calls += 1
        if time.time() >= deadline:
            break
    elapsed = time.time() - started
    print(json.dumps({"calls": calls, "seconds": round(elapsed, 3),
                      "per_second": round(calls / elapsed, 1),
                      "buffers": len(use), "raised": raised}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
