"""test_refsocket_inject.py - refsocket's warning and error path on injected
control bytes (spec §2 steps 5-6, §4, §12 K08 / F1 / F3 / F6).

Why: the kernel never writes a malformed header (§10), so refsocket's own
decisions - warn from Python with stacklevel=2, close cr_close_on_error()'s
fds when the warning raises - are only reachable with injected bytes.  A
child interpreter runs with the LD_PRELOAD shim (oracle/suites/inject/shim/, built into
build/inject/libcrinject.so by `make check-oracle`), which rewrites the
control bytes of the real recvmsg() the library makes.  The child prints
one JSON line per case; the test checks the items, the one RuntimeWarning
and its attribution (the child's own call line), and exactly which planted
fds were closed.  On CPython the same cases also run through the native
socket module, which must agree.  A missing shim or library is a failure.
"""

import json
import os
import platform
import struct
import subprocess
import sys
import tempfile
import unittest

from oracle.tests import helpers

WARN = helpers.WARN
PLANT_BASE = 700  # planted fd numbers: above anything the child opens


def hdr(length, level, type_):
    """A bare 16-byte glibc x86-64 header (§1 layout)."""
    return struct.pack("<Qii", length, level, type_)


def fds(*labels):
    return b"".join(struct.pack("<i", PLANT_BASE + "abcd".index(l))
                    for l in labels)


# (case, control bytes, filter, want: items hex / warned / raised / closed)
CASES = [
    ("K08", hdr(40, 1, 1) + b"ABCD" + b"\xee" * 4, "always",
     {"items": [[1, 1, (b"ABCD" + b"\xee" * 4).hex()]], "warned": 1,
      "raised": None, "closed": []}),
    ("F1-error", hdr(36, 1, 1) + fds("a", "b", "c", "d"), "error",
     {"items": None, "warned": 0, "raised": ["RuntimeWarning", [WARN]],
      "closed": ["a", "b", "c", "d"]}),
    ("F1-always", hdr(36, 1, 1) + fds("a", "b", "c", "d"), "always",
     {"items": [[1, 1, fds("a", "b", "c", "d").hex()]], "warned": 1,
      "raised": None, "closed": []}),
    ("F3-error", hdr(8, 1, 1) + b"\0" * 8 + hdr(20, 1, 1) + fds("a")
     + b"\xee" * 4, "error",
     {"items": None, "warned": 0, "raised": ["RuntimeWarning", [WARN]],
      "closed": []}),
    ("F6-error", (hdr(36, 1, 1) + fds("a", "b"))[:24], "error",
     {"items": None, "warned": 0, "raised": ["RuntimeWarning", [WARN]],
      "closed": ["a", "b"]}),
    ("F6-hook", (hdr(36, 1, 1) + fds("a", "b"))[:24], "hook",
     {"items": None, "warned": 0, "raised": ["KeyError", ["hook"]],
      "closed": ["a", "b"]}),
    ("K01-ok", hdr(20, 1, 1) + b"ABCD" + b"\xee" * 4, "error",
     {"items": [[1, 1, b"ABCD".hex()]], "warned": 0, "raised": None,
      "closed": []}),
    # §2 step 5: shown once per call site under "default", once per call
    # under "always" (two calls from one line, "*2"); never under "ignore".
    ("K08-default-twice", hdr(40, 1, 1) + b"ABCD" + b"\xee" * 4,
     "default*2",
     {"items": [[1, 1, (b"ABCD" + b"\xee" * 4).hex()]], "warned": 1,
      "raised": None, "closed": []}),
    ("K08-always-twice", hdr(40, 1, 1) + b"ABCD" + b"\xee" * 4, "always*2",
     {"items": [[1, 1, (b"ABCD" + b"\xee" * 4).hex()]], "warned": 2,
      "raised": None, "closed": []}),
    ("K08-ignore", hdr(40, 1, 1) + b"ABCD" + b"\xee" * 4, "ignore",
     {"items": [[1, 1, (b"ABCD" + b"\xee" * 4).hex()]], "warned": 0,
      "raised": None, "closed": []}),
]


def calls(filt):
    """How many calls a case's filter asks for ("default*2": 2)."""
    return int(filt.partition("*")[2] or 1)

