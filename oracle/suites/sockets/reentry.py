"""suites/sockets/reentry.py - Python code that runs inside the call
before the system call, and what it does to the call's own inputs (the
table's "reenter" parameter, "HOOK:ACTION").

Hooks (where the code runs): "bufsize", "anc", "flags" (the argument is an
object whose __index__ acts, then gives the value), "buffer" and
"buffer-last" (recvmsg_into: the first or last buffer is an object whose
__buffer__ acts, then returns a view of its own bytearray: 3.12+; before
3.12 such an object is no buffer), "iter" (the buffers argument is an
object whose __iter__ acts, then iterates the list), "gen" (a generator
that acts after yielding the first buffer, then yields what the list holds
from there on), "subclass" (the buffers argument is a list subclass whose
own __iter__ acts, then iterates the subclass's items), "subclass-buffer"
(that list subclass, its __iter__ not acting, with the first buffer an
exporter as in "buffer"), "signal" (the EINTR handler sends the message,
then acts; table "eintr" "reenter").

Actions: "clear", "extend" (one more bytearray), "replace" (the last item
by a new bytearray), "resize" (the first bytearray emptied in place),
"twice" (the first buffer appended again), "close", "detach", "timeout"
(settimeout(0.01)), "nonblock" (setblocking(False)), "raise" (LookupError).
An action runs once.  The first four act on the buffer list and need
recvmsg_into.

CPython's order (spec §5): bufsize, ancbufsize, flags are converted left
to right, then the buffers argument becomes a sequence, then each item in
turn exports its buffer (an exception in an export becomes the TypeError
of §5.3 step 4); the socket's fd and timeout are read when the call is
made, and again after each EINTR handler.  A fixed CPython takes a snapshot
of a list's items at the conversion, so changes to the list after it do
not change the buffers used.  Only an exact list or tuple is taken as it
is: any other iterable, a list or tuple subclass included, is iterated
into a new sequence (both conversions check the exact types: the list
read in place before the fix, the tuple made after it), so a subclass's
own __iter__ decides the buffers, and a change made after that iteration
changes nothing, before the fix as after it.
"""

LIST_ACTIONS = ("clear", "extend", "replace", "resize", "twice")
SOCKET_ACTIONS = ("close", "detach", "timeout", "nonblock", "raise")
ACTIONS = LIST_ACTIONS + SOCKET_ACTIONS
HOOKS_RECVMSG = ("bufsize", "anc", "flags", "signal")
HOOKS_INTO = ("anc", "flags", "buffer", "buffer-last", "iter", "gen",
              "subclass", "subclass-buffer", "signal")
# hooks that make a buffer of the list an exporter: need two buffers or more
EXPORT_HOOKS = ("buffer", "buffer-last", "subclass-buffer")


def specs(method):
    """Every "HOOK:ACTION" the method can take."""
    if method == "recvmsg":
        return ["%s:%s" % (h, a) for h in HOOKS_RECVMSG
                for a in SOCKET_ACTIONS]
    return ["%s:%s" % (h, a) for h in HOOKS_INTO for a in ACTIONS]


class _Index(object):
    """An integer argument whose __index__ runs the action first."""

    def __init__(self, value, act):
        self.value, self.act = value, act

    def __index__(self):
        self.act()
        return self.value


class _Exporter(object):
    """A buffer whose __buffer__ (3.12+) runs the action first, then
    exports its own bytearray."""

    def __init__(self, size, act):
        self.backing = bytearray(size)
        self.act = act

    def __buffer__(self, flags):
        self.act()
        return memoryview(self.backing)


class _Iterable(object):
    """A buffers argument whose __iter__ runs the action first, then
    iterates the (possibly changed) list."""

    def __init__(self, items, act):
        self.items, self.act = items, act

    def __iter__(self):
        self.act()
        return iter(self.items)


class _ListSub(list):
    """A list subclass whose own __iter__ runs the action first (when it
    has one), then iterates its items as they are then."""

    act = None

    def __iter__(self):
        if self.act is not None:
            self.act()
        return list.__iter__(self)


def _gen(items, act):
    """Yields the first item, runs the action, then yields the items the
    list holds from index 1 on, as it holds them then."""
    i = 0
    while i < len(items):
        yield items[i]
        if i == 0:
            act()
        i += 1


class Reentry(object):
    """One side's callback for spec "HOOK:ACTION" on setup st.  Owns the
    fds a "detach" takes until close()."""

    def __init__(self, spec, st):
        self.hook, self.action = spec.split(":")
        self.st = st
        self.items = None       # the live buffer list
        self.seen = []          # every buffer the list ever held, in order
        self.detached = []
        self.done = False

    def act(self):
        """Runs the action once."""
        if self.done:
            return
        self.done = True
        a, items, sock = self.action, self.items, self.st.rsock
        if a == "clear":
            del items[:]
        elif a == "extend":
            self._add(bytearray(8))
            items.append(self.seen[-1])
        elif a == "replace":
            self._add(bytearray(4))
            items[-1] = self.seen[-1]
        elif a == "resize":
            for b in items:
                if isinstance(b, bytearray):
                    del b[:]
                    break
        elif a == "twice":
            items.append(items[0])
        elif a == "close":
            sock.close()
        elif a == "detach":
            self.detached.append(sock.detach())
        elif a == "timeout":
            sock.settimeout(0.01)
        elif a == "nonblock":
            sock.setblocking(False)
        elif a == "raise":
            raise LookupError("raised by the callback")
        else:
            raise ValueError("unknown action %r" % a)

    def _add(self, obj):
        self.seen.append(obj)

    def arguments(self, method, args):
        """The call's arguments (a tuple: bufsize or the buffer list, then
        ancbufsize and flags when given) with the hook put in place."""
        args = list(args)
        while len(args) < 3 and self.hook in ("anc", "flags"):
            args.append(0)
        if method == "recvmsg_into":
            if self.hook.startswith("subclass"):
                args[0] = _ListSub(args[0])
            self.items = args[0]
            self.seen = list(self.items)
        pos = {"bufsize": 0, "anc": 1, "flags": 2}.get(self.hook)
        if pos is not None:
            args[pos] = _Index(args[pos], self.act)
        elif self.hook == "subclass":
            self.items.act = self.act
        elif self.hook in EXPORT_HOOKS:
            at = len(self.items) - 1 if self.hook == "buffer-last" else 0
            exp = _Exporter(len(self.items[at]), self.act)
            self.items[at] = exp
            self.seen[at] = exp
        elif self.hook == "iter":
            args[0] = _Iterable(self.items, self.act)
        elif self.hook == "gen":
            args[0] = _gen(self.items, self.act)
        elif self.hook != "signal":
            raise ValueError("unknown hook %r" % self.hook)
        return tuple(args)

    def data(self):
        """The bytes of every buffer the list held, in order of appearance
        (an exporter's own bytearray for it), each object once."""
        out, ids = [], set()
        for obj in self.seen:
            if id(obj) in ids:
                continue
            ids.add(id(obj))
            out.append(bytes(getattr(obj, "backing", obj)))
        return b"".join(out)

    def close(self):
        """Closes the fds a "detach" took."""
        import os
        while self.detached:
            try:
                os.close(self.detached.pop())
            except OSError:
                pass
