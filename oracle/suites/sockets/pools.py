"""suites/sockets/pools.py - objects the scenarios reuse instead of
opening and closing them per case: the objects sent as fds (_SentPool) and
one AF_UNIX socketpair per key (_PairPool).  Each class doc states why a
reused object is indistinguishable from a new one."""

import atexit
import fcntl
import os
import socket
import struct

from oracle.judge import canon
from tools import fdtable
from oracle.suites.sockets.fixtures import _close_quietly, \
    _combo_options, _set_options, make_shared
from oracle.suites.sockets.table import PAIRS, SCM_RIGHTS, SOL_SOCKET

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
            if fdtable.identity(fd) == key:
                _close_quietly(fd)
        fresh = make_shared({"combo": None, "passcred": False,
                             "timestamp": "", "nfds": self.SENT_MAX,
                             "sendfd": "distinct"})
        self.fds, self.keys = fresh["fds"], fresh["keys"]
        self.shared = {}

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

    def __init__(self, pool, key, rsock, peer):
        self.pool, self.key, self.rsock, self.peer = pool, key, rsock, peer
        self.fds = (rsock.fileno(), peer.fileno())
        self.ids = (fdtable.identity(self.fds[0]), fdtable.identity(self.fds[1]))

    def release(self):
        """After a side: back to the pool (_PairPool.release)."""
        self.pool.release(self)

    def owned(self, table):
        """True when table ({fd: key}) still has both fds on this pair."""
        return (table.get(self.fds[0]) == self.ids[0] and
                table.get(self.fds[1]) == self.ids[1])

    def close(self):
        """Closes both sockets if their fds are still this pair's; a number
        that holds something else now is left open (not ours)."""
        for sock, fd, key in zip((self.rsock, self.peer), self.fds,
                                 self.ids):
            if fdtable.identity(fd) == key:
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
        (not a socketpair kind, it closes the peer or the receiver, or a
        callback of its call may: reentry.py)."""
        if p["kind"] not in PAIRS or p["eof"] or p["closed"] or \
                p["reenter"]:
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
            self.pair = _Pair(self, key, rsock, peer)
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
    socket objects would otherwise be finalised at shutdown, where a
    ResourceWarning may name them)."""
    if _PAIRS.pid == os.getpid():
        _PAIRS.drop()


atexit.register(_close_pair_at_exit)
