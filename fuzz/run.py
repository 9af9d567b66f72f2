#!/usr/bin/env python3
"""run.py - run the fuzz targets under libFuzzer or AFL++, time-boxed.

Why: `make fuzz`, `make afl` and scripts/ci-fuzz share one runner, so a
local hunt and the CI job do the same thing and report the same numbers.
For each target it fuzzes for the budget, merges what is new into the
target's own corpus directory (libFuzzer -merge=1, or afl-cmin over corpus
+ queue), collects findings into build/findings/<target>/ and prints, per
distinct failure, the failed invariant or sanitizer line (from replaying
the reproducer with build/replay/<target>), the reproducer paths, the
replay command and, for raw control buffers, `cmsgref explain`'s verdict.
It can also prune a corpus and write a JSON summary.

Limits and rules it keeps:
- Every child runs through tools/procs.py: in its own session, bounded in
  time; on exit, SIGINT, SIGTERM or SIGHUP the tree of every child is
  killed, and (Linux) this process is a child subreaper, so helpers that
  escaped into their own session (AFL++'s fork servers) are killed too.
- Nothing a fuzzer writes lands outside build/: every libFuzzer command has
  an -artifact_prefix.
- After a run that found something, merge and prune are skipped (a merge
  over crashing inputs restarts once per crash and can take minutes).
- Prune never deletes seed-*, regress-*, or any input that fails under the
  replay build: those are kept and reported as findings.
- A step that fails (merge, afl-fuzz, afl-cmin, a fuzzer that does not
  start or stop) is printed, recorded in the summary and makes the exit 1.
"""
import hashlib
import json
import os
import re
import shutil
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(
    __file__))))
from tools import procs  # noqa: E402
from tools.procs import UsageError  # noqa: E402
from aflstats import afl_stats, logged_coverage  # noqa: E402  (fuzz/)

USAGE = """\
usage: fuzz/run.py libfuzzer|afl --target NAME:DIR[,DIR...] [--target ...]
                   [--seconds N] [--jobs N] [--summary FILE] [--prune]
                   [--progress N] [--check]
Run from the repository root; builds come from the Makefile
(make fuzz-build-fuzz fuzz-build-replay all; for afl also fuzz-build-afl
fuzz-build-afl-cmplog).
  --target NAME:DIRS  a target of fuzz/ and its corpus directories; the
                      first is its own (merged into, pruned); all must exist
  --seconds N         fuzzing budget per target (default 60)
  --jobs N            AFL++ instances (default $AFL_JOBS, else one a core)
  --summary FILE      write a JSON summary (checked writable before the run)
  --prune             then remove files of each target's own directory that
                      a libFuzzer merge does not need (never seed-*,
                      regress-* or an input that fails)
  --progress N        a progress line every N seconds (default 15; 0: none)
  --check             check the arguments only, then exit
Exit: 0 nothing found, 1 findings or a failed step, 2 bad usage (one line
on stderr), 128+N when stopped by signal N.  Stdlib only; CPython 3.6-3.13
and PyPy 3.9.
"""

FINDINGS = os.path.join('build', 'findings')
GRACE = 2  # seconds a fuzzer gets between SIGTERM and SIGKILL
DICT = os.path.join('fuzz', 'cmsg.dict')
RAW_TARGETS = ('cmsg_parse', 'cmsg_json', 'cmsg_diff')  # inputs are raw control bytes
KEEP_PREFIXES = ('seed-', 'regress-')
REPLAY_SECONDS = 30  # one reproducer under the replay build
# The lines that say why an input failed, best first: the target's own
# FZ_CHECK line, a sanitizer report, a libFuzzer timeout / OOM.
FAILURE_RES = (r'^\S+:\d+: invariant failed: .*$',
               r'^.*runtime error: .*$',
               r'^.*ERROR: \w+Sanitizer: .*$',
               r'^.*ERROR: libFuzzer: .*$')


def say(msg):
    """One progress line on stdout.  A reader that went away (| head) does
    not stop the run: stdout goes to /dev/null and the run goes on to its
    merge, summary and exit status."""
    try:
        sys.stdout.write(msg + '\n')
        sys.stdout.flush()
    except BrokenPipeError:
        fd = os.open(os.devnull, os.O_WRONLY)
        os.dup2(fd, sys.stdout.fileno())
        os.close(fd)


