"""fig_oracle.py - figures 3 and 4 of `make bench` (issue 5): how fast the
conformance oracle is, per interpreter, against that interpreter's own
test_socket recvmsg/SCM subset, how long the whole matrix takes, and how
many injected buffers per second go through each interpreter's recvmsg.

Why: the oracle is only useful if the whole matrix (every interpreter,
every suite) runs often; the natural yardstick is the interpreter's own
test suite for the same feature.

Everything is measured through the oracle's entry points, never
re-implemented:
- interpreters: oracle.discover.discover() (PYTHONS or PATH + pyenv);
- scenarios/s: one worker per (interpreter, suite) built by
  oracle.conformance.build_jobs() and run for a bounded window; the rate
  is counted between the first and the last record the worker streamed
  (so interpreter startup is excluded); "differential scenarios per
  second" of an interpreter is the rate of its full run, i.e. the two
  suites weighted by their case counts;
- injection_per_second: the inject suite's worker rate (the call, its
  close() log, canonical result, fd-table check and record per case); the
  reference is the driver's part (oracle.suite_inject.complete_records,
  once per buffer and model for every interpreter), timed separately on
  the first interpreter's records with a cold cache
  (inject_reference_per_s); bench/inject_loop.py adds the mechanism's
  ceiling (the suite's _Session.call: shim + real recvmsg + watch, nothing
  else);
- tests/s of test_socket: bench/testsuite_sample.py under the interpreter
  runs the whole of oracle.cpython_tests.select_tests() (the selection of
  `make cpython-tests`, 299 tests), natively; an
  interpreter without test.test_socket (Debian's python3, PyPy) has no
  yardstick and is left out of the lowest ratio, by name;
- conformance_matrix_seconds: `python3 -m oracle.conformance` as `make
  conformance` runs it (2 jobs), killed at a cap; past the cap the figure
  is null with "at least <cap> s", and a projection from the measured
  per-suite rates is given separately, labelled as such.
Limits: a window samples the first cases of a suite's order, not a random
sample; each worker rate is the median of ROUNDS runs, the test_socket
side is one run (the sides back to back, not interleaved).
"""

import argparse
import json
import os
import select
import sys
import time

from bench import common

LIB = os.path.join(common.BUILD, "libcmsgref.so")
SHIM = os.path.join(common.BUILD, "inject", "libcrinject.so")
SUITES = ("inject", "sockets")
ROUNDS = 3              # worker runs per (interpreter, suite); median kept


def _oracle():
    """Import the oracle's driver modules; Missing if they are not there."""
    if common.REPO not in sys.path:
        sys.path.insert(0, common.REPO)
    try:
        from oracle import conformance, discover
    except Exception as e:
        raise common.Missing("cannot import the oracle driver "
                             "(oracle.conformance/discover): %s: %s"
                             % (type(e).__name__, e))
    return conformance, discover


def interpreters():
    """The ok entries of oracle.discover, and the not-ok ones (listed in
    the report, never silently dropped)."""
    _, discover = _oracle()
    entries = discover.discover()
    ok = [e for e in entries if e["status"] == "ok"]
    if not ok:
        raise common.Missing("oracle.discover found no usable interpreter")
    return ok, [e for e in entries if e["status"] != "ok"]


def _need_products():
    common.need_file(LIB, "the reference library", "make builds it")
    common.need_file(SHIM, "the injection shim", "make oracle-inject-shim")


def worker_rate(interp, suite, window, rounds=ROUNDS):
    """Run one oracle worker `rounds` times, each for at most window
    seconds (plus its startup, at most 30 s); return (the median of the
    rounds' records/s between first and last record, records seen,
    finished?, the records; the last three of the first round).  Several
    rounds because a suite's run is short (0.05-0.5 s for inject) and this
    machine's speed moves by up to 2x from one second to the next.  Raises
    Missing when a worker produced fewer than 2 records or failed before
    streaming any."""
    conformance, _ = _oracle()
    _need_products()
    ns = argparse.Namespace(lib=LIB, shim=SHIM, only="")
    rates, first = [], None
    for _ in range(rounds):
        job = conformance.build_jobs([interp], [suite], ns,
                                     os.path.join(common.OUT, "oracle"))[0]
        job.start()
        try:
            got = _follow(job, interp, suite, window)
        except BaseException:
            job.kill()          # Ctrl-C: the worker must not outlive us
            raise
        rates.append(got[0])
        first = first or got
    return (common.median(rates),) + tuple(first[1:])


