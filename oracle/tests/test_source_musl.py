"""Tests of the musl interpreter source and its build tool that need no
build: MUSL / PYTHONS selections, an unserved version is one "missing"
entry naming why, PYTHONS keeps "musl:..." whole for this source, the
musl model is build-time; scripts/musl-python refuses bad arguments with
one line and exit 2 and says "not built" for an empty cache; and the
Debian source gives a 32-bit root the 32-bit models.

Run: python3 -m unittest discover -s oracle/tests -t .
"""

import os
import shutil
import subprocess
import sys
import tempfile
import unittest

from oracle import REPO, sources
from oracle.sources import debian, host, musl

TOOL = os.path.join(REPO, "scripts", "musl-python")


class MuslSourceTest(unittest.TestCase):
    def test_wanted_reads_env_and_items_once_each(self):
        got = musl.wanted(["musl:3.11", "musl:3.9", "/usr/bin/python3"],
                          {musl.ENV: "3.11, 3.11"})
        self.assertEqual([(i, v) for i, v, _ in got],
                         [("musl:3.11", "3.11"), ("musl:3.9", None)])
        self.assertIn("3.11", got[1][2])
        self.assertEqual(musl.wanted(None, {}), [])

    def test_unserved_version_is_one_missing_entry(self):
        saved = os.environ.pop(musl.ENV, None)
        try:
            entries = musl.SOURCE.entries(["musl:2.7"])
        finally:
            if saved is not None:
                os.environ[musl.ENV] = saved
        self.assertEqual(len(entries), 1)
        e = entries[0]
        self.assertEqual((e["status"], e["source"], e["select"]),
                         ("missing", "musl", "musl:2.7"))
        self.assertEqual((e["model"], e["model_how"]), ("musl",
                                                         "build-time"))
        self.assertTrue(e["lib"].endswith("build/musl/libcmsgref.so"))
        self.assertTrue(e["shim"].endswith(
            "build/musl/inject/libcrinject.so"))

    def test_pythons_items_go_to_this_source_whole(self):
        items = sources.split_list("musl:3.11 /usr/bin/python3")
        self.assertEqual(items, ["musl:3.11", "/usr/bin/python3"])
        self.assertEqual(sources.claimed(items, musl.SOURCE), ["musl:3.11"])
        self.assertEqual(sources.claimed(items, host.SOURCE),
                         ["/usr/bin/python3"])

    def test_debian_i386_roots_get_the_32_bit_models(self):
        self.assertEqual(debian.model_for("2.36", "i386"), "glibc-i386")
        self.assertEqual(debian.model_for("2.31", "i386"),
                         "glibc-legacy-i386")
        self.assertEqual(debian.model_for("2.31", "amd64"), "glibc-legacy")
        self.assertEqual(debian.model_for("2.41"), "glibc")


class MuslPythonToolTest(unittest.TestCase):
    def run_tool(self, *args, **env):
        e = dict(os.environ)
        e.update(env)
        return subprocess.run([sys.executable, TOOL] + list(args),
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                              env=e, timeout=60)

    def test_bad_arguments_are_one_line_and_exit_2(self):
        for args in ([], ["frobnicate"], ["build", "2.7"],
                     ["path", "3.11", "extra"]):
            r = self.run_tool(*args)
            self.assertEqual(r.returncode, 2, args)
            self.assertEqual(len(r.stderr.decode().splitlines()), 1,
                             (args, r.stderr))
            self.assertEqual(r.stdout, b"", args)

    def test_help_prints_usage(self):
        r = self.run_tool("--help")
        self.assertEqual(r.returncode, 0)
        self.assertTrue(r.stdout.startswith(b"usage: musl-python build"))

    def test_path_of_an_empty_cache_says_not_built(self):
        tmp = tempfile.mkdtemp()
        try:
            r = self.run_tool("path", CMSGREF_CACHE=tmp)
        finally:
            shutil.rmtree(tmp)
        self.assertEqual(r.returncode, 1)
        self.assertEqual(r.stdout, b"")
        self.assertIn(b"is not built", r.stderr)
        self.assertEqual(len(r.stderr.decode().splitlines()), 1)


if __name__ == "__main__":
    unittest.main()
