"""test_run.py - self-tests of fuzz/run.py, fuzz/aflstats.py and
scripts/ci-fuzz.

Why: the runner decides what is deleted from the committed corpus, where
crash files land, what the exit status is and whether fuzzers outlive it.
Most tests run fuzz/run.py in a scratch "repository" under build/test-run/
whose build/fuzz/cmsg_len and build/replay/cmsg_len are small Python
fakes: an input containing CRASH fails (the fake replay names it the way
fuzz/replay.c does, the fake libFuzzer's -merge=1 leaves it out and writes
a crash file at its -artifact_prefix, or in the cwd without one, as
libFuzzer does), and only inputs containing NEEDED survive a merge.  The
AFL++ stats reader gets fake output dirs.  Nothing here fuzzes for real.
The ci-fuzz argument tests run in the real tree and stop before anything
is built.

Run: python3 fuzz/test_run.py (or `make check-fuzz-tools`).  Stdlib
unittest; CPython 3.6+.
"""
import hashlib
import json
import os
import shutil
import signal
import subprocess
import sys
import time
import unittest

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
RUN = os.path.join(ROOT, 'fuzz', 'run.py')
CI = os.path.join(ROOT, 'scripts', 'ci-fuzz')
SCRATCH = os.path.join(ROOT, 'build', 'test-run')

# A stand-in for a libFuzzer binary.  FAKE_MODE (env): "" a clean run that
# adds one new unit; "crash" a finding; "sleep" a hang that starts a
# grandchild in its own session (what AFL++'s fork server does) and writes
# both pids to FAKE_PIDS.  FAKE_MERGE_RC: -merge=1's exit status.
FAKE_FUZZER = r'''
import hashlib, os, subprocess, sys, time
flags = dict(a[1:].split('=', 1) for a in sys.argv[1:]
             if a.startswith('-') and '=' in a)
dirs = [a for a in sys.argv[1:] if not a.startswith('-')]
prefix = flags.get('artifact_prefix', '')
def crash_file(data):
    with open(prefix + 'crash-' + hashlib.sha1(data).hexdigest(), 'wb') as f:
        f.write(data)
def files(d):
    return sorted(os.path.join(d, n) for n in os.listdir(d))
if flags.get('merge') == '1':
    have = set(open(f, 'rb').read() for f in files(dirs[0]))
    for d in dirs[1:]:
        for f in files(d):
            data = open(f, 'rb').read()
            if b'CRASH' in data:
                crash_file(data)
            elif b'NEEDED' in data and data not in have:
                have.add(data)
                name = hashlib.sha1(data).hexdigest()
                with open(os.path.join(dirs[0], name), 'wb') as out:
                    out.write(data)
    sys.exit(int(os.environ.get('FAKE_MERGE_RC', '0')))
mode = os.environ.get('FAKE_MODE', '')
if mode == 'crash':
    sys.stderr.write('fuzz/cmsg_len.c:7: invariant failed: fake == 0\n')
    crash_file(b'CRASH here')
    crash_file(b'CRASH there')
    sys.exit(1)
if mode == 'sleep':
    pids = os.environ['FAKE_PIDS']
    g = subprocess.Popen([sys.executable, '-c', 'import os, sys, time; '
                          'os.setsid(); open(sys.argv[1], "w").close(); '
                          'time.sleep(60)', pids + '.ready'])
    while not os.path.exists(pids + '.ready'):  # it has left our group
        time.sleep(0.01)
    with open(pids + '.tmp', 'w') as f:
        f.write('%d %d\n' % (os.getpid(), g.pid))
    os.rename(pids + '.tmp', pids)              # whole, or not there
    time.sleep(60)
with open(os.path.join(dirs[0], 'unit'), 'wb') as f:
    f.write(b'NEEDED new unit')
print('#100\tDONE   cov: 5 ft: 6 corp: 3/10b exec/s: 100')
print('stat::number_of_executed_units: 100')
'''

# A stand-in for build/replay/<t>: fails on the first input with CRASH.
FAKE_REPLAY = r'''
import os, sys
paths = [a for a in sys.argv[1:] if a != '-q']
n = 0
for p in paths:
    for f in (sorted(os.path.join(p, x) for x in os.listdir(p))
              if os.path.isdir(p) else [p]):
        if b'CRASH' in open(f, 'rb').read():
            sys.stderr.write('fuzz/cmsg_len.c:7: invariant failed: '
                             'fake == 0\nreplay: FAILED on input: %s\n' % f)
            sys.exit(1)
        n += 1
print('replay: fake: %d inputs ran, 0 failed' % n)
'''


