"""test_refsocket_fast.py - the sockets suite's cheap machinery sees what
an expensive one would.

Why: the suite diffs the fd table through tools.fdtable.snapshot (a count
from stat(/proc/self/fd) plus fstat identities; its own tests are in
tools/tests) rather than a listing and a readlink per descriptor, runs isolated native sides in one shared forked
child rather than one fork each, and sends the EINTR signal once the call
is blocked rather than after a fixed delay.  Each of those could silently
stop detecting something; these tests make each of them fail if it does:
leaks on either side of a real case (a new fd, an fd replaced at the same
number), a crash in the shared child (reported, then a fresh
child), and the signal really interrupting both sides' system calls.
"""

import os
import signal
import socket
import unittest

from oracle.judge import canon
from oracle.reference import refsocket
from oracle.suites import sockets as suite_sockets
from oracle.suites.sockets import eintr, fixtures, run as sk_run
from oracle.tests import helpers

def _pipe_read_end():
    r, w = os.pipe()
    os.close(w)
    return r


CASE = "rights/kind=stream,nfds=2,method=recvmsg,anc=32"
TRUNC = "trunc/kind=dgram,method=recvmsg,bufsize=3,flags=0x20"


class SuiteLeaks(unittest.TestCase):
    """Leaks made on purpose on one side of a real case are reported on
    that side only, including an fd replaced at the same number."""

    @classmethod
    def setUpClass(cls):
        suite_sockets.configure(helpers.LIB)

    def _run_with(self, side, misdeed):
        target = refsocket if side == "reference" else socket.socket
        own = "recvmsg" in target.__dict__
        good = target.recvmsg

        def bad(sock, *args, **kwargs):
            res = good(sock, *args, **kwargs)
            misdeed()
            return res
        target.recvmsg = bad
        try:
            return suite_sockets.run_case(CASE)
        finally:
            if own:
                target.recvmsg = good
            else:
                del target.recvmsg

    def test_a_clean_case_leaks_nothing(self):
        rec = suite_sockets.run_case(CASE)
        self.assertEqual(rec["leaked_fds"], {"native": [], "reference": []})
        self.assertEqual(canon.diff(rec["native"], rec["reference"]), [])

    def test_new_fd_leaked_by_each_side(self):
        for side, other in (("native", "reference"),
                            ("reference", "native")):
            kept = []
            rec = self._run_with(side, lambda: kept.append(_pipe_read_end()))
            try:
                self.assertEqual(len(rec["leaked_fds"][side]), 1, rec)
                self.assertIn("pipe:[", rec["leaked_fds"][side][0])
                self.assertEqual(rec["leaked_fds"][other], [], side)
            finally:
                for fd in kept:
                    os.close(fd)

    def test_fd_replaced_in_place_by_each_side(self):
        for side, other in (("native", "reference"),
                            ("reference", "native")):
            victim = os.open(os.devnull, os.O_RDONLY)
            try:
                def replace():
                    r = _pipe_read_end()
                    os.dup2(r, victim)
                    os.close(r)
                rec = self._run_with(side, replace)
                self.assertEqual(rec["leaked_fds"][side],
                                 ["%d -> %s" % (victim, os.readlink(
                                     "/proc/self/fd/%d" % victim))], side)
                self.assertEqual(rec["leaked_fds"][other], [], side)
            finally:
                os.close(victim)
        rec = suite_sockets.run_case(CASE)
        self.assertEqual(rec["leaked_fds"], {"native": [], "reference": []})


