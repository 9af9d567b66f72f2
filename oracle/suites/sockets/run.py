"""suites/sockets/run.py - one scenario, both sides: the call through the
interpreter's socket method and through oracle.reference.refsocket, each
on its own identically prepared setup (fixtures.py), each result made
canonical (oracle.judge.canon), the fd table diffed around each side.

Per case: the sent objects and a socketpair come from the pools (pools.py,
opened between cases, never inside a side), the table is verified with a
snapshot before the native side and after each side; the reference side is
refsocket installed on socket.socket for the duration of the call.  A case
whose call can kill the process (table "isolate") runs its native side in
the isolating child (children.py).  EINTR cases use the watcher thread
(eintr.py) and so need the main thread.
"""

import array
import os
import resource
import shlex
import socket
import time
import warnings

from oracle import REPO_LIB, worker
from oracle.judge import canon
from oracle.reference import refsocket
from oracle.suites.sockets import claimed
from oracle.suites.sockets.children import Isolator
from oracle.suites.sockets.eintr import _WATCHER, _Eintr
from oracle.suites.sockets.expand import cases
from oracle.suites.sockets.fixtures import _emfile_limit, prepare
from oracle.suites.sockets.pools import _PAIRS, _POOL
from oracle.suites.sockets.reentry import Reentry
from oracle.suites.sockets.table import MSG_DONTWAIT, MSG_PEEK
from tools import fdtable


def configure(lib=None, libc=None):
    """Loads the reference library with the libc model the driver chose
    for this interpreter (libc; None: CMSGREF_LIBC, else the library's
    host model).  Worker contract."""
    refsocket.load(lib, libc=libc)
    _MODEL[0] = libc


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
             "IntOnly": _IntOnly, "Claimed": claimed.claimed,
             "MSG_DONTWAIT": MSG_DONTWAIT, "True": True, "None": None}


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


def _invoke(p, st, reenter=None):
    """Makes the call of p on st.rsock (the method as the socket class has
    it now), with reenter's callback in place (a Reentry, or None).
    Returns (ret, exc, caught warnings, bufs, extra): extra is what the
    call's EINTR storm adds to the canonical result ({} when there is
    none)."""
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
        if reenter is not None:
            args = reenter.arguments(p["method"], args)
    limit_saved = None
    if p["room"] is not None:
        limit_saved = resource.getrlimit(resource.RLIMIT_NOFILE)
        resource.setrlimit(resource.RLIMIT_NOFILE,
                           (_emfile_limit(p["room"]), limit_saved[1]))
    eintr = _Eintr(p["eintr"], st, reenter and reenter.act,
                   _seconds(p["timeout"])) if p["eintr"] else None
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter(p["warn"])
        start = time.monotonic()
        try:
            if eintr is not None:
                with eintr:
                    ret = fn(*args)
            else:
                ret = fn(*args)
        except Exception as e:
            exc = e
        finally:
            took = time.monotonic() - start
            claimed.restore()
            if limit_saved is not None:
                resource.setrlimit(resource.RLIMIT_NOFILE, limit_saved)
    if isinstance(exc, claimed.Unsupported):
        raise exc
    extra = eintr.result() if eintr is not None else {}
    if p["family"] == "timeout" and isinstance(exc, socket.timeout):
        extra["waited"] = _waited(p["timeout"], took)
    return ret, exc, list(caught), bufs, extra


# seconds a "full" wait may fall short of the rounded-up timeout.  The
# clock reads bracket the call, so they only add to what it took; the
# slack keeps a wait the clock measured a few µs short of 1 ms "full".
WAIT_SLACK = 50e-6


