"""suite_inject.py - injected control buffers through the interpreter's own
socket.recvmsg(), compared with the reference library's JSON.

Why: the Linux kernel never writes a truncated or malformed cmsg header (spec
§10), so the paths that matter most - the one RuntimeWarning (§2) and the fds
CPython closes when the call raises (§4) - can only be reached by replacing
the control bytes of a real call.  The LD_PRELOAD shim in oracle/inject/ does
that; this suite drives it.  Each case is one control buffer from corpus/
(the spec §12 seeds K01-K24 / F1-F9 that scripts/make-seeds writes, kernel
captures, fuzz finds) in one warning mode:
  record  warnings.simplefilter("always"): the call returns, the warning is
          recorded, nothing is closed;
  error   warnings.simplefilter("error"): the call raises, and exactly the
          error path's descriptors are closed.
The native side runs recvmsg(1, C) (the spec seeds also recvmsg_into with one
1-byte bytearray) on a real AF_UNIX stream socketpair that carries the 1-byte
payload b"x" (the data and the call stay real), with a real fd (a dup of
one pipe end) planted at every descriptor number the error path would
close and at every other int of the buffer, so "which fds were closed" is
observed in both directions (too few, too many), not assumed.

Where the native call runs (issue 5, figures 3 and 4): in the worker
itself, on one socketpair reused for every case (run_inprocess), not in a
child forked per case (30-60 ms each on this VM).  The danger is that the
error path close()s arbitrary ints, which could name the worker's own fds.
So at the first case the worker raises its soft RLIMIT_NOFILE to the hard
limit and keeps everything it needs - the socketpair, the shared pipe end,
copies of fds 0-2 - in the HIGH_ROOM numbers just below it, far above
every planted number.  Fds 0-2 themselves may be planted over: their
copies are dup2()ed back after the call.  Before each call, every int the
call could close (every 4-aligned int of the buffer and the reference's
close_on_error list) is checked against the worker's other open fds; if
one collides (an inherited fd, an interpreter-internal one, a buffer that
names a protected number), that case alone runs the old way, in a forked
child (run_native; the record's "native_in" says "worker" or "child").
After the call the fd table must be exactly what it was, except that the
planted fds the call left open are kept for the next case, whose numbers
mostly overlap (what it does not plant is closed before its call): fds the
call leaked are reported and then closed; a worker fd closed although no
candidate int named it is an error of the case, and every later case
forks.  All of that fd bookkeeping - the table check, planting, which
planted fds the call closed, leaks, lost worker fds, restoring 0-2 - is
done by the shim (oracle/inject/field.c) in one native call before and
one after the call (_Field), through one shared mmap, not by a Python
call per descriptor; everything about a buffer that does not depend on
the mode or method (reference, planted numbers, hex, labels) is computed
once per buffer (_Prep).  Limit of the in-process path: an interpreter
that crashes on a buffer takes the worker with it; the driver then
reports the missing records as ERROR (the forked path reported the
signal per case).
CMSGREF_INJECT_FORK=1 forces the forked path for every case; both paths
give identical records (oracle/tests/test_inject_inprocess.py).  The reference
side is cr_json_parse_buf() of libcmsgref.so (the one JSON writer; the walk
is never re-implemented here): items, warning and the close_on_error list,
turned into the canonical result the native call must equal.

Limits and facts encoded:
- The shim must be preloaded (the driver sets LD_PRELOAD and CMSGREF_INJECT);
  without it configure() raises and the worker reports the suite as failed.
- Only descriptor numbers below plant_limit() (at most 4096, lower when
  RLIMIT_NOFILE is small) can be planted; larger or
  negative ints in an SCM_RIGHTS payload are still passed to close() by the
  interpreter, which fails with EBADF and changes nothing observable.
- msg_flags of the reference is 0 and the address None: the kernel's answer
  for a socketpair message that carries no ancillary data; the shim changes
  only the control bytes and msg_controllen.
- The libc model is detected by behaviour (detect_model: K14 and K18, as
  §3 advises) unless CMSGREF_LIBC names one; every record carries it.
- Corpus files are taken from corpus/{cmsg_parse,cmsg_diff,inject}/ as raw
  control bytes (C = the file size, at most MAX_CONTROL bytes); any byte
  string is a valid control buffer.  Other corpus/ directories hold
  structured fuzz inputs and are not used.

Reproduce one case (each record's "repro" says the same):
  make oracle-inject-shim && LD_PRELOAD=$PWD/build/inject/libcrinject.so \
  PYTHONPATH=. python3 -m oracle.worker --suite inject --only seed-k08
"""

import atexit
import ctypes
import fcntl
import json
import mmap
import os
import re
import resource
import select
import signal
import socket
import struct
import sys
import time
import warnings

