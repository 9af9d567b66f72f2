"""Tests of oracle/sources/debian.py that need no Debian root: the model
follows the glibc version (legacy before 2.36), selections parse and
reject what they must, PYTHONS keeps a "debian:..." item whole and the
host source leaves it alone, the label is debian:REL/NAME, and without
root one line on stderr says why no Debian interpreter runs.

Run: python3 -m unittest discover -s oracle/tests -t .
"""

import os
import subprocess
import sys
import unittest

from oracle import REPO, sources
from oracle.sources import base, debian, host
from tools import debroot

ARCH = debroot.host_arch()


class DebianSourceTest(unittest.TestCase):
    def test_model_is_legacy_before_glibc_2_36(self):
        for version, model in (("2.31", "glibc-legacy"),
                               ("2.35", "glibc-legacy"),
                               ("2.36", "glibc"), ("2.41", "glibc"),
                               ("3.0", "glibc"), ("", None),
                               ("unknown", None), (None, None)):
            self.assertEqual(debian.model_for(version), model, version)

    def test_selections_parse(self):
        self.assertEqual(debian.parse_select("debian:bullseye"),
                         ("bullseye", ARCH, None))
        self.assertEqual(debian.parse_select("debian:bullseye/python3.9"),
                         ("bullseye", ARCH, "python3.9"))
        self.assertEqual(debian.parse_select("debian:trixie/%s/python3"
                                             % ARCH),
                         ("trixie", ARCH, "python3"))
        for bad in ("debian:buster", "debian:bullseye/s390x",
                    "debian:bullseye/python2.7", "debian:trixie/python3/x",
                    "debian:"):
            with self.assertRaises(debroot.UsageError, msg=bad):
                debian.parse_select(bad)

    def test_wanted_joins_the_environment_and_the_list_once_each(self):
        got = debian.wanted(["/usr/bin/python3", "debian:trixie",
                             "debian:buster"],
                            {debian.ENV: "bullseye, trixie"})
        self.assertEqual([g[:4] for g in got[:2]],
                         [("debian:bullseye", "bullseye", ARCH, None),
                          ("debian:trixie", "trixie", ARCH, None)])
        self.assertEqual(len(got), 3)
        self.assertEqual(got[2][0], "debian:buster")
        self.assertIsNone(got[2][1])
        self.assertIn("unknown release", got[2][3])
        self.assertEqual(debian.wanted(None, {}), [])

    def test_pythons_keeps_a_debian_item_whole_and_host_leaves_it(self):
        self.assertEqual(
            sources.split_list("/a/python3:/c debian:bullseye/python3.9,/b"),
            ["/a/python3", "/c", "debian:bullseye/python3.9", "/b"])
        items = ["/a/python3", "debian:bullseye/python3.9"]
        self.assertEqual(sources.claimed(items, host.SOURCE), items[:1])
        self.assertEqual(sources.claimed(items, debian.SOURCE), items[1:])

    def test_label_is_the_release_and_the_name(self):
        e = base.new_entry("debian", "debian:bullseye/python3.9")
        e.update(tag="bullseye/python3.9", impl="cpython", version="3.9.2")
        self.assertEqual(base.label(e), "debian:bullseye/python3.9")

    def test_without_root_one_line_says_why_and_nothing_runs(self):
        code = ("from oracle.sources import debian; "
                "print(len(debian.SOURCE.entries(None)))")
        env = dict(os.environ, PYTHONPATH=REPO,
                   CMSGREF_DEBIAN="bullseye trixie")
        r = subprocess.run(
            ["setpriv", "--reuid=65534", "--regid=65534", "--clear-groups",
             sys.executable, "-c", code], env=env, cwd="/",
            stdout=subprocess.PIPE, stderr=subprocess.PIPE, timeout=60)
        err = r.stderr.decode()
        self.assertEqual(r.returncode, 0, err)
        self.assertEqual(r.stdout.decode().strip(), "0")
        self.assertEqual(err.count("\n"), 1, err)
        self.assertIn("Debian interpreters (bullseye trixie) are not run",
                      err)
        self.assertIn("needs root", err)


if __name__ == "__main__":
    unittest.main()
