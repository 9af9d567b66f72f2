"""Self-tests of oracle/judge/expect.py: the comparison can fail, expectations
turn only the declared divergence into XFAIL, and leaks are never
excused."""

import json
import os
import shutil
import sys
import tempfile
import unittest

from oracle import worker
from oracle.judge import expect
from oracle.tests.helpers import WARN, record, result

PYPY_EXC = {"type": "OSError",
            "message": "received malformed or improperly truncated "
                       "ancillary data",
            "args": ["received malformed or improperly truncated "
                     "ancillary data"], "errno": None}
REF_WARNS = result(ancdata=[[1, 1, "41424344"]],
                   warnings=[{"category": "RuntimeWarning", "message": WARN,
                              "filename": "suite_inject.py", "lineno": 9}])


def entry(**kw):
    e = {"suite": "inject", "id": "*@record", "outcome": "XFAIL",
         "reason": "pypy raises", "reference_warns": True,
         "native": {"exception": {"type": "OSError"}, "ancdata": []}}
    e.update(kw)
    return e


class Classify(unittest.TestCase):

    def test_equal_results_pass(self):
        self.assertEqual(expect.classify(record(), [])[0], "PASS")

    def test_a_deliberately_wrong_reference_is_a_fail(self):
        rec = record(reference=result(ancdata=[[1, 1, "41424344"]]),
                     native=result(ancdata=[[1, 1, "41424345"]]))
        outcome, lines, _ = expect.classify(rec, [])
        self.assertEqual(outcome, "FAIL")
        self.assertEqual(lines, ["ancdata[0][2]: '41424345' != '41424344'"])

    def test_a_leak_fails_even_when_results_match(self):
        rec = record()
        rec["leaked_fds"]["native"] = ["7 -> pipe:[1]"]
        self.assertEqual(expect.classify(rec, [])[0], "FAIL")
        pypy = record(native=result(exception=PYPY_EXC), reference=REF_WARNS)
        pypy["leaked_fds"]["reference"] = ["8 -> /x"]
        self.assertEqual(expect.classify(pypy, [entry()])[0], "FAIL")

    def test_declared_divergence_is_xfail(self):
        rec = record(native=result(data=None, nbytes=None, msg_flags=None,
                                   exception=PYPY_EXC), reference=REF_WARNS)
        outcome, _, e = expect.classify(rec, [entry()])
        self.assertEqual((outcome, e["reason"]), ("XFAIL", "pypy raises"))

    def test_other_divergence_under_an_entry_is_fail(self):
        rec = record(native=result(exception=dict(PYPY_EXC,
                                                  type="ValueError")),
                     reference=REF_WARNS)
        outcome, lines, _ = expect.classify(rec, [entry()])
        self.assertEqual(outcome, "FAIL")
        self.assertIn("native.exception.type: expected 'OSError', got "
                      "'ValueError'", lines)

    def test_same_and_error_path_constraints(self):
        rec = record(native=result(exception=PYPY_EXC, fds_closed=["fd7"]),
                     reference=REF_WARNS, error_path_fds=["fd7", "fd8"])
        self.assertEqual(expect.classify(
            rec, [entry(fds_closed_is="error_path")])[0], "FAIL")
        rec["error_path_fds"] = ["fd7"]
        self.assertEqual(expect.classify(
            rec, [entry(fds_closed_is="error_path")])[0], "XFAIL")
        self.assertEqual(expect.classify(
            rec, [entry(same=["fds_closed"])])[0], "FAIL")

    def test_vanished_divergence_is_xpass(self):
        rec = record(reference=REF_WARNS)
        self.assertEqual(expect.classify(rec, [entry()])[0], "XPASS")

    def test_conditions_select_entries(self):
        rec = record(native=result(exception=PYPY_EXC), reference=REF_WARNS)
        self.assertEqual(expect.classify(
            rec, [entry(versions={"min": "3.12"})])[0], "FAIL")
        self.assertEqual(expect.classify(
            rec, [entry(versions={"min": "3.9", "below": "3.11.8"})])[0],
            "XFAIL")
        self.assertEqual(expect.classify(
            rec, [entry(reference_warns=False)])[0], "FAIL")
        self.assertEqual(expect.classify(rec, [entry(id="*@error")])[0],
                         "FAIL")

    def test_a_walk_that_warns_under_ignore_still_warns(self):
        # Filter "ignore": the reference result shows no warning, but the
        # walk warned (the driver added error_path_fds), so an entry for
        # warning walks applies and one for quiet walks does not.
        quiet_ref = result(ancdata=[[1, 1, "41424344"]])
        rec = record(id="corpus:x@ignore", reference=quiet_ref,
                     native=result(exception=PYPY_EXC, fds_closed=["fd7"]),
                     error_path_fds=["fd7"])
        warn_entry = entry(id="*@ignore", fds_closed_is="error_path")
        self.assertEqual(expect.classify(rec, [warn_entry])[0], "XFAIL")
        self.assertEqual(expect.classify(
            rec, [dict(warn_entry, reference_warns=False)])[0], "FAIL")
        del rec["error_path_fds"]        # a walk that did not warn
        self.assertEqual(expect.classify(rec, [warn_entry])[0], "FAIL")

    def test_errors_and_expected_errors(self):
        rec = record(error="RuntimeError: boom")
        self.assertEqual(expect.classify(rec, [])[0], "ERROR")
        self.assertEqual(expect.classify(
            rec, [entry(outcome="ERROR", reference_warns=False)])[0],
            "XFAIL")
        ok = record()
        ok["reference"] = REF_WARNS
        ok["native"] = REF_WARNS
        self.assertEqual(expect.classify(ok, [entry(outcome="ERROR")])[0],
                         "XPASS")


