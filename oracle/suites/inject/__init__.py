"""oracle.suites.inject - injected control buffers through the interpreter's own
socket.recvmsg(), compared with the reference library's JSON.

Why: the Linux kernel never writes a truncated or malformed cmsg header (spec
§10), so the paths that matter most - the one RuntimeWarning (§2) and the fds
CPython closes when the call raises (§4) - can only be reached by replacing
the control bytes of a real call.  The LD_PRELOAD shim in shim/ does
that; this suite drives it.  Each case is one control buffer from corpus/
(the spec §12 seeds K01-K24 / F1-F9 that scripts/make-seeds writes, kernel
captures, fuzz finds) in one warning mode:
  record  warnings.simplefilter("always"): the call returns, the warning is
          recorded, nothing is closed;
  error   warnings.simplefilter("error"): the call raises, and exactly the
          error path's descriptors are closed;
and the spec seeds also in the two other filters §12 asks for:
  default warnings.simplefilter("default"): as record for one call (each
          case enters its own catch_warnings, which resets the registry);
  ignore  warnings.simplefilter("ignore"): the call returns its items, no
          warning is shown, nothing is closed.
The native side runs recvmsg(1, C) (the spec seeds also recvmsg_into with one
1-byte bytearray) on a real AF_UNIX stream socketpair that carries the 1-byte
payload b"x": the data and the call stay real, only the control bytes are
replaced.

What "closed" means: §4 says the error path issues one close() per whole
4-byte slot, passing every int (negative, invalid, repeated) to close().  So
the shim logs the close() calls the interpreter makes during the call, in
order, and performs none of them (shim/inject.c, "watch").  The
native result's fds_closed is that log; the reference's is the library's
close_on_error list, in walk order.  Comparing the sequences catches too
few, too many, wrong order and repeats, for every int including those no
real descriptor could sit at.  Because nothing is really closed, an int that
names one of the worker's own fds (0-2, the socketpair) is harmless, so
every case runs in the worker on one reused socketpair (the address cases
on one AF_UNIX datagram pair, below), with no fork and no descriptors
planted.  The worker's fd table is still checked after every
call (a count, and a full listing only when it changed): a descriptor the
call opened is a leak; one that vanished (closed behind the shim's back) is
an error of the case.  The cyclic garbage collector is paused during the
call, so no finalizer's close() lands in the log.  Limit: an interpreter
that crashes on a buffer takes the worker with it; the driver then reports
the missing records as ERROR.

The reference side is cr_json_parse_buf() of libcmsgref.so (the one JSON
writer; the walk is never re-implemented here): items, warning and the
close_on_error list, turned into the canonical result the native call must
equal.  It depends on the bytes, the libc model, the mode and the method,
and under legacy glibc also on where the interpreter's control buffer lies
(spec §3.4: its next-header sum wraps at the buffer's address), never on
anything else of the interpreter, so the driver computes it
(complete_records): once per buffer and model for every interpreter of the
run, and per address only for a legacy walk that depends on it.  The
worker's record carries the native side, the model, the address of
msg_control the shim saw (control_addr) and the corpus file (with its
CRC-32, so a file changed under a run is an error, not a wrong
reference).

Limits and facts encoded:
- The shim must be preloaded (the driver sets LD_PRELOAD and CMSGREF_INJECT);
  without it configure() raises and the worker reports the suite as failed.
- msg_flags of the reference is 0 and the address None: the kernel's answer
  for a socketpair message that carries no ancillary data; the shim changes
  only the control bytes and msg_controllen.
- Address cases (ADDR_CASES, families addr-<mode>): the shim also forces
  msg_namelen (§6's short lengths, F10), on the socketpair or on an AF_UNIX
  datagram pair whose sender has an abstract name; their reference side is
  oracle.reference.refsocket on the same injected call, in the worker, so the record
  comes complete and complete_records leaves it alone.
- Failed waits (POLL_CASES, family poll-error): the shim makes the first
  poll() on a socket with a timeout fail with ENOMEM (§7: OSError with
  that errno, nothing retried); both sides in the worker, as the address
  cases.
- Allocation failures (ALLOC_CASES, family alloc-error): a library of
  its own (shim/alloc.c, preloaded into that child alone) fails one
  malloc/calloc/realloc after the system call returned, in a child run
  with PYTHONMALLOC=malloc (§4.2: MemoryError, and the error path
  closes the SCM_RIGHTS slots); alloc.py.  PyPy has no PYTHONMALLOC: an
  ERROR, declared in its expectations.
- The libc model is the one the driver chose for the interpreter
  (configure(libc=...); oracle/sources/model.py), else CMSGREF_LIBC, else
  detected here (detect.py: K14 and K18, as §3 advises); every record
  carries it.
- The buffers: corpus.py.

List the cases: python3 -m oracle.suites.inject --list [SUBSTRING] (the
files left out follow on stderr).  Reproduce one case, native and
reference, classified, on this interpreter only, into its own output
directory (each record's "repro" is this, with absolute paths; see
cases.repro):
  make -C REPO conformance ORACLE_ARGS="--suites inject --pythons PY
      --only 'corpus:cmsg_parse/seed-k08-len-40-truncated@error'
      --out build/conformance-repro"
(the worker alone, LD_PRELOAD=$PWD/build/inject/libcrinject.so PYTHONPATH=.
python3 -m oracle.worker --suite inject --only seed-k08, prints the native
side only).
"""

import os