from oracle import canon, refsocket

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
CORPUS = os.path.join(REPO, "corpus")
PAYLOAD = b"x"
MODES = ("record", "error")
WARNING_TEXT = "received malformed or improperly-truncated ancillary data"
PLANT_LIMIT = 4096       # plant real fds only below this number
PLANT_MAX = 1024         # at most this many planted fds per case
SPARE = 8                # free numbers kept above the planted ones
MAX_CONTROL = 65536      # the shim's CR_INJECT_MAX
CHILD_TIMEOUT = 20.0     # seconds for one native call in its child
# corpus/ directories whose files are raw control buffers (C = file size):
# the fuzz targets cmsg_parse / cmsg_diff read them that way.
CONTROL_DIRS = ("cmsg_parse", "cmsg_diff", "inject")
SKIP_EXT = (".md", ".txt", ".json", ".py", ".c", ".h", ".sh", ".html")

# Descriptors of the in-process path (see run_inprocess): protected fds
# are moved to [floor, floor + HIGH_ROOM) just under RLIMIT_NOFILE.
HIGH_ROOM = 64
NR_OPEN_CAP = 1 << 20    # Linux's default fs.nr_open: no fd can be higher
STD_FDS = (0, 1, 2)      # may be planted over; restored after every case
F_DUPFD_CLOEXEC = getattr(fcntl, "F_DUPFD_CLOEXEC", 1030)  # Linux value
FIONREAD = 0x541B        # Linux ioctl: bytes queued on a socket

_ready = False
_shim = None
_pipe_r = None           # the shared pipe end planted fds are dups of
_pipe_w = None           # its write end (the shim's field probe uses it)
_inproc = None           # None: not set up yet; False: fork every case
_ref_cache = {}          # control bytes -> (parsed JSON, reference leaks)
_prep_cache = {}         # corpus path -> _Prep (per-buffer work, done once)
_last_after = None       # _observe's {fd: (dev, ino)} right after the call
# The soft limit the worker started with: plant_limit() keeps using it
# after the in-process setup raises the limit, so the planted numbers
# (and every record) are the same whichever path runs the call.
_NOFILE_SOFT = resource.getrlimit(resource.RLIMIT_NOFILE)[0]


# ------------------------------------------------------------- inputs

def spec_seed(rel):
    """True for the spec §12 seeds (seed-kNN-*, seed-fN-*) that
    scripts/make-seeds writes into corpus/cmsg_parse: they also go through
    recvmsg_into."""
    return re.match(r"cmsg_parse/seed-[kf]\d", rel) is not None


def seed_bytes(prefix):
    """The bytes of corpus/cmsg_parse/<prefix>-*, e.g. seed_bytes("seed-k14").
    Raises RuntimeError naming the generator if the seed is missing."""
    d = os.path.join(CORPUS, "cmsg_parse")
    names = sorted(f for f in (os.listdir(d) if os.path.isdir(d) else [])
                   if f.startswith(prefix + "-"))
    if not names:
        raise RuntimeError("corpus/cmsg_parse/%s-* is missing (make "
                           "fuzz-seeds writes it)" % prefix)
    with open(os.path.join(d, names[0]), "rb") as f:
        return f.read()


def corpus_files(root=CORPUS):
    """Relative paths of corpus files usable as control buffers, sorted:
    every file under the CONTROL_DIRS of corpus/ (the others hold
    structured fuzz inputs, not control bytes)."""
    out = []
    for sub in CONTROL_DIRS:
        out.extend(os.path.join(sub, f) for f in _files(os.path.join(root,
                                                                     sub)))
    return sorted(out)


def _files(root):
    out = []
    if not os.path.isdir(root):
        return out
    for d, dirs, files in os.walk(root):
        dirs[:] = sorted(x for x in dirs if not x.startswith("."))
        for f in files:
            full = os.path.join(d, f)
            if f.startswith(".") or f.lower().endswith(SKIP_EXT):
                continue
            if os.path.getsize(full) <= MAX_CONTROL:
                out.append(os.path.relpath(full, root))
    return sorted(out)


# ------------------------------------------------------------- the suite

def configure(lib=None):
    """Find the preloaded shim, pick the libc model (CMSGREF_LIBC, else
    detected) and load libcmsgref.so (lib or CMSGREF_LIB) through
    oracle.refsocket, the one ctypes binding.

    Raises RuntimeError with one sentence if something is unavailable."""
    global _shim, _ready
    me = ctypes.CDLL(None)
    if not hasattr(me, "cr_inject_arm"):
        raise RuntimeError("the injection shim is not preloaded: run with "
                           "LD_PRELOAD=build/inject/libcrinject.so")
    _shim = me
    _shim.cr_inject_arm.argtypes = [ctypes.c_int, ctypes.c_char_p,
                                    ctypes.c_size_t]
    _shim.cr_inject_count.restype = ctypes.c_long
    name = os.environ.get("CMSGREF_LIBC") or detect_model()
    try:
        refsocket.load(lib, libc=name)
    except (OSError, ValueError) as e:
        raise RuntimeError("cannot load the reference (%s): %s" % (name, e))
    _ready = True