class Files(unittest.TestCase):

    def test_shipped_files_are_valid(self):
        for impl in ("cpython", "pypy"):
            entries = expect.load(impl)
            for e in entries:
                self.assertTrue(e["reason"])
        # CPython 3.6-3.13 are byte-identical on injected buffers (spec
        # §11): no CPython expectation may excuse an inject case.
        for e in expect.load("cpython"):
            self.assertNotEqual(e.get("suite", "*"), "inject")
            self.assertNotEqual(e.get("suite", "*"), "*")
        self.assertTrue(expect.load("pypy"))

    def test_every_shipped_id_pattern_names_a_case(self):
        """A pattern that matches no case of its suite (a renamed axis
        value, a typo) excuses nothing and hides the entry's intent.
        Generated ids come from 16 x 3000 scenarios (seeds 1-16): a rare
        re-entry such as buffer:clear is about 1 in 3400."""
        import fnmatch
        from oracle.suites.generator import FAMILY, case_id, scenario
        from oracle.suites.inject import cases as inject_cases
        from oracle.suites.sockets import expand
        ids = {"sockets": [(f["family"], cid) for f in expand.MATRIX
                           for cid, _ in expand._expand(f)]
               + [(FAMILY, case_id(seed, i, scenario(seed, i)))
                  for seed in range(1, 17) for i in range(3000)],
               "inject": list(inject_cases.iter_cases())}
        for impl in ("cpython", "pypy"):
            for e in expect.load(impl):
                fams = e.get("family", "*")
                fams = [fams] if isinstance(fams, str) else fams
                pats = e.get("id", "*")
                for pat in [pats] if isinstance(pats, str) else pats:
                    hit = any(fnmatch.fnmatchcase(cid, pat) and any(
                        fnmatch.fnmatchcase(fam, f) for f in fams)
                        for fam, cid in ids[e["suite"]])
                    self.assertTrue(hit, "%s.json: %r names no case"
                                    % (impl, pat))

    def test_bad_files_are_rejected_with_a_reason(self):
        d = tempfile.mkdtemp()
        try:
            cases = [({"entries": [{"outcome": "PASS", "reason": "r"}]},
                      "outcome"),
                     ({"entries": [{"outcome": "XFAIL"}]}, "reason"),
                     ({"entries": [{"outcome": "XFAIL", "reason": "r",
                                    "typo": 1}]}, "unknown keys"),
                     ({"nope": []}, "entries")]
            ok = {"outcome": "XFAIL", "reason": "r"}
            for key, value, word in (
                    ("same", "exception", "same must be a list"),
                    ("same", [1], "same must be a list"),
                    ("native", [1], "native must be an object"),
                    ("versions", {"min": None}, "versions.min"),
                    ("versions", {"below": "x"}, "versions.below"),
                    ("suite", 5, "suite must be a pattern"),
                    ("id", [], "id must be a pattern"),
                    ("family", ["a", 1], "family must be a pattern"),
                    ("reference_warns", "yes", "reference_warns must be"),
                    ("may_pass", 1, "may_pass must be"),
                    ("repro", ["x"], "repro must be a string"),
                    ("reason", ["r"], "reason must be a string")):
                cases.append(({"impl": "x", "entries": [
                    dict(ok, **{key: value})]}, word))
            cases.append(({"impl": "y", "entries": [ok]}, '"impl" is'))
            for doc, word in cases:
                with open(os.path.join(d, "x.json"), "w") as f:
                    json.dump(doc, f)
                with self.assertRaises(expect.ExpectationError) as cm:
                    expect.load("x", d)
                self.assertIn(word, str(cm.exception))
            with open(os.path.join(d, "x.json"), "w") as f:
                f.write("{")
            self.assertRaises(expect.ExpectationError, expect.load, "x", d)
            with open(os.path.join(d, "x.json"), "wb") as f:
                f.write(b'{"impl": "x", "entries": [], "\xff": 1}')
            self.assertRaises(expect.ExpectationError, expect.load, "x", d)
            os.unlink(os.path.join(d, "x.json"))
            os.mkdir(os.path.join(d, "x.json"))
            with self.assertRaises(expect.ExpectationError) as cm:
                expect.load("x", d)
            self.assertIn("cannot read", str(cm.exception))
        finally:
            shutil.rmtree(d)


