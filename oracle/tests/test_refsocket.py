"""test_refsocket.py - oracle.reference.refsocket's Python-level behaviour.

Why: refsocket must word every argument error as the CPython version it
runs under (spec §5 table, §8), map the library's failures to the right
classes (§7), and give CMSG_LEN/CMSG_SPACE the §8 values and ranges.  The
version table is checked for every column (3.6-3.9, 3.10, 3.11-3.13) from
any interpreter through refsocket.emulate_version(); on a CPython the rows
are also compared with the interpreter's own socket module, which is the
ground truth for the running version.  Real sockets (socketpairs) are used
for the rows that reach the C call; a missing library is a failure.
"""

import array
import os
import platform
import signal
import socket
import sys
import time
import unittest

from oracle.reference import refsocket
from oracle.tests import helpers

IS_CPYTHON = platform.python_implementation() == "CPython"

KW = "takes no keyword arguments"
BUFS = ("recvmsg_into() argument 1 must be an iterable of single-segment "
        "read-write buffers")

# (call source with `s` the socket, exception class name, message per
# version column: {column: text}; column "all" or (3, 6) / (3, 10) /
# (3, 11) meaning "from this version until the next key").  Spec §5.
TABLE = [
    ("s.recvmsg()", "TypeError",
     {"all": "recvmsg() takes at least 1 argument (0 given)"}),
    ("s.recvmsg(1, 0, 0, 0)", "TypeError",
     {"all": "recvmsg() takes at most 3 arguments (4 given)"}),
    ("s.recvmsg(bufsize=1)", "TypeError",
     {(3, 6): "recvmsg() " + KW, (3, 11): "socket.recvmsg() " + KW}),
    ("s.recvmsg_into()", "TypeError",
     {"all": "recvmsg_into() takes at least 1 argument (0 given)"}),
    ("s.recvmsg_into([], 0, 0, 0)", "TypeError",
     {"all": "recvmsg_into() takes at most 3 arguments (4 given)"}),
    ("s.recvmsg_into(buffers=[])", "TypeError",
     {(3, 6): "recvmsg_into() " + KW, (3, 11): "socket.recvmsg_into() " + KW}),
    ("s.recvmsg(1.5)", "TypeError",
     {(3, 6): "integer argument expected, got float",
      (3, 10): "'float' object cannot be interpreted as an integer"}),
    ("s.recvmsg(1, 1.5)", "TypeError",
     {(3, 6): "integer argument expected, got float",
      (3, 10): "'float' object cannot be interpreted as an integer"}),
    ("s.recvmsg('x')", "TypeError",
     {"all": "'str' object cannot be interpreted as an integer"}),
    ("s.recvmsg(None)", "TypeError",
     {"all": "'NoneType' object cannot be interpreted as an integer"}),
    ("s.recvmsg(1, 0, 'x')", "TypeError",
     {(3, 6): "an integer is required (got type str)",
      (3, 10): "'str' object cannot be interpreted as an integer"}),
    ("s.recvmsg(1, 0, None)", "TypeError",
     {(3, 6): "an integer is required (got type NoneType)",
      (3, 10): "'NoneType' object cannot be interpreted as an integer"}),
    ("s.recvmsg(1, 0, 1.5)", "TypeError",
     {(3, 6): "integer argument expected, got float",
      (3, 10): "'float' object cannot be interpreted as an integer"}),
    ("s.recvmsg(1, 0, 2**31)", "OverflowError",
     {"all": "signed integer is greater than maximum"}),
    ("s.recvmsg(1, 0, -2**31-1)", "OverflowError",
     {"all": "signed integer is less than minimum"}),
    ("s.recvmsg(1, 2**63)", "OverflowError",
     {"all": "Python int too large to convert to C ssize_t"}),
    ("s.recvmsg(-2**63-1)", "OverflowError",
     {"all": "Python int too large to convert to C ssize_t"}),
    ("s.recvmsg(1.5, 0, 'x')", "TypeError",
     {(3, 6): "integer argument expected, got float",
      (3, 10): "'float' object cannot be interpreted as an integer"}),
    ("s.recvmsg(-1)", "ValueError",
     {"all": "negative buffer size in recvmsg()"}),
    ("s.recvmsg(-1, -1)", "ValueError",
     {"all": "negative buffer size in recvmsg()"}),
    ("s.recvmsg(1, -1)", "ValueError",
     {"all": "invalid ancillary data buffer length"}),
    ("s.recvmsg(1, 2**31)", "ValueError",
     {"all": "invalid ancillary data buffer length"}),
    ("s.recvmsg(2**62)", "MemoryError", {"all": ""}),
    ("s.recvmsg_into(5)", "TypeError",
     {"all": "recvmsg_into() argument 1 must be an iterable"}),
    ("s.recvmsg_into(5, 'x')", "TypeError",
     {"all": "'str' object cannot be interpreted as an integer"}),
    ("s.recvmsg_into([b'abc'])", "TypeError", {"all": BUFS}),
    ("s.recvmsg_into('abc')", "TypeError", {"all": BUFS}),
    ("s.recvmsg_into([memoryview(b'x')])", "TypeError", {"all": BUFS}),
    ("s.recvmsg_into([memoryview(bytearray(8))[::2]])", "TypeError",
     {"all": BUFS}),
    ("s.recvmsg_into([b'x'], -1)", "TypeError", {"all": BUFS}),
    ("s.recvmsg_into([bytearray(1)], -1)", "ValueError",
     {"all": "invalid ancillary data buffer length"}),
    ("s.recvmsg(1)", "OSError", {"all": "[Errno 9] Bad file descriptor"}),
    ("s.recvmsg_into([bytearray(1)])", "OSError",
     {"all": "[Errno 9] Bad file descriptor"}),
]

