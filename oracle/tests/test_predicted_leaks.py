"""Self-tests of predicted leaks: descriptors the kernel installed for an
SCM_RIGHTS item that CPython, under its libc model, never visits, so it
neither returns nor closes them (legacy glibc and a last item written
without its padding, spec §3.4).  The reference predicts them
(oracle.reference.refsocket.take_dropped) and the judge compares each
side's leaks with the prediction: a predicted leak both sides show is
conformance (PASS, listed by the report as a CPython defect), one that
does not happen is a FAIL, and a leak nobody predicted stays a FAIL.

The legacy model is forced for the reference side only; the host's
CPython (built on a fixed glibc) returns the item, so the prediction does
not come true there: the sockets suite's record is a FAIL."""

import copy
import json
import os
import subprocess
import sys
import unittest

from oracle.judge import expect, report
from oracle.tests.helpers import LIB, REPO, record, result

CASE = "passcred/kind=stream,nfds=1,anc=52"
CAUSE = "glibc-legacy's CMSG_NXTHDR never visits the last SCM_RIGHTS item"
SCRIPT = "corpus/oracle/legacy-glibc-rights-leak.py"


def leak_record(native, reference, predicted):
    rec = record(suite="sockets", family="passcred", id=CASE,
                 leaked_fds={"native": native, "reference": reference})
    if predicted is not None:
        rec["predicted_leaks"] = {"fds": predicted, "cause": CAUSE + " ...",
                                  "repro": SCRIPT}
    return rec


class JudgeComparesLeaksWithThePrediction(unittest.TestCase):

    def test_predicted_leak_on_both_sides_is_pass_and_reported(self):
        rec = leak_record(["8 -> pipe:[7]"], ["9 -> pipe:[7]"],
                          ["9 -> pipe:[7]"])
        outcome, lines, _ = expect.classify(rec, [])
        self.assertEqual((outcome, lines), ("PASS", []))
        self.assertEqual(expect.predicted_leak(rec, outcome)["repro"], SCRIPT)
        rows = [{"interp": "debian:bullseye/python3.9", "suite": "sockets",
                 "family": "passcred", "id": CASE, "outcome": outcome,
                 "details": lines, "reason": "", "record": rec}]
        rep = report.build(rows, [{"label": "debian:bullseye/python3.9",
                                   "status": "ok"}], ["sockets"], 1.0, False)
        self.assertFalse(rep["failed"])
        self.assertEqual([(c["id"], c["fds"]) for c in
                          rep["predicted_leaks"]], [(CASE, ["9 -> pipe:[7]"])])
        text = report.terminal(rep)
        self.assertIn("predicted leak, debian:bullseye/python3.9: 1 case(s)",
                      text)
        self.assertIn(SCRIPT, text)
        self.assertIn("Predicted leaks", report.to_html(rep))

    def test_predicted_leak_that_does_not_happen_is_fail(self):
        rec = leak_record([], ["9 -> pipe:[7]"], ["9 -> pipe:[7]"])
        outcome, lines, _ = expect.classify(rec, [])
        self.assertEqual(outcome, "FAIL")
        self.assertEqual(lines, ["predicted leak did not happen (native): "
                                 "pipe:[7]"])
        self.assertIsNone(expect.predicted_leak(rec, outcome))
        entry = {"suite": "*", "outcome": "XFAIL", "reason": "r"}
        rec["native"] = result(data="79")
        self.assertEqual(expect.classify(rec, [entry])[0], "FAIL")

    def test_unpredicted_leaks_stay_fail(self):
        other = leak_record(["8 -> pipe:[5]"], ["9 -> pipe:[7]"],
                            ["9 -> pipe:[7]"])
        outcome, lines, _ = expect.classify(other, [])
        self.assertEqual(outcome, "FAIL")
        self.assertEqual(sorted(lines), [
            "leaked fd (native): 8 -> pipe:[5]",
            "predicted leak did not happen (native): pipe:[7]"])
        extra = leak_record(["8 -> pipe:[7]", "10 -> pipe:[7]"],
                            ["9 -> pipe:[7]"], ["9 -> pipe:[7]"])
        self.assertEqual(expect.classify(extra, [])[1],
                         ["leaked fd (native): 10 -> pipe:[7]"])
        plain = leak_record(["8 -> pipe:[7]"], [], None)
        self.assertEqual(expect.classify(plain, [])[:2], (
            "FAIL", ["leaked fd (native): 8 -> pipe:[7]"]))

    def test_failing_legacy_case_names_its_base(self):
        rec = record(base="0x7f3b21a35ab0", libc="glibc-legacy")
        rec["native"] = result(data="79")
        outcome, lines, _ = expect.classify(rec, [])
        self.assertEqual(outcome, "FAIL")
        self.assertIn("msg_control = 0x7f3b21a35ab0", lines[-1])
        self.assertEqual(expect.classify(record(base="0x1"), []),
                         ("PASS", [], None))


