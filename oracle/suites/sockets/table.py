"""suites/sockets/table.py - the sockets suite's scenario table: every
family, its parameters and axes.  Adding a family edits this file only.

A family is a base parameter set plus axes whose cartesian product (minus
the family's exclusions) gives the cases; a case id is
"family/axis=value,...".  One runner (run.py) interprets the parameters,
the fixtures (fixtures.py) build what they name.

Facts encoded (kernel-driven, Linux x86-64): CMSG_LEN(n) = 16 + n,
CMSG_SPACE(n) = 16 + align8(n) (glibc x86-64, §1); SCM_MAX_FD = 253 fds per
message (§10); SO_PASSCRED = 16, SO_TIMESTAMP = 29, SO_TIMESTAMPNS = 35,
MSG_TRUNC = 0x20, MSG_CMSG_CLOEXEC = 0x40000000 (Linux uapi values, used
where the socket module lacks the name); IOV_MAX = 1024 (§5 step 6).
"""

import socket

from oracle.suites.sockets.reentry import specs as _reentry_specs

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
#             "late" (handler sends, returns after the timeout) |
#             "storm" (a handler that returns, every 10 ms: §7's deadline)
#   warn      warnings filter for the call ("always", "error", ...)
#   call      argument-error cases: the argument list as Python source,
#             evaluated per side (fresh buffers each time)
#   isolate   run the native side in a forked child, because the call can
#             kill the process (bool, or a function of the parameters)
#   reenter   "HOOK:ACTION": Python code run inside the call before the
#             system call (an __index__, a __buffer__, an iterator, the
#             EINTR handler: eintr "reenter") and what it does (reentry.py)
#   bug_class (a family's key, not a parameter) the bug classes other
#             cmsg consumers shipped that the family's cases reach:
#             length-after-use (a length checked after it was used),
#             type-not-length (a type checked but not the length: a zeroed
#             buffer read as fd 0), headers-without-data (headers read when
#             nothing arrived), rights-not-first (SCM_RIGHTS assumed the
#             only or first item), ctrunc-ignored (MSG_CTRUNC ignored),
#             fd-leak-error-path (fds leaked on error paths, a zero-byte
#             payload with fds included), msg-trunc-input (MSG_TRUNC passed
#             in flags: the length returned exceeds the buffer)
#   probe     record what the call left queued (queue_after: a peek at the
#             receiver after the call; §5: recvmsg_into([]) consumes nothing
#             on a stream but discards a datagram; MSG_PEEK consumes nothing)