def write(path, text, mode=0o644):
    d = os.path.dirname(path)
    if not os.path.isdir(d):
        os.makedirs(d)
    with open(path, 'w') as fh:
        fh.write(text)
    os.chmod(path, mode)


def alive(pid):
    """True while pid exists and is not a zombie."""
    try:
        with open('/proc/%d/stat' % pid) as fh:
            return fh.read().rsplit(')', 1)[-1].split()[0] != 'Z'
    except (IOError, OSError):
        return False


class Scratch(unittest.TestCase):
    """A scratch repository with fake builds of the target cmsg_len."""

    def setUp(self):
        self.dir = os.path.join(SCRATCH, self.id().rsplit('.', 1)[-1])
        if os.path.isdir(self.dir):
            shutil.rmtree(self.dir)
        write(os.path.join(self.dir, 'fuzz', 'cmsg_len.c'),
              'int LLVMFuzzerTestOneInput(const uint8_t *d, size_t n)\n')
        write(os.path.join(self.dir, 'fuzz', 'cmsg.dict'), '')
        for kind, src in (('fuzz', FAKE_FUZZER), ('replay', FAKE_REPLAY)):
            write(os.path.join(self.dir, 'build', kind, 'cmsg_len'),
                  '#!%s\n%s' % (sys.executable, src), 0o755)
        self.corpus = os.path.join(self.dir, 'corpus', 'cmsg_len')
        for name, data in (('seed-a', 'plain'), ('regress-b', 'CRASH old'),
                           ('0plain', 'plain two'),
                           ('1crash', 'CRASH committed'),
                           ('2needed', 'NEEDED old')):
            write(os.path.join(self.corpus, name), data)
        self.pids = []

    def tearDown(self):
        for pid in self.pids:  # only what a failed signal test left behind
            if alive(pid):
                os.kill(pid, signal.SIGKILL)

    def run_py(self, args, env=None, timeout=30):
        e = dict(os.environ)
        e.update(env or {})
        p = subprocess.run([sys.executable, RUN] + args, cwd=self.dir,
                           env=e, stdout=subprocess.PIPE,
                           stderr=subprocess.PIPE, timeout=timeout)
        return (p.returncode, p.stdout.decode('utf-8', 'replace'),
                p.stderr.decode('utf-8', 'replace'))

    def assertUsage(self, args, env=None, words=''):
        rc, out, err = self.run_py(args, env)
        self.assertEqual((rc, len(err.splitlines())), (2, 1),
                         'args %r: exit %s, stderr %r' % (args, rc, err))
        self.assertNotIn('Traceback', err)
        self.assertIn(words, err)


class Arguments(Scratch):
    T = '--target'

    def test_unknown_option_exits_2_with_one_line(self):
        self.assertUsage(['libfuzzer', '--bogus', '1'], words='--bogus')

    def test_unknown_target_exits_2_and_creates_nothing(self):
        self.assertUsage(['libfuzzer', '--seconds', '1', self.T,
                          'foo:corpus/foo'], words='unknown target foo')
        self.assertFalse(os.path.exists(
            os.path.join(self.dir, 'build', 'findings', 'foo')))

    def test_empty_corpus_list_says_unknown_target(self):
        # what `make fuzz TARGETS=foo` passes
        self.assertUsage(['libfuzzer', self.T, 'foo:'],
                         words='unknown target foo')

    def test_non_ascii_and_bad_numbers_exit_2(self):
        for val in ('\u00b3', 'abc', '0', '-1', '1.5'):
            self.assertUsage(['libfuzzer', '--seconds', val, self.T,
                              'cmsg_len:corpus/cmsg_len'], words='--seconds')

    def test_bad_afl_jobs_exits_2(self):
        for val in ('abc', '-1', '0'):
            self.assertUsage(['afl', '--seconds', '1', self.T,
                              'cmsg_len:corpus/cmsg_len'],
                             env={'AFL_JOBS': val}, words='AFL_JOBS')

    def test_missing_corpus_dir_exits_2_and_is_not_created(self):
        missing = os.path.join(self.dir, 'no', 'such', 'dir')
        self.assertUsage(['libfuzzer', '--seconds', '1', self.T,
                          'cmsg_len:' + missing], words=missing)
        self.assertFalse(os.path.exists(missing))

    def test_unwritable_summary_exits_2_before_the_run(self):
        for path in ('/nonexistent/s.json', '/proc/version/s.json',
                     'corpus'):
            self.assertUsage(['libfuzzer', '--seconds', '1', '--summary',
                              path, self.T, 'cmsg_len:corpus/cmsg_len'])
        self.assertFalse(os.path.exists(os.path.join(self.dir, 'build',
                                                     'fuzz-work')))

    def test_missing_build_exits_2(self):
        os.remove(os.path.join(self.dir, 'build', 'fuzz', 'cmsg_len'))
        self.assertUsage(['libfuzzer', '--seconds', '1', self.T,
                          'cmsg_len:corpus/cmsg_len'],
                         words='make fuzz-build-fuzz')

    def test_help_prints_usage_and_exits_0(self):
        for args in (['--help'], ['libfuzzer', '-h']):
            rc, out, err = self.run_py(args)
            self.assertEqual((rc, err), (0, ''))
            self.assertTrue(out.startswith('usage:'), out)
            self.assertIn('--target NAME:DIR', out)

    def test_check_only_runs_nothing(self):
        rc, out, err = self.run_py(['libfuzzer', '--check', self.T,
                                    'cmsg_len:corpus/cmsg_len'])
        self.assertEqual((rc, out, err), (0, '', ''))