def _visits_second_header(buf):
    """Inject buf into one real recvmsg of this interpreter; True if the
    walk reached the second header (two items, or - PyPy - the call raised
    because that header is truncated)."""
    a, b = socket.socketpair()
    try:
        a.sendall(PAYLOAD)
        b.settimeout(5.0)
        _shim.cr_inject_arm(b.fileno(), buf, len(buf))
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            try:
                return len(b.recvmsg(len(PAYLOAD), len(buf))[1]) == 2
            except OSError:
                return True
    finally:
        _shim.cr_inject_disarm()
        a.close()
        b.close()


def detect_model():
    """The libc model this interpreter was compiled against, by behaviour
    (spec §3: the headers at build time decide, not the running libc):
    K14 (a second header ending exactly at C) is skipped only by musl's
    strict rule; K18 (a second header whose length overruns C) is skipped
    only by legacy glibc.  Returns "glibc", "glibc-legacy" or "musl"."""
    if not _visits_second_header(seed_bytes("seed-k14")):
        return "musl"
    if not _visits_second_header(seed_bytes("seed-k18")):
        return "glibc-legacy"
    return "glibc"


def _ensure():
    if not _ready:
        configure()


def iter_cases():
    """(family, case_id) for every corpus control buffer through recvmsg,
    and the spec seeds also through recvmsg_into, in both warning modes.
    Families: spec-<mode>, spec-into-<mode> (the §12 K/F seeds),
    corpus-<dir>-<mode> (everything else)."""
    files = corpus_files()
    for rel in files:
        for mode in MODES:
            yield family_of(rel, "recvmsg", mode), "corpus:%s@%s" % (rel,
                                                                     mode)
    for rel in files:
        if spec_seed(rel):
            for mode in MODES:
                yield (family_of(rel, "recvmsg_into", mode),
                       "corpus-into:%s@%s" % (rel, mode))


def family_of(rel, method, mode):
    """The matrix row of a corpus file for a method and warning mode."""
    if spec_seed(rel):
        return "spec-%s%s" % ("into-" if method == "recvmsg_into" else "",
                              mode)
    return "corpus-%s-%s" % (rel.split(os.sep)[0], mode)


def _split_case(case_id):
    """(corpus path, mode, method) of a case id; ValueError if bad."""
    src, _, mode = case_id.rpartition("@")
    kind, _, rel = src.partition(":")
    if mode not in MODES or kind not in ("corpus", "corpus-into") \
            or not rel or ".." in rel.split(os.sep):
        raise ValueError("bad case id %r" % case_id)
    return rel, mode, "recvmsg_into" if kind == "corpus-into" else "recvmsg"


def _repro(rel, method, mode, case_id):
    return ("corpus/%s via %s, warnings %s: LD_PRELOAD=$PWD/build/inject/"
            "libcrinject.so PYTHONPATH=. python3 -m oracle.worker --suite "
            "inject --only '%s'" % (rel, method, mode, case_id))


def control_for(case_id):
    """(control bytes, mode, method, family, repro) for a case id."""
    rel, mode, method = _split_case(case_id)
    with open(os.path.join(CORPUS, rel), "rb") as f:
        buf = f.read()
    return (buf, mode, method, family_of(rel, method, mode),
            _repro(rel, method, mode, case_id))


def reference_parse(buf):
    """The library's JSON for buf under the configured model, as a dict."""
    _ensure()
    return json.loads(refsocket.json_parse(buf))


def plant_limit(close_list):
    """Descriptor numbers below the returned limit are planted.  It is at
    most PLANT_LIMIT and leaves at least SPARE numbers between it and
    RLIMIT_NOFILE's soft limit that the error path will not close: the
    child's socket and report pipe go there."""
    soft = _NOFILE_SOFT
    if soft == resource.RLIM_INFINITY or soft > PLANT_LIMIT + 4 * SPARE:
        soft = PLANT_LIMIT + 4 * SPARE
    closing = set(close_list)
    limit = min(PLANT_LIMIT, soft)
    while limit > 0 and sum(1 for n in range(limit, soft)
                            if n not in closing) < SPARE:
        limit -= 1
    return limit


def plant_numbers(close_list, buf, ints=None):
    """{label: fd number} for the descriptor numbers to plant: every int the
    error path closes, then every other 4-byte little-endian int at a
    4-aligned offset of buf (where any model's SCM_RIGHTS slots sit), so an
    interpreter that closes too much is caught as surely as one that closes
    too little.  Only 0 <= n < plant_limit(); at most PLANT_MAX, the error
    path's first.  ints: buffer_ints(buf), if the caller has it."""
    limit = plant_limit(close_list)
    first = set(n for n in close_list if 0 <= n < limit)
    if ints is None:
        ints = buffer_ints(buf)
    rest = sorted(n for n in ints if 0 <= n < limit and n not in first)
    return dict(("fd%d" % n, n) for n in (sorted(first) + rest)[:PLANT_MAX])