def sha1_file(path):
    with open(path, 'rb') as fh:
        return hashlib.sha1(fh.read()).hexdigest()


def files_in(d):
    if not os.path.isdir(d):
        return []
    return sorted(os.path.join(d, n) for n in os.listdir(d)
                  if not n.startswith('.') and
                  os.path.isfile(os.path.join(d, n)))


def fresh_dir(d):
    if os.path.isdir(d):
        shutil.rmtree(d)
    os.makedirs(d)


def run(cmd, seconds, log_path, env=None, progress=None, every=0):
    """Runs cmd (tools.procs, GRACE) with stdout and stderr to log_path,
    killed after seconds.  Returns (exit status, None if killed at the
    deadline, or -N if signal N ended it; the log text).  A program that
    cannot be started gives 127, as a shell does, with the reason in the
    log: mid-run that is a failed step, not bad usage."""
    try:
        r = procs.run(cmd, seconds, stdout=log_path, stderr=procs.STDOUT,
                      env=env, grace=GRACE, progress=progress, every=every)
        rc = None if r.timed_out else r.returncode
    except UsageError as exc:
        with open(log_path, 'w') as log:
            log.write('%s\n' % exc)
        rc = 127
    with open(log_path, 'rb') as fh:
        return rc, fh.read().decode('utf-8', 'replace')


def last_line(text):
    lines = [l.strip() for l in text.splitlines() if l.strip()]
    return lines[-1][:200] if lines else '(no output)'


# ---- findings -----------------------------------------------------------

def failure_line(text):
    """The line of text that says why an input failed, or None."""
    for pat in FAILURE_RES:
        m = re.search(pat, text, re.M)
        if m:
            line = re.sub(r'^==\d+==', '', m.group(0).strip())
            line = re.sub(r' on address 0x\w+ at pc 0x\w+ bp 0x\w+ sp 0x\w+',
                          '', line)
            # A sanitizer report: add the first frame, which says where.
            if 'Sanitizer' in line:
                f = re.search(r'#0 0x[0-9a-f]+ in (\S+) (\S+)', text)
                if f:
                    line += ' (in %s %s)' % (f.group(1),
                                             os.path.relpath(f.group(2)))
            return line
    return None


def failure_key(line):
    """Findings that fail on the same source line are one finding."""
    m = re.match(r'^(\S+:\d+): invariant failed', line)
    if m:
        return m.group(1)
    return re.sub(r'0x[0-9a-f]+|==\d+==|\d+ bytes', '#', line)


def why_failed(target, path, log_text, work):
    """Replays path with build/replay/<target> and returns its failure line;
    falls back on the engine's log, then on a sentence saying neither
    showed one."""
    replay = os.path.join('build', 'replay', target)
    rc = 'not run'
    if os.path.exists(replay):
        rc, out = run([replay, path], REPLAY_SECONDS,
                      os.path.join(work, 'why.log'))
        line = failure_line(out)
        if line:
            return line
        if rc is None:
            return 'timeout: runs over %d s under %s' % (REPLAY_SECONDS,
                                                         replay)
    return failure_line(log_text) or (
        'no failure line: %s exits %s on it; see the logs in %s'
        % (replay, rc, work))


def explain(target, path):
    """cmsgref explain's verdict for a raw control buffer, or None."""
    cli = os.path.join('build', 'cmsgref')
    if target not in RAW_TARGETS or not os.path.exists(cli):
        return None
    try:
        r = procs.run([cli, 'explain', path], 30, stderr=procs.STDOUT)
    except UsageError:
        return None
    if r.timed_out:
        return None
    out = r.stdout
    verdict = r'^(STOP|END|ancdata|RuntimeWarning|no warning)'
    keep = [l.strip() for l in out.decode('utf-8', 'replace').splitlines()
            if re.match(verdict, l)]
    return ' | '.join(keep) or None


