"""expect.py - known divergences, read from data, applied to records.

Why: an interpreter may depart from CPython on purpose or by a known bug
(PyPy raising OSError where CPython warns, spec §11).  Such a departure is
declared in oracle/expectations/<impl>.json - never in code - with a reason
and conditions, so the matrix shows it as XFAIL and a *change* in it (it
goes away: XPASS; it turns into a different departure: FAIL) is loud.

File format (JSON): {"impl": "pypy", "entries": [ENTRY, ...]} where ENTRY is
  "suite", "family", "id"   fnmatch patterns, or lists of them (any may
                            match; default "*")
  "versions"                {"min": "3.9", "below": "3.10"} (optional;
                            compares the interpreter's X.Y.Z numerically)
  "bits"                    32 or 64 (optional): the entry applies only to
                            interpreters of that Py_ssize_t width (the
                            record's python.bits)
  "heapcheck"               true/false (optional): the entry applies only
                            to runs with (true) or without (false) the
                            heap checks (--heapcheck: the record's
                            "heapcheck" lists the checks in effect)
  "reference_warns"         true/false (optional): the entry applies only
                            to cases whose reference walk warns: the
                            reference result records the RuntimeWarning,
                            raises it (filter "error"), or the filter hides
                            it ("ignore") and the record carries the error
                            path's list (error_path_fds)
  "outcome"                 "XFAIL" (the comparison is expected to fail),
                            "ERROR" (the case is expected to error) or
                            "CRASH" (the interpreter is expected to die in
                            the case; "issue" then names the upstream
                            report)
  "issue"                   optional: the upstream issue of the divergence
  "reason"                  one sentence, shown in the report (required)
  "native"                  optional partial canonical result: each key
                            given must match the native result (nested
                            dicts match partially), or the outcome is FAIL
  "same"                    optional list of canonical keys where native
                            must still equal the reference (else FAIL)
  "fds_closed_is"           optional "error_path": the native fds_closed
                            must equal the record's error_path_fds
  "may_pass"                true (optional): the divergence is not
                            deterministic (the interpreter reads
                            uninitialised memory, or a heap check misses
                            an overflow that wrote the check's own value),
                            so a run that matches the reference is PASS,
                            not XPASS; on a CRASH entry, a run that does
                            not crash is judged by the entries after it
  "repro"                   optional: the divergence's minimised reproducer
                            (a corpus file, or a corpus/oracle/ script that
                            exits 1 on an interpreter that diverges)
The first matching entry wins.

Outcomes (classify()): PASS, FAIL, XFAIL, XPASS, ERROR, CRASH (the
worker died in the case: a record with "crash"; XFAIL when declared).  A leaked fd is a
FAIL whatever the expectation says, unless the reference predicts it (a
descriptor CPython under the model neither returns nor closes: leak_lines)
and both sides leak it; a predicted leak that does not happen is a FAIL.
"""

import fnmatch
import json
import os
import re

from oracle.judge import canon

HERE = os.path.dirname(os.path.abspath(__file__))
EXPECT_DIR = os.path.join(HERE, "expectations")
OUTCOMES = ("PASS", "FAIL", "XFAIL", "XPASS", "ERROR", "CRASH")
# "repro": the minimised reproducer of the divergence (a corpus file or a
# corpus/oracle/ script), shown with the reason.
_ENTRY_KEYS = set(["suite", "family", "id", "versions", "reference_warns",
                   "outcome", "reason", "native", "same", "fds_closed_is",
                   "repro", "may_pass", "issue", "heapcheck", "bits"])


class ExpectationError(ValueError):
    """An expectation file that cannot be used (one-line message)."""


def _ver(text):
    return tuple(int(x) for x in re.findall(r"\d+", str(text))[:3])


