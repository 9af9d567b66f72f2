"""helpers.py - shared setup for the oracle self-tests.

Why: several tests need the repo root, the built library and shim, and a
record shaped like the worker's.  The tests are stdlib unittest and run on
every supported interpreter (CPython 3.6-3.13, PyPy 3.9) via `make
check-oracle`; a missing build product is a loud failure, not a skip.
"""

import copy
import os
import subprocess
import sys

REPO = os.path.dirname(os.path.dirname(os.path.dirname(
    os.path.abspath(__file__))))
LIB = os.path.join(REPO, "build", "libcmsgref.so")
SHIM = os.path.join(REPO, "build", "inject", "libcrinject.so")

WARN = "received malformed or improperly-truncated ancillary data"


def result(**kw):
    """A canonical result with defaults (a plain successful recvmsg)."""
    r = {"data": "78", "nbytes": 1, "ancdata": [], "msg_flags": 0,
         "address": None, "warnings": [], "exception": None,
         "fds_closed": [], "fds_received": []}
    r.update(kw)
    return r


def record(native=None, reference=None, **kw):
    """A worker record with native == reference unless given."""
    ref = reference if reference is not None else result()
    rec = {"suite": "inject", "family": "spec-record",
           "id": "corpus:cmsg_parse/seed-k01-ok-4-bytes@record",
           "python": {"impl": "cpython", "version": "3.11.7",
                      "executable": "/x"},
           "native": native if native is not None else copy.deepcopy(ref),
           "reference": ref,
           "leaked_fds": {"native": [], "reference": []},
           "repro": "r"}
    rec.update(kw)
    return rec


def run_preloaded(args, code=None, extra_path=None, env_add=None):
    """sys.executable with the shim preloaded and the repo (then
    extra_path) on PYTHONPATH, running args (or -c code), from the repo,
    with env_add over the environment.  Returns stdout; raises
    AssertionError with stderr if it exits nonzero."""
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join([REPO] + ([extra_path]
                                                  if extra_path else []))
    env["LD_PRELOAD"] = SHIM
    env.update(env_add or {})
    cmd = [sys.executable] + (["-c", code] if code is not None else args)
    p = subprocess.Popen(cmd, cwd=REPO, env=env, stdout=subprocess.PIPE,
                         stderr=subprocess.PIPE)
    out, err = p.communicate(timeout=120)
    if p.returncode != 0:
        raise AssertionError("exit %d: %s" % (p.returncode, err.decode()))
    return out.decode()
