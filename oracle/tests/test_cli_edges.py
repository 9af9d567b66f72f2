"""Self-tests of the oracle's command lines and inputs at their edges:
a non-Python in PYTHONS, corpus files that are FIFOs, dangling symlinks or
too big, stdout's reader going away (| head), --help and --list, the
reproducer strings run from elsewhere, and the sockets suite under the
short per-run TMPDIR the driver gives it (and a long one).

Each command runs in its own process (stdlib subprocess, no shell unless
the reproducer is a shell command), bounded by a timeout so that a hang is
a failure, not a stuck test run."""

import json
import os
import shlex
import shutil
import socket
import subprocess
import sys
import tempfile
import unittest

from oracle.sources import base
from oracle.suites import inject as suite_inject
from oracle.suites import sockets as suite_sockets
from oracle.suites.inject import cases as inject_cases, corpus
from oracle.tests import helpers

TIMEOUT = 120
LONGPATH_CASE = ("address/kind=unix-dgram-longpath,method=recvmsg,nfds=0,"
                 "anc=0")


def env(**kw):
    e = dict(os.environ, PYTHONPATH=helpers.REPO)
    e.pop("PYTHONS", None)
    e.update(kw)
    return e


def run(args, cwd=None, **kw):
    """(status, stdout, stderr) of `python -m args...`."""
    p = subprocess.Popen([sys.executable, "-m"] + args,
                         cwd=cwd or helpers.REPO, env=env(**kw),
                         stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                         universal_newlines=True)
    try:
        out, err = p.communicate(timeout=TIMEOUT)
    finally:
        if p.poll() is None:
            p.kill()
            p.wait()
    return p.returncode, out, err


def run_reader_gone(args, **kw):
    """(status, stderr) of `python -m args...` whose stdout's reader has
    gone before it writes (as `| head -c 0`)."""
    r, w = os.pipe()
    try:
        p = subprocess.Popen([sys.executable, "-m"] + args,
                             cwd=helpers.REPO, env=env(**kw), stdout=w,
                             stderr=subprocess.PIPE, universal_newlines=True)
    finally:
        os.close(w)
        os.close(r)
    try:
        err = p.communicate(timeout=TIMEOUT)[1]
    finally:
        if p.poll() is None:
            p.kill()
            p.wait()
    return p.returncode, err


def script(d, name, body):
    path = os.path.join(d, name)
    with open(path, "w") as f:
        f.write("#!/bin/sh\n" + body + "\n")
    os.chmod(path, 0o755)
    return path


def probe(path):
    """The host source's probe of the interpreter at path."""
    return base.probe(base.new_entry("host", path))


class TmpDir(unittest.TestCase):

    def setUp(self):
        self.d = tempfile.mkdtemp(prefix="cmsgref-t-")
        self.addCleanup(shutil.rmtree, self.d, True)


class NotAPython(TmpDir):
    """A PYTHONS entry that answers the probe with something else is a
    "broken" entry with a short reason, never an exception."""

    def test_wrong_json_answers_are_broken(self):
        for body in ('echo "{}"', 'echo "[1,2]"', 'echo \'{"impl": 3}\'',
                     'echo \'{"impl": "x", "version": "1", '
                     '"version_info": ["a"], "executable": null}\''):
            e = probe(script(self.d, "py", body))
            self.assertEqual(e["status"], "broken", body)
            self.assertIn("not a Python", e["reason"])
            self.assertNotIn("impl", e)

    def test_reason_is_short_and_not_the_probe_command(self):
        # Like /bin/ls: complains about its arguments, exits non-zero.
        e = probe(script(self.d, "py", 'echo "cannot access $2" >&2'
                         '; exit 2'))
        self.assertEqual(e["status"], "broken")
        self.assertIn("status 2", e["reason"])
        self.assertLess(len(e["reason"]), 110, e["reason"])
        self.assertNotIn("platform.python_version", e["reason"])

    def test_driver_refuses_it_in_one_line(self):
        fake = script(self.d, "fakepy", 'echo "{}"')
        code, out, err = run(["oracle.conformance", "--pythons", fake,
                              "--suites", "sockets", "--only", "no-such-x",
                              "--out", os.path.join(self.d, "out")])
        self.assertEqual(code, 2, err)
        self.assertNotIn("Traceback", err)
        self.assertEqual(len(err.strip().splitlines()), 1, err)
        code, out, err = run(["oracle.conformance", "--pythons", fake,
                              "--suites", "sockets", "--only",
                              LONGPATH_CASE,
                              "--out", os.path.join(self.d, "out")])
        self.assertEqual(code, 2, err)
        self.assertNotIn("Traceback", err)
        self.assertIn("broken", err)

    def test_an_unknown_forced_model_is_one_line_before_anything_runs(self):
        out_dir = os.path.join(self.d, "out")
        for args in (["oracle.conformance", "--pythons", sys.executable,
                      "--suites", "sockets", "--only", LONGPATH_CASE,
                      "--out", out_dir],
                     ["oracle.cpython_tests", "--pythons", sys.executable,
                      "--out-dir", out_dir]):
            code, out, err = run(args, CMSGREF_LIBC="bogus")
            self.assertEqual(code, 2, err)
            self.assertEqual(err.count("\n"), 1, err)
            self.assertIn("CMSGREF_LIBC='bogus' names no libc model", err)
            self.assertFalse(os.path.exists(out_dir), args[0])

    def test_sources_help(self):
        code, out, err = run(["oracle.sources", "--help"])
        self.assertEqual((code, err), (0, ""))
        self.assertTrue(out.startswith("usage: python3 -m oracle.sources"))
        code, out, err = run(["oracle.sources", "--bogus"])
        self.assertEqual(code, 2)
        self.assertEqual(len(err.splitlines()), 1, err)