def validate(data, source="<data>"):
    """Check an expectation document; returns its entries or raises
    ExpectationError naming the source and the first problem."""
    if not isinstance(data, dict) or not isinstance(data.get("entries"),
                                                    list):
        raise ExpectationError("%s: needs {\"impl\", \"entries\": [...]}"
                               % source)
    for i, e in enumerate(data["entries"]):
        where = "%s: entry %d" % (source, i)
        if not isinstance(e, dict):
            raise ExpectationError(where + " is not an object")
        extra = set(e) - _ENTRY_KEYS
        if extra:
            raise ExpectationError("%s: unknown keys %s" %
                                   (where, sorted(extra)))
        if e.get("outcome") not in ("XFAIL", "ERROR", "CRASH"):
            raise ExpectationError(where + ": outcome must be XFAIL, ERROR "
                                   "or CRASH")
        if not e.get("reason"):
            raise ExpectationError(where + ": a reason is required")
        v = e.get("versions", {})
        if not isinstance(v, dict) or set(v) - set(["min", "below"]):
            raise ExpectationError(where + ": versions takes min/below")
        for k, val in sorted(v.items()):
            if not isinstance(val, str) or not _ver(val):
                raise ExpectationError("%s: versions.%s must be a version "
                                       "string like \"3.10\"" % (where, k))
        for k in ("suite", "family", "id"):
            pats = e.get(k, "*")
            if not (isinstance(pats, str) or (
                    isinstance(pats, list) and pats and
                    all(isinstance(x, str) for x in pats))):
                raise ExpectationError("%s: %s must be a pattern or a "
                                       "non-empty list of patterns"
                                       % (where, k))
        if not isinstance(e["reason"], str):
            raise ExpectationError(where + ": reason must be a string")
        if "bits" in e and e["bits"] not in (32, 64):
            raise ExpectationError(where + ": bits must be 32 or 64")
        for k in ("reference_warns", "may_pass", "heapcheck"):
            if k in e and not isinstance(e[k], bool):
                raise ExpectationError("%s: %s must be true or false"
                                       % (where, k))
        if "native" in e and not isinstance(e["native"], dict):
            raise ExpectationError(where + ": native must be an object "
                                   "(a partial canonical result)")
        same = e.get("same", [])
        if not (isinstance(same, list) and
                all(isinstance(x, str) for x in same)):
            raise ExpectationError(where + ": same must be a list of "
                                   "canonical keys")
        if "issue" in e and not isinstance(e["issue"], str):
            raise ExpectationError(where + ": issue must be a string")
        if "repro" in e and not isinstance(e["repro"], str):
            raise ExpectationError(where + ": repro must be a string")
        if e.get("fds_closed_is") not in (None, "error_path"):
            raise ExpectationError(where + ": fds_closed_is: error_path")
    return data["entries"]


def load(impl, directory=EXPECT_DIR):
    """The entries for an implementation ([] if it has no file)."""
    path = os.path.join(directory, "%s.json" % impl)
    if not os.path.exists(path):
        return []
    try:
        with open(path, "rb") as f:
            data = json.loads(f.read().decode("utf-8"))
    except ValueError as e:     # bad JSON or not UTF-8
        raise ExpectationError("%s: not JSON: %s" % (path, e))
    except (IOError, OSError) as e:
        raise ExpectationError("%s: cannot read: %s" % (
            path, e.strerror or e))
    entries = validate(data, path)
    if data.get("impl") != impl:
        raise ExpectationError("%s: \"impl\" is %r, the file is for %r"
                               % (path, data.get("impl"), impl))
    return entries


def reference_warns(ref):
    """True iff the reference result carries the RuntimeWarning (recorded,
    or raised because the filter is "error")."""
    if not isinstance(ref, dict):
        return False
    exc = ref.get("exception") or {}
    return bool(ref.get("warnings")) or exc.get("type") == "RuntimeWarning"


def walk_warns(rec):
    """True iff the reference walk of the record's case warns: its result
    carries the RuntimeWarning, or a filter that hides it ("ignore") ran
    and the driver gave the record the error path's list
    (oracle.suites.inject.complete_records adds error_path_fds exactly when
    the walk warns and the mode is not "error")."""
    return reference_warns(rec.get("reference")) or "error_path_fds" in rec


def matches(entry, rec):
    """Does the entry apply to a record (patterns and conditions)?"""
    for key, field in (("suite", rec.get("suite", "")),
                       ("family", rec.get("family", "")),
                       ("id", rec.get("id", ""))):
        pats = entry.get(key, "*")
        if isinstance(pats, str):
            pats = [pats]
        if not any(fnmatch.fnmatchcase(field, p) for p in pats):
            return False
    v = entry.get("versions", {})
    have = _ver(rec.get("python", {}).get("version", "0"))
    if "min" in v and have < _ver(v["min"]):
        return False
    if "below" in v and have >= _ver(v["below"]):
        return False
    if "reference_warns" in entry and \
            entry["reference_warns"] != walk_warns(rec):
        return False
    if "heapcheck" in entry and \
            entry["heapcheck"] != bool(rec.get("heapcheck")):
        return False
    if "bits" in entry and entry["bits"] != rec.get("python", {}).get("bits"):
        return False
    return True


