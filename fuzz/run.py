#!/usr/bin/env python3
"""run.py - run the fuzz targets under libFuzzer or AFL++, time-boxed.

Why: `make fuzz`, `make afl` and scripts/ci-fuzz share one runner, so a
local hunt and the CI job do the same thing and report the same numbers.
For each target it fuzzes for the budget, merges what is new into the
corpus (libFuzzer -merge=1, or afl-cmin over corpus + queue), collects
findings into build/findings/<target>/ and prints, per finding, the
reproducer path, the replay command and a one-line explanation.  It can
also prune a corpus (keeping every seed-* and regress-* file) and write a
JSON summary.  Every child process is bounded in time.

Usage (paths relative to the repo root, which must be the cwd):
  run.py libfuzzer|afl --seconds N --target NAME:DIR[,DIR...] [...]
         [--summary FILE] [--prune] [--jobs N]
Exit: 0 nothing found, 1 findings (or a target failed to run), 2 bad usage.
Stdlib only; CPython 3.6-3.13 and PyPy 3.9.
"""
import hashlib
import json
import os
import re
import shutil
import subprocess
import sys
import time

FINDINGS = os.path.join('build', 'findings')
DICT = os.path.join('fuzz', 'cmsg.dict')
RAW_TARGETS = ('cmsg_parse', 'cmsg_diff')  # inputs are raw control bytes
KEEP_PREFIXES = ('seed-', 'regress-')


class UsageError(Exception):
    pass


def say(msg):
    sys.stdout.write(msg + '\n')
    sys.stdout.flush()


def sha1_file(path):
    with open(path, 'rb') as fh:
        return hashlib.sha1(fh.read()).hexdigest()


def files_in(d):
    if not os.path.isdir(d):
        return []
    return sorted(os.path.join(d, n) for n in os.listdir(d)
                  if not n.startswith('.') and
                  os.path.isfile(os.path.join(d, n)))


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


def run(cmd, seconds, log_path, env=None):
    """Runs cmd with output to log_path, killed after seconds.  Returns
    (exit code or None if killed, log text)."""
    with open(log_path, 'wb') as log:
        p = subprocess.Popen(cmd, stdout=log, stderr=subprocess.STDOUT,
                             env=env)
        try:
            rc = p.wait(timeout=seconds)
        except subprocess.TimeoutExpired:
            p.kill()
            p.wait()
            rc = None
    with open(log_path, 'rb') as fh:
        return rc, fh.read().decode('utf-8', 'replace')


def explain_line(target, path, log_text):
    """One line saying what a finding is."""
    if target in RAW_TARGETS and os.path.exists(os.path.join('build',
                                                             'cmsgref')):
        try:
            out = subprocess.run(
                [os.path.join('build', 'cmsgref'), 'explain', path],
                stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                timeout=30).stdout.decode('utf-8', 'replace')
        except subprocess.TimeoutExpired:
            out = ''
        verdict = r'^(STOP|END|ancdata|RuntimeWarning|no warning)'
        keep = [l.strip() for l in out.splitlines() if re.match(verdict, l)]
        if keep:
            return 'explain: ' + ' | '.join(keep)
    m = re.search(r'^.*(invariant failed|ERROR: \w+Sanitizer|runtime error)'
                  r'.*$', log_text, re.M)
    return 'failure: ' + (m.group(0).strip() if m else
                          'see the log; replay the file to see the trap')


def report_finding(target, path, log_text, replay_dir):
    say('FINDING %s: %s' % (target, path))
    say('  reproduce: %s/%s %s' % (replay_dir, target, path))
    say('  ' + explain_line(target, path, log_text))


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


