"""Tests of oracle/sources/debian.py that need no Debian root: the model
follows the glibc version (legacy before 2.36), selections parse and
reject what they must, PYTHONS keeps a "debian:..." item whole and the
host source leaves it alone, the label is debian:REL/NAME, without
root one line on stderr says why no Debian interpreter runs, and the
shim's preload reaches the root's interpreter alone.

Run: python3 -m unittest discover -s oracle/tests -t .
"""

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import unittest

from oracle import REPO, sources
from oracle.judge import driver
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

    def as_nobody(self, argv, **env):
        return subprocess.run(
            ["setpriv", "--reuid=65534", "--regid=65534", "--clear-groups",
             sys.executable] + argv,
            env=dict(os.environ, PYTHONPATH=REPO, **env), cwd="/",
            stdout=subprocess.PIPE, stderr=subprocess.PIPE, timeout=60)

    def test_without_root_a_named_release_is_broken_not_dropped(self):
        code = ("import json; from oracle.sources import debian; "
                "print(json.dumps([(e['executable'], e['status'], "
                "e['reason']) for e in debian.SOURCE.entries("
                "['debian:bullseye', 'debian:trixie'])]))")
        r = self.as_nobody(["-c", code], CMSGREF_DEBIAN="trixie forky")
        err = r.stderr.decode()
        self.assertEqual(r.returncode, 0, err)
        got = json.loads(r.stdout.decode())
        self.assertEqual([g[:2] for g in got],
                         [["debian:trixie", "broken"],
                          ["debian:bullseye", "broken"]])
        self.assertIn("needs root", got[0][2])
        self.assertEqual(err.count("\n"), 1, err)
        self.assertIn("Debian interpreters (forky) are not run", err)

    def test_without_root_the_driver_refuses_a_named_release(self):
        # An interpreter the user nobody can run (pyenv's live under /root).
        other = "/usr/bin/python3" if os.path.exists("/usr/bin/python3") \
            else sys.executable
        for pythons in ("debian:bullseye", "debian:bullseye," + other):
            r = self.as_nobody(["-m", "oracle.conformance", "--pythons",
                                pythons, "--suites", "sockets", "--only",
                                "eof/", "--out", "/nonexistent/out"])
            err = r.stderr.decode()
            self.assertEqual(r.returncode, 2, err)
            self.assertEqual(err.count("\n"), 1, err)
            self.assertIn("debian:bullseye (named in --pythons/PYTHONS) is "
                          "broken: needs root", err)


class PreloadReachesTheRootAlone(unittest.TestCase):
    """The inject suite's shim and the heap checks' variables go to the
    root's interpreter as `debian-root run --env NAME=VALUE`, never into
    the environment of debian-root itself (the host's python3, whose
    loader a shim built against a newer root's glibc would stop)."""

    def setUp(self):
        self.dir = tempfile.mkdtemp(prefix="cmsgref-deb-")
        self.addCleanup(shutil.rmtree, self.dir, True)

    def job(self, entry, heapcheck):
        args = argparse.Namespace(only="seed-k08", lib=None, shim=None,
                                  heapcheck=heapcheck, profile=False)
        (job,) = driver.build_jobs([entry], ["inject"], args, self.dir)
        return job

    def test_the_shim_and_heap_checks_are_run_options(self):
        e = debian.SOURCE.entry("bullseye", ARCH, None,
                                {"glibc": "2.31"}, "not probed here")
        e.update(status="ok", impl="cpython", version="3.9.2",
                 label="debian:bullseye/python3", model="glibc-legacy")
        job = self.job(e, True)
        for name in base.INNER_ENV[:4]:
            self.assertNotIn(name, job.env, name)
        self.assertEqual(job.cmd[:3], [debian.TOOL, "run", "bullseye"])
        cmd, opts = debroot._parse(job.cmd[1:])
        self.assertEqual(cmd, "run")
        self.assertEqual(opts["cmd"][:3], ["/usr/bin/python3", "-m",
                                           "oracle.worker"])
        self.assertEqual(opts["env"]["LD_PRELOAD"], e["shim"])
        self.assertEqual(opts["env"]["CMSGREF_INJECT"], e["shim"])
        self.assertEqual(opts["env"]["PYTHONMALLOC"], "debug")
        self.assertIn("MALLOC_PERTURB_", opts["env"])
        repro = job.repro()
        self.assertNotIn("LD_PRELOAD", repro.split(debian.TOOL)[0])
        self.assertIn("--env LD_PRELOAD=", repro)

    def test_a_host_entry_keeps_them_in_its_environment(self):
        e = base.new_entry("host", sys.executable)
        e.update(impl="cpython", version="3.11", label="host",
                 model="glibc")
        job = self.job(e, False)
        self.assertEqual(job.env["LD_PRELOAD"], e["shim"])
        self.assertNotIn("--env", job.cmd)


if __name__ == "__main__":
    unittest.main()
