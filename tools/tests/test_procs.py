"""Tests of tools/procs.py: deadlines kill whole trees, stop signals kill
every child, a missing program is a UsageError, results say what ended
the child.  Children are small Python programs; the file takes seconds.

Run: python3 -m unittest discover -s tools/tests -t .
"""

import os
import signal
import subprocess
import sys
import tempfile
import time
import unittest

from tools import fdtable, procs

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(
    os.path.abspath(__file__))))
PY = sys.executable

# A child that starts two sleeping grandchildren, one in its own group and
# one that escapes into a session of its own, writes "child grand escaped"
# pids to argv[1] once both run, then sleeps (or exits at once with
# argv[2] == "exit").
TREE = r'''
import os, subprocess, sys, time
out, mode = sys.argv[1], sys.argv[2]
ready = out + ".ready"
g = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
e = subprocess.Popen([sys.executable, "-c", "import os, sys, time; "
                      "os.setsid(); open(sys.argv[1], 'w').close(); "
                      "time.sleep(60)", ready])
while not os.path.exists(ready):
    time.sleep(0.01)
with open(out + ".tmp", "w") as f:
    f.write("%d %d %d" % (os.getpid(), g.pid, e.pid))
os.rename(out + ".tmp", out)
if mode == "exit":
    os._exit(0)
time.sleep(60)
'''

# A parent under guarded(): starts TREE with a long deadline, then waits.
# argv: pids file, subreaper (0/1).
GUARDED = r'''
import sys
sys.path.insert(0, %r)
from tools import procs
def body():
    procs.run([sys.executable, "-c", %r, sys.argv[1], "sleep"], 120)
    return 0
sys.exit(procs.guarded("guarded-test", body, subreaper=sys.argv[2] == "1"))
''' % (ROOT, TREE)


def alive(pid):
    """True while pid is a process that is not a zombie."""
    try:
        with open("/proc/%d/stat" % pid) as f:
            state = f.read().rsplit(")", 1)[1].split()[0]
    except (IOError, OSError):
        return False
    return state not in ("Z", "X")


def wait_gone(pids, seconds=5.0):
    end = time.time() + seconds
    while time.time() < end and any(alive(p) for p in pids):
        time.sleep(0.02)
    return [p for p in pids if alive(p)]


def read_pids(path, seconds=20.0):
    end = time.time() + seconds
    while time.time() < end:
        if os.path.exists(path):
            with open(path) as f:
                return [int(x) for x in f.read().split()]
        time.sleep(0.02)
    raise AssertionError("the child never wrote %s" % path)


class Scratch(unittest.TestCase):
    def setUp(self):
        self.dir = tempfile.mkdtemp(prefix="procs-test-")
        self.pids = os.path.join(self.dir, "pids")
        self.addCleanup(self.cleanup)

    def cleanup(self):
        if os.path.exists(self.pids):
            for pid in read_pids(self.pids):
                if alive(pid):
                    os.kill(pid, signal.SIGKILL)
        procs.stop_all()
        for name in os.listdir(self.dir):
            os.remove(os.path.join(self.dir, name))
        os.rmdir(self.dir)


