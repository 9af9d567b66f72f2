#!/usr/bin/env python3
"""Tests of scripts/check-workflows: it passes this repository's workflows
and fails each kind of broken one (a bad key, a make goal the Makefile
lacks, a missing or non-executable script, a wrong ClusterFuzzLite input),
fails when the linter is missing, and exits 2 on bad usage.

The broken workflows run against a small tree made here (--root), so a
change to the real Makefile cannot make them pass by accident.  Needs the
linter in $CMSGREF_NPM_PREFIX (`scripts/check-workflows --install`): without
it the tests that lint fail, they do not skip.
"""
import importlib.machinery
import os
import stat
import subprocess
import sys
import tempfile
import textwrap
import unittest

HERE = os.path.dirname(os.path.abspath(__file__))
TOOL = os.path.join(HERE, 'check-workflows')
cw = importlib.machinery.SourceFileLoader('check_workflows', TOOL).load_module()

GOOD = """\
name: t
on: push
jobs:
  a:
    runs-on: ubuntu-latest
    steps:
      - uses: actions/checkout@v4
      - run: |
          make check
          VAR=1 make -j2 build VARIANT=asan 2>&1 | tee log
          scripts/ok --flag && bash scripts/plain.sh
          cat <<EOF
          make no-such-goal-inside-a-heredoc
          EOF
"""


class Tree:
    """A temporary tree with a Makefile, one executable and one plain
    script; cleanup() removes it."""

    def __init__(self):
        self.tmp = tempfile.TemporaryDirectory(prefix='cw-test-')
        self.cleanup = self.tmp.cleanup
        self.root = self.tmp.name
        self.write('Makefile', 'all:\ncheck: all\n\t@echo ran\n'
                   'build:\n\t$(MAKE) check\n')
        self.write('scripts/ok', '#!/bin/sh\n', mode=0o755)
        self.write('scripts/plain.sh', 'true\n', mode=0o644)
        self.write('.clusterfuzzlite/project.yaml', 'language: c\n')

    def write(self, rel, text, mode=0o644):
        p = os.path.join(self.root, rel)
        os.makedirs(os.path.dirname(p), exist_ok=True)
        with open(p, 'w') as f:
            f.write(text)
        os.chmod(p, mode)
        return p


def run(args, env=None):
    e = dict(os.environ)
    e.update(env or {})
    p = subprocess.run([sys.executable, TOOL] + args, env=e,
                       stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                       universal_newlines=True, timeout=300)
    return p.returncode, p.stdout, p.stderr


CFLITE = """\
name: t
on: pull_request
jobs:
  a:
    runs-on: ubuntu-latest
    steps:
      - uses: google/clusterfuzzlite/actions/build_fuzzers@v1
        with:
          language: LANG
      - uses: google/clusterfuzzlite/actions/run_fuzzers@v1
        with:
          language: c
          github-token: ${{ secrets.GITHUB_TOKEN }}
          fuzz-seconds: 60
          mode: MODE
"""

# name -> (workflow, the failure it must produce).  All are linted in one
# run (starting the linter costs seconds); each FAIL line names its file.
BROKEN = {
    'bad-key': (GOOD.replace('    runs-on:', '    runs_on_typo: x\n'
                             '    runs-on:'), 'unexpected key "runs_on_typo"'),
    'no-goal': (GOOD.replace('make check', 'make check no-such-target'),
                "no target 'no-such-target'"),
    'subdir-makefile': (GOOD.replace('make check', 'make -C scripts check'),
                        'no GNUmakefile or makefile or Makefile in'),
    'missing-script': (GOOD.replace('scripts/ok --flag', 'scripts/gone'),
                       'scripts/gone does not exist'),
    'not-executable': (GOOD.replace('bash scripts/plain.sh', 'scripts/plain.sh'),
                       'scripts/plain.sh is not executable'),
    'interpreter-script': (GOOD.replace('bash scripts/plain.sh',
                                        'bash scripts/x.sh'),
                           'scripts/x.sh does not exist'),
    'computed-goal': (GOOD.replace('make check', 'make ${{ matrix.goal }}'),
                      'cannot resolve'),
    'cflite-language': (CFLITE.replace('LANG', 'c++').replace('MODE', 'batch'),
                        "language 'c++', but"),
    'cflite-mode': (CFLITE.replace('LANG', 'c').replace('MODE', 'fast'),
                    "mode 'fast' is not one of"),
    'cflite-input': (CFLITE.replace('LANG', 'c').replace('MODE', 'prune')
                     .replace('fuzz-seconds', 'fuzz-second'),
                     'run_fuzzers has no input fuzz-second'),
}
PASSING = {'good': GOOD,
           'cflite-good': CFLITE.replace('LANG', 'c').replace('MODE', 'batch')}


