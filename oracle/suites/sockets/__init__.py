"""oracle.suites.sockets - real-socket scenarios: the interpreter's own
socket.recvmsg()/recvmsg_into() against the reference
(oracle.reference.refsocket).

Why: what the Linux kernel writes into the control buffer (spec §10: the
SCM_RIGHTS / SO_PASSCRED truncation tables, EMFILE, MSG_PEEK's fresh fds,
MSG_CMSG_CLOEXEC), together with the Python-level rules around the call
(§5 argument errors and their order, §6 addresses, §7 timeouts, non-blocking
mode and EINTR), can only be checked on real sockets.  Each scenario runs on
two identically prepared setups - once through the interpreter's socket
method, once through refsocket (the C library) - and both results go through
oracle.judge.canon: received fds are described by what they refer to (the
scenario's labels for the objects it sent, kind, FD_CLOEXEC) and closed;
ephemeral addresses are named by labels; the fd table is diffed around each
side.  Comparison and expectations are the driver's.

Where things are:
  table.py     the scenario table (every family; adding one edits it only)
  expand.py    the table expanded into cases
  fixtures.py  sockets, options, sent objects, the message, EMFILE's limit
  pools.py     the sent objects and socketpairs reused across cases
  eintr.py     the signal watcher thread of the EINTR families
  claimed.py   a tuple whose length field claims more items than it holds
  children.py  the forked child for the calls that can kill the process
  run.py       one case, both sides; configure, run_case, repro

Limits: Linux only.  Scenarios whose native call is known to be able to
kill the process (PyPy 7.3.11 aborts on recvmsg(n < len, 0, MSG_TRUNC), §11)
are marked "isolate"; a crash there becomes an exception result of type
"process-crash".

Reproduce one case (both sides, with the diff; each record's "repro" is
this command with absolute paths, runnable from any directory):
  cd REPO && PYTHONPATH=. python3 -m oracle.suites.sockets 'rights/...'
List cases: python3 -m oracle.suites.sockets --list [SUBSTRING]
"""

from oracle.suites.sockets.expand import cases, iter_cases  # noqa: F401
from oracle.suites.sockets.run import (  # noqa: F401
    configure, repro, run_case, run_side, waits)
from oracle.suites.sockets.table import MATRIX  # noqa: F401
