"""Self-tests of docs/check-refs: each kind of pointer resolves in a small
tree made for the test, each fails when its target is missing, and bad
input is one line on stderr with exit 2.

Run: python3 docs/test_check_refs.py   (stdlib unittest; no child process)
"""
import contextlib
import importlib.machinery
import importlib.util
import io
import os
import shutil
import tempfile
import unittest

HERE = os.path.dirname(os.path.abspath(__file__))


def load_checker():
    loader = importlib.machinery.SourceFileLoader(
        "check_refs", os.path.join(HERE, "check-refs"))
    spec = importlib.util.spec_from_loader("check_refs", loader)
    mod = importlib.util.module_from_spec(spec)
    loader.exec_module(mod)
    return mod


CHECKER = load_checker()

FILES = {
    "harness/tests/test_x.c": "TEST(walks_one_item)\n{\n}\n",
    "harness/src/walk.c": "/* walk */\n",
    "oracle/suites/table.py": (
        'MODES = ("record", "error")\n'
        'SPEC_MODES = MODES + ("default",)\n'
        'MATRIX = [{"family": "rights"}]\n'
        'ADDR_CASES = {"f10-case": 1}\n'),
    "oracle/tests/test_y.py": "def test_it_works(self):\n    pass\n",
    "oracle/expectations/pypy.json": "{}\n",
    "corpus/cmsg_parse/seed-k01-ok": "",
    "corpus/cmsg_parse/seed-k05a-short": "",
    "corpus/recvmsg_fake/seed-f10-addr": "",
}

GOOD = """Rule, proven by `test_x.c::walks_one_item`, `py::test_it_works`,
`seed-k01-ok`, `seed-k0*`, `sockets/rights`, `inject/spec-error`,
`inject/spec-into-default`, `inject/addr-record`,
`inject/corpus-cmsg_parse-error`, `addr:f10-case`, `harness/src/walk.c`,
`oracle/**/pypy.json`, K01, K05 and F10; `build/x` and `--libc` are not
pointers.
"""

# One bad pointer each, with the kind the checker must name.
BAD = [
    ("`test_x.c::no_such_test`", "unit test"),
    ("`test_z.c::walks_one_item`", "unit test"),
    ("`py::test_gone`", "python test"),
    ("`seed-k02-nothing`", "corpus file"),
    ("`sockets/nofamily`", "sockets family"),
    ("`inject/spec-ignore`", "inject family"),
    ("`inject/corpus-nodir-error`", "inject family"),
    ("`addr:other-case`", "address case"),
    ("`harness/src/gone.c`", "file"),
    ("`oracle/**/cpython.json`", "file"),
    ("K02", "crafted case"),
    ("F1", "crafted case"),
]


class CheckRefsTest(unittest.TestCase):
    def setUp(self):
        self.root = tempfile.mkdtemp(prefix="check-refs-")
        for rel, text in FILES.items():
            path = os.path.join(self.root, rel)
            os.makedirs(os.path.dirname(path), exist_ok=True)
            with open(path, "w") as fh:
                fh.write(text)

    def tearDown(self):
        shutil.rmtree(self.root)

    def run_doc(self, text, extra=()):
        doc = os.path.join(self.root, "doc.md")
        with open(doc, "w") as fh:
            fh.write(text)
        out, err = io.StringIO(), io.StringIO()
        with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
            rc = CHECKER.main(["--root", self.root] + list(extra) + [doc])
        return rc, out.getvalue(), err.getvalue()

    def test_every_kind_resolves_in_a_good_document(self):
        rc, out, err = self.run_doc(GOOD)
        self.assertEqual((rc, err), (0, ""), out)
        self.assertIn("15 pointers, all present", out)

    def test_each_missing_pointer_is_listed_with_its_line_and_kind(self):
        for ref, kind in BAD:
            with self.subTest(ref=ref):
                rc, out, _ = self.run_doc(GOOD + "\nand " + ref + "\n")
                self.assertEqual(rc, 1, out)
                shown = ref.strip("`")
                self.assertIn("doc.md:8: missing %s %s" % (kind, shown), out)
                self.assertIn("1 of 16 pointers missing", out)

    def test_bad_input_is_one_line_and_exit_2(self):
        cases = [
            (["--bogus"], "usage"),
            (["--root", os.path.join(self.root, "nope")], "not a directory"),
        ]
        for args, words in cases:
            with self.subTest(args=args):
                err = io.StringIO()
                with contextlib.redirect_stderr(err):
                    rc = CHECKER.main(args)
                self.assertEqual(rc, 2)
                self.assertIn(words, err.getvalue())
                self.assertEqual(err.getvalue().count("\n"), 1)
        rc, _, err = self.run_doc("no pointer here\n")
        self.assertEqual(rc, 2)
        self.assertIn("holds no pointer", err)
        err_io = io.StringIO()
        with contextlib.redirect_stderr(err_io):
            rc = CHECKER.main(["--root", self.root,
                               os.path.join(self.root, "absent.md")])
        self.assertEqual(rc, 2)
        self.assertIn("cannot read", err_io.getvalue())

    def test_the_repo_document_resolves(self):
        out = io.StringIO()
        with contextlib.redirect_stdout(out):
            rc = CHECKER.main([])
        self.assertEqual(rc, 0, out.getvalue())


if __name__ == "__main__":
    unittest.main()
