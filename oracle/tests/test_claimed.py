"""test_claimed.py - the tuple that claims 2**31 items (suites/sockets/
claimed.py) claims it, is put back, and reaches the count check on both
sides; where it cannot be made, the case is an ERROR, not a result."""

import gc
import socket
import sys
import unittest

from oracle.reference import refsocket
from oracle.suites.sockets import claimed, run as sk_run
from oracle.tests import helpers

TOO_LONG = "recvmsg_into() argument 1 is too long"


@unittest.skipUnless(sys.implementation.name == "cpython" and
                     sys.maxsize > 2 ** 31, "needs a 64-bit CPython")
class Claimed(unittest.TestCase):

    def tearDown(self):
        claimed.restore()

    def test_claims_then_restores_length_and_gc(self):
        was = gc.isenabled()
        tup = claimed.claimed(2 ** 31)
        self.assertEqual(len(tup), 2 ** 31)
        self.assertFalse(gc.isenabled())
        claimed.restore()
        self.assertEqual(len(tup), 1)
        self.assertEqual(tup, (bytearray(1),))
        self.assertEqual(gc.isenabled(), was)

    def test_both_sides_refuse_the_count_before_any_item(self):
        refsocket.load(helpers.LIB)
        a, b = socket.socketpair()
        try:
            b.close()       # the count is checked before the socket is used
            for side in ("native", "reference"):
                if side == "reference":
                    refsocket.install()
                try:
                    with self.assertRaises(OSError) as cm:
                        a.recvmsg_into(claimed.claimed(2 ** 31))
                finally:
                    claimed.restore()
                    if side == "reference":
                        refsocket.uninstall()
                self.assertEqual(str(cm.exception), TOO_LONG, side)
        finally:
            a.close()

    def test_count_beyond_ssize_t_is_unsupported(self):
        with self.assertRaises(claimed.Unsupported):
            claimed.claimed(sys.maxsize + 1)
        self.assertEqual(claimed._FORGED, [])


class Unsupported(unittest.TestCase):

    def test_an_unsupported_claim_makes_the_case_an_error(self):
        p = dict(sk_run.cases()[1][
            "argerr-recvmsg_into/call=count-int-max+1,closed=True"])
        p["call"] = ("count", "Claimed(%d)" % (sys.maxsize + 1))
        p["nfds"] = 0       # nothing is sent: the call never gets there
        with self.assertRaises(claimed.Unsupported):
            sk_run._run_side("native", p, sk_run._POOL.for_case(p))
        self.assertEqual(claimed._FORGED, [])


if __name__ == "__main__":
    unittest.main()