REFSOCKET = r'''
import array, json, os, socket
from oracle.reference import refsocket
from tools import fdtable
out = {}
for model in ("glibc-legacy", "glibc"):
    refsocket.load(%(lib)r, libc=model)
    a, b = socket.socketpair()
    b.setsockopt(socket.SOL_SOCKET, 16, 1)          # SO_PASSCRED
    r, w = os.pipe()
    a.sendmsg([b"x"], [(socket.SOL_SOCKET, socket.SCM_RIGHTS,
                        array.array("i", [r, w]))])
    refsocket.install()
    data, anc, flags, addr = b.recvmsg(1, 52)
    dropped = refsocket.take_dropped()
    refsocket.uninstall()
    pipe = fdtable.target(r)
    out[model] = {"items": [[l, t] for l, t, _ in anc], "dropped": dropped,
                  "pipe": pipe, "again": refsocket.take_dropped()}
    if dropped:
        fd = int(dropped["fds"][0].split(" -> ")[0])
        out[model]["open"] = fdtable.target(fd)
    for fd in (r, w):
        os.close(fd)
    a.close()
    b.close()
print(json.dumps(out))
'''

SOCKETS_CASE = r'''
import json
from oracle.suites import sockets
sockets.configure(lib=%(lib)r, libc="glibc-legacy")
print(json.dumps(sockets.run_case(%(case)r)))
'''


def run_snippet(code):
    env = dict(os.environ, PYTHONPATH=REPO)
    env.pop("CMSGREF_LIBC", None)
    p = subprocess.run([sys.executable, "-c", code], cwd=REPO, env=env,
                       stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                       timeout=120)
    if p.returncode != 0:
        raise AssertionError("snippet exit %d: %s" % (p.returncode,
                                                      p.stderr.decode()))
    return json.loads(p.stdout.decode().splitlines()[-1])


class ReferencePredictsTheLeak(unittest.TestCase):

    def test_forced_legacy_reference_drops_and_names_the_fd(self):
        out = run_snippet(REFSOCKET % {"lib": LIB})
        legacy, fixed = out["glibc-legacy"], out["glibc"]
        self.assertEqual(legacy["items"], [[1, 2]])
        self.assertEqual(len(legacy["dropped"]["fds"]), 1)
        self.assertTrue(legacy["dropped"]["fds"][0].endswith(
            " -> " + legacy["pipe"]))
        self.assertEqual(legacy["open"], legacy["pipe"])
        self.assertIn(CAUSE, legacy["dropped"]["cause"])
        self.assertIn("32 + align8(20) = 56 passes C = 52",
                      legacy["dropped"]["cause"])
        self.assertEqual(legacy["dropped"]["repro"], SCRIPT)
        self.assertTrue(os.path.isfile(os.path.join(REPO, SCRIPT)))
        self.assertIsNone(legacy["again"])
        self.assertEqual((fixed["items"], fixed["dropped"]),
                         ([[1, 2], [1, 1]], None))

    def test_sockets_record_fails_when_the_interpreter_does_not_leak(self):
        rec = run_snippet(SOCKETS_CASE % {"lib": LIB, "case": CASE})
        pred = rec["predicted_leaks"]
        self.assertEqual(len(pred["fds"]), 1)
        self.assertEqual(rec["leaked_fds"]["native"], [])
        self.assertEqual([l.split(" -> ")[1] for l in
                          rec["leaked_fds"]["reference"]],
                         [l.split(" -> ")[1] for l in pred["fds"]])
        outcome, lines, _ = expect.classify(copy.deepcopy(rec), [])
        self.assertEqual(outcome, "FAIL")
        self.assertIn("predicted leak did not happen (native): "
                      + pred["fds"][0].split(" -> ")[1], lines)


if __name__ == "__main__":
    unittest.main()
