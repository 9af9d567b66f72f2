"""Self-tests of oracle/canon.py: fds by what they refer to, timestamps by
shape, fd-table diffs, and a diff that can fail."""

import array
import os
import socket
import struct
import tempfile
import unittest
import warnings

from oracle.judge import canon
from tools import fdtable

# Linux's value; PyPy 3.9's socket module does not export the name.
MSG_CMSG_CLOEXEC = getattr(socket, "MSG_CMSG_CLOEXEC", 0x40000000)


def send_fds(sock, fds, flags=0):
    sock.sendmsg([b"x"], [(socket.SOL_SOCKET, socket.SCM_RIGHTS,
                           array.array("i", fds).tobytes())], flags)


class CanonFds(unittest.TestCase):

    def setUp(self):
        self.a, self.b = socket.socketpair()
        fd, self.path = tempfile.mkstemp()
        os.close(fd)
        self.f1 = os.open(self.path, os.O_RDONLY)
        self.f2 = os.open(self.path, os.O_RDONLY)  # same inode, other fd
        r, w = os.pipe()
        os.close(w)
        self.p = r

    def tearDown(self):
        for fd in (self.f1, self.f2, self.p):
            os.close(fd)
        self.a.close()
        self.b.close()
        os.unlink(self.path)

    def recv(self, flags=0):
        return self.b.recvmsg(1, socket.CMSG_SPACE(8), flags)

    def test_received_fds_compare_by_inode_not_number(self):
        labels = {fdtable.identity(self.f1): "file"}
        send_fds(self.a, [self.f1])
        one = canon.canon_result(self.recv(), rights="fds", labels=labels)
        send_fds(self.a, [self.f2])
        two = canon.canon_result(self.recv(), rights="fds", labels=labels)
        self.assertEqual(one["fds_received"], [
            {"ref": "file", "kind": "reg", "cloexec": False}])
        self.assertEqual(canon.diff(one, two), [])
        self.assertEqual(one["ancdata"], [[1, 1, "fds:1"]])

    def test_other_object_or_cloexec_is_a_difference(self):
        send_fds(self.a, [self.f1])
        one = canon.canon_result(self.recv(), rights="fds")
        send_fds(self.a, [self.p])
        two = canon.canon_result(self.recv(), rights="fds")
        self.assertNotEqual(canon.diff(one, two), [])
        send_fds(self.a, [self.f1])
        three = canon.canon_result(self.recv(MSG_CMSG_CLOEXEC),
                                   rights="fds")
        self.assertEqual(three["fds_received"][0]["cloexec"], True)
        self.assertEqual(canon.diff(one["fds_received"],
                                    three["fds_received"]),
                         ["[0].cloexec: False != True"])

    def test_received_fds_are_closed_so_nothing_leaks(self):
        before = fdtable.snapshot()
        send_fds(self.a, [self.f1, self.p])
        canon.canon_result(self.recv(), rights="fds")
        self.assertEqual(fdtable.leaks(before, fdtable.snapshot()), [])

    def test_leak_is_seen(self):
        before = fdtable.snapshot()
        fd = os.dup(self.f1)
        try:
            leaks = fdtable.leaks(before, fdtable.snapshot())
            self.assertEqual(len(leaks), 1)
            self.assertTrue(leaks[0].startswith("%d -> " % fd), leaks)
        finally:
            os.close(fd)

    def test_raw_mode_keeps_bytes_and_partial_int(self):
        anc = [(1, 1, struct.pack("<ii", 200, 201) + b"zz"), (0, 99, b"\x01")]
        self.assertEqual(canon.canon_ancdata(anc),
                         [[1, 1, "c8000000c90000007a7a"], [0, 99, "01"]])
        got = canon.canon_ancdata(anc[:1], rights="fds",
                                  close_received=False)
        self.assertEqual(got, [[1, 1, "fds:2+7a7a"]])

    def test_timestamps_by_shape(self):
        anc = [(1, canon.SCM_TIMESTAMP, b"\x01" * 16),
               (1, canon.SCM_TIMESTAMPNS, b"\x02" * 16)]
        self.assertEqual(canon.canon_ancdata(anc),
                         [[1, 29, "shape:16"], [1, 35, "shape:16"]])


class CanonOther(unittest.TestCase):

    def test_addresses(self):
        self.assertIsNone(canon.canon_address(None))
        self.assertEqual(canon.canon_address(b"\x00ab"), ["bytes", "006162"])
        self.assertEqual(canon.canon_address("/tmp/\udcff"),
                         ["str", "2f746d702fff"])
        self.assertEqual(canon.canon_address(("127.0.0.1", 5)),
                         ["tuple", ["127.0.0.1", 5]])
        self.assertEqual(canon.canon_address(("127.0.0.1", 5),
                                             {("127.0.0.1", 5): "peer"}),
                         ["label", "peer"])

    def test_exception_and_warning_shapes(self):
        s = socket.socket(socket.AF_UNIX)
        try:
            s.recvmsg(-1)
        except ValueError as e:
            c = canon.canon_exception(e)
        finally:
            s.close()
        self.assertEqual(c, {"type": "ValueError",
                             "message": "negative buffer size in recvmsg()",
                             "args": ["negative buffer size in recvmsg()"],
                             "errno": None})
        self.assertEqual(canon.exc_type_name(socket.timeout("t")),
                         "TimeoutError" if socket.timeout is TimeoutError
                         else "socket.timeout")
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            warnings.warn("w", RuntimeWarning)
        w = canon.canon_warnings(caught)
        self.assertEqual((w[0]["category"], w[0]["message"],
                          w[0]["filename"]),
                         ("RuntimeWarning", "w", "test_canon.py"))

    def test_diff_reports_each_path(self):
        self.assertEqual(canon.diff({"a": [1, [2, 3]]}, {"a": [1, [2, 4]]}),
                         ["a[1][1]: 3 != 4"])
        self.assertEqual(canon.diff({"a": 1}, {"b": 1}),
                         ["a: 1 != '<absent>'", "b: '<absent>' != 1"])
        self.assertEqual(canon.diff([1], [1, 2]), ["<root>: [1] != [1, 2]"])
        self.assertEqual(canon.diff(True, 1), ["<root>: True != 1"])


if __name__ == "__main__":
    unittest.main()