def _follow(job, interp, suite, window):
    """Read a started worker's records for the window; see worker_rate."""
    fd = job.proc.stdout.fileno()
    first_t = last_t = None
    first_n = last_n = 0
    hard = time.time() + window + 30
    finished = False
    while True:
        now = time.time()
        if (first_t is not None and now - first_t >= window) or now > hard:
            break
        ready, _, _ = select.select([fd], [], [], 0.2)
        if not ready:
            continue
        chunk = os.read(fd, 65536)
        if not chunk:
            finished = True
            break
        job.feed(chunk)
        n = len(job.records)
        if n > last_n:
            t = time.time()
            if first_t is None:
                first_t, first_n = t, n
            last_t, last_n = t, n
    if not finished:
        job.kill()
    job.proc.stdout.close()
    job.finish(not finished)
    label = "%s/%s" % (interp["label"], suite)
    if first_t is None or last_n - first_n < 1 or last_t <= first_t:
        raise common.Missing("%s: the worker streamed %d record(s) (%s); "
                             "log %s" % (label, last_n, job.error or
                                         "too few to time",
                                         os.path.relpath(job.log_path,
                                                         common.REPO)))
    return ((last_n - first_n) / (last_t - first_t), last_n, finished,
            job.records)


def reference_rate(records):
    """Records/s of the inject suite's driver half (complete_records) on a
    worker's records, its per-buffer cache emptied first.  Raises Missing
    when a record ends up without a reference."""
    _oracle()
    from oracle import suite_inject
    suite_inject._ref_cache.clear()
    started = time.time()
    suite_inject.complete_records(records, LIB)
    took = time.time() - started
    bad = [r["id"] for r in records if "reference" not in r]
    if bad or not records or took <= 0:
        raise common.Missing("the driver gave %d of %d inject records no "
                             "reference (first: %s)" % (
                                 len(bad), len(records), bad[:1]))
    return len(records) / took


def case_counts():
    """{suite: number of cases} as the driver's interpreter sees them
    (suite.iter_cases()); a suite that cannot be imported is left out."""
    _oracle()
    out = {}
    for suite in SUITES:
        try:
            mod = __import__("oracle.suite_" + suite, fromlist=["x"])
            out[suite] = sum(1 for _ in mod.iter_cases())
        except Exception:
            continue
    return out


def ceiling_rate(interp, seconds):
    """bench/inject_loop.py under interp: buffers/s with nothing but the
    shim and the real recvmsg.  Raises Missing on failure."""
    _need_products()
    env = dict(os.environ)
    env["PYTHONPATH"] = common.REPO
    env["LD_PRELOAD"] = SHIM
    res = common.run([interp["executable"], "-m", "bench.inject_loop",
                      "--seconds", str(seconds), "--lib", LIB],
                     seconds + 30, env=env)
    if res.returncode != 0:
        raise common.Missing("%s: bench.inject_loop failed: %s" % (
            interp["label"], res.tail()))
    return json.loads(res.stdout.decode("ascii").strip().splitlines()[-1])


class NoTestsuite(common.Missing):
    """The interpreter ships no test.test_socket (no yardstick at all)."""


def testsuite_rate(interp, sample=None):
    """tests/s of interp's own test_socket recvmsg/SCM subset: all of it,
    or a systematic sample of about `sample` tests
    (bench/testsuite_sample.py, which takes the selection from
    oracle/cpython_tests.py).  Returns
    (tests/s, tests run, tests selected).  Raises NoTestsuite when the
    interpreter has no test.test_socket, Missing on any other failure."""
    common.need_file(os.path.join(common.REPO, "oracle", "cpython_tests.py"),
                     "the test_socket selection of issue 4",
                     "oracle/cpython_tests.py is not in the tree")
    env = dict(os.environ)
    env["PYTHONPATH"] = common.REPO
    cmd = [interp["executable"], "-m", "bench.testsuite_sample"]
    if sample is not None:
        cmd += ["--sample", str(sample)]
    res = common.run(cmd, 120, env=env)
    lines = res.stdout.decode("utf-8", "replace").strip().splitlines()
    if res.returncode == 3:
        raise NoTestsuite("%s: %s" % (interp["label"], json.loads(
            lines[-1]).get("missing", "no test.test_socket")))
    if res.returncode != 0 or not lines:
        raise common.Missing("%s: bench.testsuite_sample failed (%s): %s" % (
            interp["label"], "killed at 120s" if res.returncode is None
            else "exit %d" % res.returncode, res.tail()))
    d = json.loads(lines[-1])
    if not d.get("per_second"):
        raise common.Missing("%s: the test_socket subset took no time"
                             % interp["label"])
    return d["per_second"], d["sampled"], d["selected"]


def matrix_seconds(cap):
    """Wall time of `python3 -m oracle.conformance` (the make conformance
    command), or None when it was killed at cap seconds.  Returns
    (seconds or None, exit status or None, last line)."""
    _need_products()
    env = dict(os.environ)
    env["PYTHONPATH"] = common.REPO
    res = common.run([sys.executable, "-m", "oracle.conformance", "--out",
                      os.path.join(common.OUT, "conformance")], cap, env=env,
                     stdout_path=os.path.join(common.OUT,
                                              "conformance.out"))
    if res.returncode is None:
        return None, None, "killed at the %ds cap" % cap
    return res.seconds, res.returncode, res.tail()