DEFAULTS = {
    "kind": "stream", "data": 6, "nfds": 0, "sendfd": "distinct",
    "passcred": False, "timestamp": "", "method": "recvmsg", "bufsize": 16,
    "bufs": None, "anc": 0, "flags": None, "timeout": "5", "pending": True,
    "eof": False, "closed": False, "room": None, "eintr": "",
    "warn": "always", "call": None, "isolate": False, "probe": False,
    "reenter": None,
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
    ("index-intflag-flags", "1, 0, Idx(MSG_DONTWAIT)"),
    ("index-intflag-anc", "1, Idx(MSG_DONTWAIT)"),
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
    ("count-int-max+1", "Claimed(2**31)"),
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
    {"family": "rights", "bug_class": ["length-after-use", "type-not-length", "ctrunc-ignored"],
     "doc": "SCM_RIGHTS with 0..3 fds, ancbufsize swept byte by byte "
            "across CMSG_LEN/CMSG_SPACE (§10 table)",
     "axes": [("kind", PAIRS), ("nfds", [-1, 0, 1, 2, 3]),
              ("method", METHODS), ("anc", _rights_anc)],
     "skip": lambda p: p["nfds"] == -1 and p["anc"] > 24},
    {"family": "rights-max", "bug_class": ["length-after-use", "ctrunc-ignored"],
     "doc": "SCM_MAX_FD (253) fds of one object around the boundaries",
     "base": {"sendfd": "same", "nfds": SCM_MAX_FD},
     "axes": [("kind", PAIRS), ("anc", _max_anc)]},
    {"family": "passcred", "bug_class": ["length-after-use", "rights-not-first", "ctrunc-ignored"],
     "doc": "SO_PASSCRED with and without fds, ancbufsize 0..72",
     "base": {"passcred": True},
     "axes": [("kind", PAIRS), ("nfds", [0, 1, 2]), ("anc", _cred_anc)]},
    {"family": "multi", "bug_class": ["length-after-use", "rights-not-first", "ctrunc-ignored"],
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
    {"family": "trunc", "bug_class": ["msg-trunc-input"],
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
    {"family": "into-empty", "bug_class": ["headers-without-data"],
     "doc": "recvmsg_into([]): nothing queued, it waits out its timeout; "
            "a datagram is discarded and its sender's address returned "
            "with MSG_TRUNC; a stream keeps its data (§5)",
     "base": {"method": "recvmsg_into", "bufs": "none", "data": 10,
              "probe": True},
     "axes": [("kind", ["stream", "dgram", "unix-dgram-path", "udp4"]),
              ("pending", [True, False]), ("timeout", ["0", "0.01"])],
     "skip": lambda p: (p["kind"] == "unix-dgram-path" and not p["pending"]
                        and p["timeout"] != "0")},
    {"family": "eof", "bug_class": ["headers-without-data"],
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
    {"family": "timeout", "bug_class": ["headers-without-data"],
     "doc": "socket timeouts: none, 0, > 0 (down to 1 ns, the smallest "
            "CPython holds) with and without data",
     "axes": [("kind", PAIRS + ["udp4"]), ("method", METHODS),
              ("timeout", ["none", "0", "1e-09", "0.001", "0.01"]),
              ("pending", [True, False])],
     "skip": lambda p: p["timeout"] == "none" and not p["pending"]},
    {"family": "eintr",
     "doc": "EINTR with a handler that returns (and sends) or raises, "
            "with and without room for control data",
     "base": {"pending": False, "nfds": 1},
     "axes": [("kind", PAIRS), ("method", METHODS),
              ("timeout", ["none", "5"]), ("eintr", ["returns", "raises"]),
              ("anc", [0, 64])]},
    {"family": "emfile", "bug_class": ["fd-leak-error-path", "ctrunc-ignored"],
     "doc": "EMFILE through RLIMIT_NOFILE: room for 0, 1, 2 fds of 3",
     "base": {"nfds": 3, "anc": 64},
     "axes": [("kind", PAIRS), ("method", METHODS), ("room", [0, 1, 2])]},
    {"family": "closed",
     "doc": "a closed socket with valid arguments: EBADF",
     "base": {"closed": True},
     "axes": [("kind", PAIRS + ["udp4", "udp6"]), ("method", METHODS),
              ("timeout", ["none", "0", "5"])]},
    {"family": "warnfilter", "bug_class": ["type-not-length", "fd-leak-error-path"],
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
    {"family": "eintr-deadline",
     "doc": "a 0.1 s timeout under a storm of signals whose handler "
            "returns: each EINTR retries with the time left, so the call "
            "times out on time (§7: the deadline is not extended)",
     "base": {"pending": False, "nfds": 1, "anc": 64, "eintr": "storm",
              "timeout": "0.1"},
     "axes": [("kind", ["stream", "dgram"]), ("method", METHODS)],
     # two of the four: 0.2 s each, and the rule is the same for all
     "skip": lambda p: (p["kind"] == "stream") != (p["method"] == "recvmsg")},
    {"family": "eintr-late",
     "doc": "the EINTR handler sends the message and returns after the "
            "timeout has passed: the retry finds the deadline passed and "
            "times out without waiting or receiving, the message stays "
            "queued (§7: a negative remaining time is a timeout)",
     "base": {"pending": False, "anc": 64, "eintr": "late",
              "timeout": "0.05", "probe": True},
     "axes": [("kind", ["stream", "dgram"]), ("method", METHODS)]},
    {"family": "reentry",
     "doc": "Python code inside the call before the system call (__index__ "
            "of an argument, __buffer__ of a buffer, __iter__, a generator) "
            "changes the buffer list or the socket; a fixed CPython uses the "
            "list as it was converted (§5); a replacement of another size "
            "than the item it replaces (bufs 2-3) changes how much a version "
            "that writes into it receives",
     "base": {"nfds": 1, "anc": 64, "data": 10, "bufs": "3-3-4",
              "probe": True},
     "axes": [("kind", ["stream", "dgram"]), ("method", METHODS),
              ("bufs", ["3-3-4", "2-3"]),
              ("reenter", lambda p: [s for s in _reentry_specs(p["method"])
                                     if not s.startswith("signal:")])],
     "skip": lambda p: p["bufs"] == "2-3" and p["reenter"] not in (
         "buffer:replace", "subclass-buffer:replace")},
    {"family": "reentry-signal",
     "doc": "the EINTR handler sends the message, then changes the buffer "
            "list or the socket (closes, detaches it, changes its timeout) "
            "or raises, while the buffers are held (§7)",
     "base": {"nfds": 1, "anc": 64, "data": 10, "bufs": "3-3-4",
              "pending": False, "eintr": "reenter"},
     "axes": [("kind", ["stream", "dgram"]), ("method", METHODS),
              ("timeout", ["none", "5"]),
              ("reenter", lambda p: [s for s in _reentry_specs(p["method"])
                                     if s.startswith("signal:")])]},
    {"family": "zero-payload",
     "bug_class": ["fd-leak-error-path", "headers-without-data"],
     "doc": "a zero-byte message that carries fds: a datagram or SEQPACKET "
            "delivers them (with room for them, with a truncated control "
            "buffer, under EMFILE); a stream queues nothing (§10)",
     "base": {"data": 0, "probe": True},
     "axes": [("kind", PAIRS), ("nfds", [1, 2]), ("method", METHODS),
              ("anc", [0, 20, 24, 64]), ("room", [None, 0]),
              ("timeout", lambda p: ["0.01"] if p["kind"] == "stream"
               else ["5"])],
     "skip": lambda p: p["room"] is not None and (p["kind"] == "stream" or
                                                  p["anc"] != 64)},
    {"family": "no-control",
     "bug_class": ["headers-without-data"],
     "doc": "a control buffer and no control data: data without items, a "
            "zero-byte datagram, nothing at all (non-blocking, timeout)",
     "base": {"anc": 64, "probe": True},
     "axes": [("kind", PAIRS + ["udp4"]), ("method", METHODS),
              ("data", [0, 6]), ("pending", [True, False]),
              ("timeout", ["0", "0.01"])],
     "skip": lambda p: (p["kind"] == "stream" and p["data"] == 0
                        and p["pending"])},
]
