"""oracle.suites.generator - seeded random scenarios for the sockets suite,
composed from the scenario table's axes (suites/sockets/table.py) and the
re-entrancy callbacks (suites/sockets/reentry.py).

Scenario i of seed S is a pure function of (S, i): a small generator of
its own (splitmix64, integer arithmetic only) gives the same choices on
every interpreter the worker runs on, so the driver and each worker list
the same cases.  A case id is "gen/sS.i/NAME=VALUE,..." (the parameters
that differ from the table's DEFAULTS, then ",isolated" when the native
side runs in the isolating child); lookup() rebuilds the parameters from
the id alone, so the reproducer of a case needs no seed in the
environment.

Which seed and how many: CMSGREF_GEN="SEED:N" (the driver sets it from
--seed / SEED= and --generate; unset or N = 0: no generated cases).

Every scenario is one that ends on its own: nothing waits without a
timeout or a signal that brings the message, a stream never waits for a
zero-byte message (a stream carries none), MSG_TRUNC only on datagram and
SEQPACKET kinds.
"""

import os

from oracle.suites.sockets import reentry, table

ENV = "CMSGREF_GEN"
FAMILY = "gen"
_MASK = (1 << 64) - 1


class _Rng(object):
    """splitmix64 seeded by (seed, index)."""

    def __init__(self, seed, index):
        self.state = (seed * 0x9E3779B97F4A7C15 + index * 0xBF58476D1CE4E5B9
                      + 1) & _MASK

    def next(self):
        self.state = (self.state + 0x9E3779B97F4A7C15) & _MASK
        z = self.state
        z = ((z ^ (z >> 30)) * 0xBF58476D1CE4E5B9) & _MASK
        z = ((z ^ (z >> 27)) * 0x94D049BB133111EB) & _MASK
        return z ^ (z >> 31)

    def below(self, n):
        return self.next() % n

    def choice(self, seq):
        return seq[self.below(len(seq))]

    def chance(self, percent):
        return self.below(100) < percent


_KINDS = ["stream", "dgram", "seqpacket", "udp4"]
_DATA = [0, 1, 5, 6, 10, 100, 4096]
_NFDS = [0, 0, 1, 2, 3, -1]
_BUFSIZE = [0, 1, 3, 5, 6, 7, 16, 100, 4096]
_BUF_ITEMS = [0, 1, 2, 3, 4, 7, 10]
_TIMEOUTS = ["none", "0", "0.01", "5"]
_FLAG_BITS = [table.MSG_PEEK, table.MSG_DONTWAIT, table.MSG_CMSG_CLOEXEC,
              table.MSG_TRUNC]
_WARN = ["always", "error", "default"]
# Parameters in id order (the ones the generator sets).
_ORDER = ["kind", "method", "data", "nfds", "passcred", "timestamp",
          "bufsize", "bufs", "anc", "flags", "timeout", "pending", "eintr",
          "reenter", "warn"]