class ReaderGone(unittest.TestCase):
    """`... | head`: no traceback, a quiet exit."""

    def check(self, args, **kw):
        code, err = run_reader_gone(args, **kw)
        self.assertNotIn("Traceback", err)
        self.assertNotIn("BrokenPipe", err)
        self.assertIn(code, (0, 141), err)

    def test_sources(self):
        self.check(["oracle.sources"], PYTHONS=sys.executable)

    def test_sockets_list(self):
        self.check(["oracle.suites.sockets", "--list"])

    def test_inject_list(self):
        self.check(["oracle.suites.inject", "--list"])

    def test_worker_stops(self):
        code, err = run_reader_gone(
            ["oracle.worker", "--suite", "sockets", "--lib", helpers.LIB,
             "--no-progress"])
        self.assertNotIn("Traceback", err)
        self.assertEqual(code, 141, err)


class Usage(unittest.TestCase):

    def test_sockets_help_and_bad_usage(self):
        code, out, err = run(["oracle.suites.sockets", "--help"])
        self.assertEqual((code, err), (0, ""))
        self.assertIn("--list [SUBSTRING]", out)
        code, out, err = run(["oracle.suites.sockets"])
        self.assertEqual(code, 2)
        self.assertEqual(len(err.splitlines()), 1, err)

    def test_inject_list_help_and_bad_usage(self):
        code, out, err = run(["oracle.suites.inject", "--list", "seed-k08"])
        self.assertEqual(code, 0, err)
        self.assertEqual(out.split(), [
            cid for fam, cid in suite_inject.iter_cases()
            if "seed-k08" in fam + "/" + cid])
        self.assertEqual(len(out.split()), 8)   # 2 methods x 4 filters
        code, out, err = run(["oracle.suites.inject", "--help"])
        self.assertEqual((code, err), (0, ""))
        self.assertIn("--list [SUBSTRING]", out)
        for bad in ([], ["--frob"], ["--list", "a", "b"]):
            code, out, err = run(["oracle.suites.inject"] + bad)
            self.assertEqual((code, out), (2, ""), bad)
            self.assertEqual(len(err.splitlines()), 1, err)


