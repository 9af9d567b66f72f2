"""suite_sockets.py - real-socket scenarios: the interpreter's own
socket.recvmsg()/recvmsg_into() against the reference (oracle.refsocket).

Why: what the Linux kernel writes into the control buffer (spec §10: the
SCM_RIGHTS / SO_PASSCRED truncation tables, EMFILE, MSG_PEEK's fresh fds,
MSG_CMSG_CLOEXEC), together with the Python-level rules around the call
(§5 argument errors and their order, §6 addresses, §7 timeouts, non-blocking
mode and EINTR), can only be checked on real sockets.  Each scenario runs on
two identically prepared setups - once through the interpreter's socket
method, once through refsocket (the C library) - and both results go through
oracle.canon: received fds are described by what they refer to (the
scenario's labels for the objects it sent, kind, FD_CLOEXEC) and closed;
ephemeral addresses are named by labels; the fd table (/proc/self/fd) is
diffed around each side.  Comparison and expectations are the driver's.

The scenarios come from the declarative MATRIX below: a family is a base
parameter set plus axes whose cartesian product (minus the family's
exclusions) gives the cases; a case id is "family/axis=value,...".  The
parameters are interpreted by one runner (run_side), so a family is data.

Facts encoded (kernel-driven, Linux x86-64): CMSG_LEN(n) = 16 + n,
CMSG_SPACE(n) = 16 + align8(n) (glibc x86-64, §1); SCM_MAX_FD = 253 fds per
message (§10); SO_PASSCRED = 16, SO_TIMESTAMP = 29, SO_TIMESTAMPNS = 35,
MSG_TRUNC = 0x20, MSG_CMSG_CLOEXEC = 0x40000000 (Linux uapi values, used
where the socket module lacks the name); IOV_MAX = 1024 (§5 step 6).

Limits: Linux only.  Scenarios whose native call is known to be able to kill
the process (PyPy 7.3.11 aborts on recvmsg(n < len, 0, MSG_TRUNC), §11) are
marked "isolate" and run their native side in a forked child (one child
shared by such cases while it lives, see _Isolator); a crash there becomes
an exception result of type "process-crash".  EINTR scenarios send SIGALRM
to the main thread once it is blocked in the call (a watcher thread reads
/proc/self/task/<tid>/syscall; at the latest after 10 ms, re-sent every
50 ms as a safety net until the handler ran), so they need the main thread.

Cost (issue 5, figure 3): a scenario is two real calls plus their setups;
what made it slow was around them.  The fd table is diffed through
canon.fd_snapshot (a count, then one fstat per open fd; a listing only when
the table changed) three times a case: at its start (code outside the
suite may have changed the table since the last case), after the native
side and after the reference side.  That is now the largest item (about a
third of a case's CPU: ~9 open fds x 3 x ~2 us): it grows with every fd the
worker holds, so the suite holds few.  The objects sent as fds are three
pooled pipes (_SentPool) and the socketpair kinds reuse one pooled pair
while nothing is left queued in it (_PairPool, drained otherwise): no
pipe(), socketpair() or close() per case, and nothing opened or closed
between cases.  Isolated native sides share one forked child and run while
the reference side runs (about 13 ms a fork on this VM); cases that only
wait (timeouts of 1 and 10 ms, EINTR) run whole in a child forked at the
suite's first case (_Prefetch), so their ~0.25 s of waiting overlaps the
other cases; the EINTR signal does not wait for a fixed timer; argument-
error calls are compiled once.  Measured here in-process (whole suite,
best of 5): CPython 3.6 ~3,900 scenarios/s, 3.13 ~4,100/s (was ~2,800);
the worker adds a record frame per case (marshal, ~5 us; JSON was ~30).
What is left per case: ~57 system calls (strace -c), 37 of them the
snapshots' fstat() calls, at 1.2-1.6 us each in this VM, and Python: two
setups and calls, refsocket's ctypes marshalling and the canonical results.

Reproduce one case (both sides, with the diff; each record's "repro" is
this command with absolute paths, runnable from any directory, see repro()):
  cd REPO && PYTHONPATH=. python3 -m oracle.suite_sockets 'rights/...'
List cases: python3 -m oracle.suite_sockets --list [SUBSTRING]
"""

import array
import atexit
import fcntl
import json
import os
import resource
import shlex
import signal
import socket
import struct
import sys
import tempfile
import threading
import time
import warnings

from oracle import canon
from oracle import refsocket

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))

SOL_SOCKET = socket.SOL_SOCKET
SCM_RIGHTS = socket.SCM_RIGHTS
SO_PASSCRED = getattr(socket, "SO_PASSCRED", 16)
SO_TIMESTAMP = getattr(socket, "SO_TIMESTAMP", 29)
SO_TIMESTAMPNS = getattr(socket, "SO_TIMESTAMPNS", 35)
MSG_PEEK = socket.MSG_PEEK
MSG_DONTWAIT = socket.MSG_DONTWAIT
MSG_TRUNC = getattr(socket, "MSG_TRUNC", 0x20)
MSG_CMSG_CLOEXEC = getattr(socket, "MSG_CMSG_CLOEXEC", 0x40000000)
SCM_MAX_FD = 253
IOV_MAX = 1024


def cmsg_len(n):
    """CMSG_LEN on glibc x86-64 (§1): the 16-byte header plus n."""
    return 16 + n


def cmsg_space(n):
    """CMSG_SPACE on glibc x86-64 (§1): header plus n rounded up to 8."""
    return 16 + ((n + 7) & ~7)


def _sweep(lo, hi):
    return list(range(lo, hi + 1))


# ------------------------------------------------------------------ MATRIX
#
# base: parameters of every case of the family; axes: [(name, values)];
# "values" may be a function of the parameters chosen so far (for sweeps
# whose bounds depend on an earlier axis).  skip(params) -> True drops a
# combination.  Parameters (defaults in DEFAULTS):
#   kind      stream | dgram | seqpacket (socketpairs), udp4 | udp6,
#             unix-dgram-{unbound,path,abstract,autobind,longpath,badbytes},
#             unix-stream-accepted, tcp4-accepted
#   data      payload length; nfds: fds sent in one SCM_RIGHTS item (-1: an
#             empty SCM_RIGHTS item); sendfd: "distinct" or "same" object
#   passcred / timestamp ("", "ts", "tsns"): receiver socket options
#   method    recvmsg | recvmsg_into; bufsize: recvmsg's size and, when
#             bufs is None, the size of recvmsg_into's one bytearray; bufs:
#             sizes of recvmsg_into's bytearrays, "-"-joined ("none" = [])
#   anc, flags: the call's ancbufsize and flags (None: not passed)
#   timeout   "5" seconds (default), "none" blocking, "0" non-blocking,
#             "0.001" ...; pending: send the message before the call;
#   eof       close the peer before the call; closed: close the receiver
#   room      EMFILE: RLIMIT_NOFILE leaves this many free descriptors
#   eintr     "" | "returns" (handler sends the message) | "raises" |
#             "storm" (a handler that returns, every 10 ms: §7's deadline)
#   warn      warnings filter for the call ("always", "error", ...)
#   call      argument-error cases: the argument list as Python source,
#             evaluated per side (fresh buffers each time)
#   isolate   run the native side in a forked child (bool, or a function
#             of the parameters)
#   probe     record what the call left queued (queue_after: a peek at the
#             receiver after the call; §5: recvmsg_into([]) consumes nothing
#             on a stream but discards a datagram; MSG_PEEK consumes nothing)

DEFAULTS = {
    "kind": "stream", "data": 6, "nfds": 0, "sendfd": "distinct",
    "passcred": False, "timestamp": "", "method": "recvmsg", "bufsize": 16,
    "bufs": None, "anc": 0, "flags": None, "timeout": "5", "pending": True,
    "eof": False, "closed": False, "room": None, "eintr": "",
    "warn": "always", "call": None, "isolate": False, "probe": False,
}

PAIRS = ["stream", "dgram", "seqpacket"]
METHODS = ["recvmsg", "recvmsg_into"]


def _rights_anc(p):
    n = max(p["nfds"], 0)
    return _sweep(0, cmsg_space(4 * n) + 8)


def _max_anc(p):
    n = SCM_MAX_FD * 4
    return [0, 16, 19, 20, cmsg_len(n) - 1, cmsg_len(n), cmsg_len(n) + 1,
            cmsg_space(n), 8192]


def _truncating_recvmsg(p):
    """recvmsg(n < len, 0, MSG_TRUNC): the shape that can abort a process
    (§11); such cases run their native side in a forked child."""
    return (p["method"] == "recvmsg" and bool(p["flags"] & MSG_TRUNC)
            and p["bufsize"] < p["data"])


def _cred_anc(p):
    return _sweep(0, 72)


def _multi_anc(p):
    return _sweep(0, 96)


