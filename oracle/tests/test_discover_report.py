"""Self-tests of oracle/sources/ and oracle/judge/report.py: requested but
missing interpreters are reported and fail the run; the matrix and the HTML
show and link every non-PASS cell."""

import os
import shutil
import sys
import tempfile
import unittest

from oracle import sources as discover
from oracle.judge import report
from oracle.sources import base, host


class Discover(unittest.TestCase):

    def test_this_interpreter_is_found_and_missing_ones_are_reported(self):
        got = discover.discover([sys.executable, "/nonexistent/python3"])
        self.assertEqual([e["status"] for e in got], ["ok", "missing"])
        self.assertIn(got[0]["impl"], ("cpython", "pypy"))
        self.assertEqual(got[1]["label"], "/nonexistent/python3")

    def test_pythons_string_and_dedupe(self):
        got = discover.discover("%s:%s" % (sys.executable, sys.executable))
        self.assertEqual(len(got), 1)

    def test_two_names_of_one_interpreter_are_merged_and_said(self):
        d = tempfile.mkdtemp()
        try:
            alias = os.path.join(d, "python3")
            os.symlink(sys.executable, alias)
            got = discover.discover([sys.executable, alias])
            self.assertEqual(len(got), 1)
            self.assertEqual(got[0]["merged"], [alias])
            self.assertIn(alias, discover.merged_lines(got)[0])
        finally:
            shutil.rmtree(d)

    def test_entries_of_two_sources_with_one_path_stay_two(self):
        # A root's interpreter resolves, seen from the host, to a host
        # file: the identity is per source, so neither is dropped.
        class Other(base.Source):
            name = "root"

            def entries(self, requested=None):
                e = base.new_entry("root", sys.executable,
                                   origin="a root")
                base.probe(e)
                e["identity"] = os.path.realpath(sys.executable)
                return [e]
        mod = type(sys)("oracle.sources.root_test")
        mod.SOURCE = Other()
        saved = discover.source_modules
        discover.source_modules = lambda: saved() + [mod]
        try:
            got = discover.discover([sys.executable])
        finally:
            discover.source_modules = saved
        self.assertEqual(sorted(e["source"] for e in got), ["host", "root"])
        self.assertEqual(len(set(e["label"] for e in got)), 2)

    def test_a_path_holding_separators_is_one_interpreter(self):
        d = tempfile.mkdtemp()
        try:
            odd = os.path.join(d, "a b,c:d")
            os.mkdir(odd)
            exe = os.path.join(odd, "python3")
            os.symlink(sys.executable, exe)
            self.assertEqual(discover.split_list(exe), [exe])
            got = discover.discover(exe)
            self.assertEqual([e["status"] for e in got], ["ok"])
            self.assertEqual(got[0]["executable"], exe)
            # A list is still split.
            self.assertEqual(discover.split_list("a b,c:d"),
                             ["a", "b", "c", "d"])
        finally:
            shutil.rmtree(d)

    def test_broken_interpreter(self):
        d = tempfile.mkdtemp()
        try:
            fake = os.path.join(d, "python3")
            with open(fake, "w") as f:
                f.write("#!/bin/sh\nexit 3\n")
            os.chmod(fake, 0o755)
            self.assertEqual(base.probe(base.new_entry("host", fake))
                             ["status"], "broken")
            self.assertEqual(host.path_candidates(d), [fake])
        finally:
            shutil.rmtree(d)


def row(interp, family, outcome, id_="c1"):
    return {"interp": interp, "suite": "inject", "family": family,
            "id": id_, "outcome": outcome, "details": ["a: 1 != 2"],
            "reason": "", "record": {"repro": "python3 -c '<x>'",
                                     "native": {"a": 1},
                                     "reference": {"a": 2}}}


ENTRIES = [{"label": "cpython-3.6.15", "status": "ok", "executable": "/a"},
           {"label": "pypy-3.9.16", "status": "ok", "executable": "/b"},
           {"label": "/nope", "status": "missing", "executable": "/nope",
            "reason": "no such file"}]


class Report(unittest.TestCase):

    def test_fail_marks_the_run_and_is_linked(self):
        rows = [row("cpython-3.6.15", "f1", "PASS"),
                row("pypy-3.9.16", "f1", "FAIL", "c<2>")]
        rep = report.build(rows, ENTRIES, ["inject"], 1.0, False)
        self.assertTrue(rep["failed"])
        text = report.terminal(rep)
        self.assertIn("ok1", text)
        self.assertIn("F1", text)
        self.assertIn("not run: /nope", text)
        page = report.to_html(rep)
        self.assertIn("href='#c0_1'", page)
        self.assertIn("id='c0_1'", page)
        self.assertIn("c&lt;2&gt;", page)
        self.assertIn("python3 -c &#x27;&lt;x&gt;&#x27;", page)

    def test_xfail_passes_and_requested_missing_fails(self):
        rows = [row("cpython-3.6.15", "f1", "PASS"),
                row("pypy-3.9.16", "f1", "XFAIL")]
        self.assertFalse(report.build(rows, ENTRIES, ["inject"], 1.0,
                                      False)["failed"])
        self.assertTrue(report.build(rows, ENTRIES, ["inject"], 1.0,
                                     True)["failed"])
        self.assertTrue(report.build([], ENTRIES, ["inject"], 1.0,
                                     False)["failed"])

    def test_cases_say_whether_their_expectation_allows_a_pass(self):
        maybe = row("pypy-3.9.16", "f1", "XFAIL", "m")
        maybe["may_pass"] = True
        rows = [maybe, row("pypy-3.9.16", "f1", "XFAIL", "x")]
        cases = report.build(rows, ENTRIES, ["inject"], 1.0, False)["cases"]
        self.assertEqual([(c["id"], c["may_pass"]) for c in cases],
                         [("m", True), ("x", False)])

    def test_write_both_files(self):
        d = tempfile.mkdtemp()
        try:
            rep = report.build([row("cpython-3.6.15", "f", "XPASS")],
                               ENTRIES, ["inject"], 1.0, False)
            j, h = report.write(rep, [], d)
            self.assertTrue(os.path.getsize(j) > 0 and
                            os.path.getsize(h) > 0)
        finally:
            shutil.rmtree(d)

    def test_a_value_json_cannot_hold_is_written_as_its_repr(self):
        # Worker frames (marshal) can carry bytes; the report must not die.
        bad = row("cpython-3.6.15", "f", "FAIL")
        bad["record"]["native"] = {"a": b"\x01"}
        d = tempfile.mkdtemp()
        try:
            rep = report.build([bad], ENTRIES, ["inject"], 1.0, False)
            j, h = report.write(rep, [bad], d)
            with open(j) as f:
                self.assertIn("b'\\\\x01'", f.read())
            with open(h) as f:
                self.assertIn("b&#x27;\\\\x01&#x27;", f.read())
        finally:
            shutil.rmtree(d)


if __name__ == "__main__":
    unittest.main()