class RunTest(Scratch):
    def test_exit_status_and_captured_output(self):
        r = procs.run([PY, "-c", "import sys; sys.stdout.write('out'); "
                       "sys.stderr.write('err'); sys.exit(3)"], 30)
        self.assertEqual((r.returncode, r.timed_out, r.signal),
                         (3, False, None))
        self.assertEqual((r.stdout, r.stderr), (b"out", b"err"))
        self.assertEqual(r.status(), "exit 3")
        self.assertEqual(procs.LIVE, [])

    def test_output_to_a_log_file_with_stderr_merged(self):
        log = os.path.join(self.dir, "log")
        r = procs.run([PY, "-c", "import sys; print('a'); sys.stdout.flush();"
                       " sys.stderr.write('b\\n')"], 30, stdout=log,
                      stderr=procs.STDOUT)
        self.assertEqual(r.returncode, 0)
        self.assertIsNone(r.stdout)
        with open(log) as f:
            self.assertEqual(f.read(), "a\nb\n")

    def test_a_signal_death_is_reported_as_the_signal(self):
        r = procs.run([PY, "-c", "import os, signal; "
                       "os.kill(os.getpid(), signal.SIGSEGV)"], 30)
        self.assertEqual((r.returncode, r.timed_out, r.signal),
                         (-signal.SIGSEGV, False, signal.SIGSEGV))
        self.assertEqual(r.status(), "killed by SIGSEGV")

    def test_a_missing_program_is_a_usage_error_and_leaks_nothing(self):
        before = fdtable.snapshot()
        for out in (procs.CAPTURE, os.path.join(self.dir, "log")):
            with self.assertRaises(procs.UsageError) as cm:
                procs.run(["/nonexistent/prog"], 5, stdout=out)
            self.assertIn("cannot run /nonexistent/prog", str(cm.exception))
            self.assertNotIn("\n", str(cm.exception))
        self.assertEqual(fdtable.leaks(before, fdtable.snapshot()), [])
        self.assertEqual(procs.LIVE, [])

    def test_a_bad_cwd_is_a_usage_error(self):
        with self.assertRaises(procs.UsageError):
            procs.run([PY, "-c", "pass"], 5, cwd="/nonexistent/dir")

    def test_run_refuses_a_pipe(self):
        with self.assertRaises(procs.UsageError):
            procs.run([PY, "-c", "pass"], 5, stdout=procs.PIPE)

    def test_a_child_past_its_deadline_is_killed_with_its_grandchildren(self):
        c = procs.start([PY, "-c", TREE, self.pids, "sleep"], timeout=600)
        pids = read_pids(self.pids)     # however slow the start, all run
        c.deadline = time.monotonic() + 0.2
        r = c.finish()
        self.assertTrue(r.timed_out)
        self.assertEqual((r.returncode, r.signal),
                         (-signal.SIGKILL, signal.SIGKILL))
        self.assertEqual(r.status(), "timed out (killed)")
        self.assertEqual(wait_gone(pids), [], "still alive: %s" % pids)

    def test_a_grace_period_lets_the_child_handle_sigterm(self):
        code = ("import signal, sys, time\n"
                "signal.signal(signal.SIGTERM, lambda *a: sys.exit(7))\n"
                "print('ready', flush=True)\n"
                "time.sleep(60)\n")
        for grace, want in ((10, 7), (0, -signal.SIGKILL)):
            c = procs.start([PY, "-c", code], stdout=procs.PIPE, grace=grace)
            self.assertEqual(c.stdout.readline(), b"ready\n")
            c.stdout.close()
            self.assertEqual(c.kill(), want)

    def test_what_an_exiting_child_leaves_in_its_group_is_killed(self):
        r = procs.run([PY, "-c", TREE, self.pids, "exit"], 30)
        self.assertEqual(r.returncode, 0)
        child, grand, escaped = read_pids(self.pids)
        self.assertEqual(wait_gone([grand]), [])
        os.kill(escaped, signal.SIGKILL)    # out of reach without subreaper

    def test_progress_is_called_every_interval(self):
        seen = []
        procs.run([PY, "-c", "import time; time.sleep(1.2)"], 30,
                  progress=seen.append, every=0.3)
        self.assertGreaterEqual(len(seen), 2)
        self.assertTrue(all(a < b for a, b in zip(seen, seen[1:])))

    def test_an_exception_while_waiting_kills_the_child(self):
        box = []

        def boom(elapsed):
            box.append(procs.LIVE[0])
            raise KeyboardInterrupt
        with self.assertRaises(KeyboardInterrupt):
            procs.run([PY, "-c", "import time; time.sleep(60)"], 30,
                      progress=boom, every=0.1)
        self.assertEqual(box[0].returncode, -signal.SIGKILL)
        self.assertEqual(procs.LIVE, [])

    def test_peak_rss_sees_memory_the_child_touched(self):
        r = procs.run([PY, "-c", "b = bytearray(64 << 20); b[::4096] = "
                       "b'x' * len(b[::4096])"], 60)
        self.assertEqual(r.returncode, 0)
        self.assertGreater(r.peak_rss_kib, 60 << 10)


class ChildTest(Scratch):
    def test_a_pipe_handle_for_a_scheduler(self):
        c = procs.start([PY, "-c", "print('hi')"], timeout=30,
                        stdout=procs.PIPE)
        self.assertEqual(c.stdout.read(), b"hi\n")
        c.stdout.close()
        self.assertEqual(c.wait(), 0)
        self.assertTrue(c.done())
        self.assertEqual(c.result().returncode, 0)
        self.assertNotIn(c, procs.LIVE)

    def test_done_kills_a_child_at_its_deadline(self):
        c = procs.start([PY, "-c", "import time; time.sleep(60)"],
                        timeout=2)
        self.assertIn(c, procs.LIVE)
        self.assertFalse(c.done())
        self.assertIsNone(c.wait(0.1))
        time.sleep(2)
        self.assertTrue(c.done())
        self.assertTrue(c.timed_out)
        self.assertEqual(c.returncode, -signal.SIGKILL)

    def test_kill_reaches_a_helper_that_left_the_group(self):
        c = procs.start([PY, "-c", TREE, self.pids, "sleep"])
        pids = read_pids(self.pids)
        self.assertEqual(c.kill(), -signal.SIGKILL)
        self.assertEqual(wait_gone(pids), [], "still alive: %s" % pids)
        self.assertFalse(c.timed_out)

    def test_result_of_a_running_child_is_an_error(self):
        c = procs.start([PY, "-c", "import time; time.sleep(60)"])
        with self.assertRaises(ValueError):
            c.result()
        c.kill()