COLUMNS = [(3, 6), (3, 9), (3, 10), (3, 11), (3, 13)]


def expected_text(row, vi):
    texts = row[2]
    if "all" in texts:
        return texts["all"]
    best = None
    for key in sorted(texts):
        if key <= vi:
            best = texts[key]
    return best


def closed_socket():
    """A closed AF_UNIX stream socket: every §5 row raises before, or at,
    the system call (EBADF), and nothing can block."""
    a, b = socket.socketpair()
    b.close()
    a.close()
    return a


def call_source(src, sock):
    """Evaluates a row's call with `s` = sock; returns the exception."""
    try:
        eval(src, {"s": sock, "memoryview": memoryview,
                   "bytearray": bytearray})
    except Exception as e:  # the row's outcome
        return e
    return None


class Installed(object):
    """refsocket installed on socket.socket for a with-block."""

    def __enter__(self):
        refsocket.install()
        return self

    def __exit__(self, *exc):
        refsocket.uninstall()
        return False


class ArgumentErrorsPerVersion(unittest.TestCase):
    """Every §5 row, under every version column, through refsocket."""

    @classmethod
    def setUpClass(cls):
        if not os.path.exists(helpers.LIB):
            raise AssertionError("%s missing: run make" % helpers.LIB)
        refsocket.load(helpers.LIB)

    def tearDown(self):
        refsocket.emulate_version(None)

    def test_every_row_in_every_column(self):
        sock = closed_socket()
        for vi in COLUMNS:
            refsocket.emulate_version(vi)
            with Installed():
                for row in TABLE:
                    exc = call_source(row[0], sock)
                    want = expected_text(row, vi)
                    self.assertIsNotNone(exc, "%s: no exception" % row[0])
                    self.assertEqual(
                        (type(exc).__name__, str(exc)), (row[1], want),
                        "%s under %d.%d" % ((row[0],) + vi))

    def test_bound_method_form_gives_same_text_as_direct(self):
        # refsocket cannot see the call form (see the cpython.json entry):
        # both forms give the descriptor text.
        refsocket.emulate_version((3, 12))
        sock = closed_socket()
        with Installed():
            f = sock.recvmsg
            self.assertEqual(str(call_source("s(bufsize=1)", f)),
                             "socket.recvmsg() " + KW)

    def test_keyword_empty_dict_is_no_keyword(self):
        sock = closed_socket()
        with Installed():
            exc = call_source("s.recvmsg(1, **{})", sock)
        self.assertEqual((type(exc).__name__, exc.errno), ("OSError", 9))

    def test_index_objects_are_accepted_and_bad_index_rejected(self):
        class Idx(object):
            def __init__(self, v):
                self.v = v

            def __index__(self):
                return self.v

        class Bad(object):
            def __index__(self):
                return "1"
        a, b = socket.socketpair()
        try:
            b.send(b"xy")
            a.settimeout(5)
            self.assertEqual(refsocket.recvmsg(a, Idx(1), Idx(0), 0)[0],
                             b"x")
            with self.assertRaises(TypeError) as cm:
                refsocket.recvmsg(a, Bad())
            self.assertEqual(str(cm.exception),
                             "__index__ returned non-int (type str)")
            # flags: 3.6/3.7 want __int__ and refuse an __index__-only
            # object; 3.8+ take __index__.
            refsocket.emulate_version((3, 7))
            with self.assertRaises(TypeError) as cm:
                refsocket.recvmsg(a, 1, 0, Idx(0))
            self.assertEqual(str(cm.exception),
                             "an integer is required (got type Idx)")
            refsocket.emulate_version((3, 8))
            self.assertEqual(refsocket.recvmsg(a, 1, 0, Idx(0))[0], b"y")
        finally:
            a.close()
            b.close()

    def test_flags_through_int_only_before_310(self):
        class IntOnly(object):
            def __int__(self):
                return 0
        sock = closed_socket()
        refsocket.emulate_version((3, 7))
        with self.assertRaises(OSError) as cm:
            refsocket.recvmsg(sock, 1, 0, IntOnly())
        self.assertEqual(cm.exception.errno, 9)
        refsocket.emulate_version((3, 10))
        with self.assertRaises(TypeError) as cm:
            refsocket.recvmsg(sock, 1, 0, IntOnly())
        self.assertEqual(str(cm.exception),
                         "'IntOnly' object cannot be interpreted as an "
                         "integer")