from oracle.reference import refsocket
from oracle.suites.inject import cases, corpus
from oracle.suites.inject.cases import iter_cases  # noqa: F401
from oracle.suites.inject.corpus import (  # noqa: F401
    CORPUS, CorpusError, corpus_files, skipped_files, write_pack)
from oracle.suites.inject.detect import detect_model
from oracle.suites.inject.reference import complete_records  # noqa: F401
from oracle.suites.inject.session import get_session, shim

_STATE = {"libc": None}     # the worker's model, once configured


def configure(lib=None, libc=None):
    """Find the preloaded shim, take the libc model (libc, as the driver
    chose it for this interpreter; else CMSGREF_LIBC; else detected) and
    load libcmsgref.so (lib or CMSGREF_LIB) through oracle.reference, the
    one ctypes binding.  Raises RuntimeError with one sentence if
    something is unavailable."""
    shim()
    name = libc or os.environ.get("CMSGREF_LIBC") or detect_model()
    try:
        refsocket.load(lib, libc=name)
    except (OSError, ValueError) as e:
        raise RuntimeError("cannot load the reference (%s): %s" % (name, e))
    corpus.load_pack(os.environ.get(corpus.PACK_ENV))
    _STATE["libc"] = name


def _ensure():
    if _STATE["libc"] is None:
        configure()


def _run_addr_case(case_id):
    """An address case (cases.ADDR_CASES), both sides in this worker
    (_run_both).  Returns the complete record."""
    src, _, mode = case_id.rpartition("@")
    name = src[len("addr:"):]
    if mode not in cases.MODES or name not in cases.ADDR_CASES:
        raise ValueError("bad case id %r" % case_id)
    where, namelen, buf = cases.ADDR_CASES[name]
    rec = _run_both(where, buf, mode, "recvmsg", namelen=namelen)
    rec.update(family="addr-%s" % mode, id=case_id, namelen=namelen,
               repro=cases.repro("address case %s, warnings %s"
                                 % (name, mode), case_id))
    return rec


def _run_poll_case(case_id):
    """A failed wait (cases.POLL_CASES), both sides in this worker
    (_run_both): the first poll() on the socket fails with the case's
    errno.  Returns the complete record; an ERROR if a side's poll()
    failure never went out (it did not wait through libc's poll())."""
    name = case_id[len("poll:"):]
    if name not in cases.POLL_CASES:
        raise ValueError("bad case id %r" % case_id)
    method, where, eno = cases.POLL_CASES[name]
    rec = _run_both(where, b"", "record", method, poll_errno=eno)
    rec.update(family=cases.POLL_FAMILY, id=case_id, poll_errno=eno,
               repro=cases.repro("failed wait %s" % name, case_id))
    return rec


def _run_both(where, buf, mode, method, namelen=-1, poll_errno=0):
    """The interpreter's call, then oracle.reference.refsocket's, on the
    same socket (where: "named" the datagram pair, else the socketpair)
    with the same control bytes, forced msg_namelen and failed poll(),
    each with the close() watch.  Returns the record without its family,
    id and repro."""
    session = get_session()
    target = session.named() if where == "named" else None
    sides, leaks, errors = {}, {}, []
    for side in ("native", "reference"):
        if side == "reference":
            refsocket.install()
        try:
            res, leaked, lost, delivered = session.observe(
                buf, mode, method, target, namelen, poll_errno)
        finally:
            if side == "reference":
                refsocket.uninstall()
        sides[side], leaks[side] = res, leaked
        if poll_errno and not session.poll_failed:
            errors.append("the %s call did not wait through libc's poll() "
                          "on the socket" % side)
        elif not delivered and not poll_errno:
            errors.append("the shim did not rewrite the %s call" % side)
        elif lost:
            errors.append("descriptor(s) %s vanished during the %s call "
                          "without a close() the shim saw" % (lost, side))
    rec = {"native": sides["native"], "reference": sides["reference"],
           "leaked_fds": leaks, "libc": _STATE["libc"],
           "control_hex": buf.hex()}
    if errors:
        rec["error"] = "; ".join(errors)
    return rec


def run_case(case_id):
    """One case, native side only: the interpreter's call in this worker
    (_Session.observe).  The driver adds the reference (complete_records).
    An address case (addr:...), a failed wait (poll:...) or an
    allocation failure (alloc:..., in a child: alloc.py) is run whole
    here (_run_addr_case, _run_poll_case, alloc.run_case)."""
    _ensure()
    if case_id.startswith("addr:"):
        return _run_addr_case(case_id)
    if case_id.startswith("poll:"):
        return _run_poll_case(case_id)
    if case_id.startswith("alloc:"):
        # imported here: the module is also the child's __main__
        from oracle.suites.inject import alloc
        return alloc.run_case(case_id, _STATE["libc"])
    rel, mode, method = cases.split_case(case_id)
    session = get_session()
    buf, crc = corpus.buffer(rel)
    native, leaks, lost, delivered = session.observe(buf, mode, method)
    rec = {"family": cases.family_of(rel, method, mode), "id": case_id,
           "native": native, "leaked_fds": {"native": leaks},
           "repro": cases.repro("corpus/%s via %s, warnings %s"
                                % (rel, method, mode), case_id),
           "control_file": "corpus/" + rel, "control_crc32": crc,
           "control_addr": session.control_addr, "libc": _STATE["libc"]}
    if not delivered:
        rec["error"] = ("the shim did not rewrite the call: the interpreter "
                        "did not call libc recvmsg on the socket")
    elif lost:
        rec["error"] = ("descriptor(s) %s of the worker vanished during the "
                        "call without a close() the shim saw" % lost)
    return rec


# ------------------------------------------------------ the driver's side