def _call_recvmsg(sock, clen):
    return sock.recvmsg(len(PAYLOAD), clen)


def _call_recvmsg_into(sock, clen):
    return sock.recvmsg_into([bytearray(len(PAYLOAD))], clen)


CALLS = {"recvmsg": _call_recvmsg, "recvmsg_into": _call_recvmsg_into}
# The file and lines a RuntimeWarning from the native call is attributed to.
CALL_FILE = os.path.basename(__file__).replace(".pyc", ".py")
CALL_LINES = dict((m, f.__code__.co_firstlineno + 1)
                  for m, f in CALLS.items())


def reference_result(parsed, mode, method, planted_labels):
    """The canonical result the interpreter must produce, from the JSON."""
    if parsed["warning"] and mode == "error":
        exc = {"type": "RuntimeWarning", "message": WARNING_TEXT,
               "args": [WARNING_TEXT], "errno": None}
        closed = sorted(l for l, n in planted_labels.items()
                        if n in parsed["close_on_error"])
        return {"data": None, "nbytes": None, "ancdata": [],
                "msg_flags": None, "address": None, "warnings": [],
                "exception": exc, "fds_closed": closed, "fds_received": []}
    warns = []
    if parsed["warning"]:
        warns = [{"category": "RuntimeWarning", "message": WARNING_TEXT,
                  "filename": CALL_FILE, "lineno": CALL_LINES[method]}]
    return {"data": PAYLOAD.hex() if method == "recvmsg" else None,
            "nbytes": len(PAYLOAD),
            "ancdata": canon.canon_ancdata(
                [(it["level"], it["type"], bytes.fromhex(it["data"]))
                 for it in parsed["items"]], rights="raw", shapes=False),
            "msg_flags": 0, "address": None, "warnings": warns,
            "exception": None, "fds_closed": [], "fds_received": []}


def _observe(sock, buf, mode, method, planted):
    """Inject, call, canonicalise: the one native observation, used in the
    worker (run_inprocess) and in a forked child (_native_child).

    sock: an AF_UNIX stream socket with PAYLOAD queued, owned by the
    caller; planted: canon.plant_fds()'s {label: (fd, key)}, already in
    place and still the caller's.  Returns (canonical result, fd leaks,
    calls the shim rewrote).  The fd table taken right after the call is
    kept in _last_after for run_inprocess."""
    global _last_after
    before = canon.fd_snapshot()
    n0 = _shim.cr_inject_count()
    _shim.cr_inject_arm(sock.fileno(), buf, len(buf))
    try:
        ret, exc, caught = _call(sock, mode, method, len(buf))
    finally:
        _shim.cr_inject_disarm()
    injected = _shim.cr_inject_count() - n0
    res = canon.canon_result(ret, exc, caught, method, rights="raw",
                             planted=planted, shapes=False)
    after = canon.fd_snapshot(before)
    leaks = canon.fd_snapshot_leaks(before, after)
    _last_after = after[1]
    return res, leaks, injected


def _plant_source():
    """canon.plant_fds' `make`: a new fd on one shared pipe read end per
    process (each planted number then costs a dup, not a pipe).  Closed
    planted fds are still told apart by fstat identity: nothing reopens
    that pipe during the call.  The shared end is owned here, forever,
    and lives in the protected range; without the in-process setup there
    is no such range and this returns None (canon's default: a pipe per
    planted fd)."""
    global _pipe_r, _pipe_w
    if not _inproc:
        return None
    if _pipe_r is None:
        r, w = os.pipe()
        _pipe_r = fcntl.fcntl(r, F_DUPFD_CLOEXEC, _inproc["floor"])
        _pipe_w = fcntl.fcntl(w, F_DUPFD_CLOEXEC, _inproc["floor"])
        os.close(r)
        os.close(w)
    src = _pipe_r
    return lambda: os.dup(src)


def _native_child(buf, mode, method, numbers, close_set, wfd):
    """In the forked child: plant, inject, call, canonicalise, report.

    The socket and the report pipe are moved to numbers the error path
    will not close (close_set), so the report always gets out."""
    a, b = socket.socketpair()
    a.sendall(PAYLOAD)
    floor = max([10] + [n + 1 for n in numbers.values()])
    bfd = _dup_outside(b.fileno(), floor, close_set)
    wfd2 = _dup_outside(wfd, floor, close_set)
    b.close()
    a.close()  # the byte stays queued on b's side
    os.close(wfd)
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM, 0, bfd)
    sock.settimeout(5.0)
    planted = canon.plant_fds(numbers, _plant_source())
    res, leaks, injected = _observe(sock, buf, mode, method, planted)
    canon.unplant_fds(planted)
    out = json.dumps({"result": res, "leaks": leaks,
                      "injected": injected}).encode()
    while out:
        out = out[os.write(wfd2, out):]