def scenario(seed, index):
    """The parameters of scenario index of seed (a dict over DEFAULTS)."""
    r = _Rng(seed, index)
    p = dict(table.DEFAULTS)
    p["family"] = FAMILY
    p["probe"] = True
    p["kind"] = kind = r.choice(_KINDS)
    unix = kind != "udp4"
    p["method"] = r.choice(table.METHODS)
    p["data"] = r.choice(_DATA)
    if unix:
        p["nfds"] = r.choice(_NFDS)
        p["passcred"] = r.chance(25)
    if r.chance(15):
        p["timestamp"] = r.choice(["ts", "tsns"])
    if p["method"] == "recvmsg":
        p["bufsize"] = r.choice(_BUFSIZE)
    else:
        n = r.below(5)
        p["bufs"] = "-".join(str(r.choice(_BUF_ITEMS)) for _ in range(n)) \
            if n else "none"
    p["anc"] = r.choice([0, 0, 16, 20, 24, 28, 32, 40, 64, 8192,
                         r.below(97)])
    flags = 0
    for bit in _FLAG_BITS:
        if r.chance(15):
            flags |= bit
    if kind == "stream":
        flags &= ~table.MSG_TRUNC
    # plain ints: an argument is converted as the int it is (the table's
    # MSG_* are IntFlags; argerr-recvmsg has __index__ giving one)
    p["flags"] = int(flags) if flags or r.chance(30) else None
    p["timeout"] = r.choice(_TIMEOUTS)
    p["warn"] = r.choice(_WARN)
    mode = r.below(10)
    if mode == 0:
        # a signal brings the message while the call waits
        p["pending"] = False
        p["timeout"] = r.choice(["none", "5"])
        p["eintr"] = r.choice(["returns", "raises"])
        p["flags"] = (p["flags"] or 0) & ~table.MSG_DONTWAIT
    elif mode == 1:
        # nothing comes: a short wait, or none
        p["pending"] = False
        p["timeout"] = r.choice(["0", "0.01"])
    elif mode == 2:
        specs = reentry.specs(p["method"])
        spec = r.choice(specs)
        p["reenter"] = spec
        if spec.startswith("signal:"):
            p["pending"] = False
            p["timeout"] = r.choice(["none", "5"])
            p["eintr"] = "reenter"
            p["flags"] = (p["flags"] or 0) & ~table.MSG_DONTWAIT
    if kind == "stream" and p["data"] == 0:
        # a zero-byte send queues nothing on a stream: never wait for it
        p["eintr"] = ""
        p["pending"] = False
        if p["timeout"] in ("none", "5"):
            p["timeout"] = "0.01"
        if p["reenter"] and p["reenter"].startswith("signal:"):
            p["reenter"] = None
    if p["reenter"] and p["reenter"].split(":")[1] in ("timeout",
                                                       "nonblock") \
            and p["pending"] is False and not p["eintr"]:
        p["reenter"] = None
    if p["reenter"] and p["reenter"].split(":")[0] in reentry.EXPORT_HOOKS \
            and len(str(p["bufs"]).split("-")) < 2:
        # an exporter among at least two buffers, or its change is moot
        p["reenter"] = None
    if p["flags"] is not None:
        p["flags"] = int(p["flags"])
    p["isolate"] = table._truncating_recvmsg(dict(
        p, flags=p["flags"] or 0))
    if p["isolate"]:
        # the isolating child is another process (its credentials differ)
        # and runs the plain call: no callback, no signal, no timestamps
        p["passcred"] = False
        p["timestamp"] = ""
        p["reenter"] = None
        if p["eintr"]:
            p["eintr"] = ""
            p["pending"] = False
            p["timeout"] = "0.01"
    return p


def _text(name, value):
    if name == "flags":
        return "flags=%#x" % value
    return "%s=%s" % (name, value)


def case_id(seed, index, p):
    """The id of scenario index of seed with parameters p."""
    parts = [_text(k, p[k]) for k in _ORDER if p[k] != table.DEFAULTS[k]]
    if p["isolate"]:
        parts.append("isolated")
    return "%s/s%d.%d/%s" % (FAMILY, seed, index, ",".join(parts))


def settings():
    """(seed, n) from CMSGREF_GEN, or None when no case is generated.
    Raises ValueError on a malformed value."""
    text = os.environ.get(ENV, "")
    if not text:
        return None
    seed, _, n = text.partition(":")
    seed, n = int(seed), int(n or 0)
    if seed < 0 or n < 0:
        raise ValueError("%s=%r: seed and count must be >= 0" % (ENV, text))
    return (seed, n) if n else None


def cases():
    """[(case id, params)] of the seed and count CMSGREF_GEN names."""
    got = settings()
    if got is None:
        return []
    seed, n = got
    out = []
    for i in range(n):
        p = scenario(seed, i)
        out.append((case_id(seed, i, p), p))
    return out


def lookup(cid):
    """The parameters of generated case cid (rebuilt from its seed and
    index), or None when cid is not a generated case's id."""
    if not cid.startswith(FAMILY + "/s"):
        return None
    head = cid[len(FAMILY) + 2:].split("/", 1)[0]
    try:
        seed, index = (int(x) for x in head.split("."))
    except ValueError:
        return None
    p = scenario(seed, index)
    return p if case_id(seed, index, p) == cid else None