def report_findings(target, paths, log_text, work):
    """Groups reproducers by failure line, prints each group and returns
    the summary entries."""
    groups = []
    for path in paths:
        line = why_failed(target, path, log_text, work)
        for g in groups:
            if failure_key(g['failure']) == failure_key(line):
                g['reproducers'].append(path)
                break
        else:
            groups.append({'failure': line, 'reproducers': [path]})
    for g in groups:
        first = g['reproducers'][0]
        g['reproduce'] = '%s %s' % (os.path.join('build', 'replay', target),
                                    first)
        g['explain'] = explain(target, first)
        say('FINDING %s: %s' % (target, g['failure']))
        more = len(g['reproducers']) - 1
        say('  reproducer: %s%s' % (first, ' (and %d more failing on this '
                                    'line)' % more if more else ''))
        say('  reproduce: %s' % g['reproduce'])
        if g['explain']:
            say('  explain: ' + g['explain'])
    return groups


def failed_step(st, step, rc, log_path, text):
    reason = 'timed out; killed' if rc is None else 'exit %s' % rc
    say('%s %s: %s FAILED (%s): %s; log: %s'
        % (st['engine'], st['target'], step, reason, last_line(text),
           log_path))
    st['failed_steps'].append({'step': step, 'exit': rc, 'log': log_path,
                               'reason': last_line(text)})


def skipped_step(st, step, reason):
    say('%s %s: %s skipped: %s' % (st['engine'], st['target'], step, reason))
    st['skipped_steps'].append({'step': step, 'reason': reason})


# ---- libFuzzer ----------------------------------------------------------

def options(target):
    """libFuzzer flags from fuzz/<target>.options ([libfuzzer] section)."""
    path = os.path.join('fuzz', target + '.options')
    out, on = [], False
    if not os.path.exists(path):
        return out
    with open(path) as fh:
        for line in fh:
            line = line.strip()
            if line.startswith('['):
                on = line == '[libfuzzer]'
            elif on and '=' in line and not line.startswith('#'):
                k, v = [s.strip() for s in line.split('=', 1)]
                if k != 'dict':  # an $OUT-relative path: we pass DICT
                    out.append('-%s=%s' % (k, v))
    return out


def libfuzzer_stats(text):
    """execs, exec/s, cov, ft from libFuzzer's output."""
    st = {'execs': 0, 'exec_per_sec': 0, 'coverage': 0, 'features': 0}
    m = re.findall(r'stat::number_of_executed_units: (\d+)', text)
    if m:
        st['execs'] = int(m[-1])
    m = re.findall(r'stat::average_exec_per_sec:\s+(\d+)', text)
    if m:
        st['exec_per_sec'] = int(m[-1])
    m = re.findall(r'cov: (\d+) ft: (\d+)', text)
    if m:
        st['coverage'], st['features'] = int(m[-1][0]), int(m[-1][1])
    return st


def log_tail(path, size=8192):
    try:
        with open(path, 'rb') as fh:
            fh.seek(max(0, os.path.getsize(path) - size))
            return fh.read().decode('utf-8', 'replace')
    except (IOError, OSError):
        return ''


def libfuzzer_progress(target, seconds, log_path):
    def show(elapsed):
        m = re.findall(r'#(\d+)\s.*cov: (\d+) ft: (\d+) corp: (\d+).*'
                       r'exec/s: (\d+)', log_tail(log_path))
        stats = (', %s execs, cov %s, ft %s, corpus %s, %s exec/s' % m[-1]
                 if m else '')
        say('libfuzzer %s: %d s of %d%s' % (target, elapsed, seconds, stats))
    return show


def step_progress(engine, target, step):
    def show(elapsed):
        say('%s %s: %s running, %d s' % (engine, target, step, elapsed))
    return show


def artifacts(fdir, before, text):
    """The reproducers a libFuzzer run wrote: new files in fdir, and the
    files its log names (a rerun that hits a known crash rewrites the
    same file, which is then not new)."""
    named = [p for p in re.findall(r'Test unit written to (\S+)', text)
             if os.path.isfile(p)]
    return sorted(set(files_in(fdir)) - before | set(named))