# Argument-error calls (§5, §8): every row of the message table and the
# order rules.  (name, argument source[, form]): the source is evaluated per
# side with bytearray/memoryview/... in scope.  Form "direct" (default) is
# the call written as s.recvmsg(ARGS) (socket.CMSG_LEN(ARGS)); "bound" calls
# a bound-method object, f = s.recvmsg; f(ARGS): from 3.11 CPython words the
# keyword error differently for the two (see oracle/README.md).
RECVMSG_CALLS = [
    ("noargs", ""), ("four", "1, 0, 0, 0"), ("kw-bufsize", "bufsize=1"),
    ("kw-flags", "1, flags=0"), ("kw-bufsize-bound", "bufsize=1", "bound"),
    ("kw-empty-bound", "1, **{}", "bound"),
    ("float-bufsize-bound", "1.5", "bound"), ("float-bufsize", "1.5"),
    ("float-anc", "1, 1.5"), ("float-flags", "1, 0, 1.5"),
    ("str-bufsize", "'x'"), ("none-bufsize", "None"), ("str-anc", "1, 'x'"),
    ("none-anc", "1, None"), ("str-flags", "1, 0, 'x'"),
    ("none-flags", "1, 0, None"), ("flags-2e31", "1, 0, 2**31"),
    ("flags--2e31-1", "1, 0, -2**31-1"), ("flags-2e63", "1, 0, 2**63"),
    ("flags-int-max", "1, 0, 2**31-1"), ("anc-2e63", "1, 2**63"),
    ("bufsize--2e63-1", "-2**63-1"), ("bufsize-2e63", "2**63"),
    ("bufsize--1", "-1"), ("bufsize--1-anc--1", "-1, -1"),
    ("anc--1", "1, -1"), ("anc-2e31", "1, 2**31"),
    ("bufsize-2e62", "2**62"), ("bad-bufsize-then-flags", "1.5, 0, 'x'"),
    ("bool-bufsize", "True"), ("index-obj", "Idx(4), Idx(0), Idx(0)"),
    ("index-returns-str", "BadIdx()"), ("bytes-bufsize", "b'1'"),
    ("anc-int-max", "1, 2**31-1, MSG_DONTWAIT"),
    ("index-flags", "1, 0, Idx(0)"), ("int-only-flags", "1, 0, IntOnly()"),
    ("int-only-bufsize", "IntOnly()"),
]
RECVMSG_INTO_CALLS = [
    ("noargs", ""), ("four", "[bytearray(4)], 0, 0, 0"),
    ("kw", "buffers=[bytearray(4)]"),
    ("kw-bound", "buffers=[bytearray(4)]", "bound"), ("int", "5"),
    ("int-str", "5, 'x'"),
    ("bytes-item", "[b'abc']"), ("str", "'abc'"),
    ("ro-view", "[memoryview(b'x')]"),
    ("strided-view", "[memoryview(bytearray(8))[::2]]"),
    ("bytes-then-anc--1", "[b'x'], -1"), ("ok-then-anc--1",
                                          "[bytearray(1)], -1"),
    ("anc-2e31", "[bytearray(4)], 2**31"), ("float-anc",
                                            "[bytearray(4)], 1.5"),
    ("str-flags", "[bytearray(4)], 0, 'x'"),
    ("flags-2e31", "[bytearray(4)], 0, 2**31"),
    ("generator", "(bytearray(n) for n in (2, 30))"),
    ("array-item", "[array.array('i', [0, 0])]"),
    ("none-item", "[None]"), ("int-item", "[3]"),
    ("second-bad", "[bytearray(2), b'x']"),
    ("iov-max+1", "[bytearray(1) for _ in range(1025)]"),
    ("iov-max", "[bytearray(1) for _ in range(1024)]"),
    ("empty-list", "[]"), ("empty-tuple", "()"),
]
CMSG_CALLS = [
    ("noargs", ""), ("two", "1, 2"), ("kw", "n=1"), ("float", "1.5"),
    ("str", "'1'"), ("neg", "-1"), ("2e63", "2**63"), ("-2e63-1",
                                                         "-2**63-1"),
    ("index", "Idx(5)"), ("len-max", "2147483631"),
    ("len-max+1", "2147483632"), ("space-max", "2147483623"),
    ("space-max+1", "2147483624"), ("2e31", "2**31"),
] + [("n%d" % n, str(n)) for n in range(0, 41)]

def _family_calls(p):
    """The calls of the argerr-family family for p's method."""
    if p["method"] == "recvmsg":
        return [("ok", "1"), ("anc--1", "1, -1"), ("anc-2e31", "1, 2**31"),
                ("bufsize--1", "-1"), ("bufsize-2e62", "2**62"),
                ("float-anc", "1, 1.5")]
    return [("ok", "[bytearray(4)]"), ("ok-then-anc--1", "[bytearray(1)], -1"),
            ("bytes-then-anc--1", "[b'x'], -1"),
            ("iov-max+1", "[bytearray(1) for _ in range(1025)]")]


MATRIX = [
    {"family": "rights",
     "doc": "SCM_RIGHTS with 0..3 fds, ancbufsize swept byte by byte "
            "across CMSG_LEN/CMSG_SPACE (§10 table)",
     "axes": [("kind", PAIRS), ("nfds", [-1, 0, 1, 2, 3]),
              ("method", METHODS), ("anc", _rights_anc)],
     "skip": lambda p: p["nfds"] == -1 and p["anc"] > 24},
    {"family": "rights-max",
     "doc": "SCM_MAX_FD (253) fds of one object around the boundaries",
     "base": {"sendfd": "same", "nfds": SCM_MAX_FD},
     "axes": [("kind", PAIRS), ("anc", _max_anc)]},
    {"family": "passcred",
     "doc": "SO_PASSCRED with and without fds, ancbufsize 0..72",
     "base": {"passcred": True},
     "axes": [("kind", PAIRS), ("nfds", [0, 1, 2]), ("anc", _cred_anc)]},
    {"family": "multi",
     "doc": "several items in one message (credentials, timestamp, fds)",
     "base": {"kind": "dgram"},
     "axes": [("combo", ["ts", "tsns+rights2", "cred+ts+rights1",
                         "cred+rights3"]),
              ("anc", _multi_anc)],
     "skip": lambda p: p["combo"] == "ts" and p["anc"] > 48},
    {"family": "flags",
     "doc": "MSG_PEEK, MSG_DONTWAIT, MSG_CMSG_CLOEXEC and combinations",
     "base": {"probe": True},
     "axes": [("kind", PAIRS), ("nfds", [0, 1, 2]), ("method", METHODS),
              ("flags", [0, MSG_PEEK, MSG_DONTWAIT, MSG_CMSG_CLOEXEC,
                         MSG_PEEK | MSG_CMSG_CLOEXEC]),
              ("anc", [0, cmsg_len(4), cmsg_space(8), 64])]},
    {"family": "dontwait-empty",
     "doc": "MSG_DONTWAIT / non-blocking with nothing queued: "
            "BlockingIOError",
     "base": {"pending": False},
     "axes": [("kind", PAIRS), ("method", METHODS),
              ("timeout", ["none", "0", "0.01"]),
              ("flags", [MSG_DONTWAIT, 0])],
     "skip": lambda p: p["flags"] == 0 and p["timeout"] != "0"},
    {"family": "trunc",
     "doc": "truncated datagram / SEQPACKET reads and MSG_TRUNC in flags",
     "base": {"isolate": _truncating_recvmsg, "data": 6, "probe": True},
     "axes": [("kind", ["dgram", "seqpacket", "udp4"]), ("method", METHODS),
              ("bufsize", [0, 1, 3, 5, 6, 7]),
              ("flags", [0, MSG_TRUNC, MSG_TRUNC | MSG_PEEK])]},
    {"family": "bufsize",
     "doc": "bufsize 0 / short / exact / long on each socket kind",
     "base": {"probe": True},
     "axes": [("kind", PAIRS), ("method", METHODS), ("data", [1, 6, 100]),
              ("bufsize", [0, 1, 5, 6, 7, 100, 4096]), ("nfds", [0, 1])]},
    {"family": "into-bufs",
     "doc": "recvmsg_into with one and several buffers, and []",
     "base": {"method": "recvmsg_into", "data": 10, "probe": True},
     "axes": [("kind", PAIRS),
              ("bufs", ["none", "0", "1", "10", "32", "3-7", "3-3-3-3",
                        "0-10", "10-0", "1-1-1", "4-4", "2-0-2-0-8"]),
              ("nfds", [0, 2])]},
    {"family": "into-empty",
     "doc": "recvmsg_into([]): nothing queued, it waits out its timeout; "
            "a datagram is discarded and its sender's address returned "
            "with MSG_TRUNC; a stream keeps its data (§5)",
     "base": {"method": "recvmsg_into", "bufs": "none", "data": 10,
              "probe": True},
     "axes": [("kind", ["stream", "dgram", "unix-dgram-path", "udp4"]),
              ("pending", [True, False]), ("timeout", ["0", "0.01"])],
     # a case that waits runs ahead in a child, which must not share names
     "skip": lambda p: (p["kind"] == "unix-dgram-path" and not p["pending"]
                        and p["timeout"] != "0")},
    {"family": "eof",
     "doc": "EOF on stream and SEQPACKET (peer closed)",
     "base": {"eof": True, "pending": False},
     "axes": [("kind", ["stream", "seqpacket"]), ("method", METHODS),
              ("anc", [0, 64])]},
    {"family": "address",
     "doc": "path, abstract, autobind, unnamed AF_UNIX and UDP addresses",
     "axes": [("kind", ["unix-dgram-unbound", "unix-dgram-path",
                        "unix-dgram-abstract", "unix-dgram-autobind",
                        "unix-dgram-longpath", "unix-dgram-badbytes",
                        "unix-stream-accepted", "udp4", "udp6",
                        "tcp4-accepted"]),
              ("method", METHODS), ("nfds", [0, 1]), ("anc", [0, 32])],
     "skip": lambda p: not p["kind"].startswith("unix") and p["nfds"] > 0},
    {"family": "timeout",
     "doc": "socket timeouts: none, 0, > 0 with and without data",
     "axes": [("kind", PAIRS + ["udp4"]), ("method", METHODS),
              ("timeout", ["none", "0", "0.001", "0.01"]),
              ("pending", [True, False])],
     "skip": lambda p: p["timeout"] == "none" and not p["pending"]},
    {"family": "eintr",
     "doc": "EINTR with a handler that returns (and sends) or raises",
     "base": {"pending": False, "nfds": 1, "anc": 64},
     "axes": [("kind", PAIRS), ("method", METHODS),
              ("timeout", ["none", "5"]), ("eintr", ["returns", "raises"])]},
    {"family": "emfile",
     "doc": "EMFILE through RLIMIT_NOFILE: room for 0, 1, 2 fds of 3",
     "base": {"nfds": 3, "anc": 64},
     "axes": [("kind", PAIRS), ("method", METHODS), ("room", [0, 1, 2])]},
    {"family": "closed",
     "doc": "a closed socket with valid arguments: EBADF",
     "base": {"closed": True},
     "axes": [("kind", PAIRS + ["udp4", "udp6"]), ("method", METHODS),
              ("timeout", ["none", "0", "5"])]},
    {"family": "warnfilter",
     "doc": "kernel data never warns (§10), whatever the filter",
     "axes": [("warn", ["default", "error", "ignore"]), ("kind", PAIRS),
              ("nfds", [1, 3]), ("anc", [19, 20, 24, 27, 28])]},
    {"family": "argerr-recvmsg",
     "doc": "recvmsg argument errors (§5 table), open and closed socket",
     "base": {"nfds": 1, "anc": None},
     "axes": [("call", [c for c in RECVMSG_CALLS]),
              ("closed", [False, True])]},
    {"family": "argerr-recvmsg_into",
     "doc": "recvmsg_into argument errors and buffer checks (§5)",
     "base": {"method": "recvmsg_into", "nfds": 1, "anc": None},
     "axes": [("call", [c for c in RECVMSG_INTO_CALLS]),
              ("closed", [False, True])]},
    {"family": "argerr-family",
     "doc": "a socket of an unknown family (99): OSError('getsockaddrlen: "
            "bad family') after bufsize's and the buffers' checks, before "
            "ancbufsize's and the wait (§5 steps 2-5), open and closed",
     "base": {"kind": "stream-badfamily", "nfds": 1, "anc": None},
     "axes": [("method", METHODS), ("call", _family_calls),
              ("closed", [False, True])]},
    {"family": "iov-after-wait",
     "doc": "more than IOV_MAX buffers fail in the kernel (EMSGSIZE), so "
            "with a timeout and nothing queued the wait times out first; "
            "non-blocking, the call fails at once (§5 recvmsg_into step 6)",
     "base": {"method": "recvmsg_into", "pending": False, "anc": None,
              "call": ("iov-max+1", "[bytearray(1) for _ in range(1025)]")},
     "axes": [("kind", PAIRS), ("timeout", ["0", "0.01"])]},
    {"family": "cmsg-macros",
     "doc": "CMSG_LEN / CMSG_SPACE values, ranges and argument errors (§8)",
     "base": {"pending": False},
     "axes": [("method", ["CMSG_LEN", "CMSG_SPACE"]),
              ("call", [c for c in CMSG_CALLS])]},
    # Last: its cases wait 0.1 s a side and run ahead in the prefetch
    # child (_Prefetch), which the worker should not catch up with.
    {"family": "eintr-deadline",
     "doc": "a 0.1 s timeout under a storm of signals whose handler "
            "returns: each EINTR retries with the time left, so the call "
            "times out on time (§7: the deadline is not extended)",
     "base": {"pending": False, "nfds": 1, "anc": 64, "eintr": "storm",
              "timeout": "0.1"},
     "axes": [("kind", ["stream", "dgram"]), ("method", METHODS)],
     # two of the four: 0.2 s each, and the rule is the same for all
     "skip": lambda p: (p["kind"] == "stream") != (p["method"] == "recvmsg")},
]