def _dup_outside(fd, floor, avoid):
    """A duplicate of fd at a free number >= floor that is not in avoid.
    The caller owns the new fd; fd stays open.  plant_limit() guarantees
    such a number exists below the soft RLIMIT_NOFILE."""
    while True:
        new = fcntl.fcntl(fd, fcntl.F_DUPFD, floor)
        if new not in avoid:
            return new
        os.close(new)
        floor = new + 1


def run_native(buf, mode, method, numbers, close_set):
    """Fork, run the native call in the child, return (result, leaks,
    injected).

    A child that crashes or hangs yields a result whose exception names the
    signal or the timeout, so the comparison reports it."""
    _ensure()
    r, w = os.pipe()
    sys.stdout.flush()
    sys.stderr.flush()
    pid = os.fork()
    if pid == 0:
        code = 0
        try:
            os.close(r)
            _native_child(buf, mode, method, numbers, close_set, w)
        except BaseException as e:
            try:
                os.write(w, json.dumps({"child_error": "%s: %s" % (
                    type(e).__name__, e)}).encode())
            except Exception:
                pass
            code = 3
        os._exit(code)
    os.close(w)
    chunks = []
    deadline = time.time() + CHILD_TIMEOUT
    timed_out = False
    while True:
        left = deadline - time.time()
        if left <= 0:
            timed_out = True
            break
        ready, _, _ = select.select([r], [], [], left)
        if not ready:
            continue
        chunk = os.read(r, 65536)
        if not chunk:
            break
        chunks.append(chunk)
    os.close(r)
    if timed_out:
        os.kill(pid, signal.SIGKILL)
    _, status = os.waitpid(pid, 0)
    if os.WIFSIGNALED(status) or timed_out or not chunks:
        why = ("timed out after %.0fs" % CHILD_TIMEOUT if timed_out else
               "killed by signal %d" % os.WTERMSIG(status)
               if os.WIFSIGNALED(status) else
               "exited %d without a result" % os.WEXITSTATUS(status))
        res = canon.canon_result(None, None)
        res["exception"] = {"type": "<interpreter crash>", "message": why,
                            "args": [], "errno": None}
        return res, [], None
    got = json.loads(b"".join(chunks).decode())
    if "child_error" in got:
        raise RuntimeError("native child: " + got["child_error"])
    return got["result"], got["leaks"], got["injected"]


def _inprocess_setup():
    """Prepare the worker for native calls in its own process: raise the
    soft RLIMIT_NOFILE to the hard limit (at most NR_OPEN_CAP), keep a
    copy of fds 0-2 and one socketpair in [floor, floor + HIGH_ROOM), far
    above every planted number.  Sets _inproc to {"floor", "saved": {n:
    (copy, cloexec)}, "peer", "sock"} (owned by this module for the life
    of the process), or to False - every case then forks, which is said
    once on stderr - when CMSGREF_INJECT_FORK=1 or the limits leave no
    such range."""
    global _inproc
    _inproc = False
    why = None
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    top = NR_OPEN_CAP if hard == resource.RLIM_INFINITY else \
        min(hard, NR_OPEN_CAP)
    floor = top - HIGH_ROOM
    if os.environ.get("CMSGREF_INJECT_FORK") == "1":
        why = "CMSGREF_INJECT_FORK=1"
    elif floor < 2 * (PLANT_LIMIT + 4 * SPARE):
        why = "the hard RLIMIT_NOFILE (%d) leaves no room above the " \
              "planted numbers" % hard
    elif soft != resource.RLIM_INFINITY and soft < top:
        try:
            resource.setrlimit(resource.RLIMIT_NOFILE, (top, hard))
        except (ValueError, OSError) as e:
            why = "cannot raise RLIMIT_NOFILE to %d: %s" % (top, e)
    if why is not None:
        sys.stderr.write("oracle.suite_inject: %s: every case forks a "
                         "child (30-60 ms a case, about 50x slower)\n"
                         % why)
        return
    saved = {}
    for n in STD_FDS:
        try:
            cloexec = fcntl.fcntl(n, fcntl.F_GETFD) & fcntl.FD_CLOEXEC
            saved[n] = (fcntl.fcntl(n, F_DUPFD_CLOEXEC, floor), cloexec)
        except OSError:
            pass  # not open: nothing to restore
    a, b = socket.socketpair()
    pair = []
    for s in (a, b):
        fd = fcntl.fcntl(s.fileno(), F_DUPFD_CLOEXEC, floor)
        s.close()
        pair.append(socket.socket(socket.AF_UNIX, socket.SOCK_STREAM, 0, fd))
    pair[1].settimeout(5.0)     # as the forked path's socket
    _inproc = {"floor": floor, "saved": saved, "peer": pair[0],
               "sock": pair[1]}
    _plant_source()             # its pipe ends are open before any case
    atexit.register(_inprocess_close)
    try:
        _inproc["field"] = _Field(floor, saved)
    except (RuntimeError, AttributeError) as e:
        sys.stderr.write("oracle.suite_inject: %s: every case forks a "
                         "child (30-60 ms a case, about 50x slower)\n" % e)
        _inproc = False
        return
    _inproc["base"] = _inproc["field"].base