class SignalTest(Scratch):
    def run_and_signal(self, sig, subreaper="0", again=None):
        p = subprocess.Popen([PY, "-c", GUARDED, self.pids, subreaper],
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        try:
            pids = read_pids(self.pids)
            p.send_signal(sig)
            if again is not None:
                p.send_signal(again)
            out, err = p.communicate(timeout=30)
        finally:
            if p.returncode is None:
                p.kill()
                p.wait()
        return p.returncode, err.decode(), pids

    def check(self, sig, again=None):
        rc, err, pids = self.run_and_signal(sig, again=again)
        if again is not None and rc == 128 + again:
            sig = again     # both pending at once: either may come first
        self.assertEqual(rc, 128 + sig)
        self.assertEqual(err, "guarded-test: stopped by %s: 1 child "
                         "process(es) killed, with what they started\n"
                         % procs.signame(sig))
        self.assertEqual(wait_gone(pids), [], "still alive: %s" % pids)

    def test_sigterm_kills_the_child_and_its_escaped_helper(self):
        self.check(signal.SIGTERM)

    def test_sigint_kills_the_child_and_its_escaped_helper(self):
        self.check(signal.SIGINT)

    def test_sighup_kills_the_child_and_its_escaped_helper(self):
        self.check(signal.SIGHUP)

    def test_a_second_signal_does_not_break_off_the_cleanup(self):
        self.check(signal.SIGINT, again=signal.SIGTERM)

    def test_a_signal_during_start_is_held_until_the_child_is_known(self):
        seen = []
        old = signal.signal(signal.SIGUSR1, procs._on_signal)
        procs._STOP.update(armed=True, signum=None, held=None)
        try:
            procs._hold()
            os.kill(os.getpid(), signal.SIGUSR1)
            seen.append("held")
            with self.assertRaises(procs.Stopped) as cm:
                procs._release()
            self.assertEqual(cm.exception.signum, signal.SIGUSR1)
        finally:
            procs._STOP.update(armed=False, hold=0)
            signal.signal(signal.SIGUSR1, old)
        self.assertEqual(seen, ["held"])

    def test_guarded_restores_the_handlers_and_returns_the_value(self):
        before = [signal.getsignal(s) for s in procs.STOP_SIGNALS]
        self.assertEqual(procs.guarded("t", lambda: 5), 5)
        self.assertEqual([signal.getsignal(s) for s in procs.STOP_SIGNALS],
                         before)

    def test_guarded_kills_children_on_an_exception(self):
        box = []

        def body():
            box.append(procs.start([PY, "-c", "import time; "
                                    "time.sleep(60)"]))
            raise RuntimeError("boom")
        with self.assertRaises(RuntimeError):
            procs.guarded("t", body)
        self.assertEqual(box[0].returncode, -signal.SIGKILL)
        self.assertEqual(procs.LIVE, [])


class SubreaperTest(Scratch):
    def test_an_orphan_is_reaped_when_its_parent_exits(self):
        # In a child process: becoming a subreaper lasts for its life.
        code = r'''
import os, sys, time
sys.path.insert(0, %r)
from tools import procs
def body():
    r = procs.run([sys.executable, "-c", %r, sys.argv[1], "exit"], 60)
    pids = [int(x) for x in open(sys.argv[1]).read().split()]
    time.sleep(0.2)
    return 0 if r.returncode == 0 else 1
sys.exit(procs.guarded("t", body, subreaper=True))
''' % (ROOT, TREE)
        p = subprocess.run([PY, "-c", code, self.pids], timeout=60)
        self.assertEqual(p.returncode, 0)
        pids = read_pids(self.pids)
        self.assertEqual(wait_gone(pids), [], "still alive: %s" % pids)


if __name__ == "__main__":
    unittest.main()