def _axis_text(name, value):
    if name == "call":
        return "call=%s" % value[0]
    if name == "flags":
        return "flags=%#x" % value
    return "%s=%s" % (name, value)


def _expand(fam):
    """[(case_id, params)] of one family, in matrix order."""
    out = []

    def rec(i, params, parts):
        if i == len(fam["axes"]):
            if fam.get("skip") and fam["skip"](params):
                return
            out.append(("%s/%s" % (fam["family"], ",".join(parts)),
                        dict(params)))
            return
        name, values = fam["axes"][i]
        if callable(values):
            values = values(params)
        for v in values:
            params[name] = v
            rec(i + 1, params, parts + [_axis_text(name, v)])
        del params[name]

    base = dict(DEFAULTS)
    base.update(fam.get("base", {}))
    base["family"] = fam["family"]
    rec(0, base, [])
    return out


_CASES = None


def cases():
    """{case_id: params}, built once, in matrix order (an ordered list is
    kept beside it)."""
    global _CASES
    if _CASES is None:
        order = []
        table = {}
        for fam in MATRIX:
            for cid, params in _expand(fam):
                if cid in table:
                    raise ValueError("duplicate case id %s" % cid)
                table[cid] = params
                order.append(cid)
        _CASES = (order, table)
    return _CASES


def iter_cases():
    """Yields (family, case_id) for every scenario (worker contract)."""
    order, table = cases()
    for cid in order:
        yield table[cid]["family"], cid


def configure(lib=None):
    """Loads the reference library (worker contract)."""
    refsocket.load(lib)


# ------------------------------------------------------------------ setups

class _Idx(object):
    def __init__(self, v):
        self.v = v

    def __index__(self):
        return self.v


class _IntOnly(object):
    def __int__(self):
        return 0


class _BadIdx(object):
    def __index__(self):
        return "4"


_EVAL_ENV = {"bytearray": bytearray, "memoryview": memoryview,
             "array": array, "range": range, "Idx": _Idx, "BadIdx": _BadIdx,
             "IntOnly": _IntOnly,
             "MSG_DONTWAIT": MSG_DONTWAIT, "True": True, "None": None}


class Setup(object):
    """One prepared receiver: sockets, the objects sent and labels.  Owns
    every fd it opened until close()."""

    def __init__(self):
        self.rsock = None     # the socket whose method is called
        self.peer = None      # the sender
        self.pair = None      # _PairPool's pair when rsock/peer are its
        self.dest = None      # sendmsg's address (None: connected)
        self.extra = []       # other sockets/fds to close
        self.paths = []       # filesystem names to unlink
        self.sent = []        # fds whose objects travel in SCM_RIGHTS
        self.fd_labels = {}   # (dev, ino) -> "sentN"
        self.addr_labels = {}
        self.msg = None       # (data, ancillary items) to send

    def send(self):
        data, anc = self.msg
        if self.dest is not None:
            self.peer.sendmsg([data], anc, 0, self.dest)
        else:
            self.peer.sendmsg([data], anc)

    def close(self):
        if self.pair is not None:
            _PAIRS.release(self.pair)       # kept if clean, else closed
        else:
            for s in (self.rsock, self.peer):
                if s is not None:
                    s.close()
        for s in self.extra:
            if isinstance(s, int):
                _close_quietly(s)
            else:
                s.close()
        for fd in self.sent:
            _close_quietly(fd)
        for p in self.paths:
            try:
                os.unlink(p)
            except OSError:
                pass


def _close_quietly(fd):
    try:
        os.close(fd)
    except OSError:
        pass


_TMPDIR = None


TMP_BASE_MAX = 60    # longest TMPDIR used for AF_UNIX paths (see _tmpdir)


def _tmpdir():
    """A private directory for AF_UNIX paths, removed at exit, under
    $TMPDIR (tempfile's choice: the driver gives each run its own).  The
    paths made in it must fit sun_path (108 bytes, the longpath kind fills
    it exactly from this prefix), so a TMPDIR longer than TMP_BASE_MAX is
    passed over for /tmp."""
    global _TMPDIR
    if _TMPDIR is None:
        import shutil
        base = tempfile.gettempdir()
        if len(os.fsencode(base)) > TMP_BASE_MAX:
            base = "/tmp"
        _TMPDIR = tempfile.mkdtemp(prefix="cmsgref-sk-", dir=base)
        atexit.register(shutil.rmtree, _TMPDIR, True)
    return _TMPDIR


def _unix_path(name, length=None):
    base = os.path.join(_tmpdir(), name)
    if length is not None:
        base = (base + "x" * length)[:length]
    return base