def _inprocess_close():
    """At exit: close the socketpair (PyPy would warn about it)."""
    if _inproc:
        _inproc["peer"].close()
        _inproc["sock"].close()


class _Field(object):
    """The shim's planted-field bookkeeping (oracle/inject/inject.c,
    cr_inject_field_*): one native call before and one after each
    in-process call, instead of a Python call per descriptor.  The shim
    keeps the state (the worker's own fds, the planted ones kept for the
    next case); this holds the ctypes bindings and one anonymous mmap the
    arguments and results travel through: Python writes and reads it
    with slices and struct, the shim gets its addresses as plain ints.
    (PyPy's ctypes converts an int argument in under 1 us, but takes
    3-7 us for an array or bytes argument and 20-200 us to build or slice
    a ctypes array; CPython is fast either way.)  Raises RuntimeError if
    the shim refuses the setup."""

    # Offsets and capacities in the shared mmap (ints are native 4-byte).
    WANT, WANT_CAP = 0, 4096                    # cr_inject.c CR_FIELD_CAP
    CANDS, CANDS_CAP = 16384, 32768
    BUF, BUF_CAP = 16384 + 131072, MAX_CONTROL
    CLOSED = BUF + MAX_CONTROL
    LEAKS, LEAK_CAP = CLOSED + 4 * 4096, 1024
    LOST, LOST_CAP = LEAKS + 4 * 1024, 256
    COUNTS = LOST + 4 * 256                     # 4 C longs
    STD = COUNTS + 32                           # 6 ints: copies, cloexec
    PAYLOAD = STD + 32
    TARGETS, TARGET_CAP = PAYLOAD + 64, 1 << 18
    SIZE = TARGETS + (1 << 18)

    def __init__(self, floor, saved):
        sh = _shim
        u, i = ctypes.c_size_t, ctypes.c_int
        for name, args in (
                ("cr_inject_field_setup", [i, i, i, i, i, u, u, u, u]),
                ("cr_inject_field_base", [u, u]),
                ("cr_inject_field_drop", []),
                ("cr_inject_field_check", [u, u, u, u, u]),
                ("cr_inject_field_begin", [u, u, u, u, u, u]),
                ("cr_inject_field_end", [u, u, u, u, u, u, u, u, u])):
            fn = getattr(sh, name)
            fn.argtypes = args
            fn.restype = ctypes.c_int
        self._begin = sh.cr_inject_field_begin
        self._end = sh.cr_inject_field_end
        self._check = sh.cr_inject_field_check
        self._drop = sh.cr_inject_field_drop
        self._base = sh.cr_inject_field_base
        self.mm = mmap.mmap(-1, self.SIZE)
        # The exported view pins the mapping; both live as long as self.
        self._view = ctypes.c_char.from_buffer(self.mm)
        at = ctypes.addressof(self._view)
        self.at = at
        self._end_args = (at + self.CLOSED, self.WANT_CAP,
                          at + self.LEAKS, self.LEAK_CAP,
                          at + self.TARGETS, self.TARGET_CAP,
                          at + self.LOST, self.LOST_CAP, at + self.COUNTS)
        self._check_args = self._end_args[2:6] + (at + self.COUNTS,)
        self._loaded = None
        std = [saved[n][0] if n in saved else -1 for n in STD_FDS] + \
            [saved[n][1] if n in saved else 0 for n in STD_FDS]
        struct.pack_into("6i", self.mm, self.STD, *std)
        self.mm[self.PAYLOAD:self.PAYLOAD + len(PAYLOAD)] = PAYLOAD
        rc = sh.cr_inject_field_setup(
            _pipe_r, _pipe_w, _inproc["peer"].fileno(),
            _inproc["sock"].fileno(), floor, at + self.STD,
            at + self.STD + 12, at + self.PAYLOAD, len(PAYLOAD))
        self._ok(rc, "setup")
        self._read_base()

    def _ok(self, rc, what):
        if rc < 0:
            raise RuntimeError("the shim's cr_inject_field_%s failed: %s"
                               % (what, os.strerror(-rc)))
        return rc

    def _ints(self, off, n):
        return struct.unpack_from("%di" % n, self.mm, off) if n else ()

    def _read_base(self):
        n = self._ok(self._base(self.at + self.LOST, self.LOST_CAP), "base")
        self.base = frozenset(self._ints(self.LOST, min(n, self.LOST_CAP)))

    def drop(self):
        """Close the planted fds kept from the last case; retake the base."""
        self._ok(self._drop(), "drop")
        self._read_base()

    def _leak_lines(self, n):
        """The n leaks of the last check/end as "fd -> target" strings,
        sorted by fd (canon.fd_snapshot_leaks' form)."""
        names = self.mm[self.TARGETS:self.TARGETS + self.TARGET_CAP] \
            .split(b"\0")[:n]
        return ["%d -> %s" % (fd, os.fsdecode(t)) for fd, t in
                sorted(zip(self._ints(self.LEAKS, n), names))]

    def check(self):
        """Outside a case: (leaks as "fd -> target", missing count) of the
        table against the worker's fds plus the kept planted ones."""
        self._ok(self._check(*self._check_args), "check")
        nleaks, missing = struct.unpack_from("2l", self.mm, self.COUNTS)
        return self._leak_lines(nleaks) if nleaks else [], missing

    def begin(self, prep):
        """Plant prep's numbers, queue the payload, arm the socket.
        Returns False (nothing planted) if a candidate int names one of
        the worker's fds other than 0-2: the case must fork."""
        mm = self.mm
        if self._loaded is not prep:
            if len(prep.want_bytes) > 4 * self.WANT_CAP \
                    or len(prep.cand_bytes) > 4 * self.CANDS_CAP \
                    or len(prep.buf) > self.BUF_CAP:
                raise RuntimeError("a case larger than the shared area")
            mm[self.WANT:self.WANT + len(prep.want_bytes)] = prep.want_bytes
            mm[self.CANDS:self.CANDS + len(prep.cand_bytes)] = \
                prep.cand_bytes
            mm[self.BUF:self.BUF + len(prep.buf)] = prep.buf
            self._loaded = prep
        at = self.at
        rc = self._ok(self._begin(at + self.WANT, prep.nwant,
                                  at + self.CANDS, prep.ncand,
                                  at + self.BUF, len(prep.buf)), "begin")
        if rc == 1:
            self._read_base()
            return False
        return True

    def end(self):
        """After the call: (closed numbers, leak lines, lost numbers,
        calls the shim rewrote); fds 0-2 restored, socket drained,
        survivors kept for the next case (see the shim)."""
        self._ok(self._end(*self._end_args), "end")
        nclosed, nleaks, nlost, injected = struct.unpack_from(
            "4l", self.mm, self.COUNTS)
        closed = self._ints(self.CLOSED, nclosed)
        leaks = self._leak_lines(nleaks) if nleaks else []
        lost = self._ints(self.LOST, min(nlost, self.LOST_CAP))
        if lost:
            self._read_base()
        return closed, leaks, lost, injected


