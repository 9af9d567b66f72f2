"""aflstats.py - the figures of an AFL++ run, read from its output dir.

Why: fuzz/run.py reports execs, exec/s, bitmap coverage and edges for
each AFL++ run, while it runs and once it has ended.  AFL++ rewrites
<out>/<instance>/fuzzer_stats in place (a reader can catch it empty or
half-written), writes `inf` or `nan` for a rate it cannot compute yet,
and in no-UI mode may write that file and <out>/<instance>/plot_data only
at start-up and at exit, or refresh one more often than the other; the
figures read while it runs can be those of its start, so each carries the
run time it was written at (as_of).
Nothing AFL++ writes may stop the runner, so every value read here is
checked: a figure that is missing, not a number, infinite, NaN or
negative counts as unknown, never as an error.

Each instance's figures are the fresher of its fuzzer_stats and the last
complete line of its plot_data (the one with more execs).  Across
instances, execs and exec/s add up; coverage and edges are the largest
(secondaries share their finds).  Stdlib only; CPython 3.6+, PyPy 3.9.
"""

import math
import os
import re

FIGURES = ('execs', 'exec_per_sec', 'coverage', 'features', 'as_of')

# Our figure names in fuzzer_stats, and in plot_data's header.  as_of is
# the instance's run time (seconds) when it wrote the figures.
STATS_KEYS = {'execs': 'execs_done', 'exec_per_sec': 'execs_per_sec',
              'coverage': 'bitmap_cvg', 'features': 'edges_found',
              'as_of': 'run_time'}
PLOT_KEYS = {'execs': 'total_execs', 'exec_per_sec': 'execs_per_sec',
             'coverage': 'map_size', 'features': 'edges_found',
             'as_of': 'relative_time'}


def number(text):
    """The value of '12', '3.5' or '14.81%' as a float; None for anything
    else, and for infinities, NaN and negative values."""
    if not isinstance(text, str):
        return None
    text = text.strip()
    if text.endswith('%'):
        text = text[:-1]
    try:
        v = float(text)
    except ValueError:
        return None
    if math.isnan(v) or math.isinf(v) or v < 0:
        return None
    return v


def _complete_lines(path, limit=1 << 20):
    """The newline-terminated lines of the last `limit` bytes of path
    (decoded leniently); a last line without its newline is still being
    written and is left out.  [] when path cannot be read."""
    try:
        with open(path, 'rb') as fh:
            fh.seek(0, os.SEEK_END)
            size = fh.tell()
            fh.seek(max(0, size - limit))
            data = fh.read(limit)
    except (IOError, OSError):
        return []
    lines = data.decode('utf-8', 'replace').split('\n')
    return lines[:-1]   # the part after the last newline is unfinished


def _figures(values, keys):
    """{figure: float or None} from {key: text}."""
    return dict((f, number(values.get(keys[f]))) for f in FIGURES)


def read_stats(path):
    """The figures of one fuzzer_stats file ('key : value' lines), each a
    float or None; all None for a file that is missing, empty, garbage
    or caught half-written."""
    values = {}
    for line in _complete_lines(path):
        key, sep, value = line.partition(':')
        if sep:
            values[key.strip()] = value.strip()
    return _figures(values, STATS_KEYS)


def read_plot(path):
    """The figures of the last complete, well-formed line of one plot_data
    file (columns named by its '# a, b, ...' header), each a float or
    None."""
    names = None
    last = {}
    for line in _complete_lines(path, 1 << 16):
        if line.startswith('#'):
            names = [n.strip() for n in line[1:].split(',')]
            continue
        cols = [c.strip() for c in line.split(',')]
        if names is None and line.strip():
            continue            # no header in the part read
        if names is not None and len(cols) == len(names):
            last = dict(zip(names, cols))
    return _figures(last, PLOT_KEYS)


def instance_figures(inst_dir):
    """The fresher of fuzzer_stats and plot_data in one instance's dir:
    the source with more execs wins as a whole; a figure it lacks comes
    from the other."""
    a = read_stats(os.path.join(inst_dir, 'fuzzer_stats'))
    b = read_plot(os.path.join(inst_dir, 'plot_data'))
    if (b['execs'] or 0) > (a['execs'] or 0):
        a, b = b, a
    return dict((f, a[f] if a[f] is not None else b[f]) for f in FIGURES)


def afl_stats(out):
    """{'execs': int, 'exec_per_sec': int, 'coverage': float (bitmap %),
    'features': int (edges), 'as_of': int (the oldest instance's run time
    when it wrote its figures; 0 for start-up figures), 'queue': int (the
    largest instance queue, counted live)} over every instance dir of
    out; 0 for what no instance reports.  Never raises for what is or is
    not in out."""
    st = {'execs': 0, 'exec_per_sec': 0, 'coverage': 0.0, 'features': 0,
          'as_of': None, 'queue': 0}
    try:
        insts = sorted(os.listdir(out))
    except (IOError, OSError):
        return st
    for inst in insts:
        d = os.path.join(out, inst)
        if not os.path.isdir(d):
            continue
        f = instance_figures(d)
        st['execs'] += int(f['execs'] or 0)
        st['exec_per_sec'] += int(f['exec_per_sec'] or 0)
        st['coverage'] = max(st['coverage'], round(f['coverage'] or 0.0, 2))
        st['features'] = max(st['features'], int(f['features'] or 0))
        as_of = int(f['as_of'] or 0)
        st['as_of'] = as_of if st['as_of'] is None else min(st['as_of'],
                                                            as_of)
        st['queue'] = max(st['queue'], queue_size(d))
    if st['as_of'] is None:
        st['as_of'] = 0
    return st


def queue_size(inst_dir):
    """The inputs in an instance's queue/ (its files, not its .state)."""
    q = os.path.join(inst_dir, 'queue')
    try:
        names = os.listdir(q)
    except (IOError, OSError):
        return 0
    return sum(1 for n in names if not n.startswith('.'))


def logged_coverage(text):
    """The bitmap coverage (%) in AFL++'s closing 'Statistics: ... N%
    coverage achieved' line of a log, or None."""
    found = re.findall(r'Statistics: .*?([0-9.]+)% coverage achieved', text)
    return number(found[-1]) if found else None