def libfuzzer_target(st, dirs, seconds, work, every):
    target = st['target']
    binary = os.path.join('build', 'fuzz', target)
    fdir = os.path.join(FINDINGS, target)
    new = os.path.join(work, 'new')
    fresh_dir(new)  # only this run's units get merged and counted
    if not os.path.isdir(fdir):
        os.makedirs(fdir)
    before = set(files_in(fdir))
    log = os.path.join(work, 'fuzz.log')
    cmd = [binary, '-max_total_time=%d' % seconds, '-print_final_stats=1',
           '-artifact_prefix=' + fdir + '/', '-dict=' + DICT] + \
        options(target) + [new] + dirs
    say('libfuzzer %s: %d s on %s' % (target, seconds, ' '.join(dirs)))
    rc, text = run(cmd, seconds + 120, log,
                   progress=libfuzzer_progress(target, seconds, log),
                   every=every)
    st.update(libfuzzer_stats(text))
    found = artifacts(fdir, before, text)
    if rc is None or (rc != 0 and not found):
        failed_step(st, 'fuzz', rc, log, text)
    st['findings'] = report_findings(target, found, text, work)
    if st['findings'] or st['failed_steps']:
        skipped_step(st, 'merge', 'the run found something or failed')
        return
    # Merge what this run found into the target's own corpus directory.
    n0 = len(files_in(dirs[0]))
    log = os.path.join(work, 'merge.log')
    rc, text = run([binary, '-merge=1', '-dict=' + DICT,
                    '-artifact_prefix=' + fdir + '/', dirs[0], new],
                   seconds + 120, log,
                   progress=step_progress('libfuzzer', target, 'merge'),
                   every=every)
    st['merged'] = len(files_in(dirs[0])) - n0
    if rc != 0:
        failed_step(st, 'merge', rc, log, text)
    found = artifacts(fdir, before, text)
    if found:
        st['findings'] += report_findings(target, found, text, work)


# ---- AFL++ --------------------------------------------------------------

def copy_flat(srcs, dst):
    """Copies files from srcs into dst under content-hash names."""
    fresh_dir(dst)
    for f in srcs:
        shutil.copyfile(f, os.path.join(dst, sha1_file(f)))