class _Prep(object):
    """Everything about one control buffer that does not depend on the
    warning mode or the method: computed once, used by its 2 or 4 cases.
    When the reference is not wanted (run_inprocess), only the native
    call's inputs are filled in."""

    def __init__(self, buf, numbers=None, candidates=None):
        self.buf = buf
        if numbers is None:
            self.parsed, self.ref_leaks = _reference(buf)
            close_list = self.parsed["close_on_error"]
            ints = buffer_ints(buf)
            self.numbers = plant_numbers(close_list, buf, ints)
            self.close_set = set(close_list)
            ints.update(self.close_set)
            cands = sorted(ints)    # every planted number is among them
        else:
            self.numbers = numbers
            cands = sorted(set(candidates) | set(numbers.values()))
        want = sorted(self.numbers.values())
        self.nwant = len(want)
        self.want_bytes = struct.pack("%di" % len(want), *want)
        self.ncand = len(cands)
        self.cand_bytes = struct.pack("%di" % len(cands), *cands)
        self.labels = dict((n, l) for l, n in self.numbers.items())
        if numbers is None:
            self.control_hex = buf.hex()
            self.planted_fds = sorted(self.numbers)
            self.error_path_fds = sorted(l for l, n in self.numbers.items()
                                         if n in self.close_set)
            self.references = {}

    def reference(self, mode, method):
        key = (mode, method)
        ref = self.references.get(key)
        if ref is None:
            ref = reference_result(self.parsed, mode, method, self.numbers)
            self.references[key] = ref
        return ref


def buffer_ints(buf):
    """Every 4-byte little-endian int at a 4-aligned offset of buf: where
    any model's SCM_RIGHTS slots sit, so every int an interpreter's error
    path could close (the numbers plant_numbers() plants, before its
    limits)."""
    n = len(buf) // 4
    return set(struct.unpack("<%di" % n, buf[:n * 4]))


def _call(sock, mode, method, clen):
    """The interpreter's own call under the mode's warning filter:
    (return value or None, exception or None, recorded warnings)."""
    ret = exc = None
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always" if mode == "record" else "error")
        try:
            ret = CALLS[method](sock, clen)
        except BaseException as e:  # the exception is the observation
            exc = e
    return ret, exc, caught