class Corpus(TmpDir):
    """The inject suite's corpus listing and reads."""

    def corpus(self, **files):
        d = os.path.join(self.d, "cmsg_parse")
        os.makedirs(d)
        for name, data in files.items():
            with open(os.path.join(d, name), "wb") as f:
                f.write(data)
        return d

    def test_fifo_is_refused_by_name(self):
        d = self.corpus(ok=b"\0" * 16)
        os.mkfifo(os.path.join(d, "pipe"))
        with self.assertRaises(suite_inject.CorpusError) as cm:
            suite_inject.corpus_files(self.d)
        self.assertIn("cmsg_parse/pipe", str(cm.exception))
        self.assertIn("FIFO", str(cm.exception))

    def test_reading_a_fifo_does_not_block(self):
        d = self.corpus()
        fifo = os.path.join(d, "pipe")
        os.mkfifo(fifo)
        code, out, err = run(["oracle.tests.test_cli_edges", "read", fifo])
        self.assertEqual(code, 0, err)
        self.assertIn("CorpusError", out)
        self.assertIn("FIFO", out)

    def test_socket_is_refused_by_name(self):
        d = self.corpus()
        s = socket.socket(socket.AF_UNIX)
        self.addCleanup(s.close)
        s.bind(os.path.join(d, "sock"))
        with self.assertRaises(suite_inject.CorpusError) as cm:
            suite_inject.corpus_files(self.d)
        self.assertIn("cmsg_parse/sock is a socket", str(cm.exception))

    def test_dangling_symlink_is_refused_by_name(self):
        d = self.corpus(ok=b"\0" * 16)
        os.symlink(os.path.join(self.d, "gone"), os.path.join(d, "link"))
        with self.assertRaises(suite_inject.CorpusError) as cm:
            suite_inject.skipped_files(self.d)
        self.assertIn("cmsg_parse/link is a dangling symlink",
                      str(cm.exception))

    def test_oversize_is_listed_as_skipped(self):
        big = b"\0" * (corpus.MAX_CONTROL + 1)
        self.corpus(ok=b"\0" * 16, big=big,
                    edge=b"\0" * corpus.MAX_CONTROL)
        self.assertEqual(suite_inject.corpus_files(self.d),
                         ["cmsg_parse/edge", "cmsg_parse/ok"])
        got = suite_inject.skipped_files(self.d)
        self.assertEqual([p for p, _ in got], ["corpus/cmsg_parse/big"])
        self.assertIn("65537 bytes", got[0][1])
        self.assertIn("CR_INJECT_MAX", got[0][1])

    def test_a_name_with_a_control_character_is_listed_as_skipped(self):
        self.corpus(**{"ok": b"\0" * 16, "new\nline": b"\0" * 16})
        self.assertEqual(suite_inject.corpus_files(self.d),
                         ["cmsg_parse/ok"])
        got = suite_inject.skipped_files(self.d)
        self.assertEqual([p for p, _ in got], ["corpus/cmsg_parse/new\nline"])
        self.assertIn("control character", got[0][1])

    def test_symlink_to_a_file_is_read_and_to_a_dir_is_listed(self):
        d = self.corpus(ok=b"\0" * 16)
        os.symlink(os.path.join(d, "ok"), os.path.join(d, "alias"))
        os.symlink(self.d, os.path.join(d, "loop"))
        self.assertEqual(suite_inject.corpus_files(self.d),
                         ["cmsg_parse/alias", "cmsg_parse/ok"])
        self.assertEqual([p for p, _ in suite_inject.skipped_files(self.d)],
                         ["corpus/cmsg_parse/loop"])



def _unescape_make(word):
    return word.replace("$$", "$")


def assert_longpath_agrees(test, rec):
    """CPython reads a full 108-byte sun_path as a C string, past the
    buffer it zeroed, so whatever stack bytes come next may follow the path
    (the XFAIL may_pass of cpython.json): the path must be the reference's
    and the rest of the result equal."""
    native, ref = dict(rec["native"]), dict(rec["reference"])
    kind, got = native.pop("address")
    test.assertEqual([kind, got[:len(ref["address"][1])]], ref.pop("address"))
    test.assertEqual(native, ref)


