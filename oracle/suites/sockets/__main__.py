"""python3 -m oracle.suites.sockets: list the cases, or run some on both
sides and print their records and differences (see USAGE)."""

import json
import sys

from oracle import worker
from oracle.judge import canon
from oracle.reference import refsocket
from oracle.suites.sockets import cases, run_case

USAGE = """\
usage: python3 -m oracle.suites.sockets --list [SUBSTRING] | CASE_ID...
  --list [SUBSTRING]  print the case ids (those containing SUBSTRING)
  CASE_ID...          run these cases on both sides; print each record, its
                      DIFF and LEAK lines
Run from anywhere with the repo on PYTHONPATH; the library is $CMSGREF_LIB,
else <repo>/build/libcmsgref.so.  Exit status 0 if every case's sides are
equal and nothing leaked, 1 otherwise, 2 on bad usage.
"""


def main(argv=None):
    """python -m oracle.suites.sockets [--list [SUBSTRING]] [CASE_ID ...]
    Prints each case's record and its diff; exit 0 if all equal, 1 if any
    differs or leaks, 2 on bad usage, 141 (quietly) if stdout's reader went
    away."""
    argv = sys.argv[1:] if argv is None else argv
    try:
        return _main(argv)
    except BrokenPipeError:
        return worker.stdout_gone()


def _main(argv):
    if argv and argv[0] in ("-h", "--help"):
        sys.stdout.write(USAGE)
        return 0
    if not argv:
        sys.stderr.write("oracle.suites.sockets: no case given (usage: "
                         "--list [SUBSTRING] | CASE_ID...; see --help)\n")
        return 2
    order, table = cases()
    if argv[0] == "--list":
        if len(argv) > 2:
            sys.stderr.write("oracle.suites.sockets: --list takes at most one "
                             "SUBSTRING (see --help)\n")
            return 2
        sub = argv[1] if len(argv) > 1 else ""
        sys.stdout.write("".join(cid + "\n" for cid in order if sub in cid))
        sys.stdout.flush()
        return 0
    unknown = [a for a in argv if a not in table]
    if unknown:
        sys.stderr.write("oracle.suites.sockets: unknown case %s (see "
                         "--list)\n" % unknown[0])
        return 2
    try:
        refsocket.load()
    except OSError as e:
        sys.stderr.write("oracle.suites.sockets: cannot load the library: "
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


sys.exit(main())
