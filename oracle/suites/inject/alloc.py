"""suites/inject/alloc.py - the allocation-failure cases (cases.ALLOC_CASES,
family alloc-error): a memory failure after the system call returned.

§4.2: when building the result fails for want of memory (the list, a
bytes object, a tuple, the address), CPython raises MemoryError and its
error path closes every SCM_RIGHTS slot the walk visits (§4.1).  Under
PYTHONMALLOC=malloc (CPython 3.6+) every Python allocation goes through
libc's malloc, calloc and realloc, which the allocation library
(shim/alloc.c, libcralloc.so beside the shim) interposes: armed
(cr_alloc_fail(k)), it fails the k-th of them after the armed recvmsg()
returned, once.  The worker runs without that setting and without that
library, so each case runs in a child of the same interpreter started
with both (the library in front of the shim in LD_PRELOAD; python -m
oracle.suites.inject.alloc NAME: one JSON line, the native side through
session.observe).  The reference is §4.2's row itself: MemoryError,
nothing returned, and the library's close_on_error list for the buffer.

PyPy has no PYTHONMALLOC (its objects never come from malloc one by one),
so there the case is an ERROR that says so, which pypy.json declares.
Worker-side: stdlib only.
"""

import json
import os
import platform
import socket
import sys

from oracle.judge import canon
from oracle.suites.inject import cases
from oracle.suites.inject.reference import reference_parse
from oracle.suites.inject.session import PAYLOAD, get_session
from tools import procs

CHILD_TIMEOUT = 60
SHIM_NAME, ALLOC_NAME = "libcrinject.so", "libcralloc.so"
_PKG_ROOT = os.path.dirname(os.path.dirname(os.path.dirname(
    os.path.dirname(os.path.abspath(__file__)))))


def _udp_target():
    """(receiver, send) of an IPv4 UDP pair on the loopback: the kernel
    writes an AF_INET address, which CPython decodes into a str and a
    port int after the control messages."""
    rx = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    tx = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    rx.bind(("127.0.0.1", 0))
    rx.settimeout(5.0)
    name = rx.getsockname()
    return (rx, tx), (rx, lambda: tx.sendto(PAYLOAD, name))


def child(name):
    """The native side of one case, in the child: the call with the case's
    control bytes and its allocation failure armed.  Prints one JSON line:
    {"native", "leaks", "lost", "delivered", "alloc_failed"}, or {"late":
    true} when the failure went out after the call returned (the oracle's
    own code raised the MemoryError: the call made fewer allocations)."""
    where, method, k, hold = cases.ALLOC_CASES[name]
    socks, target = _udp_target() if where == "udp" else (None, None)
    session = get_session()
    try:
        res, leaks, lost, delivered = session.observe(
            cases.ALLOC_CONTROL, "record", method, target, alloc_fail=k,
            hold_lists=hold)
        out = {"native": res, "leaks": leaks, "lost": lost,
               "delivered": delivered, "alloc_failed": session.alloc_failed}
    except MemoryError:
        out = {"late": True}
    for s in socks or ():
        s.close()
    sys.stdout.write(json.dumps(out) + "\n")


def reference_result(method):
    """§4.2's memory-failure row for cases.ALLOC_CONTROL: MemoryError, and
    the library's close_on_error list in walk order."""
    res = canon.canon_result(None, MemoryError(), [], method, rights="raw",
                             shapes=False)
    res["fds_closed"] = list(reference_parse(cases.ALLOC_CONTROL)
                             ["close_on_error"])
    return res


def alloc_library():
    """The allocation-failure library (shim/alloc.c), built beside the
    preloaded shim (libcrinject.so in LD_PRELOAD).  Raises RuntimeError if
    there is none."""
    for path in os.environ.get("LD_PRELOAD", "").replace(" ", ":").split(
            ":"):
        if os.path.basename(path) == SHIM_NAME:
            lib = os.path.join(os.path.dirname(path), ALLOC_NAME)
            if os.path.isfile(lib):
                return lib
            raise RuntimeError("%s is not built beside the shim: make "
                               "oracle-inject-shim" % lib)
    raise RuntimeError("the injection shim (%s) is not in LD_PRELOAD"
                       % SHIM_NAME)


def run_case(case_id, libc):
    """One alloc case, both sides (the native one in a child).  Returns the
    complete record: an ERROR when the interpreter cannot route its
    allocations through libc (not CPython) or the armed failure never went
    out, a CRASH when the child died of a signal."""
    name = case_id[len("alloc:"):]
    if name not in cases.ALLOC_CASES:
        raise ValueError("bad case id %r" % case_id)
    where, method, k, hold = cases.ALLOC_CASES[name]
    rec = {"family": cases.ALLOC_FAMILY, "id": case_id, "libc": libc,
           "control_hex": cases.ALLOC_CONTROL.hex(), "alloc_fail": k,
           "hold_lists": hold,
           "reference": reference_result(method),
           "leaked_fds": {"native": [], "reference": []},
           "repro": cases.repro("allocation failure %s" % name, case_id)}
    if platform.python_implementation() != "CPython":
        rec["native"] = None
        rec["error"] = ("needs CPython's PYTHONMALLOC=malloc to fail an "
                        "allocation through libc; %s has none"
                        % platform.python_implementation())
        return rec
    env = dict(os.environ)
    env["LD_PRELOAD"] = "%s:%s" % (alloc_library(), env["LD_PRELOAD"])
    env["PYTHONMALLOC"] = "malloc"
    env["PYTHONPATH"] = os.pathsep.join(
        [_PKG_ROOT] + [p for p in [env.get("PYTHONPATH")] if p])
    got = procs.run([sys.executable, "-m", "oracle.suites.inject.alloc",
                     name], CHILD_TIMEOUT, env=env)
    if got.signal is not None and not got.timed_out:
        how = procs.signame(got.signal)
        rec["native"] = {"crash": how}
        rec["crash"] = "the child died in the call: %s (stderr: %s)" % (
            how, got.text("stderr").strip()[-300:])
        return rec
    lines = got.text().splitlines()
    if got.status() != "exit 0" or not lines:
        rec["native"] = None
        rec["error"] = "the child: %s: %s" % (
            got.status(), got.text("stderr").strip()[-300:])
        return rec
    out = json.loads(lines[-1])
    if out.get("late"):
        rec["native"] = None
        rec["error"] = ("the armed allocation failure (the %d%s after the "
                        "system call) went out after the call returned: "
                        "the call made fewer allocations through libc"
                        % (k, _nth(k)))
        return rec
    rec["native"] = out["native"]
    rec["leaked_fds"]["native"] = out["leaks"]
    if not out["delivered"]:
        rec["error"] = "the shim did not rewrite the native call"
    elif not out["alloc_failed"]:
        rec["error"] = ("the armed allocation failure (the %d%s after the "
                        "system call) never went out: the call made fewer "
                        "allocations through libc" % (k, _nth(k)))
    elif out["lost"]:
        rec["error"] = ("descriptor(s) %s vanished during the native call "
                        "without a close() the shim saw" % out["lost"])
    return rec


def _nth(k):
    return {1: "st", 2: "nd", 3: "rd"}.get(k if k < 20 else k % 10, "th")


if __name__ == "__main__":
    child(sys.argv[1])
