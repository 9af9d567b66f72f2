"""Tests of tools/fdtable.py: the listing leaves out its own fd, a diff
names what was opened, closed and replaced, a stale snapshot is never
reused, and the module runs on every interpreter the oracle runs.

Run: python3 -m unittest discover -s tools/tests -t .
"""

import glob
import os
import shutil
import socket
import subprocess
import sys
import unittest

from tools import fdtable

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(
    os.path.abspath(__file__))))


class FdTableTest(unittest.TestCase):
    def test_the_listing_leaves_out_its_own_fd(self):
        r, w = os.pipe()
        try:
            fds = fdtable.fds()
            self.assertIn(r, fds)
            self.assertIn(w, fds)
            # The lowest free number is what the listing opened.
            probe = os.open(os.devnull, os.O_RDONLY)
            os.close(probe)
            self.assertNotIn(probe, fds)
            self.assertEqual(fds, sorted(fds))
            self.assertEqual(fdtable.count(), len(fds))
        finally:
            os.close(r)
            os.close(w)

    def test_count_follows_opens_and_closes(self):
        n = fdtable.count()
        r, w = os.pipe()
        self.assertEqual(fdtable.count(), n + 2)
        os.close(r)
        os.close(w)
        self.assertEqual(fdtable.count(), n)

    def test_identity_kind_and_target(self):
        a, b = socket.socketpair()
        try:
            self.assertEqual(fdtable.kind(a.fileno()), "socket")
            self.assertNotEqual(fdtable.identity(a.fileno()),
                                fdtable.identity(b.fileno()))
            dup = os.dup(a.fileno())
            self.assertEqual(fdtable.identity(dup),
                             fdtable.identity(a.fileno()))
            os.close(dup)
            self.assertTrue(fdtable.target(a.fileno()).startswith(
                "socket:["))
            self.assertEqual(fdtable.describe(a.fileno()), "%d -> %s" % (
                a.fileno(), fdtable.target(a.fileno())))
        finally:
            a.close()
            b.close()
        self.assertIsNone(fdtable.identity(a.fileno() if a.fileno() >= 0
                                           else 10 ** 6))
        self.assertIsNone(fdtable.kind(10 ** 6))
        self.assertIsNone(fdtable.target(10 ** 6))
        self.assertEqual(fdtable.describe(10 ** 6), "1000000 -> ?")

    def test_diff_names_opened_vanished_and_replaced(self):
        r, w = os.pipe()
        before = fdtable.snapshot()
        os.close(r)                                  # vanished
        f = os.open(os.devnull, os.O_RDONLY)         # opened (takes r's
        os.dup2(f, w)                                # number) / replaced
        after = fdtable.snapshot()
        try:
            d = fdtable.diff(before, after)
            self.assertEqual(d.replaced, sorted(set([w] + (
                [r] if f == r else []))))
            if f != r:
                self.assertEqual((d.opened, d.vanished), ([f], [r]))
            self.assertEqual(fdtable.leaks(before, after),
                             [fdtable.describe(x) for x in
                              sorted(d.opened + d.replaced)])
        finally:
            os.close(f)
            os.close(w)

    def test_an_unchanged_table_reuses_the_snapshot_a_changed_one_not(self):
        s1 = fdtable.snapshot()
        s2 = fdtable.snapshot(s1)
        if fdtable._kernel_count():
            self.assertIs(s2, s1)
        self.assertEqual(s2.table, s1.table)
        self.assertEqual(fdtable.leaks(s1, s2), [])
        r, w = os.pipe()
        os.close(w)
        try:
            s3 = fdtable.snapshot(s1)                # one more fd
            self.assertIsNot(s3, s1)
            self.assertEqual(fdtable.diff(s1, s3).opened, [r])
            os.close(r)
            a, b = os.pipe()                        # same count, new file
            os.close(b)
            r = a
            s4 = fdtable.snapshot(s3)
            self.assertIsNot(s4, s3)
            self.assertEqual(s4.count, s3.count)
            self.assertEqual(s4.table, fdtable.snapshot().table)
            self.assertNotEqual(s4.table, s3.table)
        finally:
            os.close(r)

    def test_a_wrong_guess_costs_a_listing_not_a_wrong_table(self):
        real = fdtable.snapshot()
        guess = fdtable.Snapshot(real.count, dict(
            (fd, (0, 0)) for fd in real.table))
        self.assertEqual(fdtable.snapshot(guess).table, real.table)

    def test_runs_on_every_interpreter_here(self):
        """Imports and lists on each CPython 3.6+ and PyPy installed."""
        pythons = sorted(glob.glob(os.path.expanduser(
            "~/.pyenv/versions/*/bin/python3")))
        pythons = [p for p in pythons if os.access(p, os.X_OK)]
        pythons += [p for p in (shutil.which("pypy3"),) if p]
        code = ("import os, sys; sys.path.insert(0, sys.argv[1]); "
                "from tools import fdtable; r, w = os.pipe(); "
                "s = fdtable.snapshot(); assert fdtable.fds() == "
                "sorted(s.table), s; assert fdtable.count() == s.count; "
                "os.close(r); d = fdtable.diff(s, fdtable.snapshot()); "
                "assert d.vanished == [r], d; print('ok')")
        for py in pythons + [sys.executable]:
            p = subprocess.run([py, "-I", "-S", "-c", code, ROOT],
                               stdout=subprocess.PIPE,
                               stderr=subprocess.STDOUT, timeout=60)
            self.assertEqual((p.returncode, p.stdout.strip()), (0, b"ok"),
                             "%s: %s" % (py, p.stdout.decode()))


if __name__ == "__main__":
    unittest.main()