def afl_target(st, dirs, seconds, work, jobs, every):
    target = st['target']
    binary = os.path.join('build', 'afl', target)
    cmplog = os.path.join('build', 'afl-cmplog', target)
    fdir = os.path.join(FINDINGS, target)
    if not os.path.isdir(fdir):
        os.makedirs(fdir)
    inp, out = os.path.join(work, 'in'), os.path.join(work, 'out')
    seeds = [f for d in dirs for f in files_in(d)
             if os.path.getsize(f) <= 1024 * 1024]
    copy_flat(seeds, inp)
    if os.path.isdir(out):
        shutil.rmtree(out)
    env = dict(os.environ)
    env.update({'AFL_NO_UI': '1', 'AFL_SKIP_CPUFREQ': '1',
                'AFL_NO_AFFINITY': '1', 'AFL_FAST_CAL': '1',
                'AFL_I_DONT_CARE_ABOUT_MISSING_CRASHES': '1',
                'AFL_CMPLOG_ONLY_NEW': '1', 'AFL_NO_STARTUP_CALIBRATION': '1',
                # afl-cmin refuses /tmp and /var/tmp (shared, world-writable
                # dirs); every path it is given here is under build/.
                'AFL_ALLOW_TMP': '1'})
    say('afl %s: %d secondaries for %d s' % (target, jobs, seconds))
    children = []
    for i in range(jobs):
        cmd = ['afl-fuzz', '-S', 's%d' % i, '-i', inp, '-o', out,
               '-x', DICT, '-V', str(seconds)]
        if i == 0 and os.path.exists(cmplog):
            cmd += ['-c', cmplog]
        cmd += ['--', binary]
        log_path = os.path.join(work, 'afl-s%d.log' % i)
        try:
            c = procs.start(cmd, seconds + 120, stdout=log_path,
                            stderr=procs.STDOUT, env=env, grace=GRACE)
        except UsageError as exc:
            with open(log_path, 'w') as log:
                log.write('%s\n' % exc)
            c = None
        children.append((c, log_path))

    def show(elapsed):
        # AFL++ may not have written figures since its start: say when the
        # ones shown were written, and leave out start-up figures.
        s = afl_stats(out)
        figures = '' if not s['as_of'] else (
            '; at %d s: %d execs, bitmap %.2f%%, edges %d'
            % (s['as_of'], s['execs'], s['coverage'], s['features']))
        say('afl %s: %d s of %d, queue %d%s'
            % (target, elapsed, seconds, s['queue'], figures))
    rcs = []
    for n, (c, log_path) in enumerate(children):
        if c is None:
            rcs.append(127)
            continue
        r = c.finish(show if n == 0 else None, every)
        rcs.append(None if r.timed_out else r.returncode)
    # Every instance has exited and written its final figures; a coverage
    # its files lack comes from the closing line it printed.
    final = afl_stats(out)
    st.update((k, final[k]) for k in ('execs', 'exec_per_sec', 'coverage',
                                      'features'))
    for c, log_path in children:
        with open(log_path, 'rb') as fh:
            cov = logged_coverage(fh.read().decode('utf-8', 'replace'))
        st['coverage'] = max(st['coverage'], cov or 0.0)
    say('afl %s: fuzzing ended, %d execs, %d exec/s, bitmap %.2f%%, '
        'edges %d' % (target, st['execs'], st['exec_per_sec'],
                      st['coverage'], st['features']))
    if any(rc != 0 for rc in rcs) and st['execs'] == 0:
        n = next(i for i, rc in enumerate(rcs) if rc != 0)
        with open(children[n][1], 'rb') as fh:
            text = fh.read().decode('utf-8', 'replace')
        failed_step(st, 'afl-fuzz', rcs[n], children[n][1], text)
    found = []
    for inst in sorted(os.listdir(out)) if os.path.isdir(out) else []:
        for f in files_in(os.path.join(out, inst, 'crashes')) + \
                files_in(os.path.join(out, inst, 'hangs')):
            if os.path.basename(f).startswith('README'):
                continue
            dst = os.path.join(fdir, 'afl-' + sha1_file(f)[:12])
            shutil.copyfile(f, dst)
            if dst not in found:
                found.append(dst)
    st['findings'] = report_findings(target, found, '', work)
    # afl-cmin over corpus + queues; new survivors go into the corpus.
    queue = [f for inst in (sorted(os.listdir(out))
                            if os.path.isdir(out) else [])
             for f in files_in(os.path.join(out, inst, 'queue'))]
    union, cmin = os.path.join(work, 'union'), os.path.join(work, 'cmin')
    # afl-cmin probes the target with the first file; through libAFLDriver
    # an empty stdin runs nothing and reads as "no instrumentation".
    copy_flat([f for f in seeds + queue if os.path.getsize(f) > 0], union)
    if os.path.isdir(cmin):
        shutil.rmtree(cmin)
    log = os.path.join(work, 'cmin.log')
    rc, text = run(['afl-cmin', '-i', union, '-o', cmin, '--', binary, '-'],
                   seconds + 600, log, env=env,
                   progress=step_progress('afl', target, 'afl-cmin'),
                   every=every)
    if rc != 0:
        failed_step(st, 'afl-cmin', rc, log, text)
        return
    known = set(sha1_file(f) for d in dirs for f in files_in(d))
    for f in files_in(cmin):
        h = sha1_file(f)
        if h not in known:
            shutil.copyfile(f, os.path.join(dirs[0], 'afl-' + h[:16]))
            st['merged'] += 1


# ---- prune --------------------------------------------------------------

def failing_inputs(target, paths, work):
    """The paths that fail (or hang) under build/replay/<target>.  The
    driver stops at the first failure and names it; we go on after it.
    Without a replay build, or when it fails without naming an input,
    every path not yet cleared counts as failing (nothing is deleted on a
    guess)."""
    replay = os.path.join('build', 'replay', target)
    if not os.path.exists(replay):
        return set(paths)
    bad, rest = set(), list(paths)
    while rest:
        rc, text = run([replay, '-q'] + rest, 300,
                       os.path.join(work, 'prune-replay.log'))
        if rc == 0:
            break
        m = re.search(r'replay: FAILED on input: (.*)', text)
        if rc is None or not m or m.group(1).strip() not in rest:
            bad.update(rest)
            break
        i = rest.index(m.group(1).strip())
        bad.add(rest[i])
        rest = rest[i + 1:]
    return bad