def _bind_full_path(sock, path):
    """bind(2) an AF_UNIX socket to a path that fills sun_path (108 bytes,
    no terminating NUL), through libc; raises OSError on failure."""
    import ctypes
    libc = ctypes.CDLL(None, use_errno=True)  # the process's libc symbols
    if len(path) != 108:
        raise ValueError("need a 108-byte path")
    addr = ctypes.create_string_buffer(110)
    addr.raw = bytes(bytearray([socket.AF_UNIX & 0xFF, socket.AF_UNIX >> 8]))\
        + path
    if libc.bind(sock.fileno(), addr, 110) != 0:
        e = ctypes.get_errno()
        raise OSError(e, os.strerror(e))


def _make_sockets(p, st):
    """Creates st.rsock / st.peer for p["kind"]."""
    kind = p["kind"]
    if kind in PAIRS:
        stype = {"stream": socket.SOCK_STREAM, "dgram": socket.SOCK_DGRAM,
                 "seqpacket": socket.SOCK_SEQPACKET}[kind]
        st.rsock, st.peer = socket.socketpair(socket.AF_UNIX, stype)
    elif kind in ("udp4", "udp6"):
        fam, host = ((socket.AF_INET, "127.0.0.1") if kind == "udp4"
                     else (socket.AF_INET6, "::1"))
        st.rsock = socket.socket(fam, socket.SOCK_DGRAM)
        st.rsock.bind((host, 0))
        st.peer = socket.socket(fam, socket.SOCK_DGRAM)
        st.peer.bind((host, 0))
        st.dest = st.rsock.getsockname()
        st.addr_labels[st.peer.getsockname()] = "sender"
    elif kind.startswith("unix-dgram-"):
        how = kind[len("unix-dgram-"):]
        rpath = _unix_path("r")
        st.rsock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        st.rsock.bind(rpath)
        st.paths.append(rpath)
        st.peer = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        if how == "path":
            spath = _unix_path("sender")
            st.peer.bind(spath)
            st.paths.append(spath)
        elif how == "longpath":
            # 108 bytes, no NUL: sun_path exactly full.  CPython's bind()
            # refuses that (it keeps room for a NUL), so libc's bind does it.
            spath = _unix_path("L", 108)
            _bind_full_path(st.peer, os.fsencode(spath))
            st.paths.append(spath)
        elif how == "badbytes":
            spath = os.fsencode(_unix_path("bad")) + b"\xff\xfe"
            st.peer.bind(spath)
            st.paths.append(spath)
        elif how == "abstract":
            st.peer.bind(b"\0cmsgref-abstract-%d" % os.getpid())
        elif how == "autobind":
            st.peer.bind("")
            st.addr_labels[st.peer.getsockname()] = "autobind"
        st.dest = rpath
    elif kind == "stream-badfamily":
        # A real AF_UNIX stream socket whose socket object says family 99,
        # which CPython cannot size an address for (§5 step 4).
        r, st.peer = socket.socketpair(socket.AF_UNIX, socket.SOCK_STREAM)
        st.rsock = socket.socket(99, socket.SOCK_STREAM, 0, r.detach())
    elif kind == "tcp4-accepted":
        lsock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        lsock.bind(("127.0.0.1", 0))
        lsock.listen(1)
        st.peer = socket.create_connection(lsock.getsockname())
        st.rsock, _ = lsock.accept()
        lsock.close()
    elif kind == "unix-stream-accepted":
        lpath = _unix_path("listen")
        cpath = _unix_path("client")
        lsock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        lsock.bind(lpath)
        lsock.listen(1)
        st.paths.extend([lpath, cpath])
        st.peer = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        st.peer.bind(cpath)
        st.peer.connect(lpath)
        st.rsock, _ = lsock.accept()
        lsock.close()
    else:
        raise ValueError("unknown kind %r" % kind)


def _combo_options(p):
    """(passcred, timestamp, nfds) for the multi family's combo."""
    combo = p.get("combo")
    if not combo:
        return p["passcred"], p["timestamp"], p["nfds"]
    parts = combo.split("+")
    nfds = 0
    for part in parts:
        if part.startswith("rights"):
            nfds = int(part[len("rights"):])
    ts = "tsns" if "tsns" in parts else ("ts" if "ts" in parts else "")
    return "cred" in parts, ts, nfds


def _set_options(p, rsock):
    """The receiver's socket options of p (SO_PASSCRED, timestamps)."""
    passcred, ts, _ = _combo_options(p)
    if passcred:
        rsock.setsockopt(SOL_SOCKET, SO_PASSCRED, 1)
    if ts == "ts":
        rsock.setsockopt(SOL_SOCKET, SO_TIMESTAMP, 1)
    elif ts == "tsns":
        rsock.setsockopt(SOL_SOCKET, SO_TIMESTAMPNS, 1)