CHILD = r'''
import ctypes, json, os, socket, sys, warnings
from oracle.reference import refsocket
refsocket.load(sys.argv[1])
shim = ctypes.CDLL(sys.argv[2])
mode = sys.argv[3]
if mode == "reference":
    refsocket.install()
cases = json.loads(sys.stdin.read())

def plant():
    out = {}
    for i, label in enumerate("abcd"):
        r, w = os.pipe()
        os.close(w)
        os.dup2(r, %(base)d + i)
        os.close(r)
        out[label] = (%(base)d + i, os.fstat(%(base)d + i).st_ino)
    return out

def closed(planted):
    gone = []
    for label, (fd, ino) in sorted(planted.items()):
        try:
            same = os.fstat(fd).st_ino == ino
        except OSError:
            same = False
        if not same:
            gone.append(label)
        else:
            os.close(fd)
    return gone

def hook(*a, **k):
    raise KeyError("hook")

for name, ctl_hex, filt in cases:
    ctl = bytes.fromhex(ctl_hex)
    filt, _, times = filt.partition("*")
    a, b = socket.socketpair()
    a.settimeout(5)
    planted = plant()
    before = shim.cr_inject_count()
    out = {"case": name, "items": None, "raised": None}
    saved = warnings.showwarning
    with warnings.catch_warnings(record=(filt != "hook")) as caught:
        if filt == "hook":
            warnings.simplefilter("always")
            warnings.showwarning = hook
        else:
            warnings.simplefilter(filt)
        try:
            for _ in range(int(times or 1)):
                b.send(b"x")
                shim.cr_inject_arm(a.fileno(), ctl, len(ctl))
                res = a.recvmsg(1, len(ctl))  # CALL LINE
                out["items"] = [[l, t, d.hex()] for l, t, d in res[1]]
        except Exception as e:
            out["raised"] = [type(e).__name__, [str(x) for x in e.args]]
    warnings.showwarning = saved
    caught = caught or []
    out["warned"] = len(caught)
    out["warnings"] = [[w.category.__name__, str(w.message),
                        os.path.basename(w.filename), w.lineno]
                       for w in caught]
    out["injected"] = shim.cr_inject_count() - before
    out["closed"] = closed(planted)
    a.close()
    b.close()
    print(json.dumps(out))
''' % {"base": PLANT_BASE}


def call_line():
    for i, line in enumerate(CHILD.splitlines()):
        if "# CALL LINE" in line:
            return i + 1
    raise AssertionError("no call line in CHILD")


def run_child(mode):
    """Runs the cases in a child with the shim preloaded; returns
    {case: result}."""
    for path in (helpers.LIB, helpers.SHIM):
        if not os.path.exists(path):
            raise AssertionError("%s missing: run make check-oracle" % path)
    tmp = tempfile.mkdtemp(prefix="cmsgref-refinj-")
    script = os.path.join(tmp, "refinj_child.py")
    with open(script, "w") as f:
        f.write(CHILD)
    env = dict(os.environ)
    env["LD_PRELOAD"] = helpers.SHIM
    env["PYTHONPATH"] = helpers.REPO
    payload = json.dumps([[c[0], c[1].hex(), c[2]] for c in CASES])
    try:
        proc = subprocess.Popen([sys.executable, script, helpers.LIB,
                                 helpers.SHIM, mode], env=env,
                                stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                stderr=subprocess.PIPE)
        out, err = proc.communicate(payload.encode("ascii"), timeout=120)
    finally:
        for name in os.listdir(tmp):
            os.unlink(os.path.join(tmp, name))
        os.rmdir(tmp)
    if proc.returncode != 0:
        raise AssertionError("child failed (%d): %s" % (
            proc.returncode, err.decode("utf-8", "replace")[-2000:]))
    return dict((r["case"], r) for r in
                (json.loads(l) for l in out.decode("ascii").splitlines()))


class ReferenceOnInjectedBytes(unittest.TestCase):

    @classmethod
    def setUpClass(cls):
        cls.ref = run_child("reference")

    def test_every_case_was_injected(self):
        for name, _, filt, _ in CASES:
            self.assertEqual(self.ref[name]["injected"], calls(filt), name)

    def test_items_warning_raise_and_closed_fds(self):
        for name, _, _, want in CASES:
            got = self.ref[name]
            self.assertEqual(
                dict((k, got[k]) for k in want), want, name)

    def test_warning_is_attributed_to_the_callers_line(self):
        got = self.ref["K08"]["warnings"]
        self.assertEqual(got, [["RuntimeWarning", WARN, "refinj_child.py",
                                call_line()]])


@unittest.skipUnless(platform.python_implementation() == "CPython",
                     "native comparison needs CPython (PyPy raises OSError "
                     "here by design, spec section 11)")
class NativeAgrees(unittest.TestCase):

    def test_native_equals_reference(self):
        ref = run_child("reference")
        nat = run_child("native")
        for name, _, _, _ in CASES:
            self.assertEqual(nat[name], ref[name], name)


if __name__ == "__main__":
    unittest.main()