def prune(st, dirs, work, every):
    """Removes files of dirs[0] that a libFuzzer merge of dirs does not
    need.  Keeps seed-*, regress-* and every input that fails under the
    replay build (those become findings)."""
    target = st['target']
    binary = os.path.join('build', 'fuzz', target)
    if not os.path.exists(binary):
        failed_step(st, 'prune', 'missing', binary, 'not built: make '
                    'fuzz-build-fuzz')
        return
    keep_dir = os.path.join(work, 'pruned')
    fresh_dir(keep_dir)
    log = os.path.join(work, 'prune.log')
    rc, text = run([binary, '-merge=1',
                    '-artifact_prefix=' + os.path.join(work, 'prune-'),
                    keep_dir] + dirs, 600, log,
                   progress=step_progress(st['engine'], target, 'prune'),
                   every=every)
    if rc != 0:
        failed_step(st, 'prune', rc, log, text)
        return
    needed = set(sha1_file(f) for f in files_in(keep_dir))
    drop = [f for f in files_in(dirs[0])
            if not os.path.basename(f).startswith(KEEP_PREFIXES) and
            sha1_file(f) not in needed]
    bad = failing_inputs(target, drop, work)
    if bad:
        say('prune %s: keeping %d inputs that fail' % (target, len(bad)))
        st['findings'] += report_findings(target, sorted(bad), '', work)
    st['pruned'] = 0
    for f in drop:
        if f not in bad:
            os.remove(f)
            st['pruned'] += 1
    say('prune %s: removed %d redundant files from %s'
        % (target, st['pruned'], dirs[0]))


# ---- arguments ----------------------------------------------------------

def known_targets():
    """The fuzz targets: fuzz/*.c files that define the entry point."""
    names = []
    for n in sorted(os.listdir('fuzz')) if os.path.isdir('fuzz') else []:
        if n.endswith('.c'):
            with open(os.path.join('fuzz', n)) as fh:
                if re.search(r'^[A-Z_ ]*int LLVMFuzzerTestOneInput\(',
                             fh.read(), re.M):
                    names.append(n[:-2])
    return names


def whole(what, val, least):
    """val as an int >= least (ASCII digits only), or a UsageError."""
    if not re.match(r'^[0-9]+$', val) or int(val) < least:
        raise UsageError('%s wants a whole number of at least %d, not %r'
                         % (what, least, val))
    return int(val)


def check_writable(path):
    """Raises UsageError unless path can be written, without leaving a
    file behind (checked up front, so a long run is not lost at the end)."""
    d = os.path.dirname(path) or '.'
    if os.path.isdir(path):
        raise UsageError('%s is a directory' % path)
    if not os.path.isdir(d):
        raise UsageError('cannot write %s: no directory %s' % (path, d))
    try:
        if os.path.exists(path):
            open(path, 'a').close()
        else:
            tempfile.TemporaryFile(dir=d).close()
    except (IOError, OSError) as exc:
        raise UsageError('cannot write %s: %s' % (path, exc.strerror))


def parse_args(argv, env=None):
    """The options as a dict; raises UsageError.  Checks target names,
    corpus directories, numbers, AFL_JOBS and the summary path; not the
    builds (see check_builds)."""
    env = os.environ if env is None else env
    if not argv or argv[0] not in ('libfuzzer', 'afl'):
        raise UsageError('first argument must be libfuzzer or afl '
                         '(--help for usage)')
    a = {'engine': argv[0], 'seconds': 60, 'targets': [], 'summary': None,
         'prune': False, 'jobs': 0, 'progress': 15, 'check': False}
    known = known_targets()
    i = 1
    while i < len(argv):
        opt = argv[i]
        if opt in ('--prune', '--check'):
            a[opt[2:]] = True
            i += 1
            continue
        if opt not in ('--seconds', '--jobs', '--progress', '--target',
                       '--summary'):
            raise UsageError('unknown option %r (--help for usage)' % opt)
        if i + 1 >= len(argv):
            raise UsageError('%s needs a value' % opt)
        val = argv[i + 1]
        if opt in ('--seconds', '--jobs', '--progress'):
            a[opt[2:]] = whole(opt, val, 0 if opt == '--progress' else 1)
        elif opt == '--target':
            name, _, dirs = val.partition(':')
            if name not in known:
                raise UsageError('unknown target %s (targets: %s)'
                                 % (name or repr(val), ' '.join(known)))
            dirs = [d for d in dirs.split(',') if d]
            if not dirs:
                raise UsageError('--target wants NAME:DIR[,DIR...], not %r'
                                 % val)
            for d in dirs:
                if not os.path.isdir(d):
                    raise UsageError('corpus directory %s of %s does not '
                                     'exist' % (d, name))
            a['targets'].append((name, dirs))
        else:
            check_writable(val)
            a['summary'] = val
        i += 2
    if not a['targets']:
        raise UsageError('no --target given (--help for usage)')
    if a['engine'] == 'afl' and not a['jobs']:
        jobs = env.get('AFL_JOBS', '')
        a['jobs'] = whole('AFL_JOBS', jobs, 1) if jobs else \
            (os.cpu_count() or 1)
    return a