def libfuzzer_target(target, dirs, seconds, work):
    binary = os.path.join('build', 'fuzz', target)
    fdir = os.path.join(FINDINGS, target)
    new = os.path.join(work, 'new')
    for d in (fdir, new):
        if not os.path.isdir(d):
            os.makedirs(d)
    before = set(files_in(fdir))
    existing = [d for d in dirs if os.path.isdir(d)]
    cmd = [binary, '-max_total_time=%d' % seconds, '-print_final_stats=1',
           '-artifact_prefix=' + fdir + '/', '-dict=' + DICT] + \
        options(target) + [new] + existing
    say('libfuzzer %s: %d s on %s' % (target, seconds, ' '.join(existing)))
    rc, text = run(cmd, seconds + 120, os.path.join(work, 'fuzz.log'))
    st = libfuzzer_stats(text)
    found = sorted(set(files_in(fdir)) - before)
    if rc is None:
        say('libfuzzer %s: did not stop in time; killed' % target)
    elif rc != 0 and not found:
        say('libfuzzer %s: exited %s without a reproducer; log: %s'
            % (target, rc, os.path.join(work, 'fuzz.log')))
        found = ['(no reproducer: exit %s)' % rc]
    for f in found:
        report_finding(target, f, text, os.path.join('build', 'replay'))
    # Merge what the run found into the target's own corpus directory.
    n0 = len(files_in(dirs[0]))
    if not os.path.isdir(dirs[0]):
        os.makedirs(dirs[0])
    rc2, _ = run([binary, '-merge=1', '-dict=' + DICT, dirs[0], new],
                 seconds + 300, os.path.join(work, 'merge.log'))
    st['corpus_added'] = len(files_in(dirs[0])) - n0
    st['corpus_size'] = sum(len(files_in(d)) for d in existing)
    if rc2 != 0:
        say('libfuzzer %s: merge failed (exit %s)' % (target, rc2))
    say('libfuzzer %s: %d execs, %d exec/s, cov %d, ft %d, corpus %d '
        '(+%d merged), %d findings'
        % (target, st['execs'], st['exec_per_sec'], st['coverage'],
           st['features'], st['corpus_size'], st['corpus_added'],
           len(found)))
    st['findings'] = found
    return st


def afl_stats(out):
    st = {'execs': 0, 'exec_per_sec': 0, 'coverage': 0.0, 'features': 0}
    for inst in sorted(os.listdir(out)) if os.path.isdir(out) else []:
        path = os.path.join(out, inst, 'fuzzer_stats')
        if not os.path.exists(path):
            continue
        kv = {}
        with open(path) as fh:
            for line in fh:
                if ':' in line:
                    k, v = line.split(':', 1)
                    kv[k.strip()] = v.strip()
        st['execs'] += int(kv.get('execs_done', 0))
        st['exec_per_sec'] += int(float(kv.get('execs_per_sec', 0)))
        st['coverage'] = max(st['coverage'],
                             float(kv.get('bitmap_cvg', '0%').rstrip('%')))
        st['features'] = max(st['features'], int(kv.get('edges_found', 0)))
    return st


def copy_flat(srcs, dst):
    """Copies files from srcs into dst under content-hash names."""
    if os.path.isdir(dst):
        shutil.rmtree(dst)
    os.makedirs(dst)
    for f in srcs:
        shutil.copyfile(f, os.path.join(dst, sha1_file(f)))


def afl_target(target, dirs, seconds, work, jobs):
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
                'AFL_CMPLOG_ONLY_NEW': '1', 'AFL_NO_STARTUP_CALIBRATION': '1'})
    say('afl %s: %d secondaries for %d s' % (target, jobs, seconds))
    procs = []
    for i in range(jobs):
        cmd = ['afl-fuzz', '-S', 's%d' % i, '-i', inp, '-o', out,
               '-x', DICT, '-V', str(seconds)]
        if i == 0 and os.path.exists(cmplog):
            cmd += ['-c', cmplog]
        cmd += ['--', binary]
        log = open(os.path.join(work, 'afl-s%d.log' % i), 'wb')
        procs.append((subprocess.Popen(cmd, stdout=log,
                                       stderr=subprocess.STDOUT, env=env),
                      log))
    deadline = time.time() + seconds + 120
    failed = False
    for p, log in procs:
        try:
            rc = p.wait(timeout=max(1, deadline - time.time()))
        except subprocess.TimeoutExpired:
            p.kill()
            p.wait()
            rc = None
        log.close()
        if rc != 0:
            failed = True
    st = afl_stats(out)
    found = []
    for inst in sorted(os.listdir(out)) if os.path.isdir(out) else []:
        for f in files_in(os.path.join(out, inst, 'crashes')) + \
                files_in(os.path.join(out, inst, 'hangs')):
            if os.path.basename(f).startswith('README'):
                continue
            dst = os.path.join(fdir, 'afl-' + sha1_file(f)[:12])
            shutil.copyfile(f, dst)
            found.append(dst)
    if failed and st['execs'] == 0:
        say('afl %s: afl-fuzz failed; logs in %s' % (target, work))
        found.append('(afl-fuzz failed to run)')
    for f in found:
        report_finding(target, f, '', os.path.join('build', 'replay'))
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
    rc, _ = run(['afl-cmin', '-i', union, '-o', cmin, '--', binary, '-'],
                seconds + 600, os.path.join(work, 'cmin.log'), env=env)
    known = set(sha1_file(f) for d in dirs for f in files_in(d))
    added = 0
    if rc == 0:
        for f in files_in(cmin):
            h = sha1_file(f)
            if h not in known:
                shutil.copyfile(f, os.path.join(dirs[0], 'afl-' + h[:16]))
                added += 1
    else:
        say('afl %s: afl-cmin failed (exit %s)' % (target, rc))
    st['corpus_added'] = added
    st['corpus_size'] = sum(len(files_in(d)) for d in dirs)
    say('afl %s: %d execs, %d exec/s (all instances), bitmap %.2f%%, '
        'edges %d, corpus %d (+%d after afl-cmin), %d findings'
        % (target, st['execs'], st['exec_per_sec'], st['coverage'],
           st['features'], st['corpus_size'], added, len(found)))
    st['findings'] = found
    return st


