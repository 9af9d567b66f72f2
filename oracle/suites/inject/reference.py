"""suites/inject/reference.py - the driver's half of an inject case: the
reference result from the library's JSON (cr_json_parse_buf, the one JSON
writer; the walk is never re-implemented here).

It depends on the bytes, the libc model, the mode and the method, and
under legacy glibc on where the interpreter's control buffer lay (the
shim reports msg_control: the record's control_addr; spec §3.4), so the
driver computes it (complete_records) once per buffer and model for every
interpreter of the run, and again at the interpreter's address only where
the legacy walk depends on it: when the library's JSON names a
base_threshold (the first step that depended on the address), else the
walk is the same at every address.  msg_flags of
the reference is 0 and the address None: the kernel's answer for a
socketpair message that carries no ancillary data (the shim changes only
the control bytes and msg_controllen).
"""

import json
import os

from oracle.judge import canon
from oracle.reference import refsocket
from oracle.suites.inject import corpus
from oracle.suites.inject.cases import split_case
from oracle.suites.inject.session import CALL_FILE, CALL_LINES, PAYLOAD
from tools import fdtable

WARNING_TEXT = refsocket.WARNING_TEXT
_ref_cache = {}          # (bytes, model, base) -> (parsed, leaks)


def reference_parse(buf, libc=None, base=None):
    """The library's JSON for buf under the model named libc (default: the
    one refsocket was loaded with), as a dict, with buf assumed at address
    base (None: the library's default; only the legacy model reads it).
    Loads the library if needed; needs no shim."""
    model = None if libc is None else refsocket.model_by_name(libc)
    return json.loads(refsocket.json_parse(buf, model, base))


def reference_result(parsed, mode, method):
    """The canonical result the interpreter must produce, from the JSON."""
    if parsed["warning"] and mode == "error":
        exc = {"type": "RuntimeWarning", "message": WARNING_TEXT,
               "args": [WARNING_TEXT], "errno": None}
        return {"data": None, "nbytes": None, "ancdata": [],
                "msg_flags": None, "address": None, "warnings": [],
                "exception": exc,
                "fds_closed": list(parsed["close_on_error"]),
                "fds_received": []}
    warns = []
    if parsed["warning"] and mode in ("record", "default"):
        warns = [{"category": "RuntimeWarning", "message": WARNING_TEXT,
                  "filename": CALL_FILE, "lineno": CALL_LINES[method]}]
    return {"data": PAYLOAD.hex() if method == "recvmsg" else None,
            "nbytes": len(PAYLOAD),
            "ancdata": canon.canon_ancdata(
                [(it["level"], it["type"], bytes.fromhex(it["data"]))
                 for it in parsed["items"]], rights="raw", shapes=False),
            "msg_flags": 0, "address": None, "warnings": warns,
            "exception": None, "fds_closed": [], "fds_received": []}


def _reference(buf, libc, base=None):
    """(parsed JSON, fd leaks of the library call) for buf under model
    libc at address base (None: the library's default), computed once per
    distinct triple for the whole run.  The fd table is checked around the
    call (a descriptor the library closed shows as "(vanished)")."""
    key = (buf, libc, base)
    got = _ref_cache.get(key)
    if got is None:
        before = fdtable.snapshot()
        parsed = reference_parse(buf, libc, base)
        after = fdtable.snapshot(before)
        lost = fdtable.diff(before, after).vanished
        got = (parsed, fdtable.leaks(before, after) +
               ["%d -> (vanished)" % fd for fd in lost])
        _ref_cache[key] = got
    return got


def complete_records(records, lib=None):
    """The driver's half of a case (oracle.conformance calls it on every
    record of this suite): adds "reference", leaked_fds["reference"], for
    a model that reads the buffer's address "base" (the address the
    reference walked at: the record's control_addr, where the
    interpreter's buffer lay) and,
    in every mode but error when the reference warns, "error_path_fds"
    (the list the error path would have closed; in error mode it is the
    reference's fds_closed already: oracle.judge.expect's fds_closed_is).  Loads lib (else
    CMSGREF_LIB or the default path) once; needs no shim.  A record the
    worker marked as an error is left as it is; one whose corpus file is
    unreadable or changed since the worker read it gets an "error"."""
    if records and not refsocket.loaded():
        refsocket.load(lib)
    files = {}
    for rec in records:
        if rec.get("error") or "native" not in rec or "reference" in rec:
            continue        # an error, or complete already (address cases)
        try:
            rel, mode, method = split_case(rec["id"])
        except (KeyError, ValueError) as e:
            rec["error"] = "record without a valid case id: %s" % e
            continue
        buf = files.get(rel)
        if buf is None:
            try:
                buf = files[rel] = corpus.read(
                    os.path.join(corpus.CORPUS, rel))
            except OSError as e:
                rec["error"] = "cannot read corpus/%s: %s" % (rel, e)
                continue
        if corpus.crc32(buf) != rec.get("control_crc32"):
            rec["error"] = ("corpus/%s changed between the worker's call "
                            "and the reference" % rel)
            continue
        libc = rec.get("libc")
        try:
            if not isinstance(libc, str):
                raise ValueError("the record names no model")
            parsed, ref_leaks = _reference(buf, libc)
            if "base" in parsed:        # the model reads the address
                addr = rec.get("control_addr") or None
                if addr is not None and parsed["base_threshold"]:
                    parsed, ref_leaks = _reference(buf, libc, addr)
                rec["base"] = "0x%x" % addr if addr else parsed["base"]
        except ValueError as e:
            rec["error"] = "no reference for libc %r: %s" % (libc, e)
            continue
        rec["reference"] = reference_result(parsed, mode, method)
        rec["leaked_fds"]["reference"] = ref_leaks
        if mode != "error" and parsed["warning"]:
            rec["error_path_fds"] = parsed["close_on_error"]
    return records


# --------------------------------------------------------------------- CLI
