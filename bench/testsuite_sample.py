"""testsuite_sample.py - the yardstick side of figure 3 of `make bench`
(issue 5): tests per second of an interpreter's own test_socket
recvmsg/SCM subset, on a systematic sample so it fits the bench budget.

Why: the full subset (about 300 tests; `make cpython-tests` runs it) takes
about 20 s per interpreter, mostly in the tests' own timeouts and sleeps,
which is too long for ten interpreters inside `make bench`'s 5 minutes.
The selection is oracle.cpython_tests.select_tests() (the same leaf-class,
"Recvmsg"/"SCMRights"/"CmsgMacro" rule `make cpython-tests` uses); this
script only takes every k-th test of it (k = ceil(selected / SAMPLE)) and
times them with unittest's runner, natively (no reference installed).

Run under the interpreter to measure, from the repo root:
  PYTHONPATH=. PY -m bench.testsuite_sample [--sample N]
Prints one JSON line {"selected", "sampled", "seconds", "per_second",
"outcomes"}; exit 3 when the interpreter has no test.test_socket (Debian's
python3 without libpython3.X-testsuite, PyPy's is not CPython's), exit 2
(one line on stderr) on bad arguments.  Stdlib only; CPython 3.6+.
"""

import json
import os
import sys
import time

EXIT_MISSING = 3


def _fail(msg):
    sys.stderr.write("bench.testsuite_sample: %s\n" % msg)
    sys.exit(2)


def main(argv=None):
    argv = sys.argv[1:] if argv is None else argv
    sample = 60
    if argv:
        if len(argv) != 2 or argv[0] != "--sample":
            _fail("usage: python -m bench.testsuite_sample [--sample N]")
        try:
            sample = int(argv[1])
        except ValueError:
            _fail("--sample needs an integer")
        if sample < 1:
            _fail("--sample must be at least 1")
    import unittest
    from oracle import cpython_tests
    try:
        from test import test_socket
    except ImportError as e:
        sys.stdout.write(json.dumps({"missing": "cannot import "
                                     "test.test_socket: %s" % e}) + "\n")
        return EXIT_MISSING
    tests = cpython_tests.select_tests(test_socket)
    if not tests:
        _fail("the selection of test.test_socket is empty")
    step = -(-len(tests) // sample)
    picked = tests[::step]
    result_cls = unittest.TextTestResult
    with open(os.devnull, "w") as devnull:
        runner = unittest.TextTestRunner(stream=devnull, verbosity=0,
                                         resultclass=result_cls)
        started = time.time()
        result = runner.run(unittest.TestSuite(picked))
        seconds = time.time() - started
    outcomes = {"run": result.testsRun, "failures": len(result.failures),
                "errors": len(result.errors), "skipped": len(result.skipped)}
    sys.stdout.write(json.dumps({
        "selected": len(tests), "sampled": len(picked),
        "seconds": round(seconds, 3),
        "per_second": round(len(picked) / seconds, 2) if seconds > 0 else None,
        "outcomes": outcomes}) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