class Reproducers(TmpDir):

    def test_sockets_repro_runs_from_anywhere(self):
        rec = json.loads(run(["oracle.worker", "--suite", "sockets",
                              "--lib", helpers.LIB, "--no-progress",
                              "--only", LONGPATH_CASE])[1].splitlines()[0])
        self.assertEqual(rec["id"], LONGPATH_CASE)
        p = subprocess.Popen(rec["repro"], shell=True, cwd=self.d,
                             env=dict(env(), PYTHONPATH=""),
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                             universal_newlines=True)
        out, err = p.communicate(timeout=TIMEOUT)
        self.assertIn(p.returncode, (0, 1), err)
        got, _ = json.JSONDecoder().raw_decode(out)
        self.assertEqual(got["id"], LONGPATH_CASE)
        assert_longpath_agrees(self, got)
        self.assertNotIn("LEAK", out)
        # exit 1 reports a divergence: here only the bytes after the path
        self.assertEqual(p.returncode,
                         int(got["native"] != got["reference"]), out + err)

    def test_sockets_repro_quotes_its_words(self):
        words = shlex.split(suite_sockets.repro("a b'c$d"))
        self.assertEqual(words[:3], ["cd", helpers.REPO, "&&"])
        self.assertEqual(words[3], "PYTHONPATH=.")
        self.assertTrue(os.path.isabs(words[4]))
        self.assertEqual(words[5:], ["-m", "oracle.suites.sockets",
                                     "a b'c$d"])


    def test_sockets_repro_follows_the_library_of_the_moment(self):
        # repro builds its words before the id once per library (a cache):
        # a changed CMSGREF_LIB, or a relative one under another directory,
        # must still be named.
        other = os.path.join(self.d, "other.so")
        saved, cwd = os.environ.get("CMSGREF_LIB"), os.getcwd()
        try:
            os.environ.pop("CMSGREF_LIB", None)
            self.assertNotIn("CMSGREF_LIB=", suite_sockets.repro("x"))
            os.environ["CMSGREF_LIB"] = other
            self.assertIn("CMSGREF_LIB=%s " % other, suite_sockets.repro("x"))
            os.environ["CMSGREF_LIB"] = "rel.so"
            os.chdir(self.d)
            self.assertIn("CMSGREF_LIB=%s " % os.path.join(self.d, "rel.so"),
                          suite_sockets.repro("x"))
            os.chdir(helpers.REPO)
            self.assertIn("CMSGREF_LIB=%s " % os.path.join(helpers.REPO,
                                                           "rel.so"),
                          suite_sockets.repro("x"))
            os.environ["CMSGREF_LIB"] = helpers.LIB
            self.assertNotIn("CMSGREF_LIB=", suite_sockets.repro("x"))
        finally:
            os.chdir(cwd)
            if saved is None:
                os.environ.pop("CMSGREF_LIB", None)
            else:
                os.environ["CMSGREF_LIB"] = saved
    def inject_argv(self, repro):
        """The driver's argv that the inject repro, pasted into a shell
        elsewhere, makes make run (run with make -n, parsed from the
        recipe line make prints)."""
        cmd = repro.split(": ", 1)[1]
        self.assertTrue(cmd.startswith("make -C %s conformance ORACLE_ARGS="
                                       % shlex.quote(helpers.REPO)), cmd)
        dry = subprocess.Popen(
            "make -n PYTHONS= " + cmd[len("make "):], shell=True, cwd=self.d,
            stdout=subprocess.PIPE, stderr=subprocess.PIPE,
            universal_newlines=True)
        out, err = dry.communicate(timeout=TIMEOUT)
        self.assertEqual(dry.returncode, 0, err)
        out = out.replace("\\\n", " ")       # the recipe's continuation
        line = [l for l in out.splitlines() if "oracle.conformance" in l][-1]
        argv = shlex.split(line)
        return argv[argv.index("oracle.conformance") + 1:]

    def test_inject_repro_names_interpreter_and_own_out_dir(self):
        case = "corpus:cmsg_parse/seed-k08-len-40-truncated@error"
        rec_repro = inject_cases.repro("corpus/cmsg_parse/seed-k08", case)
        self.assertEqual(self.inject_argv(rec_repro), [
            "--suites", "inject", "--pythons", os.path.abspath(
                sys.executable), "--only", "=" + case, "--out",
            "build/conformance-repro"])

    def test_inject_repro_names_a_shim_that_is_not_the_default(self):
        case = "corpus:cmsg_parse/x@record"
        saved = os.environ.get("CMSGREF_INJECT")
        os.environ["CMSGREF_INJECT"] = "/elsewhere/libcrinject.so"
        del inject_cases._REPRO_CACHE[:]
        try:
            rec_repro = inject_cases.repro("corpus/cmsg_parse/x", case)
        finally:
            if saved is None:
                del os.environ["CMSGREF_INJECT"]
            else:
                os.environ["CMSGREF_INJECT"] = saved
            del inject_cases._REPRO_CACHE[:]
        argv = self.inject_argv(rec_repro)
        self.assertEqual(argv[argv.index("--shim") + 1],
                         "/elsewhere/libcrinject.so")

    def repro_as(self, entry, lib, shim, case):
        """The inject repro of case made by a worker of entry (its
        CMSGREF_INTERP) that loads lib and preloads shim."""
        from oracle import worker
        names = (worker.INTERP_ENV, "CMSGREF_LIB", "CMSGREF_INJECT")
        saved = dict((k, os.environ.get(k)) for k in names)
        os.environ.update(zip(names, (json.dumps(entry), lib, shim)))
        worker._INTERP.clear()
        del inject_cases._REPRO_CACHE[:]
        try:
            return inject_cases.repro("x", case)
        finally:
            for k, v in saved.items():
                if v is None:
                    os.environ.pop(k, None)
                else:
                    os.environ[k] = v
            worker._INTERP.clear()
            del inject_cases._REPRO_CACHE[:]

    def test_inject_repro_names_no_build_of_another_libc(self):
        # The driver loads --lib and --shim; a musl or Debian root entry's
        # builds are for its own libc, and its source gives them again.
        case = "corpus:cmsg_parse/x@record"
        for select, source, variant in (
                ("musl:3.11", "musl", "musl"),
                ("debian:trixie/python3.13", "debian",
                 "debian-trixie-amd64")):
            out = os.path.join(helpers.REPO, "build", variant)
            entry = {"argv": ["/x/python3"], "env": {}, "select": select,
                     "source": source}
            argv = self.inject_argv(self.repro_as(
                entry, os.path.join(out, "libcmsgref.so"),
                os.path.join(out, "inject", "libcrinject.so"), case))
            self.assertEqual(argv, ["--suites", "inject", "--pythons",
                                    select, "--only", "=" + case, "--out",
                                    "build/conformance-repro"])
        from oracle import worker
        from oracle.judge import driver
        it = base.new_entry("musl", "/x/python3", select="musl:3.11")
        self.assertEqual(json.loads(driver.worker_env(it, "inject")[
            worker.INTERP_ENV])["source"], "musl")
        entry = {"argv": ["/x/python3"], "env": {}, "select": "/x/python3",
                 "source": "host"}
        argv = self.inject_argv(self.repro_as(
            entry, "/elsewhere/libcmsgref.so", "/elsewhere/libcrinject.so",
            case))
        self.assertEqual(argv[argv.index("--lib") + 1],
                         "/elsewhere/libcmsgref.so")
        self.assertEqual(argv[argv.index("--shim") + 1],
                         "/elsewhere/libcrinject.so")

    def test_inject_repro_survives_shell_and_make_quoting(self):
        case = "corpus:cmsg_parse/odd $(x) `y` \"q\" 'a' \\b$$@record"
        got = self.inject_argv(inject_cases.repro("r", case))
        self.assertEqual(got[got.index("--only") + 1], "=" + case)


