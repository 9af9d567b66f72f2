"""python3 -m oracle.suites.inject --list [SUBSTRING]: the inject suite's
case ids (see USAGE)."""

import sys

from oracle import worker
from oracle.suites.inject import iter_cases, skipped_files

USAGE = """usage: python3 -m oracle.suites.inject --list [SUBSTRING]
  --list [SUBSTRING]  print the case ids (those whose family/id contains
                      SUBSTRING, as the worker's --only selects), then on
                      stderr each corpus file left out, as "NOT RUN <file>:
                      <reason>"
A case runs in a worker with the shim preloaded (see the module doc):
  make conformance ORACLE_ARGS="--suites inject --only SUBSTRING"
Exit status 0, 2 on bad usage or an unusable corpus file.
"""


def main(argv=None):
    """python3 -m oracle.suites.inject --list [SUBSTRING] | --help"""
    argv = sys.argv[1:] if argv is None else argv
    if argv and argv[0] in ("-h", "--help"):
        sys.stdout.write(USAGE)
        return 0
    if not argv or argv[0] != "--list" or len(argv) > 2:
        sys.stderr.write("oracle.suites.inject: %s (usage: --list "
                         "[SUBSTRING]; see --help)\n"
                         % ("bad arguments " + " ".join(argv) if argv
                            else "nothing to do"))
        return 2
    sub = argv[1] if len(argv) > 1 else ""
    try:
        ids = ["%s\n" % cid for fam, cid in iter_cases()
               if sub in "%s/%s" % (fam, cid)]
        skipped = skipped_files()
    except OSError as e:
        sys.stderr.write("oracle.suites.inject: %s\n" % e)
        return 2
    try:
        sys.stdout.write("".join(ids))
        sys.stdout.flush()
    except BrokenPipeError:
        return worker.stdout_gone()
    for path, why in skipped:
        sys.stderr.write("NOT RUN %s: %s\n" % (path, why))
    return 0


sys.exit(main())
