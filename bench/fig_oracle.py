"""fig_oracle.py - `make bench`'s oracle figures: injected buffers per
second through each interpreter's real recvmsg, and the wall time of the
whole default `make conformance`.

Why: the oracle is only useful if the whole matrix (every interpreter,
every suite) runs often, and the inject suite is the part that holds each
interpreter's recvmsg against the reference on the corpus's buffers.

Everything is measured through the oracle's own entry points, never
re-implemented:
- interpreters: oracle.sources.discover() (PYTHONS or every source);
- injection rate: one inject-suite worker per interpreter, built by
  oracle.judge.driver.build_jobs() exactly as `make conformance` builds
  it (the call, its close() log, canonical result, fd-table check and
  record frame per case), run for a window of WINDOW seconds, ROUNDS
  times; a round's rate is counted between the first and the last record
  the worker streamed (so interpreter startup is excluded), and the
  interpreter's rate is the median round.  Before each interpreter, the
  benchmark waits (at most QUIET_WAIT seconds) until the rest of the
  machine uses less than QUIET_CORES cores, and records what it used;
- matrix: `make conformance` itself, products already built, after the
  same wait for a quiet machine, killed at a cap; past the cap the figure
  is null with "at least <cap> s".
"""

import argparse
import os
import select
import time

from bench import common

LIB = os.path.join(common.BUILD, "libcmsgref.so")
SHIM = os.path.join(common.BUILD, "inject", "libcrinject.so")
WINDOW = 2.0            # seconds of inject cases a round
ROUNDS = 3              # rounds per interpreter; median kept
QUIET_WAIT = 15.0       # longest wait for a quiet machine
QUIET_CORES = 0.3       # "quiet": the rest of the machine below this


def _oracle():
    """The oracle's driver and sources modules; Missing if absent."""
    try:
        from oracle import sources
        from oracle.judge import driver
    except Exception as e:
        raise common.Missing("cannot import the oracle driver "
                             "(oracle.judge.driver, oracle.sources): %s: %s"
                             % (type(e).__name__, e))
    return driver, sources


def interpreters():
    """The ok entries of oracle.sources.discover(), and the not-ok ones
    (listed in the report, never silently dropped)."""
    _, sources = _oracle()
    entries = sources.discover()
    ok = [e for e in entries if e["status"] == "ok"]
    if not ok:
        raise common.Missing("oracle.sources found no usable interpreter")
    return ok, [e for e in entries if e["status"] != "ok"]


def _cpu_times():
    with open("/proc/stat") as f:
        v = [int(x) for x in f.readline().split()[1:]]
    return sum(v), v[3] + v[4]          # total, idle + iowait


def busy_cores(seconds=0.5):
    """Cores the rest of the machine kept busy over the next `seconds`
    (this process sleeps meanwhile)."""
    t0, i0 = _cpu_times()
    time.sleep(seconds)
    t1, i1 = _cpu_times()
    if t1 <= t0:
        return 0.0
    return (1.0 - float(i1 - i0) / (t1 - t0)) * (os.cpu_count() or 1)


def quiet(max_wait=QUIET_WAIT, cores=QUIET_CORES):
    """Wait until the machine is quiet, at most max_wait seconds; returns
    the busy cores last seen (above `cores` when the wait ran out)."""
    end = time.time() + max_wait
    while True:
        busy = busy_cores()
        if busy < cores or time.time() >= end:
            return round(busy, 2)


def _need_products():
    common.need_file(LIB, "the reference library", "make builds it")
    common.need_file(SHIM, "the injection shim", "make oracle-inject-shim")


def worker_rate(interp, suite="inject", window=WINDOW, rounds=ROUNDS):
    """The median over `rounds` worker runs of records/s between the first
    and the last record (see the module comment).  Raises Missing when a
    worker streamed fewer than 2 records."""
    driver, _ = _oracle()
    _need_products()
    ns = argparse.Namespace(lib=LIB, shim=SHIM, only="")
    rates = []
    for _ in range(rounds):
        job = driver.build_jobs([dict(interp)], [suite], ns,
                                os.path.join(common.OUT, "oracle"))[0]
        job.start(window + 30)
        if job.error:
            raise common.Missing("%s/%s: %s" % (interp["label"], suite,
                                                job.error))
        try:
            rates.append(_follow(job, interp, suite, window))
        except BaseException:
            job.child.kill()    # Ctrl-C: the worker must not outlive us
            raise
    return common.median(rates)


def _follow(job, interp, suite, window):
    """Records/s of a started worker over the window; see worker_rate."""
    fd = job.child.stdout.fileno()
    first_t = last_t = None
    first_n = last_n = 0
    while not job.child.expired():
        if first_t is not None and time.time() - first_t >= window:
            job.child.timed_out = True      # stopped here, on purpose
            break
        ready, _, _ = select.select([fd], [], [], 0.2)
        if not ready:
            continue
        chunk = os.read(fd, 65536)
        if not chunk:
            break
        job.feed(chunk)
        n = len(job.records)
        if n > last_n:
            t = time.time()
            if first_t is None:
                first_t, first_n = t, n
            last_t, last_n = t, n
    job.finish()
    label = "%s/%s" % (interp["label"], suite)
    if first_t is None or last_n - first_n < 1 or last_t <= first_t:
        raise common.Missing("%s: the worker streamed %d record(s) (%s); "
                             "log %s" % (label, last_n, job.error or
                                         "too few to time",
                                         os.path.relpath(job.log_path,
                                                         common.REPO)))
    return (last_n - first_n) / (last_t - first_t)


ROOT_RELEASES = ("bullseye", "trixie", "forky")


def cached_roots():
    """The releases of ROOT_RELEASES whose amd64 roots are built and cached
    (scripts/debian-root), or () when this process is not root (the roots
    cannot run then)."""
    from tools import debroot
    if os.geteuid() != 0:
        return ()
    return tuple(r for r in ROOT_RELEASES
                 if debroot.is_complete(debroot.root_path(r, "amd64")))


def matrix_seconds(cap, make_args=()):
    """Wall time of `make conformance [make_args]` (products built), or
    None when it was killed at cap seconds.  Returns (seconds or None, exit
    status or None, last line)."""
    _need_products()
    out = os.path.join(common.OUT, "conformance.out")
    res = common.run(["make", "--no-print-directory", "conformance"] +
                     list(make_args), cap, stdout_path=out)
    if res.returncode is None:
        return None, None, "killed at the %ds cap" % cap
    with open(out, "rb") as f:
        lines = [l for l in f.read().decode("utf-8", "replace").splitlines()
                 if l.strip()]
    return res.seconds, res.returncode, (lines[-1][-200:] if lines
                                         else res.tail())