def _waited(timeout, took):
    """How long a call that timed out waited (§7): "full" when it took
    at least its timeout rounded up to whole ms (CPython's poll() wait,
    1 ms for a 1 ns timeout), else "short"."""
    ns = round(float(timeout) * 1e9)
    ms = -(-ns // 1000000)
    return "full" if took >= ms / 1000.0 - WAIT_SLACK else "short"


def _seconds(timeout):
    """The table's timeout as seconds (None: blocking)."""
    return None if timeout == "none" else float(timeout)


STORM_TRIES = 5     # sides a signal storm never reached, run again


def run_side(side, p, shared, pair=None):
    """_run_side, run again (up to STORM_TRIES times) while a signal
    storm barely reached the call, or a "late" handler's signal did not
    come while the call waited: such a side observed nothing about the
    deadline (a loaded machine can keep the watcher thread from running
    for a whole short timeout), so its result would compare luck."""
    for _ in range(STORM_TRIES - 1):
        res = _run_side(side, p, shared, pair)
        if res.get("interrupted") != "never" and \
                res.get("deadline") != "not observed":
            return res
    return _run_side(side, p, shared, pair)


def _run_side(side, p, shared, pair=None):
    """Prepares a setup, makes the call through one side and returns its
    canonical result.  The reference side is oracle.reference.refsocket installed on
    socket.socket (and socket.CMSG_*) for the duration of the call, exactly
    as a test suite would use it.  Everything opened here is closed before
    it returns (a pooled pair is given back, see _PairPool); received fds
    are described and closed by canon."""
    st = prepare(p, shared, pair)
    reenter = Reentry(p["reenter"], st) if p["reenter"] else None
    try:
        if side == "reference":
            refsocket.install()
        try:
            ret, exc, caught, bufs, extra = _invoke(p, st, reenter)
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
        if reenter is not None and p["method"] == "recvmsg_into" and \
                ret is not None:
            res["data"] = canon._hex(reenter.data())
        elif bufs is not None and ret is not None:
            res["data"] = canon._hex(b"".join(bytes(b) for b in bufs))
        res.update(extra)
        if p["probe"]:
            res["queue_after"] = _queue_after(st.rsock)
        return res
    finally:
        if reenter is not None:
            reenter.close()
        st.close()


def _queue_after(sock):
    """What the receiver has queued now, without consuming it: the next
    message's bytes (a stream's whole backlog) in hex, "empty", "closed"
    (the call's callback closed or detached the socket), or "OSError
    <errno>".  A peek without a control buffer installs no fds.
    The socket is made non-blocking for the peek (with a timeout, CPython
    would wait for data first) and given its timeout back."""
    if sock.fileno() == -1:
        return "closed"
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




# The fd table between two cases (tools.fdtable.snapshot), kept so that the
# next case's first snapshot needs no listing.  Code here that opens or
# closes fds of its own outside a side (the shared child's pipes) calls
# _table_changed(), so that the next case lists the table again.
_SNAP = None


def _table_changed():
    global _SNAP
    _SNAP = None


def waits(case_id):
    """True when case_id's call waits out wall time however fast the
    machine is (worker contract, oracle.worker --part): a signal comes
    during it (the EINTR watcher waits until the call blocks; a storm
    lasts the timeout), or it has a timeout > 0 and nothing to read
    (nothing pending, or a zero-byte message on a stream, which queues
    nothing: §10).  It decides only which worker runs the case."""
    p = cases()[1][case_id]
    if p["eintr"]:
        return True
    if p["method"] in ("CMSG_LEN", "CMSG_SPACE") or p["eof"] or \
            p["closed"] or p["timeout"] in ("none", "0"):
        return False
    return not p["pending"] or (p["data"] == 0 and
                                p["kind"] in _STREAM_KINDS)


_STREAM_KINDS = ("stream", "stream-badfamily", "unix-stream-accepted",
                 "tcp4-accepted")


def _isolated(p):
    """True when case p's native side runs in the isolating child."""
    isolate = p["isolate"]
    return bool(isolate(p) if callable(isolate) else isolate)


def _native_in_child(case_id):
    """The isolating child's work for one case: the native side with the
    sent objects of this process's pool (inherited at the fork) and a new
    socket set, its fd table diffed around it."""
    p = cases()[1][case_id]
    before = fdtable.snapshot(_CHILD_SNAP[0])
    res = run_side("native", p, _POOL.for_case(p))
    after = fdtable.snapshot(before)
    _CHILD_SNAP[0] = after
    return res, fdtable.leaks(before, after)


_CHILD_SNAP = [None]
_ISOLATOR = Isolator(_native_in_child, _table_changed)
_MODEL = [None]     # configure()'s libc model (None: the library's choice)


def run_case(case_id):
    """Runs one scenario on both sides (worker contract).  Returns the
    record: family, id, native, reference, leaked_fds, repro."""
    global _SNAP
    order, table = cases()
    if case_id not in table:
        raise KeyError("unknown case %s" % case_id)
    p = table[case_id]
    refsocket._lib()
    isolate = _isolated(p)
    # The isolating child is started before the first snapshot (its pipes
    # are not this case's) and stopped when a case of another family
    # comes (its pipes would be in every later snapshot).
    if isolate:
        if not _POOL.fds:
            # the child sends the objects of the pool it inherits
            _POOL.renew()
            _table_changed()
        _ISOLATOR.start()
        _ISOLATOR.family = p["family"]
    elif _ISOLATOR.pid is not None and _ISOLATOR.family != p["family"]:
        _ISOLATOR.stop()
    if p["eintr"]:
        _WATCHER.ensure()
    # The table before the native side: the one verified after the
    # previous case's reference side, verified again (fdtable.snapshot:
    # a count and one fstat per fd, no listing when unchanged), because
    # code outside the suite may close and open fds between two cases.
    # Nothing of the suite's own opens or closes an fd there (the sent
    # objects and the socketpair are pooled); opening or replacing a pool
    # lists the table again.
    _SNAP = fdtable.snapshot(_SNAP)
    if not _POOL.intact(_SNAP):
        _POOL.renew()
        _SNAP = fdtable.snapshot()
    if _PAIRS.ready(p, _SNAP[1])[1]:
        _SNAP = fdtable.snapshot()
    shared = _POOL.for_case(p)
    before = _SNAP
    results = {}
    leaks = {}
    _SNAP = None            # until this case has ended normally
    for side in ("native", "reference"):
        if isolate and side == "native":
            results[side], leaks[side] = _ISOLATOR.run(case_id)
            continue
        results[side] = run_side(side, p, shared, _PAIRS.pair)
        after = fdtable.snapshot(before)
        leaks[side] = fdtable.leaks(before, after)
        before = after
    _SNAP = before          # the next case's table
    return {"family": p["family"], "id": case_id,
            "native": results["native"], "reference": results["reference"],
            "leaked_fds": leaks, "bug_class": p.get("bug_class", []),
            # What the reference leaks as CPython does under the model.
            "predicted_leaks": refsocket.take_dropped(),
            "repro": repro(case_id)}


def repro(case_id):
    """The shell command that reruns one case, both sides and the diff,
    from any directory (oracle.worker.repro_line: this interpreter as the
    driver's entry runs it), with CMSGREF_LIB when the run uses another
    library than the default and CMSGREF_LIBC when the model is not the
    library's host model; every word is quoted.  Everything before the
    case id is built once for each library and model."""
    lib = os.environ.get("CMSGREF_LIB")
    # A relative CMSGREF_LIB is made absolute against the current directory.
    key = (lib, _MODEL[0],
           os.getcwd() if lib and not os.path.isabs(lib) else None)
    head = _REPRO_HEADS.get(key)
    if head is None:
        env = {"PYTHONPATH": "."}
        if lib and os.path.abspath(lib) != REPO_LIB:
            env["CMSGREF_LIB"] = os.path.abspath(lib)
        if _MODEL[0] and _MODEL[0] != refsocket.host_model():
            env["CMSGREF_LIBC"] = _MODEL[0]
        head = worker.repro_line(["-m", "oracle.suites.sockets"], env)
        _REPRO_HEADS[key] = head
    return head + " " + shlex.quote(case_id)


_REPRO_HEADS = {}   # repro's key -> its words before the case id
