"""suites/sockets/fixtures.py - what a scenario's parameters name, built
and torn down: the sockets of each kind, the receiver's options, the
objects sent as fds, the message, the timeout, EMFILE's limit.

A Setup owns every fd it opened until close(); a pooled socketpair
(pools.py) is given back to its pool instead of closed.  AF_UNIX paths
live in a private directory removed at exit.
"""

import array
import atexit
import errno
import os
import socket
import struct
import tempfile

from tools import fdtable
from oracle.suites.sockets.table import PAIRS, SCM_RIGHTS, SOL_SOCKET, \
    SO_PASSCRED, SO_TIMESTAMP, SO_TIMESTAMPNS

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
        try:
            if self.dest is not None:
                self.peer.sendmsg([data], anc, 0, self.dest)
            else:
                self.peer.sendmsg([data], anc)
        except OSError as e:
            # musl's sendmsg copies the control data into a 1,024-byte
            # buffer of its own and refuses more with ENOMEM, so an
            # interpreter on musl cannot send SCM_MAX_FD fds itself: the
            # message goes to the kernel directly (the sender is setup,
            # not what is compared).
            if e.errno != errno.ENOMEM or self.dest is not None or \
                    sum(len(a[2]) for a in anc) <= 1024 - 16:
                raise
            _kernel_sendmsg(self.peer.fileno(), data, anc)

    def close(self):
        if self.pair is not None:
            self.pair.release()             # kept if clean, else closed
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


# The sendmsg system call's number, where _kernel_sendmsg knows it.
_SYS_SENDMSG = {"x86_64": 46, "aarch64": 211}


def _kernel_sendmsg(fd, data, anc):
    """sendmsg(2) on a connected socket through syscall(), bypassing the
    libc's wrapper: the kernel's struct msghdr, and the ancillary items
    (level, type, bytes) laid out with 16-byte headers (LP64).  Raises
    OSError as the call would."""
    import ctypes
    nr = _SYS_SENDMSG.get(os.uname().machine)
    if nr is None or ctypes.sizeof(ctypes.c_void_p) != 8:
        raise OSError(errno.ENOSYS, "no direct sendmsg on %s"
                      % os.uname().machine)
    ctl = b"".join(
        (struct.pack("=Qii", 16 + len(b), lv, ty) + b +
         b"\0" * (-len(b) % 8)) for lv, ty, b in anc)

    class IOVec(ctypes.Structure):
        _fields_ = [("base", ctypes.c_void_p), ("len", ctypes.c_size_t)]

    class MsgHdr(ctypes.Structure):
        _fields_ = [("name", ctypes.c_void_p), ("namelen", ctypes.c_uint32),
                    ("iov", ctypes.POINTER(IOVec)),
                    ("iovlen", ctypes.c_size_t),
                    ("control", ctypes.c_void_p),
                    ("controllen", ctypes.c_size_t),
                    ("flags", ctypes.c_int)]
    dbuf = ctypes.create_string_buffer(bytes(data), len(data) or 1)
    cbuf = ctypes.create_string_buffer(ctl, len(ctl))
    iov = IOVec(ctypes.cast(dbuf, ctypes.c_void_p), len(data))
    msg = MsgHdr(None, 0, ctypes.pointer(iov), 1,
                 ctypes.cast(cbuf, ctypes.c_void_p), len(ctl), 0)
    libc = ctypes.CDLL(None, use_errno=True)
    libc.syscall.restype = ctypes.c_long
    rc = libc.syscall(ctypes.c_long(nr), ctypes.c_long(fd),
                      ctypes.byref(msg), ctypes.c_long(0))
    if rc < 0:
        err = ctypes.get_errno()
        raise OSError(err, os.strerror(err))


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
        keys.append(fdtable.identity(r))
        labels[keys[-1]] = "sent%d" % i
    return {"fds": fds, "labels": labels, "keys": keys}


# ----------------------------------------------------------------- running


def _emfile_limit(room):
    """A soft RLIMIT_NOFILE leaving exactly `room` free descriptor numbers
    below it (the lowest free numbers are what the kernel hands out)."""
    used = set(fdtable.fds())
    limit = 0
    free = 0
    while True:
        if limit not in used:
            if free == room:
                return limit
            free += 1
        limit += 1
