"""suites/inject/cases.py - the inject suite's case ids, families and
reproducers.

A case is one control buffer in one warning mode through one method:
  corpus:<path>@<mode>        recvmsg, every corpus buffer (record, error)
  corpus-into:<path>@<mode>   recvmsg_into, the spec seeds only
  addr:<name>@<mode>          an address case (ADDR_CASES)
  poll:<name>                 a failed wait (POLL_CASES)
  alloc:<name>                an allocation failure (ALLOC_CASES)
and the spec seeds in every mode of SPEC_MODES.  Families: spec-<mode>,
spec-into-<mode> (the §12 K/F seeds), corpus-<dir>-<mode> (every other
buffer), addr-<mode>, poll-error, alloc-error.
"""

import errno

import os
import re
import shlex
import socket
import struct

from oracle import REPO_LIB, REPO_SHIM, worker
from oracle.suites.inject import corpus
from oracle.suites.inject.corpus import spec_seed

MODES = ("record", "error")                     # every buffer
SPEC_MODES = MODES + ("default", "ignore")      # the spec seeds (§12)

# Address cases (§6): the control bytes and the address length a real call
# gets, the name bytes being the kernel's.  name -> (target, namelen,
# control bytes): target "named" is an AF_UNIX datagram from a sender bound
# to an abstract name (the kernel writes AF_UNIX and a name starting with a
# NUL), "pair" the session's socketpair (the kernel writes no name, so the
# family stays the AF_UNSPEC CPython preset).  The reference side is
# oracle.reference.refsocket on the same injected call (the library decodes and runs
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

# Failed waits (§7): on a socket with a timeout the call first waits with
# poll(), and a poll() error other than EINTR raises OSError with its
# errno, with nothing received and nothing retried.  On Linux poll() on one
# fd fails only with EINTR or ENOMEM, so the shim makes the first poll() on
# the socket fail with ENOMEM (cr_inject_poll_errno); the payload is queued,
# so an interpreter that retried would receive it.  name -> (method,
# target as in ADDR_CASES: "pair" the stream socketpair, "named" the
# datagram pair, errno).  Both sides run in the worker on the same call, as
# the address cases do; the mode is "record" and no control bytes are
# injected.
POLL_CASES = dict(
    ("enomem-%s-%s" % (method, kind), (method, where, errno.ENOMEM))
    for method in ("recvmsg", "recvmsg_into")
    for kind, where in (("stream", "pair"), ("dgram", "named")))
POLL_FAMILY = "poll-error"

# Allocation failures (§4.2): CPython raises MemoryError when building the
# result fails for want of memory after the system call returned, and its
# error path closes every SCM_RIGHTS slot (§4.1).  The allocation library
# (shim/alloc.c) fails the k-th libc allocation after the recvmsg()
# returned, once, in a child run with PYTHONMALLOC=malloc (alloc.py).  One
# IPv4 UDP datagram with the SCM_RIGHTS ints 100 and 101 injected; in
# every CPython 3.6-3.14 the first allocations after the system call are,
# in order: 1 the item's bytes, 2 the list's item array (PyList_Append),
# 3 the address's str: each k fails inside the call.  (3.6-3.13 then
# allocate the port's int; 3.14 takes it from its int free list, so a
# fourth failure would land after the call there: no case.)  The result
# list itself (PyList_New(0)) comes from the list free list (at most 80
# in 3.6-3.14); with DRAIN_LISTS empty lists made and held just before the
# call, that free list is empty and the list is the first allocation: the
# "-list-k1" case fails it.
# name -> (target: "udp", method, k, lists held across the call).
ALLOC_CONTROL = struct.pack("<Qii", 24, socket.SOL_SOCKET,
                            socket.SCM_RIGHTS) + struct.pack("<ii", 100, 101)
DRAIN_LISTS = 200
ALLOC_CASES = dict(("udp-recvmsg-k%d" % k, ("udp", "recvmsg", k, 0))
                   for k in (1, 2, 3))
ALLOC_CASES["udp-recvmsg-list-k1"] = ("udp", "recvmsg", 1, DRAIN_LISTS)
ALLOC_FAMILY = "alloc-error"


