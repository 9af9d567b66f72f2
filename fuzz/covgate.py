#!/usr/bin/env python3
"""covgate.py - the coverage gate of `make coverage`.

Reads `llvm-cov export -summary-only` JSON on stdin (restricted to the
parser's files by the caller), prints each file's line and branch coverage,
and exits 1 unless every file reaches LINE_PCT lines and BRANCH_PCT
branches.  Usage: covgate.py LINE_PCT BRANCH_PCT.  Bad usage or input: one
line on stderr, exit 2.  Stdlib only; CPython 3.6-3.13, PyPy 3.9.
"""
import json
import os
import sys


def main(argv):
    try:
        line_min, branch_min = float(argv[0]), float(argv[1])
        data = json.load(sys.stdin)
        files = data['data'][0]['files']
    except (IndexError, ValueError, KeyError, TypeError) as exc:
        sys.stderr.write('covgate: bad usage or input: %s\n' % exc)
        return 2
    if not files:
        sys.stderr.write('covgate: no files in the coverage export\n')
        return 2
    ok = True
    for f in files:
        s = f['summary']
        lines, br = s['lines'], s['branches']
        lpct = 100.0 * lines['covered'] / lines['count'] if lines['count'] \
            else 100.0
        bpct = 100.0 * br['covered'] / br['count'] if br['count'] else 100.0
        good = lpct >= line_min and bpct >= branch_min
        ok = ok and good
        print('coverage gate: %-24s lines %d/%d %.1f%%  branches %d/%d %.1f%%'
              '  %s' % (os.path.relpath(f['filename']), lines['covered'],
                        lines['count'], lpct, br['covered'], br['count'],
                        bpct, 'ok' if good else 'BELOW GATE'))
    print('coverage gate: %s (need %.0f%% lines, %.0f%% branches)'
          % ('passed' if ok else 'FAILED', line_min, branch_min))
    return 0 if ok else 1


if __name__ == '__main__':
    sys.exit(main(sys.argv[1:]))
