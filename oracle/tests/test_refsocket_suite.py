"""test_refsocket_suite.py - the real-socket suite (oracle.suites.sockets)
is big enough, well-formed, leak-free, and able to see a wrong reference.

Why: the suite is the oracle's kernel-driven half; if its matrix shrank, if
two cases shared an id, or if a broken reference still compared equal, the
conformance matrix would be green for the wrong reason.  A handful of
representative cases run here on the running interpreter; the whole matrix
runs under `make conformance`.
"""

import os
import subprocess
import sys
import unittest

from oracle.judge import canon
from oracle.reference import refsocket
from oracle.suites import sockets as suite_sockets
from oracle.tests import helpers

SAMPLE = [
    "rights/kind=stream,nfds=3,method=recvmsg,anc=24",
    "rights/kind=seqpacket,nfds=2,method=recvmsg_into,anc=21",
    "passcred/kind=dgram,nfds=2,anc=52",
    "flags/kind=stream,nfds=1,method=recvmsg,flags=0x40000002,anc=20",
    "emfile/kind=stream,method=recvmsg,room=1",
    "address/kind=unix-dgram-abstract,method=recvmsg,nfds=1,anc=32",
    "timeout/kind=dgram,method=recvmsg_into,timeout=0.001,pending=False",
    "eintr/kind=stream,method=recvmsg,timeout=none,eintr=raises,anc=0",
    "into-bufs/kind=dgram,bufs=none,nfds=2",
]


class Matrix(unittest.TestCase):

    def test_at_least_2000_unique_cases_in_every_family(self):
        ids = [cid for _, cid in suite_sockets.iter_cases()]
        self.assertGreaterEqual(len(ids), 2000)
        self.assertEqual(len(ids), len(set(ids)))
        fams = set(f for f, _ in suite_sockets.iter_cases())
        self.assertEqual(fams, set(f["family"] for f in
                                   suite_sockets.MATRIX))

    def test_sample_ids_exist(self):
        order, table = suite_sockets.cases()
        for cid in SAMPLE:
            self.assertIn(cid, table)