def prepare(p, shared, pair=None):
    """Builds one side's setup from params p; shared holds the objects both
    sides send (so fd labels agree); pair: a socketpair of _PairPool for
    p's kind and options, used instead of a new one (None: new sockets).
    Returns a Setup; raises nothing the caller must undo beyond
    Setup.close()."""
    st = Setup()
    try:
        if pair is not None:
            st.pair = pair
            st.rsock, st.peer = pair.rsock, pair.peer
        else:
            _make_sockets(p, st)
            _set_options(p, st.rsock)
        nfds = _combo_options(p)[2]
        data = (b"abcdefghij" * (p["data"] // 10 + 1))[:p["data"]]
        anc = []
        if nfds == -1:
            anc = [(SOL_SOCKET, SCM_RIGHTS, b"")]
        elif nfds > 0:
            fds = [shared["fds"][0] if p["sendfd"] == "same"
                   else shared["fds"][i] for i in range(nfds)]
            anc = [(SOL_SOCKET, SCM_RIGHTS, array.array("i", fds).tobytes())]
        st.fd_labels = shared["labels"]
        st.msg = (data, anc)
        if p["pending"] and not p["closed"]:
            st.send()
        if p["eof"]:
            if st.pair is not None:
                raise ValueError("a pooled pair cannot take an eof case")
            st.peer.close()
            st.peer = None
        if p["timeout"] == "none":
            st.rsock.settimeout(None)
        elif p["timeout"] == "0":
            st.rsock.setblocking(False)
        else:
            st.rsock.settimeout(float(p["timeout"]))
        if p["closed"]:
            if st.pair is not None:
                raise ValueError("a pooled pair cannot take a closed case")
            st.rsock.close()
        return st
    except BaseException:
        st.close()
        raise


def make_shared(p):
    """The objects sent as fds (pipe read ends), one per fd (or one for
    sendfd=same): {"fds": [fd], "keys": [(dev, ino) of each], "labels":
    {key: "sentN"}}.  Caller closes shared["fds"]."""
    _, _, nfds = _combo_options(p)
    count = 1 if p["sendfd"] == "same" else max(nfds, 0)
    fds = []
    keys = []
    labels = {}
    for i in range(count):
        r, w = os.pipe()
        os.close(w)
        fds.append(r)
        keys.append(canon.fd_key(r))
        labels[keys[-1]] = "sent%d" % i
    return {"fds": fds, "labels": labels, "keys": keys}


# ----------------------------------------------------------------- running

def _emfile_limit(room):
    """A soft RLIMIT_NOFILE leaving exactly `room` free descriptor numbers
    below it (the lowest free numbers are what the kernel hands out)."""
    used = set(canon.fd_table())
    limit = 0
    free = 0
    while True:
        if limit not in used:
            if free == room:
                return limit
            free += 1
        limit += 1


# Linux x86-64 system call numbers a thread blocked in a receive waits in:
# read, poll, select, recvfrom, recvmsg, epoll_wait, pselect6, ppoll,
# epoll_pwait (arch/x86/entry/syscalls/syscall_64.tbl).
_WAIT_SYSCALLS = frozenset([0, 7, 23, 45, 47, 232, 270, 271, 281])


def _blocked_in_wait(path):
    """True when /proc/self/task/<tid>/syscall says that thread is blocked
    in one of _WAIT_SYSCALLS ("running" or another number: False; an
    unreadable file: None)."""
    try:
        with open(path, "rb") as f:
            text = f.read(32)
    except (IOError, OSError):
        return None
    head = text.split(b" ", 1)[0]
    return head.isdigit() and int(head) in _WAIT_SYSCALLS


class _Eintr(object):
    """SIGALRM delivered to the main thread once it is blocked in the call:
    the handler sends the setup's message (mode "returns") or raises
    ZeroDivisionError ("raises"), once.  In mode "storm" the signal comes
    every STORM seconds for at most STORM_CAP seconds and the handler only
    counts it; result() then says whether the call ended within
    ON_TIME of its start (a call that restarted its timeout at every EINTR
    would wait out the storm first) and was interrupted more than once.

    A helper thread (_Watcher) watches the main thread's
    /proc/self/task/<tid>/syscall and sends SIGALRM (signal.pthread_kill)
    as soon as the main thread is blocked in a receive or poll, so the
    signal interrupts the system call
    (EINTR) instead of arriving before it; this takes well under a
    millisecond, where a fixed 10 ms timer cost 10 ms a side.  If the
    thread has not seen the main thread blocked within 10 ms (file
    unreadable, another architecture), it sends the signal anyway, as the
    fixed timer did; until the handler has run it re-sends every 50 ms as
    a safety net.  The thread is idle again before the old handler is
    put back, so no signal arrives after __exit__."""

    FIRST = 0.01        # the latest first signal (the former timer)
    AGAIN = 0.05        # the safety net's period
    POLL = 0.0001
    # A deadline-keeping call can only look "extended" if it overruns
    # ON_TIME; one that restarts its timeout can only look "kept" if the
    # watcher leaves a gap of a whole timeout (0.1 s) between two signals.
    STORM = 0.01        # "storm": the period of the signals
    STORM_CAP = 0.35    # "storm": no signal after this (the call must end)
    ON_TIME = 0.3       # "storm": a 0.1 s timeout ends well before this;
                        # one restarted by every signal ends after
                        # STORM_CAP + 0.1

    def __init__(self, mode, st):
        self.mode, self.st, self.fired, self.old = mode, st, False, None
        self.stop = False
        self.sent = 0
        self.seen_blocked = False   # the first signal found it blocked
        self.main_ident = self.main_tid = None
        self.handled = 0            # "storm": handler runs
        self.started = self.ended = None

    def handler(self, signum, frame):
        if self.mode == "storm":
            self.handled += 1
            return
        if self.fired:
            return
        self.fired = True
        if self.mode == "raises":
            raise ZeroDivisionError("raised by the SIGALRM handler")
        self.st.send()

    def watch(self):
        """The watcher thread's work for this call (see the class doc);
        returns once stop is set."""
        if self.mode == "storm":
            self._storm()
            return
        path = "/proc/self/task/%d/syscall" % self.main_tid
        next_kill = time.monotonic() + self.FIRST
        watch = True
        while not self.stop:
            if not self.fired:
                now = time.monotonic()
                due = now >= next_kill
                if watch and not due:
                    blocked = _blocked_in_wait(path)
                    if blocked is None:
                        watch = False
                    due = bool(blocked)
                    self.seen_blocked = due
                if due:
                    signal.pthread_kill(self.main_ident, signal.SIGALRM)
                    self.sent += 1
                    next_kill = now + self.AGAIN
                    watch = False
            time.sleep(self.POLL)

    def _storm(self):
        """Mode "storm": a signal every STORM seconds until stop is set or
        STORM_CAP seconds have passed."""
        start = time.monotonic()
        next_kill = start + self.STORM
        while not self.stop:
            now = time.monotonic()
            if now >= next_kill and now - start < self.STORM_CAP:
                signal.pthread_kill(self.main_ident, signal.SIGALRM)
                self.sent += 1
                next_kill = now + self.STORM
            # Asleep until the next signal is due, or a whole period once
            # the storm is over (never a busy poll: this runs beside the
            # call for its whole timeout).
            if time.monotonic() - start >= self.STORM_CAP:
                time.sleep(self.STORM)
            else:
                time.sleep(min(max(next_kill - time.monotonic(), self.POLL),
                               self.STORM))

    def result(self):
        """What the canonical result records of a "storm" call (equal on
        both sides when both keep the deadline): {} in other modes."""
        if self.mode != "storm":
            return {}
        took = self.ended - self.started
        return {"deadline": "kept" if took < self.ON_TIME else "extended",
                "interrupted": "repeatedly" if self.handled >= 2 else
                "%d time(s)" % self.handled}

    def __enter__(self):
        self.old = signal.signal(signal.SIGALRM, self.handler)
        self.main_ident = threading.get_ident()
        self.main_tid = os.getpid()     # the main thread's tid is the pid
        _WATCHER.arm(self)
        self.started = time.monotonic()
        return self

    def __exit__(self, *exc):
        self.ended = time.monotonic()
        _WATCHER.disarm(self)
        signal.signal(signal.SIGALRM, self.old)
        return False


class _Watcher(object):
    """One daemon thread per process that runs _Eintr.watch for the armed
    call.  It is started once (per process: a forked child starts its own)
    and never exits before the process, because a thread that exits can
    open files at that moment (glibc loads libgcc_s.so.1 to unwind a
    pthread_exit, as CPython 3.6 does), which the fd snapshots would see
    as a leak.  disarm() returns only when the thread is idle again, so no
    signal is sent after it."""

    def __init__(self):
        self.cond = threading.Condition()
        self.job = None
        self.done = None
        self.pid = None

    def ensure(self):
        """Starts the thread if this process has none; call it before the
        case's first fd snapshot."""
        if self.pid == os.getpid():
            return
        self.cond = threading.Condition()
        self.job = self.done = None
        t = threading.Thread(target=self._loop, name="cmsgref-eintr")
        t.daemon = True
        t.start()
        self.pid = os.getpid()

    def _loop(self):
        cond = self.cond
        while True:
            with cond:
                while self.job is None:
                    cond.wait()
                job = self.job
            try:
                job.watch()
            finally:
                with cond:
                    self.job = None
                    self.done = job
                    cond.notify_all()

    def arm(self, job):
        self.ensure()
        with self.cond:
            self.done = None
            self.job = job
            self.cond.notify_all()

    def disarm(self, job):
        with self.cond:
            job.stop = True
            while self.done is not job:
                self.cond.wait()


_WATCHER = _Watcher()


def _call_expr(p):
    """The source of an argument-error call for p: the method called on `s`
    (or the macro on `socket`), directly or through a bound method `f`."""
    src = p["call"][1]
    form = p["call"][2] if len(p["call"]) > 2 else "direct"
    if form == "bound":
        return "f(%s)" % src
    if p["method"] in ("CMSG_LEN", "CMSG_SPACE"):
        return "socket.%s(%s)" % (p["method"], src)
    return "s.%s(%s)" % (p["method"], src)


def _build_args(p):
    """(args, kwargs, buffers) for a generic call described by p."""
    tail = []
    if p["anc"] is not None or p["flags"] is not None:
        tail.append(p["anc"] or 0)
    if p["flags"] is not None:
        tail.append(p["flags"])
    if p["method"] == "recvmsg":
        return tuple([p["bufsize"]] + tail), {}, None
    if p["bufs"] is None:
        bufs = [bytearray(p["bufsize"])]
    elif p["bufs"] == "none":
        bufs = []
    else:
        bufs = [bytearray(int(n)) for n in str(p["bufs"]).split("-")]
    return tuple([bufs] + tail), {}, bufs


# Compiled argument-error calls by (source, family): a code object is
# immutable, so each side evaluates the same one with its own globals.
_CODE = {}


def _invoke(p, st):
    """Makes the call of p on st.rsock (the method as the socket class has
    it now).  Returns (ret, exc, caught warnings, bufs, extra): extra is
    what the call's EINTR storm adds to the canonical result ({} when
    there is none)."""
    sock = st.rsock
    ret = exc = None
    bufs = None
    if p["call"] is not None:
        target = socket if p["method"] in ("CMSG_LEN", "CMSG_SPACE") else sock
        env = dict(_EVAL_ENV)
        env.update({"s": sock, "socket": socket,
                    "f": getattr(target, p["method"])})
        src = _call_expr(p)
        code = _CODE.get((src, p["family"]))
        if code is None:
            code = compile(src, "<%s>" % p["family"], "eval")
            _CODE[(src, p["family"])] = code
        fn, args = eval, (code, env)
    else:
        args, _, bufs = _build_args(p)
        fn = getattr(sock, p["method"])
    limit_saved = None
    if p["room"] is not None:
        limit_saved = resource.getrlimit(resource.RLIMIT_NOFILE)
        resource.setrlimit(resource.RLIMIT_NOFILE,
                           (_emfile_limit(p["room"]), limit_saved[1]))
    eintr = _Eintr(p["eintr"], st) if p["eintr"] else None
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter(p["warn"])
        try:
            if eintr is not None:
                with eintr:
                    ret = fn(*args)
            else:
                ret = fn(*args)
        except Exception as e:
            exc = e
        finally:
            if limit_saved is not None:
                resource.setrlimit(resource.RLIMIT_NOFILE, limit_saved)
    return ret, exc, list(caught), bufs, \
        (eintr.result() if eintr is not None else {})


def run_side(side, p, shared, pair=None):
    """Prepares a setup, makes the call through one side and returns its
    canonical result.  The reference side is oracle.refsocket installed on
    socket.socket (and socket.CMSG_*) for the duration of the call, exactly
    as a test suite would use it.  Everything opened here is closed before
    it returns (a pooled pair is given back, see _PairPool); received fds
    are described and closed by canon."""
    st = prepare(p, shared, pair)
    try:
        if side == "reference":
            refsocket.install()
        try:
            ret, exc, caught, bufs, extra = _invoke(p, st)
        finally:
            if side == "reference":
                refsocket.uninstall()
        if exc is not None:
            exc.__traceback__ = None
        if p["method"] in ("CMSG_LEN", "CMSG_SPACE"):
            res = canon.canon_result(None, exc, caught)
            res["nbytes"] = ret
            return res
        if ret is not None and not (isinstance(ret, tuple) and len(ret) == 4):
            raise TypeError("call returned %r" % (ret,))
        res = canon.canon_result(ret, exc, caught, method=p["method"],
                                 rights="fds", labels=st.fd_labels,
                                 addr_labels=st.addr_labels)
        if bufs is not None and ret is not None:
            res["data"] = canon._hex(b"".join(bytes(b) for b in bufs))
        res.update(extra)
        if p["probe"]:
            res["queue_after"] = _queue_after(st.rsock)
        return res
    finally:
        st.close()


def _queue_after(sock):
    """What the receiver has queued now, without consuming it: the next
    message's bytes (a stream's whole backlog) in hex, "empty", or
    "OSError <errno>".  A peek without a control buffer installs no fds.
    The socket is made non-blocking for the peek (with a timeout, CPython
    would wait for data first) and given its timeout back."""
    timeout = sock.gettimeout()
    sock.setblocking(False)
    try:
        data = socket.socket.recv(sock, 65536, MSG_PEEK)
    except BlockingIOError:
        return "empty"
    except OSError as e:
        return "OSError %s" % e.errno
    finally:
        sock.settimeout(timeout)
    return canon._hex(data)


def _crash_result(status):
    """The canonical result of a native side whose process died with
    waitpid status `status` (signal or non-zero exit)."""
    how = ("signal %d" % os.WTERMSIG(status) if os.WIFSIGNALED(status)
           else "exit status %d" % os.WEXITSTATUS(status))
    return {"data": None, "nbytes": None, "ancdata": [], "msg_flags": None,
            "address": None, "warnings": [], "fds_closed": [],
            "fds_received": [],
            "exception": {"type": "process-crash", "message": how,
                          "args": [how], "errno": None}}


def _read_all(fd):
    chunks = []
    while True:
        b = os.read(fd, 65536)
        if not b:
            return b"".join(chunks)
        chunks.append(b)


def _fork(body):
    """Fork a child that runs body() and _exits with what it returns (0
    for None, 3 if it raised); returns the child's pid to the parent, who
    must reap it.  stdio is flushed first so nothing buffered is written
    twice."""
    sys.stdout.flush()
    sys.stderr.flush()
    pid = os.fork()
    if pid == 0:
        code = 3
        try:
            code = body() or 0
        except BaseException:
            pass
        os._exit(code)
    return pid


def _write_all(fd, data):
    while data:
        data = data[os.write(fd, data):]


def _run_isolated(side, p, shared):
    """run_side in a child forked for this case alone; a crash becomes a
    result.  The child only writes one JSON line to a pipe and _exits.
    Used when the case sends fds (the child must inherit them)."""
    r, w = os.pipe()

    def child():
        os.close(r)
        _write_all(w, json.dumps(run_side(side, p, shared)).encode("utf-8"))
    pid = _fork(child)
    os.close(w)
    data = _read_all(r)
    os.close(r)
    _, status = os.waitpid(pid, 0)
    if data and os.WIFEXITED(status) and os.WEXITSTATUS(status) == 0:
        return json.loads(data.decode("utf-8"))
    return _crash_result(status)


class _Isolator(object):
    """One forked child that runs native sides one after another, so that
    a suite of them costs one fork instead of one each (a fork of a 13 MB
    interpreter costs about 13 ms on this VM).  It serves the isolated
    (crash-prone) cases and the cases that wait out a timeout (_waits),
    and is used only for cases that send no fds (nothing the child must
    inherit from the case).  The parent runs the reference side while the
    child runs the native one (submit, then collect), so a case that waits
    10 ms a side costs about 10 ms.  The child diffs its own fd table
    around the native side (canon.fd_snapshot, as run_case does), so the
    native side's leak check is made where the side runs.  Protocol: the
    parent writes a case id and a newline; the child answers with one JSON
    line {"result": native canonical result, "leaks": [...]}, or dies: a
    signal, or exit status 3 when run_side raised, exactly the statuses
    the per-case child of _run_isolated gives.  The child exits when its
    request pipe reaches EOF (the parent closed it or died), so it never
    outlives the worker.  Owns its two pipe ends until stop()."""

    def __init__(self):
        self.pid = None
        self.req = None     # parent's write end of the request pipe
        self.rep = None     # parent's read end of the reply pipe
        self.buf = b""
        self.family = None  # the family of the case that last used it

    def start(self):
        """Forks the child if none is running.  Call it before taking the
        case's first fd snapshot: the pipes stay open across cases."""
        if self.pid is not None:
            return
        req_r, req_w = os.pipe()
        rep_r, rep_w = os.pipe()

        def child():
            os.close(req_w)
            os.close(rep_r)
            return self._serve(req_r, rep_w)
        pid = _fork(child)
        os.close(req_r)
        os.close(rep_w)
        self.pid, self.req, self.rep, self.buf = pid, req_w, rep_r, b""
        _table_changed()

    @staticmethod
    def _serve(req, rep):
        """The child's loop; returns its exit status."""
        pending = b""
        order, table = cases()
        snap = None
        while True:
            while b"\n" not in pending:
                b = os.read(req, 4096)
                if not b:
                    return 0
                pending += b
            line, pending = pending.split(b"\n", 1)
            try:
                p = table[line.decode("utf-8")]
                before = canon.fd_snapshot(snap)
                res = run_side("native", p, make_shared(p))
                snap = canon.fd_snapshot(before)
                out = json.dumps({"result": res, "leaks":
                                  canon.fd_snapshot_leaks(before, snap)})
                _write_all(rep, (out + "\n").encode("utf-8"))
            except BaseException:
                return 3

    def run(self, case_id):
        """The native result of case_id from the child, or the crash result
        (the child is then reaped and the next run() forks a new one)."""
        self.submit(case_id)
        return self.collect()[0]

    def submit(self, case_id):
        """Asks the child (started if needed) to run case_id's native side;
        collect() gets the answer."""
        self.start()
        try:
            msg = (case_id + "\n").encode("utf-8")
            while msg:
                msg = msg[os.write(self.req, msg):]
        except OSError:
            pass            # EPIPE: the child is gone; collect() says why

    def collect(self):
        """(native result, its leaked fds in the child) of the submitted
        case, or (the crash result, []) when the child died (it is then
        reaped and the next submit() forks a new one)."""
        try:
            while b"\n" not in self.buf:
                b = os.read(self.rep, 65536)
                if not b:
                    break
                self.buf += b
        except OSError:
            pass            # EPIPE: the child is gone; its status says why
        if b"\n" in self.buf:
            line, self.buf = self.buf.split(b"\n", 1)
            got = json.loads(line.decode("utf-8"))
            return got["result"], got["leaks"]
        return _crash_result(self.stop()), []

    def stop(self):
        """Closes the pipes and reaps the child; returns its waitpid
        status (0 when none was running)."""
        if self.pid is None:
            return 0
        _close_quietly(self.req)
        _close_quietly(self.rep)
        _table_changed()
        _, status = os.waitpid(self.pid, 0)
        self.pid = self.req = self.rep = None
        self.buf = b""
        return status


_ISOLATOR = _Isolator()


# The fd table between two cases (canon.fd_snapshot), kept so that the
# next case's first snapshot needs no listing.  Code here that opens or
# closes fds of its own outside a side (the shared child's pipes) calls
# _table_changed(), so that the next case lists the table again.
_SNAP = None


def _table_changed():
    global _SNAP
    _SNAP = None


class _SentPool(object):
    """The objects run_case sends as fds: SENT_MAX pipe read ends (write
    ends closed), opened once per process and reused by every case, with
    their labels "sent0".."sentN" by (st_dev, st_ino).  A case sends the
    first n of them (sendfd=same: the first one, n times), exactly the
    objects make_shared would open for it, under the same labels; a sent
    object is never changed by a case (the receiver gets its own
    descriptor, which canon describes and closes).  The pool's fds are
    members of every fd snapshot, so a side that closes or replaces one is
    seen there (and run_case then opens a new pool).  Forked children
    (isolated sides) inherit it."""

    SENT_MAX = 3

    def __init__(self):
        self.fds = []
        self.keys = []
        self.shared = {}    # count -> the make_shared-shaped dict

    def intact(self, snap):
        """True when snapshot snap has every pool fd on its pool object."""
        if not self.fds:
            return False
        table = snap[1]
        for fd, key in zip(self.fds, self.keys):
            if table.get(fd) != key:
                return False
        return True

    def renew(self):
        """Opens a new pool.  Old pool fds still on their pool objects are
        closed; a number that now holds something else is left alone (it
        is not ours any more)."""
        for fd, key in zip(self.fds, self.keys):
            if canon.fd_key(fd) == key:
                _close_quietly(fd)
        fresh = make_shared({"combo": None, "passcred": False,
                             "timestamp": "", "nfds": self.SENT_MAX,
                             "sendfd": "distinct"})
        self.fds, self.keys = fresh["fds"], fresh["keys"]
        self.shared = {}
        _table_changed()

    def for_case(self, p):
        """The shared dict (make_shared's shape) of case p, from the pool."""
        _, _, nfds = _combo_options(p)
        count = 1 if p["sendfd"] == "same" else max(nfds, 0)
        got = self.shared.get(count)
        if got is None:
            if count > self.SENT_MAX:
                raise ValueError("a case sends %d distinct objects; the "
                                 "pool has %d" % (count, self.SENT_MAX))
            keys = self.keys[:count]
            got = {"fds": self.fds[:count], "keys": keys,
                   "labels": dict((k, "sent%d" % i)
                                  for i, k in enumerate(keys))}
            self.shared[count] = got
        return got


_POOL = _SentPool()


# SIOCOUTQ (= TIOCOUTQ, asm-generic/ioctls.h): for an AF_UNIX socket, the
# bytes of its sent skbs that the receiver has not consumed yet.
_SIOCOUTQ = 0x5411


class _Pair(object):
    """A pooled socketpair: its key (kind, passcred, timestamp), the two
    socket objects and their fds' (st_dev, st_ino)."""

    def __init__(self, key, rsock, peer):
        self.key, self.rsock, self.peer = key, rsock, peer
        self.fds = (rsock.fileno(), peer.fileno())
        self.ids = (canon.fd_key(self.fds[0]), canon.fd_key(self.fds[1]))

    def owned(self, table):
        """True when table ({fd: key}) still has both fds on this pair."""
        return (table.get(self.fds[0]) == self.ids[0] and
                table.get(self.fds[1]) == self.ids[1])

    def close(self):
        """Closes both sockets if their fds are still this pair's; a number
        that holds something else now is left open (not ours)."""
        for sock, fd, key in zip((self.rsock, self.peer), self.fds,
                                 self.ids):
            if canon.fd_key(fd) == key:
                sock.close()
            else:
                sock.detach()


class _PairPool(object):
    """One AF_UNIX socketpair kept between sides and cases, so that a side
    of a socketpair case (kind stream/dgram/seqpacket, peer and receiver
    left open) costs no socketpair() and no close().

    Equivalence with a new pair: a pair's state that a case can observe is
    its type, the receiver's options (SO_PASSCRED, SO_TIMESTAMP[NS]: the
    pool's key, set when the pair is opened, as prepare sets them on a new
    pair), the receiver's timeout and blocking mode (set by prepare for
    every case), and what is queued toward the receiver (the receiver
    never sends: the suite's one sendmsg is Setup.send, on the peer).
    After each side the pair is kept only if the peer's SIOCOUTQ is 0
    (every skb the peer sent was consumed: a MSG_PEEK, a partial stream
    read or an unread message leaves it non-zero), or once _drain has
    received and dropped the rest (closing the fds in it) and SIOCOUTQ
    is 0; otherwise it is closed at once (inside the side, as a new pair
    would be) and the next side or case opens a new one.

    The pair is opened and replaced only in run_case before the case's
    first fd snapshot (never inside a side), so its fds are members of the
    table the sides are diffed against; run_case checks that they still
    hold the pair (as for _SentPool).  Only the process that opened it
    uses it: isolated sides (forked children) make their own pairs."""

    def __init__(self):
        self.pair = None
        self.pid = None

    @staticmethod
    def key(p):
        """The pool key of case p, or None when p cannot use a pooled pair
        (not a socketpair kind, or it closes the peer or the receiver)."""
        if p["kind"] not in PAIRS or p["eof"] or p["closed"]:
            return None
        passcred, ts, _ = _combo_options(p)
        return (p["kind"], passcred, ts)

    def ready(self, p, table):
        """Called by run_case before the case's first snapshot.  table: the
        last verified fd table ({fd: key}) or None.  Returns (pair or None,
        changed): changed is True when fds were opened or closed."""
        key = self.key(p)
        if self.pid != os.getpid():
            self.pair, self.pid = None, os.getpid()
        changed = False
        if self.pair is not None and (self.pair.key != key or table is None
                                      or not self.pair.owned(table)):
            self.drop()
            changed = True
        if key is None:
            return None, changed
        if self.pair is None:
            kind, _, _ = key
            rsock, peer = socket.socketpair(socket.AF_UNIX, {
                "stream": socket.SOCK_STREAM, "dgram": socket.SOCK_DGRAM,
                "seqpacket": socket.SOCK_SEQPACKET}[kind])
            try:
                _set_options(p, rsock)
            except BaseException:
                rsock.close()
                peer.close()
                raise
            self.pair = _Pair(key, rsock, peer)
            changed = True
        return self.pair, changed

    def release(self, pair):
        """After a side: keeps the pair if nothing is queued toward the
        receiver, or once _drain has emptied it; else closes it (see the
        class doc)."""
        if pair is self.pair:
            try:
                if _outq(pair.peer) == 0 or _drain(pair):
                    return
            except (OSError, ValueError):
                pass
            self.pair = None
        pair.close()

    def drop(self):
        """Closes the pooled pair (if any)."""
        if self.pair is not None:
            pair, self.pair = self.pair, None
            pair.close()


# The C-level recvmsg (what socket.socket inherits), unaffected by
# refsocket.install() or a test's patch on socket.socket.
_RAW_RECVMSG = socket._socket.socket.recvmsg
_DRAIN_MAX = 64


def _drain(pair):
    """Receives and drops what is still queued toward the pair's receiver
    (a peeked or partly read message), closing the fds that come with it,
    non-blocking, until the peer's SIOCOUTQ is 0.  True when it is: the
    pair is then in the state a side that consumed everything leaves (its
    timeout is set again by the next prepare)."""
    pair.rsock.setblocking(False)
    for _ in range(_DRAIN_MAX):
        if _outq(pair.peer) == 0:
            return True
        data, anc, _, _ = _RAW_RECVMSG(pair.rsock, 65536, 8192)
        for level, type_, payload in anc:
            if level == SOL_SOCKET and type_ == SCM_RIGHTS:
                for fd in canon.split_fds(payload)[0]:
                    _close_quietly(fd)
    return _outq(pair.peer) == 0


def _outq(sock):
    """SIOCOUTQ of a socket (see _SIOCOUTQ)."""
    return struct.unpack("i", fcntl.ioctl(sock.fileno(), _SIOCOUTQ,
                                          b"\0\0\0\0"))[0]


_PAIRS = _PairPool()


def _close_pair_at_exit():
    """At interpreter exit, closes the pooled pair this process opened (its
    socket objects would otherwise be finalised at shutdown, where 3.9.18
    printed "ResourceWarning: unclosed <socket.socket ...>" after a whole
    suite run)."""
    if _PAIRS.pid == os.getpid():
        _PAIRS.drop()


atexit.register(_close_pair_at_exit)


def _waits(p):
    """True when case p's call waits out a timeout > 0 on both sides (no
    message is sent before it, the receiver stays open): such a case runs
    its native side in the shared child while the reference side runs."""
    return (p["timeout"] not in ("none", "0", "5") and not p["pending"]
            and not p["eof"] and not p["closed"] and not p["eintr"])


def _prefetched(p):
    """True when case p is mostly waiting (a timeout waited out on both
    sides, or the EINTR watcher's polling) and not isolated: such cases
    are run ahead, whole, by _Prefetch."""
    isolate = p["isolate"]
    if callable(isolate):
        isolate = isolate(p)
    return (_waits(p) or bool(p["eintr"])) and not isolate


class _Prefetch(object):
    """A forked child that runs the whole of every _prefetched case (both
    sides, with run_case itself, so with the same setups, comparisons
    inputs and fd-table diffs around each side, in the child's own table)
    while the worker runs the cases before them, so that their waits
    (about 0.25 s a suite) overlap with other cases' work instead of
    adding to it.  It is started when run_case is asked for the first
    case of the matrix (a whole-suite run); the child writes one JSON
    record per case, in matrix order, to a file in the suite's private
    directory and exits; its stdout is /dev/null, so the worker's output
    never sees it.  The worker holds no fd of it meanwhile (nothing added
    to its fd snapshots).  The worker's run_case for such a case takes
    the child's record, reading the file as far as the child has written
    it (open, read from where it stopped, close: no fd is held between
    cases) and waiting only until that record is there or the child has
    exited; once every record is in, the child is reaped and the file
    removed.  A record the child did not give (it died) is run here as
    usual.  Cases
    that use filesystem names are never prefetched (the two processes
    would share them); none of the prefetched kinds does (socketpairs and
    UDP).  The child is a copy of the process at the first case: a patch
    made to the process later (a test's) does not reach these cases."""

    def __init__(self):
        self.pid = None
        self.path = None
        self.ids = frozenset()
        self.records = {}       # case id -> record, as read so far
        self.seen = set()       # ids read so far (taken or not)
        self.pos = 0            # bytes of the file read so far
        self.exited = False

    def start(self):
        order, table = cases()
        ids = [cid for cid in order if _prefetched(table[cid])]
        for cid in ids:
            if not (table[cid]["kind"] in PAIRS or
                    table[cid]["kind"] in ("udp4", "udp6")):
                raise ValueError("prefetched case %s uses names" % cid)
        if not ids or self.pid is not None:
            return
        path = os.path.join(_tmpdir(), "prefetch-%d" % os.getpid())

        def child():
            w = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
            null = os.open(os.devnull, os.O_WRONLY)
            os.dup2(null, 1)
            os.close(null)
            _child_reset()
            for cid in ids:
                _write_all(w, (json.dumps(run_case(cid)) + "\n")
                           .encode("utf-8"))
            os.close(w)
        pid = _fork(child)
        self.pid, self.path, self.ids = pid, path, frozenset(ids)
        self.records, self.seen = {}, set()
        self.pos, self.exited = 0, False

    POLL = 0.0005       # between two looks at a child still writing

    def take(self, case_id):
        """The child's record of case_id, or None (run it here)."""
        if case_id not in self.ids:
            return None
        while case_id not in self.records and not self.exited:
            # Whether it has exited is asked before the last read, so a
            # record written just before the exit is not missed.
            self.exited = os.waitpid(self.pid, os.WNOHANG)[0] != 0
            self._read()
            if case_id not in self.records and not self.exited:
                time.sleep(self.POLL)
        if not self.exited and self.seen >= self.ids:
            os.waitpid(self.pid, 0)     # every record is in: it is exiting
            self.exited = True
        if self.exited and self.path is not None:
            try:
                os.unlink(self.path)
            except OSError:
                pass
            self.path = None
        return self.records.pop(case_id, None)

    def _read(self):
        """Adds the whole lines the child has written since the last read
        to records (a line cut short by a dying child is dropped)."""
        if self.path is None:
            return
        try:
            fd = os.open(self.path, os.O_RDONLY)
        except OSError:
            return
        try:
            os.lseek(fd, self.pos, os.SEEK_SET)
            data = _read_all(fd)
        finally:
            os.close(fd)
        end = data.rfind(b"\n") + 1
        self.pos += end
        for line in data[:end].split(b"\n"):
            try:
                rec = json.loads(line.decode("utf-8"))
            except ValueError:
                continue        # the empty tail
            self.records[rec["id"]] = rec
            self.seen.add(rec["id"])


_PREFETCH = _Prefetch()
_IN_CHILD = []      # non-empty in a forked child of the suite


def _child_reset():
    """In a freshly forked child: forget the parent's children and its
    table (the child lists its own), and never fork helpers of its own
    for overlap."""
    global _SNAP, _ISOLATOR, _PREFETCH
    _IN_CHILD.append(True)
    _ISOLATOR = _Isolator()
    _PREFETCH = _Prefetch()
    _SNAP = None


def run_case(case_id):
    """Runs one scenario on both sides (worker contract).  Returns the
    record: family, id, native, reference, leaked_fds, repro."""
    global _SNAP
    order, table = cases()
    if case_id not in table:
        raise KeyError("unknown case %s" % case_id)
    p = table[case_id]
    refsocket._lib()
    if not _IN_CHILD:
        if case_id == order[0]:
            _PREFETCH.start()
        rec = _PREFETCH.take(case_id)
        if rec is not None:
            return rec
    isolate = p["isolate"]
    if callable(isolate):
        isolate = isolate(p)
    # Isolated cases that send fds fork per case; the others, and the
    # cases that wait out a timeout, run their native side in one shared
    # child, concurrently with the reference side; it is started before
    # the first snapshot (its pipes are not this case's).
    sends = _combo_options(p)[2] != 0 or p["sendfd"] == "same"
    pooled = (isolate or (_waits(p) and not _IN_CHILD)) and not sends
    if pooled:
        _ISOLATOR.start()
        _ISOLATOR.family = p["family"]
    elif _ISOLATOR.pid is not None and _ISOLATOR.family != p["family"]:
        _ISOLATOR.stop()    # its pipes would be in every later snapshot
    if p["eintr"]:
        _WATCHER.ensure()
    # The table before the native side: the one verified after the
    # previous case's reference side, verified again (canon.fd_snapshot:
    # a count and one fstat per fd, no listing when unchanged), because
    # code outside the suite may close and open fds between two cases.
    # Nothing of the suite's own opens or closes an fd there (the sent
    # objects and the socketpair are pooled); opening or replacing a pool
    # lists the table again.
    _SNAP = canon.fd_snapshot(_SNAP)
    if not _POOL.intact(_SNAP):
        _POOL.renew()
        _SNAP = canon.fd_snapshot()
    if _PAIRS.ready(p, _SNAP[1])[1]:
        _SNAP = canon.fd_snapshot()
    shared = _POOL.for_case(p)
    before = _SNAP
    results = {}
    leaks = {}
    _SNAP = None            # until this case has ended normally
    if pooled:
        # Both sides at once: the native one in the child (which diffs its
        # own table around it), the reference one here.
        _ISOLATOR.submit(case_id)
        try:
            results["reference"] = run_side("reference", p, shared,
                                            _PAIRS.pair)
            after = canon.fd_snapshot(before)
            leaks["reference"] = canon.fd_snapshot_leaks(before, after)
            before = after
        finally:
            results["native"], leaks["native"] = _ISOLATOR.collect()
    else:
        for side in ("native", "reference"):
            if isolate and side == "native":
                results[side] = _run_isolated(side, p, shared)
            else:
                results[side] = run_side(side, p, shared, _PAIRS.pair)
            after = canon.fd_snapshot(before)
            leaks[side] = canon.fd_snapshot_leaks(before, after)
            before = after
    # The next case's table (a count of 0: this kernel gives none, so the
    # next case lists it again).
    _SNAP = before if before[0] else None
    return {"family": p["family"], "id": case_id,
            "native": results["native"], "reference": results["reference"],
            "leaked_fds": leaks,
            "repro": repro(case_id)}


def repro(case_id):
    """The shell command that reruns one case, both sides and the diff,
    from any directory: it enters the repo, names this interpreter by its
    absolute path and, when the run uses another library than the
    default, CMSGREF_LIB; every word is quoted (shlex.quote).  Everything
    before the case id depends only on CMSGREF_LIB and the interpreter, so
    it is built once for each (this runs for every record: ~6 % of the
    suite's time when built per case)."""
    lib = os.environ.get("CMSGREF_LIB")
    # A relative CMSGREF_LIB is made absolute against the current directory.
    key = (lib, sys.executable,
           os.getcwd() if lib and not os.path.isabs(lib) else None)
    head = _REPRO_HEADS.get(key)
    if head is None:
        q = shlex.quote
        env = ""
        if lib and os.path.abspath(lib) != refsocket.REPO_LIB:
            env = "CMSGREF_LIB=%s " % q(os.path.abspath(lib))
        exe = os.path.abspath(sys.executable) if sys.executable else "python3"
        head = "cd %s && %sPYTHONPATH=. %s -m oracle.suite_sockets " % (
            q(REPO), env, q(exe))
        _REPRO_HEADS[key] = head
    return head + shlex.quote(case_id)


_REPRO_HEADS = {}   # repro's key -> its words before the case id


# --------------------------------------------------------------------- CLI

USAGE = """\
usage: python3 -m oracle.suite_sockets --list [SUBSTRING] | CASE_ID...
  --list [SUBSTRING]  print the case ids (those containing SUBSTRING)
  CASE_ID...          run these cases on both sides; print each record, its
                      DIFF and LEAK lines
Run from anywhere with the repo on PYTHONPATH; the library is $CMSGREF_LIB,
else <repo>/build/libcmsgref.so.  Exit status 0 if every case's sides are
equal and nothing leaked, 1 otherwise, 2 on bad usage.
"""


def main(argv=None):
    """python -m oracle.suite_sockets [--list [SUBSTRING]] [CASE_ID ...]
    Prints each case's record and its diff; exit 0 if all equal, 1 if any
    differs or leaks, 2 on bad usage, 141 (quietly) if stdout's reader went
    away."""
    argv = sys.argv[1:] if argv is None else argv
    try:
        return _main(argv)
    except BrokenPipeError:
        from oracle import discover
        return discover.stdout_gone()


def _main(argv):
    if argv and argv[0] in ("-h", "--help"):
        sys.stdout.write(USAGE)
        return 0
    if not argv:
        sys.stderr.write("oracle.suite_sockets: no case given (usage: "
                         "--list [SUBSTRING] | CASE_ID...; see --help)\n")
        return 2
    order, table = cases()
    if argv[0] == "--list":
        if len(argv) > 2:
            sys.stderr.write("oracle.suite_sockets: --list takes at most one "
                             "SUBSTRING (see --help)\n")
            return 2
        sub = argv[1] if len(argv) > 1 else ""
        sys.stdout.write("".join(cid + "\n" for cid in order if sub in cid))
        sys.stdout.flush()
        return 0
    unknown = [a for a in argv if a not in table]
    if unknown:
        sys.stderr.write("oracle.suite_sockets: unknown case %s (see "
                         "--list)\n" % unknown[0])
        return 2
    try:
        refsocket.load()
    except OSError as e:
        sys.stderr.write("oracle.suite_sockets: cannot load the library: "
                         "%s (run make)\n" % e)
        return 2
    bad = 0
    for cid in argv:
        rec = run_case(cid)
        d = canon.diff(rec["native"], rec["reference"])
        print(json.dumps(rec, sort_keys=True, indent=1))
        for line in d:
            print("DIFF " + line)
        for side in ("native", "reference"):
            for leak in rec["leaked_fds"][side]:
                print("LEAK %s %s" % (side, leak))
        sys.stdout.flush()
        if d or rec["leaked_fds"]["native"] or rec["leaked_fds"]["reference"]:
            bad = 1
    return bad


if __name__ == "__main__":
    sys.exit(main())
