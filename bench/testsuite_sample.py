"""testsuite_sample.py - the yardstick side of figure 3 of `make bench`
(issue 5): tests per second of an interpreter's own test_socket
recvmsg/SCM subset.

The selection is oracle.cpython_tests.select_tests() (the same leaf-class,
"Recvmsg"/"SCMRights"/"CmsgMacro" rule `make cpython-tests` uses: 299
tests on these CPythons), run natively (no reference installed) with
unittest's runner and timed as a whole.  `make bench` runs all of it: here
that takes about 0.6 s on 3.6-3.10 and 4-5 s on 3.11-3.13 (some of the
newer tests wait out timeouts).  --sample N runs only every k-th test
(k = ceil(selected / N)) for a quicker estimate; on 3.9 and 3.11 a sample
of 60 came within 15 % of the whole.

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
    sample = None           # the whole selection
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
    step = 1 if sample is None else -(-len(tests) // sample)
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