class Running(unittest.TestCase):

    @classmethod
    def setUpClass(cls):
        suite_sockets.configure(helpers.LIB)

    def test_sample_cases_agree_and_leak_nothing(self):
        for cid in SAMPLE:
            rec = suite_sockets.run_case(cid)
            self.assertEqual(canon.diff(rec["native"], rec["reference"]), [],
                             cid)
            self.assertEqual(rec["leaked_fds"],
                             {"native": [], "reference": []}, cid)

    def test_received_fds_are_described_not_numbered(self):
        rec = suite_sockets.run_case(SAMPLE[0])
        refs = [d["ref"] for d in rec["reference"]["fds_received"]]
        self.assertEqual(refs, ["sent0", "sent1"])  # 24 bytes: two fds

    def test_a_wrong_reference_is_a_difference(self):
        good = refsocket.recvmsg

        def drops_last_item(sock, *args, **kwargs):
            data, anc, flags, addr = good(sock, *args, **kwargs)
            for level, type_, payload in anc[-1:]:
                for fd in canon.split_fds(payload)[0]:
                    canon._close_quietly(fd)
            return data, anc[:-1], flags, addr
        refsocket.recvmsg = drops_last_item
        try:
            rec = suite_sockets.run_case(SAMPLE[0])
        finally:
            refsocket.recvmsg = good
        self.assertNotEqual(canon.diff(rec["native"], rec["reference"]), [])
        self.assertEqual(rec["leaked_fds"]["reference"], [])

    def test_a_reference_that_extends_its_deadline_is_a_difference(self):
        # Under the signal storm a 0.1 s timeout must end on time; a side
        # that waits again after timing out (as an implementation that
        # restarts its timeout at every EINTR ends up doing) must differ.
        import time
        cid = "eintr-deadline/kind=stream,method=recvmsg"
        rec = suite_sockets.run_case(cid)
        self.assertEqual((rec["reference"]["deadline"],
                          rec["reference"]["interrupted"]),
                         ("kept", "yes"))
        if "PyPy" not in sys.version:   # PyPy extends it: pypy.json
            self.assertEqual(canon.diff(rec["native"], rec["reference"]),
                             [])
        good = refsocket.recvmsg

        def waits_again(sock, *args, **kwargs):
            start = time.monotonic()
            while True:
                try:
                    return good(sock, *args, **kwargs)
                except OSError:
                    if time.monotonic() - start > 0.7:
                        raise
        refsocket.recvmsg = waits_again
        try:
            rec = suite_sockets.run_case(cid)
        finally:
            refsocket.recvmsg = good
        self.assertEqual(rec["reference"]["deadline"], "extended")
        if "PyPy" not in sys.version:
            self.assertEqual(canon.diff(rec["native"], rec["reference"]),
                             ["deadline: 'kept' != 'extended'"])

    def test_a_reference_that_waits_after_its_deadline_is_a_difference(self):
        # The handler sends the message and returns after the timeout:
        # §7's retry finds the deadline passed and times out, the message
        # queued.  A side that waits once more (a negative remaining time
        # taken as "wait forever") receives it instead and must differ.
        cid = "eintr-late/kind=dgram,method=recvmsg"
        rec = suite_sockets.run_case(cid)
        self.assertEqual(canon.diff(rec["native"], rec["reference"]), [])
        ref = rec["reference"]
        self.assertEqual((ref["exception"]["message"], ref["interrupted"]),
                         ("timed out", "in the wait"))
        self.assertNotEqual(ref["queue_after"], "empty")
        good = refsocket.recvmsg

        def waits_again(sock, *args, **kwargs):
            try:
                return good(sock, *args, **kwargs)
            except OSError:
                timeout = sock.gettimeout()
                sock.settimeout(None)
                try:
                    return good(sock, *args, **kwargs)
                finally:
                    sock.settimeout(timeout)
        refsocket.recvmsg = waits_again
        try:
            rec = suite_sockets.run_case(cid)
        finally:
            refsocket.recvmsg = good
        self.assertIsNone(rec["reference"]["exception"])
        self.assertNotEqual(canon.diff(rec["native"], rec["reference"]), [])

    def test_what_a_call_leaves_queued_is_compared(self):
        # §5: recvmsg_into([]) consumes nothing on a stream (the 10 bytes
        # stay queued) and discards a datagram.  A reference that reads
        # the stream's data must differ in queue_after.
        stream = "into-bufs/kind=stream,bufs=none,nfds=0"
        dgram = "into-bufs/kind=dgram,bufs=none,nfds=0"
        rec = suite_sockets.run_case(stream)
        self.assertEqual(canon.diff(rec["native"], rec["reference"]), [])
        self.assertEqual(rec["native"]["queue_after"], b"abcdefghij".hex())
        rec = suite_sockets.run_case(dgram)
        self.assertEqual(canon.diff(rec["native"], rec["reference"]), [])
        self.assertEqual(rec["native"]["queue_after"], "empty")
        good = refsocket.recvmsg_into

        def consumes(sock, buffers, *args, **kwargs):
            got = good(sock, buffers, *args, **kwargs)
            sock.recv(64)           # the same answer, the data gone
            return got
        refsocket.recvmsg_into = consumes
        try:
            rec = suite_sockets.run_case(stream)
        finally:
            refsocket.recvmsg_into = good
        self.assertEqual([l.split(":")[0] for l in
                          canon.diff(rec["native"], rec["reference"])],
                         ["queue_after"])

    def test_a_worker_exits_with_nothing_left_to_finalise(self):
        # The pooled socketpair is closed at exit, not finalised at
        # shutdown, where ResourceWarning (when shown) names it.
        env = dict(os.environ, PYTHONPATH=helpers.REPO)
        p = subprocess.Popen(
            [sys.executable, "-W", "always::ResourceWarning", "-m",
             "oracle.worker", "--suite", "sockets", "--only", SAMPLE[0],
             "--lib", helpers.LIB, "--no-progress"], cwd=helpers.REPO,
            env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        out, err = p.communicate(timeout=120)
        self.assertEqual((p.returncode, err.decode()), (0, ""))
        self.assertEqual(len(out.splitlines()), 1)


class CpythonTestsDriver(unittest.TestCase):
    """oracle.cpython_tests: the selection takes leaf classes only, and a
    test that passes natively but not with the reference is reported."""

    def test_leaf_classes_and_id_filter(self):
        import types
        from oracle import cpython_tests
        mod = types.ModuleType("fake_test_socket")

        class RecvmsgGenericTests(unittest.TestCase):  # a 3.6-3.8 mixin
            def testRecvmsg(self):
                pass

        class RecvmsgUDPTest(RecvmsgGenericTests):
            def testOther(self):
                pass

        class GeneralModuleTests(unittest.TestCase):
            def testRecvmsgAbsent(self):
                pass

            def testUnrelated(self):
                pass
        for cls in (RecvmsgGenericTests, RecvmsgUDPTest, GeneralModuleTests):
            cls.__module__ = mod.__name__
            setattr(mod, cls.__name__, cls)
        ids = sorted("%s.%s" % (type(t).__name__, t._testMethodName)
                     for t in cpython_tests.select_tests(mod))
        self.assertEqual(ids, [
            "GeneralModuleTests.testRecvmsgAbsent",
            "RecvmsgUDPTest.testOther", "RecvmsgUDPTest.testRecvmsg"])

    def test_compare_lists_what_the_reference_lost(self):
        from oracle import cpython_tests
        native = {"a": "pass", "b": "pass", "c": "skip", "d": "fail"}
        ref = {"a": "pass", "b": "error", "c": "skip", "d": "pass"}
        self.assertEqual(cpython_tests.compare(native, ref), [("b", "error")])
        self.assertEqual(cpython_tests.compare(native, {}),
                         [("a", "absent"), ("b", "absent")])


if __name__ == "__main__":
    unittest.main()
