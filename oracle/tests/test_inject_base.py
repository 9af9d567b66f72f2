"""Self-tests of the inject suite's buffer address: the shim reports where
msg_control lay on each rewritten call, and the legacy glibc reference is
computed there (spec §3.4: legacy CMSG_NXTHDR's next-header sum wraps at
the buffer's address), per address only where the walk depends on it.

W1 is the spec's minimal case (C = 32): an ok empty item, then a header at
16 whose length 0xfffffff900000000 makes the legacy walk visit it iff the
buffer lies at or above 0x6_ffff_fff0."""

import json
import os
import shutil
import subprocess
import sys
import tempfile
import unittest

from oracle.reference import refsocket
from oracle.suites.inject import corpus, reference
from oracle.tests.helpers import LIB, REPO, SHIM, record

W1 = bytes.fromhex("1000000000000000290000003200000000000000"
                   "f9ffffff2900000033000000")
W1_THRESHOLD = 0x6fffffff0


SHIM_ADDRESS = r'''
import ctypes, json
from oracle.suites.inject import session
ses = session.get_session()
w1 = bytes.fromhex(%(w1)r)


class IOVec(ctypes.Structure):
    _fields_ = [("base", ctypes.c_void_p), ("len", ctypes.c_size_t)]


class MsgHdr(ctypes.Structure):
    _fields_ = [("name", ctypes.c_void_p), ("namelen", ctypes.c_uint32),
                ("iov", ctypes.POINTER(IOVec)), ("iovlen", ctypes.c_size_t),
                ("control", ctypes.c_void_p),
                ("controllen", ctypes.c_size_t), ("flags", ctypes.c_int)]


out = {}
# libc's recvmsg (the shim's, preloaded) on a buffer whose address we know.
cbuf = ctypes.create_string_buffer(64)
data = ctypes.create_string_buffer(1)
iov = IOVec(ctypes.addressof(data), 1)
msg = MsgHdr(None, 0, ctypes.pointer(iov), 1, ctypes.addressof(cbuf), 64, 0)
ses.peer.send(b"x")
ses.mm[ses.BYTES:ses.BYTES + len(w1)] = w1
ses._loaded = None
ses.HEAD.pack_into(ses.mm, 0, ses.sock.fileno(), len(w1), 0, 0, 0)
libc = ctypes.CDLL(None)
libc.recvmsg.argtypes = [ctypes.c_int, ctypes.POINTER(MsgHdr), ctypes.c_int]
libc.recvmsg.restype = ctypes.c_ssize_t
out["n"] = libc.recvmsg(ses.sock.fileno(), ctypes.byref(msg), 0)
out["reported"] = ses.CONTROL.unpack_from(ses.mm, ses.CONTROL_AT)[0]
out["cbuf"] = ctypes.addressof(cbuf)
out["controllen"] = msg.controllen
out["bytes"] = cbuf.raw[:len(w1)].hex()
ses.HEAD.pack_into(ses.mm, 0, -1, 0, 0, 0, 0)
# The interpreter's own call: the session keeps the address it saw.
ses.call(w1, "record", "recvmsg")
out["call_addr"] = ses.control_addr
print(json.dumps(out))
'''


class ShimReportsTheAddress(unittest.TestCase):

    def test_each_rewritten_call_reports_msg_control(self):
        env = dict(os.environ, PYTHONPATH=REPO, LD_PRELOAD=SHIM)
        p = subprocess.run([sys.executable, "-c",
                            SHIM_ADDRESS % {"w1": W1.hex()}],
                           cwd=REPO, env=env, stdout=subprocess.PIPE,
                           stderr=subprocess.PIPE, timeout=120)
        self.assertEqual(p.returncode, 0, p.stderr.decode())
        out = json.loads(p.stdout.decode().splitlines()[-1])
        self.assertEqual(out["n"], 1)
        self.assertEqual((out["controllen"], out["bytes"]),
                         (len(W1), W1.hex()))
        self.assertEqual(out["reported"], out["cbuf"])
        self.assertNotEqual(out["call_addr"], 0)
        self.assertNotEqual(out["call_addr"], out["cbuf"])


class LegacyReferenceAtTheAddress(unittest.TestCase):

    @classmethod
    def setUpClass(cls):
        refsocket.load(LIB)

    def test_w1_below_and_at_the_threshold(self):
        below = reference.reference_parse(W1, "glibc-legacy",
                                          W1_THRESHOLD - 8)
        at = reference.reference_parse(W1, "glibc-legacy", W1_THRESHOLD)
        self.assertEqual(([(i["level"], i["type"]) for i in below["items"]],
                          below["warning"]), ([(41, 50)], False))
        self.assertEqual(([(i["level"], i["type"]) for i in at["items"]],
                          at["warning"]), ([(41, 50), (41, 51)], True))
        self.assertEqual((below["base"], below["base_threshold"]),
                         (hex(W1_THRESHOLD - 8), hex(W1_THRESHOLD)))
        self.assertEqual(reference.reference_parse(W1, "glibc", 0)["items"],
                         reference.reference_parse(W1, "glibc", 1 << 40)
                         ["items"])

    def test_records_get_the_reference_of_their_own_address(self):
        tmp = tempfile.mkdtemp(prefix="cmsgref-base-")
        self.addCleanup(shutil.rmtree, tmp)
        os.mkdir(os.path.join(tmp, "cmsg_parse"))
        with open(os.path.join(tmp, "cmsg_parse", "w1"), "wb") as f:
            f.write(W1)
        saved = corpus.CORPUS
        corpus.CORPUS = tmp
        self.addCleanup(setattr, corpus, "CORPUS", saved)

        def rec(libc, addr):
            r = record(id="corpus:cmsg_parse/w1@record",
                       control_crc32=corpus.crc32(W1), libc=libc)
            del r["reference"], r["leaked_fds"]["reference"]
            if addr is not None:
                r["control_addr"] = addr
            return r
        low, high, unknown, fixed = recs = [
            rec("glibc-legacy", 0x31380000), rec("glibc-legacy",
                                                 0x7f8a00001000),
            rec("glibc-legacy", None), rec("glibc", 0x31380000)]
        reference.complete_records(recs, LIB)
        self.assertEqual(len(low["reference"]["ancdata"]), 1)
        self.assertEqual(low["reference"]["warnings"], [])
        self.assertEqual(len(high["reference"]["ancdata"]), 2)
        self.assertEqual(len(high["reference"]["warnings"]), 1)
        self.assertEqual((low["base"], high["base"]),
                         ("0x31380000", "0x7f8a00001000"))
        self.assertEqual(unknown["base"], "0x7f0000000000")
        self.assertNotIn("base", fixed)
        self.assertEqual(len(fixed["reference"]["ancdata"]), 2)


if __name__ == "__main__":
    unittest.main()