def check_builds(a):
    """Raises UsageError naming the first binary the run needs that is
    missing, and the make target that builds it (or, for AFL++, the
    package that has it)."""
    if a['engine'] == 'afl':
        for tool in ('afl-fuzz', 'afl-cmin'):
            if shutil.which(tool) is None:
                raise UsageError('%s is not on PATH (apt-get install afl++)'
                                 % tool)
    variants = ['replay'] + (['afl'] if a['engine'] == 'afl' else ['fuzz'])
    if a['prune'] and 'fuzz' not in variants:
        variants.append('fuzz')
    for name, _ in a['targets']:
        for v in variants:
            b = os.path.join('build', v, name)
            if not os.path.exists(b):
                raise UsageError('%s is not built (make fuzz-build-%s)'
                                 % (b, v))


# ---- the run ------------------------------------------------------------

def run_engine(a):
    """Fuzzes every target of the parsed arguments a; returns the summary
    dict (see fuzz/README.md)."""
    results = []
    for name, dirs in a['targets']:
        t0 = time.time()
        work = os.path.join('build', 'fuzz-work', a['engine'], name)
        if not os.path.isdir(work):
            os.makedirs(work)
        st = {'engine': a['engine'], 'target': name, 'corpus_dir': dirs[0],
              'merged': 0, 'pruned': None, 'findings': [],
              'failed_steps': [], 'skipped_steps': []}
        if a['engine'] == 'libfuzzer':
            libfuzzer_target(st, dirs, a['seconds'], work, a['progress'])
        else:
            afl_target(st, dirs, a['seconds'], work, a['jobs'],
                       a['progress'])
        if a['prune']:
            if st['findings'] or st['failed_steps']:
                skipped_step(st, 'prune', 'the target has findings or a '
                             'failed step')
            else:
                prune(st, dirs, work, a['progress'])
        st['corpus_size'] = len(files_in(dirs[0]))
        st['seconds'] = round(time.time() - t0, 1)
        say('%s %s: %d execs, %d exec/s, cov %s, ft %d, corpus %d '
            '(+%d merged%s), %d findings, %d failed steps'
            % (a['engine'], name, st['execs'], st['exec_per_sec'],
               st['coverage'], st['features'], st['corpus_size'],
               st['merged'], '' if st['pruned'] is None else
               ', -%d pruned' % st['pruned'], len(st['findings']),
               len(st['failed_steps'])))
        results.append(st)
    return {'engine': a['engine'], 'seconds_per_target': a['seconds'],
            'targets': results, 'totals': totals(results)}


def totals(results):
    return {'execs': sum(r['execs'] for r in results),
            'seconds': round(sum(r['seconds'] for r in results), 1),
            'findings': sum(len(r['findings']) for r in results),
            'failed_steps': sum(len(r['failed_steps']) for r in results)}


def write_json(path, obj):
    with open(path, 'w') as fh:
        json.dump(obj, fh, indent=2, sort_keys=True)
        fh.write('\n')


def main_unguarded(argv):
    if any(x in ('-h', '--help') for x in argv):
        sys.stdout.write(USAGE)
        return 0
    try:
        a = parse_args(argv)
        if a['check']:
            return 0
        check_builds(a)
        summary = run_engine(a)
    except UsageError as exc:
        sys.stderr.write('run.py: %s\n' % exc)
        return 2
    t = summary['totals']
    if a['summary']:
        write_json(a['summary'], summary)
        say('summary: %s' % a['summary'])
    say('%s: %d targets, %d findings, %d failed steps'
        % (a['engine'], len(summary['targets']), t['findings'],
           t['failed_steps']))
    return 1 if t['findings'] or t['failed_steps'] else 0


def main(argv):
    return procs.guarded('run.py', lambda: main_unguarded(argv),
                         subreaper=True, grace=GRACE)


if __name__ == '__main__':
    sys.exit(main(sys.argv[1:]))
