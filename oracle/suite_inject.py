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
order, and performs none of them (oracle/inject/inject.c, "watch").  The
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
equal.  It depends only on the bytes, the libc model, the mode and the
method, never on the interpreter, so the driver computes it
(complete_records), once per buffer and model for every interpreter of the
run; the worker's record carries the native side, the model and the corpus
file (with its CRC-32, so a file changed under a run is an error, not a
wrong reference).

Limits and facts encoded:
- The shim must be preloaded (the driver sets LD_PRELOAD and CMSGREF_INJECT);
  without it configure() raises and the worker reports the suite as failed.
- msg_flags of the reference is 0 and the address None: the kernel's answer
  for a socketpair message that carries no ancillary data; the shim changes
  only the control bytes and msg_controllen.
- Address cases (ADDR_CASES, families addr-<mode>): the shim also forces
  msg_namelen (§6's short lengths, F10), on the socketpair or on an AF_UNIX
  datagram pair whose sender has an abstract name; their reference side is
  oracle.refsocket on the same injected call, in the worker, so the record
  comes complete and complete_records leaves it alone.
- The libc model is detected by behaviour (detect_model: K14 and K18, as
  §3 advises) unless CMSGREF_LIBC names one; every record carries it.
- Corpus files are taken from corpus/{cmsg_parse,cmsg_diff,inject}/ as raw
  control bytes (C = the file size, at most MAX_CONTROL bytes); any byte
  string is a valid control buffer.  Other corpus/ directories hold
  structured fuzz inputs and are not used.  A file over MAX_CONTROL bytes
  (the shim's CR_INJECT_MAX) cannot be injected: it is left out, and
  skipped_files() -> [(path, reason)] lists it (and any symlink to a
  directory, not followed) for the driver to show as NOT RUN.  A corpus
  entry that is not a regular file (a FIFO, a socket, a device) or is a
  dangling symlink stops the listing with CorpusError naming it; files are
  opened non-blocking, so none can hang a reader.

List the cases: python3 -m oracle.suite_inject --list [SUBSTRING] (the
files left out follow on stderr).  Reproduce one case, native and
reference, classified, on this interpreter only, into its own output
directory (each record's "repro" is this, with absolute paths; see
_repro):
  make -C REPO conformance ORACLE_ARGS="--suites inject --pythons PY
      --only 'corpus:cmsg_parse/seed-k08-len-40-truncated@error'
      --out build/conformance-repro"
(the worker alone, LD_PRELOAD=$PWD/build/inject/libcrinject.so PYTHONPATH=.
python3 -m oracle.worker --suite inject --only seed-k08, prints the native
side only).
"""

import atexit
import ctypes
import gc
import json
import marshal
import mmap
import os
import re
import shlex
import socket
import stat
import struct
import sys
import warnings
import zlib

from oracle import canon, refsocket

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
# The injection shim `make conformance` builds in this repo (the default).
REPO_SHIM = os.path.join(REPO, "build", "inject", "libcrinject.so")
CORPUS = os.path.join(REPO, "corpus")
PAYLOAD = b"x"
MODES = ("record", "error")                     # every buffer
SPEC_MODES = MODES + ("default", "ignore")      # the spec seeds (§12)
# The warnings filter each mode's call runs under.
FILTERS = {"record": "always", "error": "error", "default": "default",
           "ignore": "ignore"}
WARNING_TEXT = "received malformed or improperly-truncated ancillary data"
MAX_CONTROL = 65536      # the shim's CR_INJECT_MAX
# The close() log holds every slot the error path can close: one per whole
# int of the buffer (§4), so MAX_CONTROL / 4; more means a runaway loop.
LOG_CAP = MAX_CONTROL // 4 + 1
# corpus/ directories whose files are raw control buffers (C = file size):
# the fuzz targets cmsg_parse / cmsg_diff read them that way.
CONTROL_DIRS = ("cmsg_parse", "cmsg_diff", "inject")
SKIP_EXT = (".md", ".txt", ".json", ".py", ".c", ".h", ".sh", ".html")

_SPEC_SEED = re.compile(r"cmsg_parse/seed-[kf]\d")

# Address cases (§6): the control bytes and the address length a real call
# gets, the name bytes being the kernel's.  name -> (target, namelen,
# control bytes): target "named" is an AF_UNIX datagram from a sender bound
# to an abstract name (the kernel writes AF_UNIX and a name starting with a
# NUL), "pair" the session's socketpair (the kernel writes no name, so the
# family stays the AF_UNSPEC CPython preset).  The reference side is
# oracle.refsocket on the same injected call (the library decodes and runs
# its error path), in the worker; ints 100 and 101 are F10's fds a and b.
ADDR_CASES = {
    "f10-abstract-namelen-1": ("named", 1, struct.pack(
        "<Qii", 24, socket.SOL_SOCKET, socket.SCM_RIGHTS) +
        struct.pack("<ii", 100, 101)),
    "abstract-namelen-2": ("named", 2, b""),
    "abstract-namelen-3": ("named", 3, b""),
    "no-family-namelen-16": ("pair", 16, b""),
    "no-family-namelen-1": ("pair", 1, b""),
}
_ready = False
_shim = None
_libc_name = None        # the worker's model (CMSGREF_LIBC or detected)
_session = None          # the _Session of this worker, made at its 1st case
_buf_cache = {}          # corpus path -> (bytes, CRC-32), read once
_pack = {}               # corpus path -> bytes, from the driver's pack
PACK_ENV = "CMSGREF_INJECT_CORPUS"
_ref_cache = {}          # driver: (bytes, model) -> (parsed, leaks)


# ------------------------------------------------------------- inputs

def spec_seed(rel):
    """True for the spec §12 seeds (seed-kNN-*, seed-fN-*) that
    scripts/make-seeds writes into corpus/cmsg_parse: they also go through
    recvmsg_into."""
    return _SPEC_SEED.match(rel) is not None


def seed_bytes(prefix):
    """The bytes of corpus/cmsg_parse/<prefix>-*, e.g. seed_bytes("seed-k14").
    Raises RuntimeError naming the generator if the seed is missing."""
    d = os.path.join(CORPUS, "cmsg_parse")
    names = sorted(f for f in (os.listdir(d) if os.path.isdir(d) else [])
                   if f.startswith(prefix + "-"))
    if not names:
        raise RuntimeError("corpus/cmsg_parse/%s-* is missing (make "
                           "fuzz-seeds writes it)" % prefix)
    return _read(os.path.join(d, names[0]))


class CorpusError(OSError):
    """A corpus file that cannot be a control buffer: not a regular file
    (a FIFO would block its reader forever), a dangling symlink, or one
    that cannot be examined.  The message names the file; the run refuses
    to start (the driver lists the cases first and says why in one line)."""


def corpus_files(root=CORPUS):
    """Relative paths of corpus files usable as control buffers, sorted:
    every regular file (or symlink to one) of at most MAX_CONTROL bytes
    under the CONTROL_DIRS of corpus/ (the others hold structured fuzz
    inputs, not control bytes).  What is left out is in skipped_files().
    Raises CorpusError naming a file that is not regular or a dangling
    symlink."""
    return _scan(root)[0]


def skipped_files(root=CORPUS):
    """[(path, reason)] of the files under the CONTROL_DIRS that
    corpus_files() leaves out although they are not hidden or
    documentation (SKIP_EXT): files over MAX_CONTROL bytes (the shim's
    CR_INJECT_MAX) and symlinks to directories (not followed).  path is
    "corpus/<dir>/<name>"; sorted.  The driver prints each as NOT RUN, so
    nothing is left out silently.  Raises CorpusError as corpus_files()."""
    return _scan(root)[1]


def _scan(root):
    """(corpus_files, skipped_files) of root."""
    files, skipped = [], []
    for sub in CONTROL_DIRS:
        got, left = _files(os.path.join(root, sub))
        files.extend(os.path.join(sub, f) for f in got)
        skipped.extend(("corpus/" + os.path.join(sub, f), why)
                       for f, why in left)
    return sorted(files), sorted(skipped)


def _kind(mode):
    """What a non-regular file is, for a message."""
    for test, name in ((stat.S_ISFIFO, "a FIFO"), (stat.S_ISSOCK, "a socket"),
                       (stat.S_ISCHR, "a character device"),
                       (stat.S_ISBLK, "a block device"),
                       (stat.S_ISDIR, "a directory")):
        if test(mode):
            return name
    return "not a regular file"


def _shown(path):
    """path relative to the repo when it is inside it (for messages)."""
    rel = os.path.relpath(path, REPO)
    return path if rel.startswith("..") else rel


def _files(root):
    """([relative path], [(relative path, reason skipped)]) under root:
    files over MAX_CONTROL bytes and names with a control character are
    skipped (listed), not run."""
    out, skipped = [], []
    if not os.path.isdir(root):
        return out, skipped
    for d, dirs, files in os.walk(root):
        dirs[:] = sorted(x for x in dirs if not x.startswith("."))
        for x in dirs:
            if os.path.islink(os.path.join(d, x)):
                skipped.append((os.path.relpath(os.path.join(d, x), root),
                                "a symlink to a directory (not followed)"))
        for f in files:
            full = os.path.join(d, f)
            if f.startswith(".") or f.lower().endswith(SKIP_EXT):
                continue
            try:
                st = os.stat(full)
            except OSError as e:
                if os.path.islink(full):
                    raise CorpusError("corpus file %s is a dangling symlink "
                                      "(to %s): remove it" % (
                                          _shown(full), os.readlink(full)))
                raise CorpusError("cannot examine corpus file %s: %s"
                                  % (_shown(full), e.strerror or e))
            if not stat.S_ISREG(st.st_mode):
                raise CorpusError("corpus file %s is %s, not a regular file: "
                                  "remove it" % (_shown(full),
                                                 _kind(st.st_mode)))
            rel = os.path.relpath(full, root)
            if any(c < " " or c == "\x7f" for c in rel):
                skipped.append((rel, "its name holds a control character "
                                "(a case id and its repro must stay one "
                                "shell line)"))
            elif st.st_size > MAX_CONTROL:
                skipped.append((rel, "%d bytes, over the %d a control "
                                "buffer may have (the shim's CR_INJECT_MAX)"
                                % (st.st_size, MAX_CONTROL)))
            else:
                out.append(rel)
    return sorted(out), sorted(skipped)


# ------------------------------------------------------------- the suite

def configure(lib=None):
    """Find the preloaded shim, pick the libc model (CMSGREF_LIBC, else
    detected) and load libcmsgref.so (lib or CMSGREF_LIB) through
    oracle.refsocket, the one ctypes binding.

    Raises RuntimeError with one sentence if something is unavailable."""
    global _shim, _ready, _libc_name
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
    _libc_name = name
    _load_pack(os.environ.get(PACK_ENV))
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
    """(family, case_id) for every corpus control buffer through recvmsg
    in the record and error modes, the spec seeds in every mode of
    SPEC_MODES through recvmsg and recvmsg_into, and the address cases
    (ADDR_CASES) in the record and error modes.  Families: spec-<mode>,
    spec-into-<mode> (the §12 K/F seeds), corpus-<dir>-<mode> (every other
    buffer), addr-<mode> (ids addr:<name>@<mode>)."""
    files = corpus_files()
    for rel in files:
        for mode in (SPEC_MODES if spec_seed(rel) else MODES):
            yield family_of(rel, "recvmsg", mode), "corpus:%s@%s" % (rel,
                                                                     mode)
    for rel in files:
        if spec_seed(rel):
            for mode in SPEC_MODES:
                yield (family_of(rel, "recvmsg_into", mode),
                       "corpus-into:%s@%s" % (rel, mode))
    for name in sorted(ADDR_CASES):
        for mode in MODES:
            yield "addr-%s" % mode, "addr:%s@%s" % (name, mode)


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
    if mode not in SPEC_MODES or kind not in ("corpus", "corpus-into") \
            or not rel or ".." in rel.split(os.sep):
        raise ValueError("bad case id %r" % case_id)
    return rel, mode, "recvmsg_into" if kind == "corpus-into" else "recvmsg"


REPRO_OUT = "build/conformance-repro"


def _repro(rel, method, mode, case_id):
    """What reruns one case, native and reference, classified: the driver
    through make, from any directory, on this interpreter only, into its
    own output directory (REPRO_OUT, so the matrix's report stays), with
    the library, shim and libc model of this run when they are not the
    defaults.  ORACLE_ARGS is split by the recipe's shell, so each word is
    quoted for it (shlex.quote), "$" doubled for make, and the whole
    escaped for the double quotes around it.  Everything but the case id
    is the same for the whole process and built once (_repro_parts): this
    runs for every record, and on a cold PyPy the quoting of the constant
    words halved the suite's rate."""
    head, tail, env = _repro_parts()
    return ("corpus/%s via %s, warnings %s: %smake -C %s conformance "
            "ORACLE_ARGS=\"%s %s %s\"" % (rel, method, mode, env, _REPO_Q,
                                         head, _make_word(case_id), tail))


_REPRO_CACHE = []
_REPO_Q = shlex.quote(REPO)


# What shlex.quote leaves as it is (so do make and the double quotes).
_PLAIN_WORD = re.compile(r"[\w@%+=:,./-]+\Z", re.ASCII)


def _make_word(word):
    """word quoted for the recipe's shell, "$" doubled for make, escaped
    for the double quotes around ORACLE_ARGS (a word of plain characters,
    as case ids are, is itself: one regex match)."""
    if _PLAIN_WORD.match(word):
        return word
    return re.sub(r'([\\"`$])', r"\\\1", shlex.quote(word).replace("$", "$$"))


def _repro_parts():
    """(the words before the case id, the words after it, the environment
    prefix) of _repro, for this process."""
    if not _REPRO_CACHE:
        words = ["--suites", "inject"]
        exe = os.path.abspath(sys.executable) if sys.executable else None
        if exe:
            words += ["--pythons", exe]
        lib = os.environ.get("CMSGREF_LIB")
        if lib and os.path.abspath(lib) != refsocket.REPO_LIB:
            words += ["--lib", os.path.abspath(lib)]
        shim = os.environ.get("CMSGREF_INJECT")
        if shim and os.path.abspath(shim) != REPO_SHIM:
            words += ["--shim", os.path.abspath(shim)]
        words += ["--only"]
        env = ""
        if os.environ.get("CMSGREF_LIBC"):
            env = "CMSGREF_LIBC=%s " % shlex.quote(os.environ["CMSGREF_LIBC"])
        _REPRO_CACHE.append((" ".join(_make_word(w) for w in words),
                             " ".join(_make_word(w) for w in
                                      ("--out", REPRO_OUT)), env))
    return _REPRO_CACHE[0]


def control_for(case_id):
    """(control bytes, mode, method, family, repro) for a case id."""
    rel, mode, method = _split_case(case_id)
    buf = _read(os.path.join(CORPUS, rel))
    return (buf, mode, method, family_of(rel, method, mode),
            _repro(rel, method, mode, case_id))


def reference_parse(buf, libc=None):
    """The library's JSON for buf under the model named libc (default: the
    one refsocket was loaded with), as a dict.  Loads the library if
    needed; needs no shim."""
    model = None if libc is None else refsocket.model_by_name(libc)
    return json.loads(refsocket.json_parse(buf, model))


def _call_recvmsg(sock, clen):
    return sock.recvmsg(len(PAYLOAD), clen)


def _call_recvmsg_into(sock, clen):
    return sock.recvmsg_into([bytearray(len(PAYLOAD))], clen)


CALLS = {"recvmsg": _call_recvmsg, "recvmsg_into": _call_recvmsg_into}
# The file and lines a RuntimeWarning from the native call is attributed to.
CALL_FILE = os.path.basename(__file__).replace(".pyc", ".py")
CALL_LINES = dict((m, f.__code__.co_firstlineno + 1)
                  for m, f in CALLS.items())


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


def _call(sock, mode, method, clen):
    """The interpreter's own call under the mode's warning filter:
    (return value or None, exception or None, recorded warnings)."""
    ret = exc = None
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter(FILTERS[mode])
        try:
            ret = CALLS[method](sock, clen)
        except BaseException as e:  # the exception is the observation
            exc = e
    return ret, exc, caught


class _Session(object):
    """What every native call of this worker shares: one AF_UNIX stream
    socketpair (the peer writes PAYLOAD, the interpreter reads it), one
    anonymous mmap that holds the shim's state (struct cr_inject_ctl of
    oracle/inject/inject.h: armed fd, byte count, watch flag, counts and
    the control bytes) and the close() log, and the fd table as it was
    after the last call.  A call is armed and its log read by stores and
    loads in the mmap, with no ctypes call per case (PyPy's ctypes costs
    tens of microseconds a call until its JIT warms up).  Owned by this
    module for the life of the worker; at exit the shim's state goes back
    into the shim before the mmap can be unmapped.  Raises RuntimeError if
    the shim lacks these entry points or its layout differs."""

    # fd, len, watch, delivered, nclosed: the first 24 bytes of the state.
    HEAD = struct.Struct("=iIiiq")
    DISARM = struct.Struct("=iIi")          # fd = -1, len = 0, watch = 0
    NAMELEN = struct.Struct("=i")           # at offsetof(.., namelen)
    NAMELEN_AT = 32
    BYTES = 40                              # offsetof(.., bytes)
    CTL_SIZE = BYTES + MAX_CONTROL          # sizeof(struct cr_inject_ctl)
    LOG = CTL_SIZE                          # LOG_CAP native ints
    SIZE = CTL_SIZE + 4 * LOG_CAP

    def __init__(self):
        sh = _shim
        if not hasattr(sh, "cr_inject_ctl_area"):
            raise RuntimeError("the preloaded shim has no cr_inject_ctl_area: "
                               "rebuild it (make oracle-inject-shim)")
        u = ctypes.c_size_t
        sh.cr_inject_ctl_size.restype = u
        if sh.cr_inject_ctl_size() != self.CTL_SIZE:
            raise RuntimeError("the preloaded shim's state is %d bytes, not "
                               "%d: rebuild it (make oracle-inject-shim)"
                               % (sh.cr_inject_ctl_size(), self.CTL_SIZE))
        sh.cr_inject_log_area.argtypes = [u, u]
        sh.cr_inject_ctl_area.argtypes = [u]
        self.mm = mmap.mmap(-1, self.SIZE)
        # The exported view pins the mapping; both live as long as self.
        self._view = ctypes.c_char.from_buffer(self.mm)
        self.at = ctypes.addressof(self._view)
        sh.cr_inject_log_area(self.at + self.LOG, LOG_CAP)
        sh.cr_inject_ctl_area(self.at)
        self.peer, self.sock = socket.socketpair()
        self.sock.settimeout(5.0)
        self._fd = self.sock.fileno()
        self._loaded = None
        self._named = None      # (receiver, sender, receiver's name)
        self.table = canon.fd_snapshot()
        atexit.register(self.close)

    def close(self):
        """At exit: give the shim its own state back (its close() reads the
        state on every call, and the mmap may be unmapped next), then close
        the socketpair (PyPy would warn about it)."""
        _shim.cr_inject_ctl_area(0)         # NULL: the shim's own state
        _shim.cr_inject_log_area(0, 0)
        self.peer.close()
        self.sock.close()
        if self._named is not None:
            self._named[0].close()
            self._named[1].close()

    def named(self):
        """(receiver, send) of an AF_UNIX datagram pair whose sender is
        bound to an abstract name, so the kernel writes an AF_UNIX address
        that starts with a NUL (§6; the F10 setup).  Made at its first use,
        then the fd table is re-taken (its two fds are the session's)."""
        if self._named is None:
            tag = b"cmsgref-inject-%d" % os.getpid()
            rx = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
            tx = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
            rx.bind(b"\0" + tag + b"-rx")
            tx.bind(b"\0" + tag + b"-tx")
            rx.settimeout(5.0)
            self._named = (rx, tx, b"\0" + tag + b"-rx")
            self.table = canon.fd_snapshot()
        rx, tx, name = self._named
        return rx, lambda: tx.sendto(PAYLOAD, name)

    def call(self, buf, mode, method, target=None, namelen=-1):
        """The mechanism alone: inject buf into one call of the
        interpreter's method under the mode's warning filter, with the
        close() watch open.  target: (socket, send) to use instead of the
        session's socketpair (named()); namelen >= 0: the call's
        msg_namelen is forced to it too.  Returns (return value or None,
        exception or None, recorded warnings, delivered?, close() calls
        logged)."""
        mm = self.mm
        sock, fd = self.sock, self._fd
        if target is not None:
            sock, send = target
            fd = sock.fileno()
        if self._loaded is not buf:
            if len(buf) > MAX_CONTROL:
                raise ValueError("a control buffer of %d bytes (at most %d "
                                 "fit the shim)" % (len(buf), MAX_CONTROL))
            mm[self.BYTES:self.BYTES + len(buf)] = buf
            self._loaded = buf
        if target is None:
            self.peer.send(PAYLOAD)
        else:
            send()
        paused = gc.isenabled()
        gc.disable()
        self.HEAD.pack_into(mm, 0, fd, len(buf), 1, 0, 0)
        self.NAMELEN.pack_into(mm, self.NAMELEN_AT, namelen)
        try:
            ret, exc, caught = _call(sock, mode, method, len(buf))
        finally:
            delivered, nclosed = self.HEAD.unpack_from(mm, 0)[3:]
            self.DISARM.pack_into(mm, 0, -1, 0, 0)
            if paused:
                gc.enable()
        if not delivered:
            self._drain(sock)
        return ret, exc, caught, delivered, nclosed

    def observe(self, buf, mode, method, target=None, namelen=-1):
        """call() and what the record needs of it.  Returns (canonical
        result, leaks as "fd -> target", fds that vanished, True if the
        shim delivered the buffer)."""
        ret, exc, caught, delivered, nclosed = self.call(
            buf, mode, method, target, namelen)
        mm = self.mm
        res = canon.canon_result(ret, exc, caught, method, rights="raw",
                                 shapes=False)
        if nclosed > 0:
            res["fds_closed"] = list(struct.unpack_from(
                "%di" % min(nclosed, LOG_CAP), mm, self.LOG))
            if nclosed > LOG_CAP:
                res["fds_closed"].append("... %d more" % (nclosed - LOG_CAP))
        leaks, lost = self.table_changes()
        return res, leaks, lost, bool(delivered)

    def table_changes(self):
        """(leaks, vanished fds) of the fd table since the last look; the
        table is re-taken, so each change is reported once.  Nothing else
        that runs between two calls opens or closes an fd it does not close
        again (reading a corpus file: _buffer), so what is found here is
        the call's."""
        before = self.table
        after = canon.fd_snapshot((before[0], {}))
        if after[0] == before[0] and not after[1]:
            return [], []
        leaks = canon.fd_snapshot_leaks(before, after)
        lost = sorted(set(before[1]) - set(after[1]))
        self.table = after
        return leaks, lost

    def retake(self):
        """Re-take the table if its size changed since the last look."""
        if canon.fd_snapshot((self.table[0], {}))[1]:
            self.table = canon.fd_snapshot()

    @staticmethod
    def _drain(sock):
        """Read whatever the call left queued on sock (it did not read
        PAYLOAD)."""
        try:
            while sock.recv(4096, socket.MSG_DONTWAIT):
                pass
        except OSError:
            pass


def _get_session():
    global _session
    if _session is None:
        _session = _Session()
    return _session


def _read(path):
    """The bytes of a file (at most MAX_CONTROL + 1 of them), read with
    os-level calls: half the cost of open() here, which is a tenth of a
    case on PyPy.  Opened non-blocking (a FIFO put there after the listing
    must not hang the reader) and refused unless it is a regular file.
    Raises OSError (CorpusError for a file that is not regular)."""
    fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK |
                 getattr(os, "O_CLOEXEC", 0))
    try:
        mode = os.fstat(fd).st_mode
        if not stat.S_ISREG(mode):
            raise CorpusError("corpus file %s is %s, not a regular file"
                              % (_shown(path), _kind(mode)))
        chunks, left = [], MAX_CONTROL + 1
        while left > 0:
            chunk = os.read(fd, left)
            if not chunk:
                break
            chunks.append(chunk)
            left -= len(chunk)
        return b"".join(chunks)
    finally:
        os.close(fd)


def write_pack(path):
    """The driver's side of the corpus pack: every corpus_files() buffer in
    one file, marshal (version 2) of {relative path: bytes}, written
    atomically.  A worker started with PACK_ENV naming it takes its buffers
    from there: one read a worker instead of one a buffer (the reads were a
    quarter of a case on PyPy), and the matrix reads each file once.
    Returns the number of buffers.  Raises OSError."""
    pack = dict((rel, _read(os.path.join(CORPUS, rel)))
                for rel in corpus_files())
    tmp = path + ".tmp"
    with open(tmp, "wb") as f:
        f.write(marshal.dumps(pack, 2))
    os.replace(tmp, path)
    return len(pack)


def _load_pack(path):
    """Take the buffers from the driver's pack at path (None or "": read
    each corpus file instead).  Raises RuntimeError if it is unreadable or
    not a pack."""
    global _pack
    if not path:
        return
    try:
        with open(path, "rb") as f:
            pack = marshal.loads(f.read())
    except (OSError, EOFError, ValueError, TypeError) as e:
        raise RuntimeError("cannot read the corpus pack %s: %s" % (path, e))
    if not isinstance(pack, dict) or not all(
            isinstance(k, str) and isinstance(v, bytes)
            for k, v in pack.items()):
        raise RuntimeError("%s is not a corpus pack" % path)
    _pack = pack


def _buffer(rel):
    """(bytes, CRC-32) of corpus file rel: from the driver's pack, else
    read at its first case.  A read leaves the fd table as the session last
    saw it (_read closes the one fd it opens before it returns, or raises),
    so no look is taken."""
    got = _buf_cache.get(rel)
    if got is None:
        buf = _pack.get(rel)
        if buf is None:
            buf = _read(os.path.join(CORPUS, rel))
        got = (buf, zlib.crc32(buf) & 0xffffffff)
        _buf_cache[rel] = got
    return got


def _run_addr_case(case_id):
    """An address case (ADDR_CASES), both sides in this worker: the
    interpreter's call, then oracle.refsocket's, on the same socket with the
    same control bytes and forced msg_namelen, each with the close()
    watch.  Returns the complete record."""
    src, _, mode = case_id.rpartition("@")
    name = src[len("addr:"):]
    if mode not in MODES or name not in ADDR_CASES:
        raise ValueError("bad case id %r" % case_id)
    where, namelen, buf = ADDR_CASES[name]
    session = _get_session()
    target = session.named() if where == "named" else None
    sides, leaks, errors = {}, {}, []
    for side in ("native", "reference"):
        if side == "reference":
            refsocket.install()
        try:
            res, leaked, lost, delivered = session.observe(
                buf, mode, "recvmsg", target, namelen)
        finally:
            if side == "reference":
                refsocket.uninstall()
        sides[side], leaks[side] = res, leaked
        if not delivered:
            errors.append("the shim did not rewrite the %s call" % side)
        elif lost:
            errors.append("descriptor(s) %s vanished during the %s call "
                          "without a close() the shim saw" % (lost, side))
    head, tail, env = _repro_parts()
    rec = {"family": "addr-%s" % mode, "id": case_id,
           "native": sides["native"], "reference": sides["reference"],
           "leaked_fds": leaks, "libc": _libc_name,
           "control_hex": buf.hex(), "namelen": namelen,
           "repro": "address case %s, warnings %s: %smake -C %s conformance "
                    "ORACLE_ARGS=\"%s %s %s\"" % (
                        name, mode, env, _REPO_Q, head, _make_word(case_id),
                        tail)}
    if errors:
        rec["error"] = "; ".join(errors)
    return rec


def run_case(case_id):
    """One case, native side only: the interpreter's call in this worker
    (_Session.observe).  The driver adds the reference (complete_records).
    An address case (addr:...) is run whole here (_run_addr_case)."""
    _ensure()
    if case_id.startswith("addr:"):
        return _run_addr_case(case_id)
    rel, mode, method = _split_case(case_id)
    session = _get_session()
    buf, crc = _buffer(rel)
    native, leaks, lost, delivered = session.observe(buf, mode, method)
    rec = {"family": family_of(rel, method, mode), "id": case_id,
           "native": native, "leaked_fds": {"native": leaks},
           "repro": _repro(rel, method, mode, case_id),
           "control_file": "corpus/" + rel, "control_crc32": crc,
           "libc": _libc_name}
    if not delivered:
        rec["error"] = ("the shim did not rewrite the call: the interpreter "
                        "did not call libc recvmsg on the socket")
    elif lost:
        rec["error"] = ("descriptor(s) %s of the worker vanished during the "
                        "call without a close() the shim saw" % lost)
    return rec


# ------------------------------------------------------ the driver's side

def _reference(buf, libc):
    """(parsed JSON, fd leaks of the library call) for buf under model
    libc, computed once per distinct pair for the whole run.  The fd table
    is checked around the call (a descriptor the library closed shows as
    "(vanished)")."""
    key = (buf, libc)
    got = _ref_cache.get(key)
    if got is None:
        before = canon.fd_snapshot()
        parsed = reference_parse(buf, libc)
        after = canon.fd_snapshot(before)
        lost = sorted(set(before[1]) - set(after[1]))
        got = (parsed, canon.fd_snapshot_leaks(before, after) +
               ["%d -> (vanished)" % fd for fd in lost])
        _ref_cache[key] = got
    return got


def complete_records(records, lib=None):
    """The driver's half of a case (oracle.conformance calls it on every
    record of this suite): adds "reference", leaked_fds["reference"] and,
    in every mode but error when the reference warns, "error_path_fds"
    (the list the error path would have closed; in error mode it is the
    reference's fds_closed already: oracle.expect's fds_closed_is).  Loads lib (else
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
            rel, mode, method = _split_case(rec["id"])
        except (KeyError, ValueError) as e:
            rec["error"] = "record without a valid case id: %s" % e
            continue
        buf = files.get(rel)
        if buf is None:
            try:
                buf = files[rel] = _read(os.path.join(CORPUS, rel))
            except OSError as e:
                rec["error"] = "cannot read corpus/%s: %s" % (rel, e)
                continue
        if zlib.crc32(buf) & 0xffffffff != rec.get("control_crc32"):
            rec["error"] = ("corpus/%s changed between the worker's call "
                            "and the reference" % rel)
            continue
        libc = rec.get("libc")
        try:
            if not isinstance(libc, str):
                raise ValueError("the record names no model")
            parsed, ref_leaks = _reference(buf, libc)
        except ValueError as e:
            rec["error"] = "no reference for libc %r: %s" % (libc, e)
            continue
        rec["reference"] = reference_result(parsed, mode, method)
        rec["leaked_fds"]["reference"] = ref_leaks
        if mode != "error" and parsed["warning"]:
            rec["error_path_fds"] = parsed["close_on_error"]
    return records


# --------------------------------------------------------------------- CLI

USAGE = """usage: python3 -m oracle.suite_inject --list [SUBSTRING]
  --list [SUBSTRING]  print the case ids (those whose family/id contains
                      SUBSTRING, as the worker's --only selects), then on
                      stderr each corpus file left out, as "NOT RUN <file>:
                      <reason>"
A case runs in a worker with the shim preloaded (see the module doc):
  make conformance ORACLE_ARGS="--suites inject --only SUBSTRING"
Exit status 0, 2 on bad usage or an unusable corpus file.
"""


def main(argv=None):
    """python3 -m oracle.suite_inject --list [SUBSTRING] | --help"""
    argv = sys.argv[1:] if argv is None else argv
    if argv and argv[0] in ("-h", "--help"):
        sys.stdout.write(USAGE)
        return 0
    if not argv or argv[0] != "--list" or len(argv) > 2:
        sys.stderr.write("oracle.suite_inject: %s (usage: --list "
                         "[SUBSTRING]; see --help)\n"
                         % ("bad arguments " + " ".join(argv) if argv
                            else "nothing to do"))
        return 2
    sub = argv[1] if len(argv) > 1 else ""
    try:
        ids = ["%s\n" % cid for fam, cid in iter_cases()
               if sub in "%s/%s" % (fam, cid)]
        skipped = skipped_files()
    except OSError as e:
        sys.stderr.write("oracle.suite_inject: %s\n" % e)
        return 2
    try:
        sys.stdout.write("".join(ids))
        sys.stdout.flush()
    except BrokenPipeError:
        from oracle import discover
        return discover.stdout_gone()
    for path, why in skipped:
        sys.stderr.write("NOT RUN %s: %s\n" % (path, why))
    return 0


if __name__ == "__main__":
    sys.exit(main())