class Runs(Scratch):
    ARGS = ['libfuzzer', '--seconds', '1', '--target',
            'cmsg_len:corpus/cmsg_len']

    def summary(self, args, env=None):
        rc, out, err = self.run_py(self.ARGS + args + ['--summary', 's.json'],
                                   env)
        with open(os.path.join(self.dir, 's.json')) as fh:
            return rc, out, json.load(fh)

    def test_prune_keeps_seeds_regressions_and_failing_inputs(self):
        rc, out, s = self.summary(['--prune'])
        left = sorted(os.listdir(self.corpus))
        unit = hashlib.sha1(b'NEEDED new unit').hexdigest()  # merged
        self.assertEqual(left, sorted(['1crash', '2needed', 'regress-b',
                                       'seed-a', unit]), out)
        self.assertEqual(rc, 1, out)  # the kept crasher is a finding
        self.assertIn('FINDING cmsg_len: fuzz/cmsg_len.c:7: invariant '
                      'failed', out)
        t = s['targets'][0]
        self.assertEqual((t['pruned'], t['merged']), (1, 1))

    def test_no_crash_file_outside_build(self):
        self.run_py(self.ARGS + ['--prune'])
        stray = [n for n in os.listdir(self.dir) if n.startswith('crash-')]
        self.assertEqual(stray, [])

    def test_finding_prints_failure_line_then_explain_and_skips_merge(self):
        rc, out, s = self.summary([], {'FAKE_MODE': 'crash'})
        self.assertEqual(rc, 1, out)
        lines = out.splitlines()
        i = [n for n, l in enumerate(lines) if l.startswith('FINDING')]
        self.assertEqual(len(i), 1, out)
        self.assertIn('fuzz/cmsg_len.c:7: invariant failed: fake == 0',
                      lines[i[0]])
        self.assertIn('merge skipped', out)
        f = s['targets'][0]['findings']
        self.assertEqual(len(f), 1, f)
        self.assertIn('invariant failed', f[0]['failure'])
        self.assertEqual(len(f[0]['reproducers']), 2, f)  # one line, one
        self.assertIn('(and 1 more failing on this line)', out)
        self.assertTrue(os.path.exists(os.path.join(
            self.dir, f[0]['reproducers'][0])), f)
        self.assertNotIn('unit', os.listdir(self.corpus))

    def test_failed_merge_exits_1_and_is_in_the_summary(self):
        rc, out, s = self.summary([], {'FAKE_MERGE_RC': '3'})
        self.assertEqual(rc, 1, out)
        steps = s['targets'][0]['failed_steps']
        self.assertEqual([(x['step'], x['exit']) for x in steps],
                         [('merge', 3)])
        self.assertEqual(s['totals']['failed_steps'], 1)

    def test_summary_keys(self):
        rc, out, s = self.summary([])
        self.assertEqual(rc, 0, out)
        t = s['targets'][0]
        for key in ('execs', 'exec_per_sec', 'coverage', 'features',
                    'corpus_size', 'merged', 'pruned', 'findings',
                    'failed_steps', 'seconds'):
            self.assertIn(key, t)
        self.assertEqual((t['execs'], t['merged'], t['corpus_size']),
                         (100, 1, 6))
        self.assertEqual(s['totals']['execs'], 100)

    def signal_leaves_nothing(self, sig, then=None):
        pids = os.path.join(self.dir, 'pids')
        e = dict(os.environ, FAKE_MODE='sleep', FAKE_PIDS=pids)
        p = subprocess.Popen([sys.executable, RUN] + self.ARGS, cwd=self.dir,
                             env=e, stdout=subprocess.PIPE,
                             stderr=subprocess.PIPE)
        try:
            deadline = time.time() + 30
            while not os.path.exists(pids) and time.time() < deadline:
                time.sleep(0.05)
            with open(pids) as fh:
                self.pids = [int(x) for x in fh.read().split()]
            self.assertEqual(len(self.pids), 2)
            p.send_signal(sig)
            if then is not None:
                p.send_signal(then)
            out, err = p.communicate(timeout=10)
        finally:
            if p.poll() is None:
                p.kill()
                p.wait()
        deadline = time.time() + 3
        while any(alive(x) for x in self.pids) and time.time() < deadline:
            time.sleep(0.05)
        self.assertEqual([x for x in self.pids if alive(x)], [])
        err = err.decode()
        if then is not None and p.returncode == 128 + then:
            sig = then  # both pending at once: either may come first
        self.assertEqual((p.returncode, len(err.splitlines())),
                         (128 + sig, 1), err)

    def test_sigterm_kills_the_fuzzer_and_its_escaped_helpers(self):
        self.signal_leaves_nothing(signal.SIGTERM)

    def test_sigint_kills_the_fuzzer_and_its_escaped_helpers(self):
        self.signal_leaves_nothing(signal.SIGINT)

    def test_a_second_signal_does_not_break_off_the_cleanup(self):
        self.signal_leaves_nothing(signal.SIGINT, then=signal.SIGTERM)

    def test_a_reader_that_goes_away_does_not_stop_the_run(self):
        # `... | head -c0`: the merge and the summary still happen
        p = subprocess.Popen([sys.executable, RUN] + self.ARGS +
                             ['--summary', 's.json'], cwd=self.dir,
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        p.stdout.close()
        err = p.stderr.read().decode()
        p.stderr.close()
        p.wait()
        self.assertEqual((p.returncode, err), (0, ''))
        with open(os.path.join(self.dir, 's.json')) as fh:
            self.assertEqual(json.load(fh)['targets'][0]['merged'], 1)


class Children(unittest.TestCase):
    def test_a_program_that_cannot_start_is_a_failed_step_127(self):
        sys.path.insert(0, os.path.join(ROOT, 'fuzz'))
        try:
            import run
        finally:
            sys.path.pop(0)
        os.makedirs(SCRATCH, exist_ok=True)
        log = os.path.join(SCRATCH, 'nostart.log')
        rc, text = run.run(['/nonexistent/afl-cmin'], 5, log)
        self.assertEqual(rc, 127)
        self.assertIn('cannot run /nonexistent/afl-cmin', text)


class CiFuzzArguments(unittest.TestCase):
    """In the real tree: each must stop before make builds anything."""

    def ci(self, args):
        p = subprocess.run([sys.executable, CI] + args, cwd=ROOT,
                           stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                           timeout=60)
        return (p.returncode, p.stdout.decode('utf-8', 'replace'),
                p.stderr.decode('utf-8', 'replace'))

    def test_bad_arguments_exit_2_with_one_line(self):
        for args, words in ((['--targets', 'foo'], 'unknown target foo'),
                            (['--seconds', '\u00b3'], '--seconds'),
                            (['--engine', 'x'], '--engine'),
                            (['--bogus'], '--bogus'),
                            (['--summary', '/nonexistent/s.json'],
                             '/nonexistent')):
            rc, out, err = self.ci(args)
            self.assertEqual((rc, len(err.splitlines())), (2, 1),
                             '%r: %s %r' % (args, rc, err))
            self.assertIn(words, err)
            self.assertEqual(out, '')

    def test_help_prints_usage_and_exits_0(self):
        rc, out, err = self.ci(['--help'])
        self.assertEqual((rc, err), (0, ''))
        self.assertTrue(out.startswith('usage:'), out)


class ReplayDriver(unittest.TestCase):
    """fuzz/replay.c's exit contract (the real build/replay/cmsg_len, which
    `make check-fuzz-tools` builds first)."""

    def replay(self, *paths):
        exe = os.path.join(ROOT, 'build', 'replay', 'cmsg_len')
        self.assertTrue(os.path.exists(exe), 'build it: make '
                        'fuzz-build-replay')
        p = subprocess.Popen([exe, '-q'] + list(paths), cwd=ROOT,
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        out, err = p.communicate(timeout=60)
        return p.returncode, out.decode(), err.decode()

    def test_paths_holding_no_input_are_an_error_not_a_pass(self):
        empty = os.path.join(SCRATCH, 'replay-empty')
        shutil.rmtree(empty, ignore_errors=True)
        os.makedirs(empty)
        rc, out, err = self.replay(empty)
        self.assertEqual((rc, out), (2, ''))
        self.assertEqual(len(err.strip().splitlines()), 1, err)
        with open(os.path.join(empty, 'one'), 'wb') as f:
            f.write(b'\0' * 8)
        rc, out, err = self.replay(empty)
        self.assertEqual(rc, 0, err)
        self.assertIn('1 inputs ran, 0 failed', out)


class SeedTools(unittest.TestCase):
    """scripts/make-seeds and build/capture-cmsg (which `make
    check-fuzz-tools` builds first): --help, and bad usage as one line and
    exit 2 before anything is written."""

    def cmd(self, argv):
        p = subprocess.Popen(argv, cwd=ROOT, stdout=subprocess.PIPE,
                             stderr=subprocess.PIPE)
        out, err = p.communicate(timeout=60)
        return p.returncode, out.decode(), err.decode()

    def test_help_and_bad_usage(self):
        capture = os.path.join(ROOT, 'build', 'capture-cmsg')
        seeds = [sys.executable, os.path.join(ROOT, 'scripts', 'make-seeds')]
        self.assertTrue(os.path.exists(capture), 'build it: make '
                        'build/capture-cmsg')
        for argv in (seeds + ['--help'], [capture, '--help']):
            rc, out, err = self.cmd(argv)
            self.assertEqual((rc, err), (0, ''), argv)
            self.assertTrue(out.startswith('usage: '), out)
        for argv in (seeds + ['--bogus'], seeds + ['--out'],
                     [capture, '--bogus'], [capture],
                     [capture, '/nonexistent/dir'],
                     [capture, os.path.join(ROOT, 'README.md')]):
            rc, out, err = self.cmd(argv)
            self.assertEqual((rc, out), (2, ''), argv)
            self.assertEqual(len(err.strip().splitlines()), 1, (argv, err))


STATS = """start_time        : 1
execs_done        : 42937
execs_per_sec     : 2860.94
bitmap_cvg        : 14.81%
edges_found       : 137
"""
PLOT_HEAD = ('# relative_time, cycles_done, cur_item, corpus_count, '
             'pending_total, pending_favs, map_size, saved_crashes, '
             'saved_hangs, max_depth, execs_per_sec, total_execs, '
             'edges_found\n')


class AflStats(unittest.TestCase):
    """fuzz/aflstats.py on fake AFL++ output dirs: nothing AFL++ writes
    stops the reader, and the freshest figures win."""

    def setUp(self):
        sys.path.insert(0, os.path.join(ROOT, 'fuzz'))
        try:
            import aflstats
        finally:
            sys.path.pop(0)
        self.m = aflstats
        self.out = os.path.join(SCRATCH, 'afl-out')
        if os.path.isdir(self.out):
            shutil.rmtree(self.out)
        os.makedirs(self.out)

    def figs(self, out):
        st = self.m.afl_stats(out)
        return dict((k, st[k]) for k in ('execs', 'exec_per_sec',
                                         'coverage', 'features'))

    def put(self, inst, name, data):
        path = os.path.join(self.out, inst, name)
        if not os.path.isdir(os.path.dirname(path)):
            os.makedirs(os.path.dirname(path))
        with open(path, 'wb') as fh:
            fh.write(data if isinstance(data, bytes) else data.encode())

    def test_a_whole_stats_file(self):
        self.put('s0', 'fuzzer_stats', STATS)
        self.assertEqual(self.figs(self.out),
                         {'execs': 42937, 'exec_per_sec': 2860,
                          'coverage': 14.81, 'features': 137})

    def test_inf_and_nan_are_unknown_not_a_crash(self):
        for bad in ('inf', '-inf', 'nan', 'infinity', '1e999', '-5'):
            self.put('s0', 'fuzzer_stats', STATS.replace('2860.94', bad)
                     .replace('14.81%', bad + '%').replace('137', bad))
            self.assertEqual(self.figs(self.out),
                             {'execs': 42937, 'exec_per_sec': 0,
                              'coverage': 0.0, 'features': 0}, bad)

    def test_empty_missing_garbage_and_half_written_files(self):
        zero = {'execs': 0, 'exec_per_sec': 0, 'coverage': 0.0,
                'features': 0}
        self.assertEqual(self.figs(os.path.join(self.out, 'none')),
                         zero)
        os.makedirs(os.path.join(self.out, 's9'))       # no files yet
        with open(os.path.join(self.out, 'stray'), 'w') as fh:
            fh.write('not an instance')
        for data in ('', '\n\n', ':::\n', 'execs_done\n', b'\xff\xfe\0'
                     b'execs_done : \xff\n', 'execs_done : 12abc\n',
                     'execs_done : 1'):          # caught before its newline
            self.put('s0', 'fuzzer_stats', data)
            self.assertEqual(self.figs(self.out), zero, repr(data))
        os.remove(os.path.join(self.out, 's0', 'fuzzer_stats'))
        os.makedirs(os.path.join(self.out, 's0', 'fuzzer_stats'))
        self.assertEqual(self.figs(self.out), zero)
        half = STATS[:STATS.index('bitmap_cvg')] + 'bitmap_cvg        : 14'
        self.put('s1', 'fuzzer_stats', half)
        self.assertEqual(self.figs(self.out),
                         {'execs': 42937, 'exec_per_sec': 2860,
                          'coverage': 0.0, 'features': 0})

    def test_a_fresher_plot_data_line_wins_over_a_stale_stats_file(self):
        self.put('s0', 'fuzzer_stats', STATS.replace('42937', '2')
                 .replace('14.81%', '0.00%').replace('137', '0'))
        self.put('s0', 'plot_data', PLOT_HEAD +
                 '5, 0, 1, 9, 9, 1, 10.00%, 0, 0, 1, 100.5, 900, 90\n'
                 '10, 0, 2, 9, 9, 1, 12.50%, 0, 0, 1, inf, 5000, 120\n'
                 '15, 0, 2, 9, 9, 1, 99.00%, 0, 0, 1, 7, 99999')  # unfinished
        self.assertEqual(self.figs(self.out),
                         {'execs': 5000, 'exec_per_sec': 2860,
                          'coverage': 12.5, 'features': 120})
        self.put('s0', 'plot_data', '1, 2, 3\n')       # no header: unused
        self.assertEqual(self.figs(self.out)['execs'], 2)

    def test_instances_add_execs_and_share_coverage(self):
        self.put('s0', 'fuzzer_stats', STATS)
        self.put('s1', 'fuzzer_stats', STATS.replace('42937', '1000')
                 .replace('14.81%', '20.00%').replace('137', '99'))
        self.assertEqual(self.figs(self.out),
                         {'execs': 43937, 'exec_per_sec': 5720,
                          'coverage': 20.0, 'features': 137})

    def test_figures_say_when_they_were_written_and_the_queue_is_live(self):
        self.put('s0', 'fuzzer_stats', STATS)             # no run_time
        self.put('s0', 'queue/id:000000', 'a')
        self.put('s0', 'queue/.state/x', 'b')
        st = self.m.afl_stats(self.out)
        self.assertEqual((st['as_of'], st['queue']), (0, 1))
        self.put('s0', 'fuzzer_stats', STATS + 'run_time          : 15\n')
        self.put('s1', 'fuzzer_stats', STATS + 'run_time          : 9\n')
        for n in range(3):
            self.put('s1', 'queue/id:%06d' % n, 'c')
        st = self.m.afl_stats(self.out)
        self.assertEqual((st['as_of'], st['queue']), (9, 3))

    def test_the_closing_line_of_the_log(self):
        log = ('[*] Statistics: 58 new corpus items found, 14.81% coverage '
               'achieved, 0 crashes saved, 0 timeouts saved, total runtime '
               '0 days, 0 hrs, 0 min, 15 sec\n')
        self.assertEqual(self.m.logged_coverage(log), 14.81)
        self.assertIsNone(self.m.logged_coverage('no such line'))
        self.assertIsNone(self.m.logged_coverage(
            log.replace('14.81', 'nan')))


if __name__ == '__main__':
    unittest.main()
