"""python3 -m mutants: see run.py.  Bad arguments: one line, exit 2."""

import argparse
import os
import sys

from tools import procs


def main(argv=None):
    p = argparse.ArgumentParser(
        prog="mutants", description="Mutation scores of the oracle and "
        "CPython's tests (CPython side) and of the reference's tests and "
        "fuzz targets (reference side).")
    p.add_argument("--side", default=os.environ.get("MUTANTS_SIDE") or "both",
                   choices=("cpython", "reference", "both"))
    p.add_argument("--max", type=int, default=None, help="mutants judged per "
                   "side, spread over source order (0: all; default 50 "
                   "CPython, 30 reference)")
    p.add_argument("--funcs", default=os.environ.get("MUTANTS_FUNCS", ""),
                   help="only these functions (comma or space separated)")
    p.add_argument("--version", default=os.environ.get("MUTANTS_PYVER",
                                                       "3.11"))
    p.add_argument("--seed", default=os.environ.get("MUTANTS_SEED") or "1",
                   help="seed of the oracle's generated scenarios, one for "
                   "the baseline and every mutant (default: $MUTANTS_SEED, "
                   "else 1)")
    p.add_argument("--fuzz-seconds", type=int, default=10)
    p.add_argument("--out", default="build/mutants")
    p.add_argument("--equivalent", default=None)
    p.add_argument("--unreachable", default=None)
    try:
        o = p.parse_args(argv)
    except SystemExit as e:
        return e.code
    from mutants import cpython, report, run
    o.repo = os.getcwd()
    o.funcs = [f for f in o.funcs.replace(",", " ").split() if f]
    env_max = os.environ.get("MUTANTS_MAX")
    if o.max is None and env_max:
        try:
            o.max = int(env_max)
        except ValueError:
            sys.stderr.write("mutants: MUTANTS_MAX must be a number, not %r\n"
                             % env_max)
            return 2
    seed = o.seed
    try:
        o.seed = int(seed)
    except ValueError:
        o.seed = -1
    if o.seed < 0:
        sys.stderr.write("mutants: --seed / MUTANTS_SEED must be a number "
                         ">= 0, not %r\n" % seed)
        return 2
    if o.max is not None and o.max < 0:
        sys.stderr.write("mutants: --max must be >= 0\n")
        return 2
    o.equivalent = o.equivalent or report.EQUIVALENT
    o.unreachable = o.unreachable or report.UNREACHABLE
    try:
        r = run.Run(o)
    except report.ReportError as e:
        sys.stderr.write("mutants: %s\n" % e)
        return 2

    def go():
        sides = ("cpython", "reference") if o.side == "both" else (o.side,)
        fixed_max = o.max
        for side in sides:
            o.max = {"cpython": 50, "reference": 30}[side] \
                if fixed_max is None else fixed_max
            if side == "cpython":
                r.run_cpython()
            else:
                r.run_reference()
        r.save()
        for line in report.terminal(r.data):
            print(line)
        print("report: %s/report.json, %s/report.html" % (o.out, o.out))
        return 0

    try:
        return procs.guarded("mutants", go, subreaper=True)
    except (cpython.BuildError, procs.UsageError, ValueError) as e:
        sys.stderr.write("mutants: %s\n" % e)
        return 2


if __name__ == "__main__":
    sys.exit(main())