class SocketsTmpdir(TmpDir):
    """The sockets suite's AF_UNIX paths live under TMPDIR and still fit
    sun_path, for the driver's short per-run dir and for a long one."""

    def check(self, tmpdir):
        os.makedirs(tmpdir)
        code, out, err = run(["oracle.worker", "--suite", "sockets",
                              "--lib", helpers.LIB, "--no-progress",
                              "--only", LONGPATH_CASE], TMPDIR=tmpdir)
        self.assertEqual(code, 0, err)
        rec = json.loads(out.splitlines()[0])
        self.assertNotIn("error", rec)
        self.assertIsNone(rec["native"]["exception"])
        assert_longpath_agrees(self, rec)
        return bytes.fromhex(rec["reference"]["address"][1]).decode()

    def test_short_per_run_tmpdir(self):
        tmp = os.path.join(self.d, "cmsgref-run-abcdefgh")
        path = self.check(tmp)
        self.assertTrue(path.startswith(tmp + "/cmsgref-sk-"), path)
        self.assertEqual(len(path), 108)
        self.assertEqual(os.listdir(tmp), [])   # removed at exit

    def test_long_tmpdir(self):
        self.check(os.path.join(self.d, "d" * 100))


def _read_main(path):
    """`python -m oracle.tests.test_cli_edges read PATH`: corpus.read
    of PATH in a process of its own (a blocking open hangs it, not the
    test run); prints what it got."""
    try:
        print("read %d bytes" % len(corpus.read(path)))
    except OSError as e:
        print("%s: %s" % (type(e).__name__, e))


if __name__ == "__main__":
    if sys.argv[1:2] == ["read"]:
        _read_main(sys.argv[2])
    else:
        unittest.main()
