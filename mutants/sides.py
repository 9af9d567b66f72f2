"""sides.py - the two judges of a CPython mutant.

Why: a mutant of CPython's socketmodule.c is killed by a side when that
side's outcome differs from its outcome on the unmutated build (the
baseline), so a case the baseline already fails or expects to fail
(XFAIL) neither kills nor hides a mutant.  A side that runs past its time
limit is killed with its whole process tree and the mutant counts as
killed by that side ("timed out").

  oracle         `make conformance PYTHONS=<interpreter>` in the repository
                 (the oracle driver, through the Makefile so its module
                 layout is its own business), judged on its exit status and
                 report.json: every case that is not PASS, with its outcome
                 (not the totals: cases added to the oracle meanwhile would
                 change them), leaving out an XFAIL whose expectation
                 allows a PASS too (may_pass: the native result varies
                 without a change to the code, e.g. bytes read past a
                 buffer's end), since either outcome is the same verdict.
                 Its generated scenarios come from one seed for the
                 baseline and every mutant, so all are judged by the same
                 cases (a new seed per run would make a generated case the
                 baseline never ran look like a change).
  cpython-tests  CPython's own test_socket classes for this API (TEST_MATCH)
                 run by the interpreter's regrtest (-v), judged on its exit
                 status, how many tests ran and which failed or errored.
"""

import json
import os
import re
import shutil

from tools import procs

SIDES = ("oracle", "cpython-tests")
# test_socket's classes and tests of recvmsg/recvmsg_into, SCM_RIGHTS,
# the CMSG macros, and the timeout/EINTR paths of these calls.
# Every class named Recvmsg* (generic, UDP, UDP6, RFC 3542, TCP, SCTP,
# Unix stream, SCM_RIGHTS; recvmsg and recvmsg_into).
TEST_MATCH = ("Recvmsg*", "CmsgMacroTests", "SCMRightsTest",
              "SendRecvFdsTests", "InterruptedRecvTimeoutTest")


def oracle(repo, python, work, timeout, seed):
    """Runs the oracle on python with the generated scenarios of seed;
    returns (signature, result)."""
    out = os.path.join(work, "oracle")
    shutil.rmtree(out, ignore_errors=True)
    r = procs.run(["make", "-C", repo, "--no-print-directory", "conformance",
                   "PYTHONS=%s" % python,
                   "ORACLE_ARGS=--out %s --timeout %d --seed %d"
                   % (out, int(timeout), seed)],
                  timeout + 30)
    sig = {"exit": r.returncode, "timed_out": r.timed_out}
    try:
        with open(os.path.join(out, "report.json")) as f:
            rep = json.load(f)
        sig["not_pass"] = sorted("%s %s" % (c.get("outcome"), c.get("id"))
                                 for c in rep.get("cases", ())
                                 if c.get("outcome") != "PASS" and not (
                                     c.get("outcome") == "XFAIL"
                                     and c.get("may_pass")))
    except (OSError, ValueError):
        sig["report"] = "missing"
    return sig, r


_TEST_LINE = re.compile(r"^(\w+) \(([\w.]+)\) \.\.\. (ok|FAIL|ERROR|skipped|"
                        r"expected failure|unexpected success)", re.M)


def cpython_tests(python, work, timeout):
    """Runs test_socket's TEST_MATCH subset verbosely (a build without
    pyexpat cannot write JUnit XML); returns (signature, result)."""
    cmd = [python, "-m", "test", "test_socket", "-v"]
    for pat in TEST_MATCH:
        cmd += ["-m", pat]
    r = procs.run(cmd, timeout, stderr=procs.STDOUT, cwd=work)
    sig = {"exit": r.returncode, "timed_out": r.timed_out}
    found = _TEST_LINE.findall(r.text())
    if found:
        sig["ran"] = len(found)
        sig["bad"] = sorted("%s %s" % (st, cls) for _, cls, st in found
                            if st not in ("ok", "skipped", "expected failure"))
    else:
        sig["tests"] = "missing"
    return sig, r


def verdict(sig, base, r):
    """{'killed', 'why', 'seconds'}: killed when sig differs from base."""
    why = ""
    if r.timed_out:
        why = "timed out (killed)"
    elif sig != base:
        keys = [k for k in sorted(set(sig) | set(base))
                if sig.get(k) != base.get(k)]
        parts = []
        for k in keys:
            a, b = base.get(k), sig.get(k)
            if isinstance(b, list) and isinstance(a, list):
                new = [x for x in b if x not in a][:3]
                gone = [x for x in a if x not in b][:3]
                parts.append("%s: %s%s" % (k, "new " + "; ".join(new) if new
                                           else "", " gone " + "; ".join(gone)
                                           if gone else ""))
            else:
                parts.append("%s: %s -> %s" % (k, a, b))
        why = " | ".join(parts)[:400]
    return {"killed": bool(why), "why": why, "seconds": round(r.seconds, 1)}