class ReproducersExist(unittest.TestCase):
    """Every divergence's reproducer named in the expectation files exists."""

    def test_every_repro_path_is_committed(self):
        repo = os.path.dirname(os.path.dirname(os.path.dirname(
            os.path.abspath(__file__))))
        missing = []
        count = 0
        for impl in ("cpython", "pypy"):
            for e in expect.load(impl):
                if not e.get("repro"):
                    continue
                count += 1
                path = e["repro"].split()[0].rstrip(":")
                if not os.path.isfile(os.path.join(repo, path)):
                    missing.append((impl, path))
        self.assertGreater(count, 0)
        self.assertEqual(missing, [])


class MayPass(unittest.TestCase):
    """A nondeterministic divergence: XFAIL when it shows, PASS when not."""

    def test_may_pass_entry_gives_pass_or_xfail_never_xpass(self):
        entry = {"suite": "*", "outcome": "XFAIL", "reason": "r",
                 "may_pass": True}
        ok = record(native=result(), reference=result())
        self.assertEqual(expect.classify(ok, [entry])[0], "PASS")
        entry.pop("may_pass")
        self.assertEqual(expect.classify(ok, [entry])[0], "XPASS")


class Bits(unittest.TestCase):
    """An entry with "bits" applies only to interpreters of that
    Py_ssize_t width (python.bits, which every worker record carries)."""

    def test_bits_selects_interpreters(self):
        entry = {"suite": "*", "outcome": "ERROR", "reason": "r", "bits": 32}
        err = record(error="Unsupported: x")
        for bits, want in ((32, "XFAIL"), (64, "ERROR"), (None, "ERROR")):
            err["python"] = {"version": "3.11.2", "bits": bits}
            self.assertEqual(expect.classify(err, [entry])[0], want, bits)
        self.assertEqual(worker.python_info()["bits"],
                         64 if sys.maxsize > 2 ** 32 else 32)

    def test_bad_bits_is_refused(self):
        d = tempfile.mkdtemp()
        try:
            path = os.path.join(d, "x.json")
            with open(path, "w") as f:
                json.dump({"impl": "x", "entries": [
                    {"outcome": "ERROR", "reason": "r", "bits": 16}]}, f)
            with self.assertRaises(expect.ExpectationError) as cm:
                expect.load("x", d)
            self.assertIn("bits must be 32 or 64", str(cm.exception))
        finally:
            shutil.rmtree(d)


class HeapCheck(unittest.TestCase):
    """An entry with "heapcheck" applies only to runs with (true) or
    without (false) the heap checks; a CRASH entry with may_pass passes a
    run where the check missed the overflow."""

    def test_heapcheck_selects_runs(self):
        entry = {"suite": "*", "outcome": "CRASH", "reason": "r",
                 "heapcheck": True}
        crashed = record(crash="the worker died in this case: SIGABRT")
        self.assertEqual(expect.classify(crashed, [entry])[0], "CRASH")
        crashed["heapcheck"] = ["MALLOC_PERTURB_", "MALLOC_CHECK_=3"]
        self.assertEqual(expect.classify(crashed, [entry])[0], "XFAIL")
        self.assertEqual(expect.classify(
            crashed, [dict(entry, heapcheck=False)])[0], "CRASH")
        ok = record(native=result(), reference=result(),
                    heapcheck=["MALLOC_CHECK_=3"])
        self.assertEqual(expect.classify(ok, [entry])[0], "XPASS")
        self.assertEqual(expect.classify(
            ok, [dict(entry, may_pass=True)])[0], "PASS")
        # a may-pass crash that did not happen: the entries after it judge
        bad = record(native=result(nbytes=2), reference=result(),
                     heapcheck=["MALLOC_CHECK_=3"])
        later = {"suite": "*", "outcome": "XFAIL", "reason": "r2"}
        self.assertEqual(expect.classify(
            bad, [dict(entry, may_pass=True)])[0], "FAIL")
        self.assertEqual(expect.classify(
            bad, [dict(entry, may_pass=True), later])[0], "XFAIL")
        with self.assertRaises(expect.ExpectationError):
            expect.validate({"entries": [dict(entry, heapcheck="yes")]})


if __name__ == "__main__":
    unittest.main()