def partial_diff(want, have, prefix="native"):
    """Lines where `have` departs from the partial `want`."""
    if isinstance(want, dict):
        if not isinstance(have, dict):
            return ["%s: %r is not an object" % (prefix, have)]
        out = []
        for k in sorted(want):
            out.extend(partial_diff(want[k], have.get(k, "<absent>"),
                                    "%s.%s" % (prefix, k)))
        return out
    return [] if want == have else ["%s: expected %r, got %r" %
                                    (prefix, want, have)]


def _target(leak):
    """What an "fd -> target" leak line names (fd numbers differ between
    the two sides)."""
    return leak.split(" -> ", 1)[-1]


def leak_lines(rec):
    """The record's fd leaks, side by side with the ones the reference
    predicts (rec["predicted_leaks"]: descriptors CPython receives under
    the model and neither returns nor closes, from
    oracle.reference.refsocket.take_dropped): "leaked fd (SIDE): ..." for
    every leak not predicted and "predicted leak did not happen (SIDE):
    ..." for every predicted one missing, each side compared by target;
    [] when each side leaked exactly what was predicted (mostly:
    nothing).  A failing record whose reference walked at the
    interpreter's buffer address (rec["base"], legacy glibc) is told by
    actual()."""
    pred = rec.get("predicted_leaks") or {}
    want = [_target(l) for l in pred.get("fds", [])]
    out = []
    leaks = rec.get("leaked_fds", {})
    for side in ("native", "reference"):
        rest = list(want)
        for leak in leaks.get(side, []):
            if _target(leak) in rest:
                rest.remove(_target(leak))
            else:
                out.append("leaked fd (%s): %s" % (side, leak))
        for t in rest:
            out.append("predicted leak did not happen (%s): %s" % (side, t))
    return out


def predicted_leak(rec, outcome):
    """The record's predicted leak (rec["predicted_leaks"]) when it
    happened as predicted and the case is not otherwise bad (outcome PASS
    or XFAIL): a defect of CPython under that libc, which the report
    lists; else None."""
    pred = rec.get("predicted_leaks")
    if not pred or outcome not in ("PASS", "XFAIL") or leak_lines(rec):
        return None
    return pred


def actual(rec):
    """(raw outcome, detail lines) before expectations: PASS, FAIL, ERROR,
    CRASH."""
    if rec.get("crash"):
        return "CRASH", [rec["crash"]]
    if rec.get("error"):
        return "ERROR", [rec["error"]]
    lines = canon.diff(rec.get("native"), rec.get("reference"))
    lines.extend(leak_lines(rec))
    if lines and rec.get("base"):
        lines.append("the reference walked the buffer at msg_control = %s, "
                     "where the interpreter's lay (spec §3.4)" % rec["base"])
    return ("FAIL" if lines else "PASS"), lines


def classify(rec, entries):
    """Final outcome of a record under expectation entries.

    Returns (outcome, detail lines, the matching entry or None)."""
    raw, lines = actual(rec)
    entry = None
    for i, e in enumerate(entries):
        if matches(e, rec):
            entry = e
            break
    if entry is not None and entry["outcome"] == "CRASH" and \
            entry.get("may_pass") and raw != "CRASH":
        return classify(rec, entries[i + 1:])
    leaks = [l for l in lines
             if l.startswith(("leaked fd", "predicted leak"))]
    if entry is None:
        return raw, lines, None
    if leaks:
        return "FAIL", leaks + ["(leaks are never expected)"], entry
    if entry["outcome"] == "CRASH" or raw == "CRASH":
        if raw == entry["outcome"]:
            return "XFAIL", lines, entry
        if raw == "CRASH":
            return "CRASH", lines, entry
        return ("XPASS" if raw == "PASS" else "FAIL"), lines, entry
    if entry["outcome"] == "ERROR":
        if raw == "ERROR":
            return "XFAIL", lines, entry
        return ("XPASS" if raw == "PASS" else "FAIL"), lines, entry
    if raw == "ERROR":
        return "ERROR", lines, entry
    if raw == "PASS" and entry.get("may_pass"):
        return "PASS", lines, entry
    if raw == "PASS":
        return "XPASS", ["expected to fail (%s) but matched the reference"
                         % entry["reason"]], entry
    bad = partial_diff(entry.get("native", {}), rec.get("native"))
    for key in entry.get("same", []):
        bad.extend(canon.diff(rec["native"].get(key),
                              rec["reference"].get(key), "same:" + key))
    if entry.get("fds_closed_is") == "error_path":
        bad.extend(canon.diff(rec["native"].get("fds_closed"),
                              rec.get("error_path_fds"),
                              "fds_closed_is:error_path"))
    if bad:
        return "FAIL", ["the divergence is not the expected one:"] + bad \
            + lines, entry
    return "XFAIL", lines, entry