def run_inprocess(buf, mode, method, numbers, candidates):
    """The native call in this process, on the one reused socketpair, for
    callers outside run_case (tests): numbers is plant_numbers()'s
    {label: fd}, candidates every int the call could close.  Returns
    _run_prepared()'s answer."""
    return _run_prepared(_Prep(buf, numbers, candidates), mode, method)


def _run_prepared(prep, mode, method):
    """The native call in this process, on the one reused socketpair.

    The shim (cr_inject_field_begin) first checks that the fd table is
    the worker's own fds plus the planted ones kept from the last case
    (else it drops those and retakes the worker's table), then, if one
    of prep's candidate ints names a worker fd other than 0-2 (whose
    copies are restored after the call), returns without planting: this
    returns None and the caller forks instead.  Otherwise it plants
    exactly prep's numbers (closing kept ones this case does not plant,
    so every call sees exactly its own planted set, as in a fresh child),
    queues the payload and arms the socket; the call runs here; then
    cr_inject_field_end reports the planted numbers the call closed or
    replaced, the fds it opened (leaks, reported and closed) and worker
    fds it closed, restores fds 0-2, drains the socket and keeps the
    surviving planted fds for the next case.  Returns (result, leaks,
    injected) as _observe does.  Raises RuntimeError if the call closed
    a descriptor of this process that no candidate names (the worker
    then forks every later case)."""
    global _inproc
    field = _inproc["field"]
    if not field.begin(prep):
        return None
    try:
        ret, exc, caught = _call(_inproc["sock"], mode, method,
                                 len(prep.buf))
    finally:
        closed, leaks, lost, injected = field.end()
    res = canon.canon_result(ret, exc, caught, method, rights="raw",
                             shapes=False)
    if closed:
        labels = prep.labels
        res["fds_closed"] = sorted(labels[n] for n in closed)
    if lost:
        _inproc = False
        raise RuntimeError("the native call closed descriptor(s) %s of "
                           "the worker, which no aligned int of the "
                           "buffer names; later cases fork" % sorted(lost))
    return res, leaks, injected


def _drop_field():
    """Close the planted fds kept from the last case, leaving the worker's
    own table."""
    _inproc["field"].drop()
    _inproc["base"] = _inproc["field"].base


def _reference(buf):
    """(parsed JSON, reference fd leaks) for buf, computed once per
    distinct buffer (a buffer runs in 2 or 4 cases) around the library
    call.  In-process, the shim checks the table before and after (the
    planted fds kept between cases are part of it); otherwise
    canon.fd_snapshot does."""
    got = _ref_cache.get(buf)
    if got is not None:
        return got
    if _inproc:
        field = _inproc["field"]
        leaks, missing = field.check()
        if leaks or missing:
            _drop_field()
        parsed = reference_parse(buf)
        got = (parsed, field.check()[0])
    else:
        before = canon.fd_snapshot()
        parsed = reference_parse(buf)
        got = (parsed, canon.fd_snapshot_leaks(before,
                                               canon.fd_snapshot(before)))
    _ref_cache[buf] = got
    return got


def _prepared(rel):
    """The _Prep of corpus file rel (read and parsed at its first case)."""
    prep = _prep_cache.get(rel)
    if prep is None:
        with open(os.path.join(CORPUS, rel), "rb") as f:
            buf = f.read()
        prep = _Prep(buf)       # the file is closed: the table is checked
        _prep_cache[rel] = prep
    return prep


def run_case(case_id):
    """One case: the native call in this process (_run_prepared) or, when
    the buffer names one of the worker's descriptors, in a forked child
    (run_native); the reference from the JSON."""
    _ensure()
    if _inproc is None:
        _inprocess_setup()
    rel, mode, method = _split_case(case_id)
    prep = _prepared(rel)
    got = None
    where = "child"
    if _inproc:
        got = _run_prepared(prep, mode, method)
        where = "worker"
    if got is None:
        where = "child"
        got = run_native(prep.buf, mode, method, prep.numbers,
                         prep.close_set)
    native, native_leaks, injected = got
    rec = {"family": family_of(rel, method, mode), "id": case_id,
           "native": native, "reference": prep.reference(mode, method),
           "leaked_fds": {"native": native_leaks,
                          "reference": prep.ref_leaks},
           "repro": _repro(rel, method, mode, case_id),
           "control_hex": prep.control_hex,
           "planted_fds": prep.planted_fds,
           "error_path_fds": prep.error_path_fds,
           "libc": prep.parsed["libc"], "native_in": where}
    if injected is not None and injected != 1:
        rec["error"] = ("the shim rewrote %d calls instead of 1: the "
                        "interpreter did not call libc recvmsg" % injected)
    return rec