@unittest.skipUnless(IS_CPYTHON, "the running interpreter is not CPython, "
                     "so its socket module is no oracle for spec section 5")
class RowsMatchThisCPython(unittest.TestCase):
    """The running CPython's own socket gives the same class and text as
    refsocket for every row (the ground truth for this version)."""

    @classmethod
    def setUpClass(cls):
        refsocket.load(helpers.LIB)

    def test_rows_equal_native(self):
        sock = closed_socket()
        for row in TABLE:
            native = call_source(row[0], sock)
            with Installed():
                ref = call_source(row[0], sock)
            self.assertEqual((type(native), str(native), native.args),
                             (type(ref), str(ref), ref.args), row[0])

    def test_running_version_column_is_what_native_says(self):
        sock = closed_socket()
        vi = sys.version_info[:2]
        for row in TABLE:
            native = call_source(row[0], sock)
            self.assertEqual(str(native), expected_text(row, vi), row[0])


class CmsgMacros(unittest.TestCase):
    """§8: values, the exact ranges and the messages."""

    @classmethod
    def setUpClass(cls):
        refsocket.load(helpers.LIB)

    def test_values(self):
        self.assertEqual(refsocket.CMSG_LEN(0), 16)
        self.assertEqual(refsocket.CMSG_LEN(4), 20)
        self.assertEqual([refsocket.CMSG_SPACE(n) for n in (0, 1, 4, 8, 9)],
                         [16, 24, 24, 24, 32])
        for n in range(0, 300):
            self.assertEqual(refsocket.CMSG_LEN(n), 16 + n)
            self.assertEqual(refsocket.CMSG_SPACE(n), 16 + (n + 7) // 8 * 8)

    def test_ranges(self):
        self.assertEqual(refsocket.CMSG_LEN(2147483631), 2147483647)
        self.assertEqual(refsocket.CMSG_SPACE(2147483623), 2147483640)
        for name, bad in (("CMSG_LEN", (2147483632, -1, 2 ** 31)),
                          ("CMSG_SPACE", (2147483624, -1, 2 ** 31))):
            fn = getattr(refsocket, name)
            for n in bad:
                with self.assertRaises(OverflowError) as cm:
                    fn(n)
                self.assertEqual(str(cm.exception),
                                 "%s() argument out of range" % name)

    def test_argument_errors(self):
        for vi, flt in (((3, 9), "integer argument expected, got float"),
                        ((3, 10), "'float' object cannot be interpreted "
                                  "as an integer")):
            refsocket.emulate_version(vi)
            try:
                for name in ("CMSG_LEN", "CMSG_SPACE"):
                    fn = getattr(refsocket, name)
                    for args, kw, cls, text in (
                            ((), {}, TypeError,
                             "%s() takes exactly 1 argument (0 given)"
                             % name),
                            ((1, 2), {}, TypeError,
                             "%s() takes exactly 1 argument (2 given)"
                             % name),
                            ((), {"n": 1}, TypeError,
                             "%s() takes no keyword arguments" % name),
                            ((1.5,), {}, TypeError, flt),
                            ((2 ** 63,), {}, OverflowError,
                             "Python int too large to convert to C "
                             "ssize_t")):
                        with self.assertRaises(cls) as cm:
                            fn(*args, **kw)
                        self.assertEqual(str(cm.exception), text,
                                         (name, args, kw, vi))
            finally:
                refsocket.emulate_version(None)

    @unittest.skipUnless(IS_CPYTHON, "PyPy's CMSG_* are no oracle (§11)")
    def test_equal_native_on_boundaries(self):
        for n in (0, 1, 7, 8, 9, 2147483623, 2147483624, 2147483631,
                  2147483632, -1, 2 ** 63):
            for name in ("CMSG_LEN", "CMSG_SPACE"):
                got = []
                for fn in (getattr(socket, name), getattr(refsocket, name)):
                    try:
                        got.append(("ok", fn(n)))
                    except Exception as e:
                        got.append((type(e).__name__, str(e)))
                self.assertEqual(got[0], got[1], (name, n))


class LibraryJson(unittest.TestCase):
    """refsocket.json_parse is the library's one JSON (cr_json_parse_buf),
    used by the injection suite as its reference."""

    @classmethod
    def setUpClass(cls):
        refsocket.load(helpers.LIB)

    def test_k08_truncated_item_warns_and_names_the_fds(self):
        import json
        import struct
        k08 = struct.pack("<Qii", 40, 1, 1) + b"ABCD" + b"\xee" * 4
        doc = json.loads(refsocket.json_parse(k08))
        self.assertEqual([(i["level"], i["type"], i["data"], i["status"])
                          for i in doc["items"]],
                         [(1, 1, "41424344eeeeeeee", "truncated")])
        self.assertTrue(doc["warning"])
        self.assertEqual(doc["close_on_error"], [0x44434241, -286331154])

    def test_output_larger_than_the_first_guess(self):
        import json
        import struct
        many = (struct.pack("<Qii", 16, 1, 2)) * 4000
        doc = json.loads(refsocket.json_parse(many))
        self.assertEqual(len(doc["items"]), 4000)
        self.assertFalse(doc["warning"])


class CallBehaviour(unittest.TestCase):
    """§7 on real sockets: timeouts, non-blocking, EINTR, install()."""

    @classmethod
    def setUpClass(cls):
        refsocket.load(helpers.LIB)

    def setUp(self):
        self.a, self.b = socket.socketpair()

    def tearDown(self):
        self.a.close()
        self.b.close()

    def test_timeout_class_message_and_args(self):
        self.a.settimeout(0.01)
        with self.assertRaises(socket.timeout) as cm:
            refsocket.recvmsg(self.a, 10)
        e = cm.exception
        self.assertEqual((str(e), e.args, e.errno),
                         ("timed out", ("timed out",), None))
        self.assertIs(type(e), socket.timeout)
        if sys.version_info >= (3, 10):
            self.assertIs(type(e), TimeoutError)

    def test_nonblocking_is_blocking_io_error(self):
        self.a.setblocking(False)
        with self.assertRaises(BlockingIOError) as cm:
            refsocket.recvmsg_into(self.a, [bytearray(4)])
        self.assertEqual(cm.exception.args[0], 11)

    def test_data_fds_and_flags(self):
        r, w = os.pipe()
        try:
            self.b.sendmsg([b"abc"], [(socket.SOL_SOCKET, socket.SCM_RIGHTS,
                                       array.array("i", [r, w]).tobytes())])
            self.a.settimeout(5)
            data, anc, flags, addr = refsocket.recvmsg(self.a, 2, 20)
            self.assertEqual((data, flags, addr, len(anc)),
                             (b"ab", socket.MSG_CTRUNC, None, 1))
            fds = array.array("i", anc[0][2])
            self.assertEqual(len(fds), 1)
            self.assertEqual(os.fstat(fds[0]).st_ino, os.fstat(r).st_ino)
            os.close(fds[0])
        finally:
            os.close(r)
            os.close(w)

    def test_recvmsg_into_several_buffers(self):
        self.b.send(b"abcdefg")
        self.a.settimeout(5)
        b1, b2 = bytearray(3), bytearray(10)
        n, anc, flags, addr = refsocket.recvmsg_into(
            self.a, [b1, memoryview(b2)[1:]])
        self.assertEqual((n, bytes(b1), bytes(b2[1:5])), (7, b"abc", b"defg"))
        b1.extend(b"resizable again")  # the export was released

    def _with_alarm(self, handler, call):
        old = signal.signal(signal.SIGALRM, handler)
        signal.setitimer(signal.ITIMER_REAL, 0.02, 0.05)
        try:
            return call()
        finally:
            signal.setitimer(signal.ITIMER_REAL, 0, 0)
            signal.signal(signal.SIGALRM, old)

    def test_eintr_raising_handler_propagates(self):
        def handler(signum, frame):
            raise ZeroDivisionError("from the handler")
        for timeout in (None, 5.0):
            self.a.settimeout(timeout)
            before = refsocket.stats["calls"]
            with self.assertRaises(ZeroDivisionError):
                self._with_alarm(handler,
                                 lambda: refsocket.recvmsg(self.a, 10))
            # The signal interrupted the C call (which blocks until then),
            # not the Python code before it.
            self.assertEqual(refsocket.stats["calls"], before + 1)

    def test_eintr_returning_handler_retries(self):
        sent = []

        def handler(signum, frame):
            if not sent:
                sent.append(1)
                self.b.send(b"late")
        for timeout in (None, 5.0):
            del sent[:]
            self.a.settimeout(timeout)
            before = dict(refsocket.stats)
            got = self._with_alarm(handler,
                                   lambda: refsocket.recvmsg(self.a, 10))
            self.assertEqual(got[0], b"late")
            # Interrupted, handlers run, called again.
            self.assertGreaterEqual(refsocket.stats["eintr"],
                                    before["eintr"] + 1)
            self.assertGreaterEqual(refsocket.stats["calls"],
                                    before["calls"] + 2)

    def test_deadline_not_extended_by_signals(self):
        self.a.settimeout(0.3)
        started = time.time()
        with self.assertRaises(socket.timeout):
            self._with_alarm(lambda s, f: None,
                             lambda: refsocket.recvmsg(self.a, 10))
        took = time.time() - started
        self.assertTrue(0.25 <= took < 1.5, took)

    def test_install_patches_class_and_uninstall_restores(self):
        native = socket.socket.recvmsg
        refsocket.install()
        try:
            self.assertTrue(refsocket.installed())
            self.assertIs(socket.socket.recvmsg, refsocket.recvmsg)
            self.assertIs(socket.CMSG_LEN, refsocket.CMSG_LEN)
            self.b.send(b"x")
            self.a.settimeout(5)
            self.assertEqual(self.a.recvmsg(1)[0], b"x")
        finally:
            refsocket.uninstall()
        self.assertIs(socket.socket.recvmsg, native)
        self.assertFalse(refsocket.installed())
        self.assertIsNot(socket.CMSG_LEN, refsocket.CMSG_LEN)


if __name__ == "__main__":
    unittest.main()