class SharedChild(unittest.TestCase):
    """Isolated native sides run in one forked child; a crash there is a
    result and the next case gets a new child."""

    @classmethod
    def setUpClass(cls):
        suite_sockets.configure(helpers.LIB)

    def tearDown(self):
        sk_run._ISOLATOR.stop()

    def test_one_child_serves_many_cases_like_a_fork_each(self):
        sk_run._ISOLATOR.stop()
        order, table = suite_sockets.cases()
        p = table[TRUNC]
        self.assertTrue(p["isolate"](p))
        rec = suite_sockets.run_case(TRUNC)
        pid = sk_run._ISOLATOR.pid
        crashed = (rec["native"]["exception"] or {}).get("type") == \
            "process-crash"     # PyPy 7.3.11 aborts here (spec 11)
        self.assertEqual(pid is None, crashed)
        again = suite_sockets.run_case(TRUNC)
        if not crashed:
            self.assertEqual(sk_run._ISOLATOR.pid, pid)
        self.assertEqual(rec["native"], again["native"])
        sk_run._ISOLATOR.stop()
        fresh = suite_sockets.run_case(TRUNC)
        self.assertEqual(fresh["native"], rec["native"])
        self.assertEqual(rec["leaked_fds"], {"native": [], "reference": []})

    def test_crash_is_a_result_and_the_next_case_gets_a_new_child(self):
        sk_run._ISOLATOR.stop()
        own = "recvmsg" in socket.socket.__dict__
        good = socket.socket.recvmsg

        def abort(sock, *args):
            os.kill(os.getpid(), signal.SIGABRT)
        socket.socket.recvmsg = abort       # copied into the child
        try:
            rec = suite_sockets.run_case(TRUNC)
        finally:
            if own:
                socket.socket.recvmsg = good
            else:
                del socket.socket.recvmsg
        self.assertEqual(rec["native"]["exception"]["type"], "process-crash")
        self.assertEqual(rec["native"]["exception"]["message"],
                         "signal %d" % signal.SIGABRT)
        self.assertIsNone(sk_run._ISOLATOR.pid)
        self.assertEqual(rec["leaked_fds"], {"native": [], "reference": []})
        rec = suite_sockets.run_case(TRUNC)     # a fresh child, unpatched
        sk_run._ISOLATOR.stop()
        self.assertEqual(rec["native"],
                         suite_sockets.run_case(TRUNC)["native"])


class Eintr(unittest.TestCase):
    """The watcher signals the main thread while it is blocked in the
    call, on both sides: the system call returns EINTR."""

    @classmethod
    def setUpClass(cls):
        suite_sockets.configure(helpers.LIB)

    def _side(self, side, timeout):
        cid = ("eintr/kind=stream,method=recvmsg,timeout=%s,eintr=returns,"
               "anc=64" % timeout)
        p = suite_sockets.cases()[1][cid]
        shared = fixtures.make_shared(p)
        st = fixtures.prepare(p, shared)
        try:
            if side == "reference":
                refsocket.install()
            before = refsocket.stats["eintr"]
            try:
                with eintr._Eintr("returns", st) as e:
                    data, anc, flags, addr = st.rsock.recvmsg(16, 64)
            finally:
                refsocket.uninstall()
            for level, type_, payload in anc:
                for fd in canon.split_fds(payload)[0]:
                    os.close(fd)
            return e, data, refsocket.stats["eintr"] - before
        finally:
            st.close()
            for fd in shared["fds"]:
                os.close(fd)

    def test_signal_arrives_while_blocked_on_both_sides(self):
        for timeout in ("none", "5"):
            e, data, rounds = self._side("native", timeout)
            self.assertTrue(e.fired and e.seen_blocked, timeout)
            self.assertEqual(data, b"abcdef")
            e, data, rounds = self._side("reference", timeout)
            self.assertTrue(e.fired and e.seen_blocked, timeout)
            self.assertEqual(data, b"abcdef")
            # The C call came back with EINTR and was made again.
            self.assertGreaterEqual(rounds, 1, timeout)

    def test_no_signal_after_the_call(self):
        e, data, rounds = self._side("native", "none")
        sent = e.sent
        import time
        time.sleep(0.12)    # longer than the 50 ms safety net
        self.assertEqual(e.sent, sent)
        self.assertTrue(e.stop)


if __name__ == "__main__":
    unittest.main()