def prune(target, dirs, work):
    """Removes corpus files of dirs[0] that a libFuzzer merge does not
    need, keeping seed-* and regress-*.  Returns the number removed."""
    binary = os.path.join('build', 'fuzz', target)
    keep_dir = os.path.join(work, 'pruned')
    if os.path.isdir(keep_dir):
        shutil.rmtree(keep_dir)
    os.makedirs(keep_dir)
    rc, _ = run([binary, '-merge=1', keep_dir] +
                [d for d in dirs if os.path.isdir(d)], 600,
                os.path.join(work, 'prune.log'))
    if rc != 0:
        say('prune %s: merge failed (exit %s); nothing removed' % (target, rc))
        return 0
    needed = set(sha1_file(f) for f in files_in(keep_dir))
    removed = 0
    for f in files_in(dirs[0]):
        name = os.path.basename(f)
        if name.startswith(KEEP_PREFIXES) or sha1_file(f) in needed:
            continue
        os.remove(f)
        removed += 1
    say('prune %s: removed %d redundant files from %s'
        % (target, removed, dirs[0]))
    return removed


def parse_args(argv):
    if not argv or argv[0] not in ('libfuzzer', 'afl'):
        raise UsageError('first argument must be libfuzzer or afl')
    a = {'engine': argv[0], 'seconds': 60, 'targets': [], 'summary': None,
         'prune': False, 'jobs': 0}
    i = 1
    while i < len(argv):
        opt = argv[i]
        if opt == '--prune':
            a['prune'] = True
            i += 1
            continue
        if i + 1 >= len(argv):
            raise UsageError('%s needs a value' % opt)
        val = argv[i + 1]
        if opt in ('--seconds', '--jobs'):
            if not val.isdigit():
                raise UsageError('%s wants a whole number, not %r' % (opt,
                                                                      val))
            a[opt[2:]] = int(val)
        elif opt == '--target':
            name, _, dirs = val.partition(':')
            if not re.match(r'^\w+$', name) or not dirs:
                raise UsageError('--target wants NAME:DIR[,DIR...], not %r'
                                 % val)
            a['targets'].append((name, dirs.split(',')))
        elif opt == '--summary':
            a['summary'] = val
        else:
            raise UsageError('unknown option %r' % opt)
        i += 2
    if not a['targets']:
        raise UsageError('no --target given')
    if a['seconds'] < 1:
        raise UsageError('--seconds must be at least 1')
    return a


def main(argv):
    try:
        a = parse_args(argv)
    except UsageError as exc:
        sys.stderr.write('run.py: %s\n' % exc)
        return 2
    jobs = a['jobs'] or int(os.environ.get('AFL_JOBS', 0)) or \
        (os.cpu_count() or 1)
    results, total = [], 0
    for name, dirs in a['targets']:
        work = os.path.join('build', 'fuzz-work', a['engine'], name)
        if not os.path.isdir(work):
            os.makedirs(work)
        if a['engine'] == 'libfuzzer':
            st = libfuzzer_target(name, dirs, a['seconds'], work)
        else:
            st = afl_target(name, dirs, a['seconds'], work, jobs)
        if a['prune']:
            st['pruned'] = prune(name, dirs, work)
            st['corpus_size'] = sum(len(files_in(d)) for d in dirs)
        st['target'] = name
        total += len(st['findings'])
        results.append(st)
    if a['summary']:
        summary = {'engine': a['engine'], 'seconds_per_target': a['seconds'],
                   'targets': results, 'findings': total}
        with open(a['summary'], 'w') as fh:
            json.dump(summary, fh, indent=2, sort_keys=True)
            fh.write('\n')
        say('summary: %s' % a['summary'])
    say('%s: %d targets, %d findings' % (a['engine'], len(results), total))
    return 1 if total else 0


if __name__ == '__main__':
    sys.exit(main(sys.argv[1:]))
