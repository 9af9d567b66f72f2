"""fdtable.py - this process's file-descriptor table, for leak checks.

Why: a test, a fuzz iteration or an oracle case must leave the fd table as
it found it.  Checking that takes a listing of /proc/self/fd (without the
fd the listing itself opens), an identity per fd that tells "the same open
file" from "a new file on a reused number", and a diff.  This is the one
copy of that logic; the oracle's workers import it, so it must run on
every interpreter they run on.

The contract:
- fds(): the sorted open fds.  The listing's own fd is left out: it is
  closed by the time each listed fd is checked with fstat, so it fails.
- count(): how many fds are open.  Linux 6.2+ reports it as st_size of
  /proc/self/fd (no listing, nothing opened); older kernels report 0 and
  the table is listed instead.
- identity(fd): (st_dev, st_ino) of the open file, or None when fd is not
  open.  Two fds with equal identities refer to the same file (an inode,
  a pipe, a socket); a number closed and reopened on another file gets
  another identity.
- target(fd): the /proc/self/fd link text ('socket:[123]', a path), or
  None; describe(fd): 'fd -> target' for messages.
- snapshot(prev=None): a Snapshot (count, table {fd: identity}).  Given
  prev, an earlier snapshot of this process, it returns prev itself when
  the table provably did not change (the kernel's count is unchanged and
  every fd of prev still has its identity; same count with all old
  members means no new member), else a fresh listing: a stale prev costs
  a listing, never a wrong table.  Compare with `is` to know.
- diff(before, after): a Diff of fd lists: opened (new numbers), vanished
  (numbers no longer open) and replaced (same number, another file).
- leaks(before, after): 'fd -> target' lines for every opened or replaced
  fd, read now (so they must still be open to show a target).

Limits: Linux (/proc/self/fd); single-threaded use (a thread that opens
or closes fds during a listing makes it a mix of two moments).  Stdlib
only and only modules every build has (os, stat, collections); CPython
3.6+ and PyPy 3.9.  Opens nothing that outlives a call.
"""

import collections
import os
import stat

FD_DIR = "/proc/self/fd"

Snapshot = collections.namedtuple("Snapshot", "count table")
Diff = collections.namedtuple("Diff", "opened vanished replaced")


def _listed():
    """{fd: identity} from a listing of FD_DIR."""
    table = {}
    fstat = os.fstat
    for name in os.listdir(FD_DIR):
        fd = int(name)
        try:
            st = fstat(fd)
        except OSError:     # the listing's own fd, closed by now
            continue
        table[fd] = (st.st_dev, st.st_ino)
    return table


def _kernel_count():
    """The kernel's count of open fds (Linux 6.2+), else 0."""
    try:
        return os.stat(FD_DIR).st_size
    except OSError:
        return 0


def fds():
    """The open fds of this process, sorted."""
    return sorted(_listed())


def count():
    """The number of open fds of this process."""
    return _kernel_count() or len(_listed())


def identity(fd):
    """(st_dev, st_ino) of the file fd refers to, or None if fd is not
    open."""
    try:
        st = os.fstat(fd)
    except OSError:
        return None
    return (st.st_dev, st.st_ino)


def kind(fd):
    """'file', 'dir', 'pipe', 'socket', 'char', 'block', 'link' or
    'other' for an open fd; None if fd is not open."""
    try:
        mode = os.fstat(fd).st_mode
    except OSError:
        return None
    for test, name in ((stat.S_ISREG, "file"), (stat.S_ISDIR, "dir"),
                       (stat.S_ISFIFO, "pipe"), (stat.S_ISSOCK, "socket"),
                       (stat.S_ISCHR, "char"), (stat.S_ISBLK, "block"),
                       (stat.S_ISLNK, "link")):
        if test(mode):
            return name
    return "other"


def target(fd):
    """What /proc/self/fd/<fd> links to ('pipe:[42]', a path), or None."""
    try:
        return os.readlink("%s/%d" % (FD_DIR, fd))
    except OSError:
        return None


def describe(fd):
    """'fd -> target' ('?' for a target that cannot be read)."""
    t = target(fd)
    return "%d -> %s" % (fd, "?" if t is None else t)


def snapshot(prev=None):
    """The fd table as a Snapshot(count, {fd: identity}); see the module
    docstring for prev.  count is the number of fds in table."""
    kernel = _kernel_count()
    if prev is not None and kernel and kernel == prev.count:
        fstat = os.fstat
        for fd, key in prev.table.items():
            try:
                st = fstat(fd)
            except OSError:
                break
            if (st.st_dev, st.st_ino) != key:
                break
        else:
            return prev
    table = _listed()
    return Snapshot(len(table), table)


def diff(before, after):
    """Diff(opened, vanished, replaced), each a sorted list of fds, between
    two snapshots (or two {fd: identity} tables)."""
    old = getattr(before, "table", before)
    new = getattr(after, "table", after)
    return Diff(sorted(fd for fd in new if fd not in old),
                sorted(fd for fd in old if fd not in new),
                sorted(fd for fd in new if fd in old and old[fd] != new[fd]))


def leaks(before, after):
    """describe() of every fd open in after that was not open on the same
    file in before, sorted by fd; [] when after is before."""
    if after is before:
        return []
    d = diff(before, after)
    return [describe(fd) for fd in sorted(d.opened + d.replaced)]