def iter_cases():
    """(family, case_id) for every corpus control buffer through recvmsg
    in the record and error modes, the spec seeds in every mode of
    SPEC_MODES through recvmsg and recvmsg_into, and the address cases
    (ADDR_CASES) in the record and error modes, the failed waits
    (POLL_CASES) and the allocation failures (ALLOC_CASES).  Families:
    spec-<mode>, spec-into-<mode> (the §12 K/F seeds), corpus-<dir>-<mode>
    (every other buffer), addr-<mode> (ids addr:<name>@<mode>), poll-error
    (ids poll:<name>), alloc-error (ids alloc:<name>)."""
    files = corpus.corpus_files()
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
    for name in sorted(POLL_CASES):
        yield POLL_FAMILY, "poll:%s" % name
    for name in sorted(ALLOC_CASES):
        yield ALLOC_FAMILY, "alloc:%s" % name


def family_of(rel, method, mode):
    """The matrix row of a corpus file for a method and warning mode."""
    if spec_seed(rel):
        return "spec-%s%s" % ("into-" if method == "recvmsg_into" else "",
                              mode)
    return "corpus-%s-%s" % (rel.split(os.sep)[0], mode)


def split_case(case_id):
    """(corpus path, mode, method) of a case id; ValueError if bad."""
    src, _, mode = case_id.rpartition("@")
    kind, _, rel = src.partition(":")
    if mode not in SPEC_MODES or kind not in ("corpus", "corpus-into") \
            or not rel or ".." in rel.split(os.sep):
        raise ValueError("bad case id %r" % case_id)
    return rel, mode, "recvmsg_into" if kind == "corpus-into" else "recvmsg"


REPRO_OUT = "build/conformance-repro"


def repro(what, case_id):
    """What reruns one case, native and reference, classified: the driver
    through make, from any directory, on this interpreter only (the
    --pythons value its entry gives), into its own output directory
    (REPRO_OUT, so the matrix's report stays), that case alone (--only
    =ID), with the library, shim and
    a forced libc model of this run when they are not the defaults; what
    names the case for people.  ORACLE_ARGS is split by the recipe's
    shell, so each word is quoted for it (shlex.quote), "$" doubled for
    make, and the whole escaped for the double quotes around it.
    Everything but the case id is the same for the whole process and built
    once (repro_parts)."""
    head, tail, env = repro_parts()
    return "%s: %smake -C %s conformance ORACLE_ARGS=\"%s %s %s\"" % (
        what, env, _REPO_Q, head, make_word("=" + case_id), tail)


_REPRO_CACHE = []
_REPO_Q = shlex.quote(corpus.REPO)
# What shlex.quote leaves as it is (so do make and the double quotes).
_PLAIN_WORD = re.compile(r"[\w@%+=:,./-]+\Z", re.ASCII)


def make_word(word):
    """word quoted for the recipe's shell, "$" doubled for make, escaped
    for the double quotes around ORACLE_ARGS (a word of plain characters,
    as case ids are, is itself: one regex match)."""
    if _PLAIN_WORD.match(word):
        return word
    return re.sub(r'([\\"`$])', r"\\\1", shlex.quote(word).replace("$", "$$"))


def repro_parts():
    """(the words before the case id, the words after it, the environment
    prefix) of repro(), for this process.  --lib and --shim replace only
    the host source's builds (oracle.judge.cli); an entry of another
    source (musl, a Debian root) is given its own builds, for its libc,
    again when --pythons selects it, so they are named only for the host:
    the driver loads them, and could not load another libc's."""
    if not _REPRO_CACHE:
        me = worker.interp()
        words = ["--suites", "inject", "--pythons", me["select"]]
        if me.get("source", "host") == "host":
            lib = os.environ.get("CMSGREF_LIB")
            if lib and os.path.abspath(lib) != REPO_LIB:
                words += ["--lib", os.path.abspath(lib)]
            shim = os.environ.get("CMSGREF_INJECT")
            if shim and os.path.abspath(shim) != REPO_SHIM:
                words += ["--shim", os.path.abspath(shim)]
        words += ["--only"]
        env = ""
        forced = os.environ.get("CMSGREF_LIBC")
        if me.get("model_how", "").startswith("forced"):
            forced = me.get("model")
        if forced:
            env = "CMSGREF_LIBC=%s " % shlex.quote(forced)
        _REPRO_CACHE.append((" ".join(make_word(w) for w in words),
                             " ".join(make_word(w) for w in
                                      ("--out", REPRO_OUT)), env))
    return _REPRO_CACHE[0]