class CheckWorkflows(unittest.TestCase):

    @classmethod
    def setUpClass(cls):
        """One run over the passing workflows, one over the broken ones
        and the passing ones together."""
        cls.fails = {}
        t = Tree()
        try:
            files = {n: t.write('wf/%s.yml' % n, w)
                     for n, w in PASSING.items()}
            cls.good = run(['--root', t.root] + sorted(files.values()))
            files.update({n: t.write('wf/%s.yml' % n, w)
                          for n, (w, _) in BROKEN.items()})
            cls.mixed = run(['--root', t.root] + sorted(files.values()))
        finally:
            t.cleanup()
        for line in cls.mixed[1].splitlines():
            if line.startswith('FAIL '):
                name = os.path.basename(line[5:].split(':')[0])[:-4]
                cls.fails.setdefault(name, []).append(line)

    def test_passing_workflows_pass(self):
        rc, out, err = self.good
        self.assertEqual(rc, 0, out + err)
        self.assertRegex(out, r'workflows: [1-9]\d* passed, 0 failed\n$')

    def test_each_broken_workflow_fails_with_its_reason(self):
        rc, out, err = self.mixed
        self.assertEqual(rc, 1, out + err)
        self.assertRegex(out, r'workflows: \d+ passed, [1-9]\d* failed\n$')
        for name, (_, reason) in BROKEN.items():
            with self.subTest(name):
                got = self.fails.get(name, [])
                self.assertTrue(any(reason in g for g in got),
                                '%s: want %r in %s' % (name, reason, got))
        self.assertEqual(sorted(set(self.fails) - set(BROKEN)), [],
                         'a passing workflow failed')



class Refusals(unittest.TestCase):

    def test_missing_linter_fails_with_how_to_install(self):
        t = Tree()
        self.addCleanup(t.cleanup)
        wf = t.write('wf.yml', GOOD)
        rc, out, err = run(['--root', t.root, wf],
                           env={'CMSGREF_NPM_PREFIX':
                                os.path.join(t.root, 'no-cache')})
        self.assertEqual(rc, 1, out + err)
        self.assertIn('linter is missing', err)
        self.assertIn('--install', err)
        self.assertIn('workflows: 0 passed, 1 failed', out)

    def test_bad_usage_exits_2_with_one_line(self):
        t = Tree()
        self.addCleanup(t.cleanup)
        for args in (['--bogus'], ['--root'], [os.path.join(t.root, 'nope.yml')],
                     ['--root', os.path.join(t.root, 'scripts')],
                     ['--install', 'x.yml']):
            rc, out, err = run(args)
            self.assertEqual(rc, 2, (args, out, err))
            self.assertEqual(len(err.splitlines()), 1, (args, err))
            self.assertTrue(err.startswith('check-workflows: '), err)


class ShellReading(unittest.TestCase):
    """commands() and parse_make(), the reading of `run:` scripts."""

    def test_operators_redirections_heredocs_and_continuations(self):
        script = ('a x 2>&1 | b > out; c && d || e\n'
                  'f \\\n  g  # comment\n'
                  'cat <<-"END"\nnot a command\nEND\nh\n')
        got = [w for _, w in cw.commands(script)]
        self.assertEqual(got, [['a', 'x'], ['b'], ['c'], ['d'], ['e'],
                               ['f', 'g'], ['cat'], ['h']])

    def test_quotes_across_lines(self):
        self.assertEqual(cw.commands('x -c "a\nb"\ny\n'),
                         [(1, ['x', '-c', 'a\nb']), (3, ['y'])])
        self.assertEqual(cw.commands('ok\necho "open\nmore\n'),
                         [(1, ['ok']), (2, None)])

    def test_parse_make(self):
        self.assertEqual(
            cw.parse_make(['-C', 'sub', '-j', '2', '--no-print-directory',
                           'V=1', 'check', '-f', 'GNUmakefile', 'all']),
            ('sub', 'GNUmakefile', ['V=1'], ['check', 'all']))
        self.assertEqual(cw.parse_make(['-j4', '-Cx']), ('x', None, [], []))


if __name__ == '__main__':
    unittest.main()
