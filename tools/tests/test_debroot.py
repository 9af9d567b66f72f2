"""Tests of scripts/debian-root (tools/debroot.py) on a fake root and a
fake debootstrap, so they need neither the network nor a real root and
take seconds: bad arguments exit 2 with one line; a run's mounts live in
its own namespace and are gone once it ends, by exit, SIGTERM or SIGKILL;
mounts left in the host's namespace are detached first; clean never
deletes through a mount; a build that fails or is killed never looks
complete and is removed by the next build.  Root is required (mounts,
chroot): without it the mount and build tests fail, saying so.

Run: python3 -m unittest discover -s tools/tests -t .
"""

import contextlib
import io
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import unittest

from tools import debroot

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(
    os.path.abspath(__file__))))
TOOL = os.path.join(ROOT, "scripts", "debian-root")
BINARIES = ("/bin/sh", "/bin/cat", "/bin/sleep", "/bin/mkdir", "/bin/cp")
FAKE_PY = '#!/bin/sh\necho \'{"version": "3.9.2", "executable": ' \
          '"/usr/bin/python3.9"}\'\n'
DPKG_STATUS = ("Package: libc6\nStatus: install ok installed\n"
               "Version: 2.31-13+deb11u11\n\n")
# A debootstrap stand-in: copies the template tree ($FAKE_TEMPLATE) into
# its target, mounts a tmpfs on target/proc as debootstrap does, prints
# I: lines, then ends as $FAKE_MODE says: "ok", "fail" (exit 1), "hang"
# (touches $FAKE_READY and sleeps $FAKE_SLEEP seconds).
FAKE_DEBOOTSTRAP = r"""#!/bin/sh
eval "target=\${$(($# - 1))}"
echo "I: Retrieving InRelease"
echo "I: Retrieving libc6 2.31"
echo "I: Validating libc6 2.31"
cp -a "$FAKE_TEMPLATE"/. "$target"/
mount -t tmpfs fake "$target/proc" || exit 3
echo "I: Extracting libc6..."
case "$FAKE_MODE" in
fail) echo "E: Couldn't download packages: libc6"; exit 1 ;;
hang) touch "$FAKE_READY"; sleep "$FAKE_SLEEP"; exit 0 ;;
esac
echo "I: Base system installed successfully."
"""


def host_mounts_under(path):
    return debroot.mounts_under(path)


_FILES = []     # (host file, path in the fake tree), found once


def fake_files():
    """The binaries and the libraries ldd names for them, each at its own
    path and, for /bin/X, also at /usr/bin/X."""
    if not _FILES:
        libs = set()
        for b in BINARIES:
            out = subprocess.check_output(["ldd", b]).decode()
            libs.update(w for w in out.split() if w.startswith("/"))
        for f in sorted(set(BINARIES) | libs):
            real = os.path.realpath(f)
            _FILES.append((real, f))
            if f.startswith("/bin/"):
                _FILES.append((real, "/usr" + f))
    return _FILES


def make_fake_tree(dest):
    """A tree that chroot can run sh, cat, sleep in: the host's binaries
    and their libraries, a python3 that prints what the probe expects, a
    dpkg status naming libc6 2.31."""
    for real, path in fake_files():
        target = dest + path
        os.makedirs(os.path.dirname(target), exist_ok=True)
        shutil.copy2(real, target)
    for d in ("proc", "dev", "tmp", "var/lib/dpkg", "usr/bin"):
        os.makedirs(os.path.join(dest, d), exist_ok=True)
    py = os.path.join(dest, "usr/bin/python3.9")
    with open(py, "w") as f:
        f.write(FAKE_PY)
    os.chmod(py, 0o755)
    os.symlink("python3.9", os.path.join(dest, "usr/bin/python3"))
    with open(os.path.join(dest, "var/lib/dpkg/status"), "w") as f:
        f.write(DPKG_STATUS)


class Base(unittest.TestCase):
    def setUp(self):
        self.tmp = tempfile.mkdtemp(prefix="debroot-test-")
        self.cache = os.path.join(self.tmp, "cache")
        self.roots = os.path.join(self.cache, "roots")
        self.env = dict(os.environ, CMSGREF_CACHE=self.cache)
        self.procs = []

    def tearDown(self):
        for p in self.procs:
            if p.poll() is None:
                p.kill()
                p.wait()
            p.stdout.close()
            p.stderr.close()
        for point in host_mounts_under(self.tmp):
            subprocess.call(["umount", "-l", point])
        shutil.rmtree(self.tmp)

    def tool(self, *args, **kw):
        return subprocess.run([sys.executable, TOOL] + list(args),
                              env=kw.pop("env", self.env),
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                              timeout=60, **kw)

    def start(self, *args, **kw):
        p = subprocess.Popen([sys.executable, TOOL] + list(args),
                             env=kw.pop("env", self.env),
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                             **kw)
        self.procs.append(p)
        return p

    def need_root(self):
        if os.geteuid() != 0:
            self.fail("this test needs root (mounts, chroot): run the "
                      "tools tests as root")

    def fake_root(self, rel="bullseye"):
        path = os.path.join(self.roots, "%s-%s" % (rel, debroot.host_arch()))
        make_fake_tree(path)
        with open(os.path.join(path, debroot.STAMP), "w") as f:
            json.dump({"release": rel, "arch": debroot.host_arch(),
                       "python3": {"version": "3.9.2"}, "glibc": "2.31"}, f)
        return path


class ArgumentsTest(Base):
    def test_bad_arguments_exit_2_with_one_line(self):
        cases = [[], ["frob"], ["build"], ["build", "buster"],
                 ["build", "bullseye/s390x"], ["build", "--rebuild"],
                 ["build", "bullseye", "--mirror", "not-a-url"],
                 ["build", "bullseye", "--frob"], ["run", "bullseye"],
                 ["run", "bullseye", "--"], ["run", "--", "true"],
                 ["run", "bullseye", "trixie", "--", "true"],
                 ["run", "--env", "NOEQUALS", "bullseye", "--", "true"],
                 ["run", "--frob", "bullseye", "--", "true"],
                 ["info"], ["info", "bullseye", "trixie"], ["list", "x"],
                 ["clean", "--all"], ["clean", "potato"]]
        for argv in cases:
            out, err = io.StringIO(), io.StringIO()
            with contextlib.redirect_stdout(out), \
                    contextlib.redirect_stderr(err):
                rc = debroot.main(argv)
            err = err.getvalue()
            self.assertEqual(rc, 2, (argv, err))
            self.assertEqual(err.count("\n"), 1, (argv, err))
            self.assertTrue(err.startswith("debian-root: "), (argv, err))
            self.assertEqual(out.getvalue(), "", argv)
        # The command itself: the status and the one line, no traceback.
        r = self.tool("build", "buster")
        self.assertEqual(r.returncode, 2)
        self.assertEqual(r.stderr.decode().count("\n"), 1)
        self.assertIn("unknown release 'buster'", r.stderr.decode())

    def test_help_names_every_command_and_exits_0(self):
        r = self.tool("--help")
        self.assertEqual(r.returncode, 0)
        out = r.stdout.decode()
        for word in ("build", "run", "info", "list", "clean", "--rebuild",
                     "--env", "CMSGREF_CACHE", "namespace"):
            self.assertIn(word, out)

    def test_without_root_one_line_says_why_exit_2(self):
        r = subprocess.run(
            ["setpriv", "--reuid=65534", "--regid=65534", "--clear-groups",
             sys.executable, TOOL, "list"], env=self.env,
            stdout=subprocess.PIPE, stderr=subprocess.PIPE, timeout=60)
        err = r.stderr.decode()
        self.assertEqual(r.returncode, 2, err)
        self.assertIn("needs root", err)
        self.assertEqual(err.count("\n"), 1, err)

    def test_run_of_a_root_not_built_exits_2(self):
        self.need_root()
        r = self.tool("run", "trixie", "--", "true")
        self.assertEqual(r.returncode, 2)
        self.assertIn("not built", r.stderr.decode())

    def test_apt_mirror_reads_deb822_and_one_line_sources(self):
        d = os.path.join(self.tmp, "sources.list.d")
        os.makedirs(d)
        with open(os.path.join(d, "a.sources"), "w") as f:
            f.write("Types: deb\nURIs: http://sec.example/debian-security\n"
                    "Suites: bookworm-security\n\n"
                    "Types: deb\n# comment\nURIs: http://m.example/debian\n"
                    "Suites: bookworm\nComponents: main\n")
        self.assertEqual(debroot.apt_mirror([d]), "http://m.example/debian")
        lst = os.path.join(self.tmp, "sources.list")
        with open(lst, "w") as f:
            f.write("deb [arch=amd64] http://x.example/debian "
                    "bookworm main\n")
        self.assertEqual(debroot.apt_mirror([lst]), "http://x.example/debian")
        self.assertIsNone(debroot.apt_mirror([os.path.join(self.tmp, "no")]))


class ArchTest(unittest.TestCase):
    def test_the_i386_probe_is_an_i386_executable_that_exits(self):
        path = tempfile.mktemp(prefix="debroot-elf-")
        with open(path, "wb") as f:
            f.write(debroot._i386_exit0())
        try:
            out = subprocess.check_output(["readelf", "-h", "-l", path],
                                          stderr=subprocess.STDOUT).decode()
        finally:
            os.unlink(path)
        for want in ("ELF32", "Intel 80386", "EXEC (Executable file)",
                     "Entry point address:               0x8048054",
                     "LOAD           0x000000 0x08048000"):
            self.assertIn(want, out)
        self.assertNotIn("Warning", out)

    def test_the_host_architecture_runs_and_others_are_probed(self):
        self.assertTrue(debroot.arch_runs(debroot.host_arch()))
        self.assertFalse(debroot.arch_runs("s390x"))


class RunTest(Base):
    def setUp(self):
        Base.setUp(self)
        self.need_root()
        self.root = self.fake_root()

    def test_exit_status_is_the_commands_and_mounts_are_private(self):
        script = "cat /proc/self/mountinfo; test -c /dev/null; " \
                 "test -d %s && exit 7" % ROOT
        r = self.tool("run", "bullseye", "--", "sh", "-c", script)
        out = r.stdout.decode()
        self.assertEqual(r.returncode, 7, r.stderr.decode())
        points = set(line.split()[4] for line in out.splitlines())
        for p in ("/proc", "/dev", "/dev/shm", "/dev/null", "/tmp", ROOT):
            self.assertIn(p, points, out)
        self.assertEqual(host_mounts_under(self.root), [])

    def test_env_option_reaches_the_command_only(self):
        r = self.tool("run", "bullseye", "--env", "CR_X=a b", "--",
                      "sh", "-c", 'echo "$CR_X|$PATH"')
        self.assertEqual(r.returncode, 0, r.stderr.decode())
        self.assertEqual(r.stdout.decode().strip(),
                         "a b|" + debroot.ROOT_PATH)

    def test_a_command_that_cannot_start_exits_127(self):
        r = self.tool("run", "bullseye", "--", "/no/such/program")
        self.assertEqual(r.returncode, 127)
        self.assertIn("cannot run /no/such/program", r.stderr.decode())
        self.assertEqual(r.stderr.decode().count("\n"), 1)

    def kill_running(self, sig):
        p = self.start("run", "bullseye", "--", "sh", "-c",
                       "echo ready; exec sleep 60")
        self.assertEqual(p.stdout.readline(), b"ready\n")
        ns = os.readlink("/proc/%d/ns/mnt" % p.pid)
        self.assertNotEqual(ns, os.readlink("/proc/self/ns/mnt"))
        with open("/proc/%d/mountinfo" % p.pid) as f:
            self.assertIn(" /dev/shm ", f.read())
        self.assertEqual(host_mounts_under(self.root), [])
        p.send_signal(sig)
        self.assertEqual(p.wait(10), -sig)
        holders = []
        for pid in filter(str.isdigit, os.listdir("/proc")):
            try:
                if os.readlink("/proc/%s/ns/mnt" % pid) == ns:
                    holders.append(pid)
            except OSError:
                pass
        self.assertEqual(holders, [], "the run's namespace outlived it")
        self.assertEqual(host_mounts_under(self.root), [])

    def test_sigterm_leaves_no_mount(self):
        self.kill_running(signal.SIGTERM)

    def test_sigkill_leaves_no_mount(self):
        self.kill_running(signal.SIGKILL)

    def test_mounts_left_in_the_host_namespace_are_detached_first(self):
        subprocess.check_call(["mount", "-t", "tmpfs", "stale",
                               os.path.join(self.root, "proc")])
        subprocess.check_call(["mount", "-t", "tmpfs", "stale",
                               os.path.join(self.root, "tmp")])
        self.assertEqual(len(host_mounts_under(self.root)), 2)
        r = self.tool("run", "bullseye", "--", "sh", "-c", ":")
        self.assertEqual(r.returncode, 0, r.stderr.decode())
        self.assertIn("detached 2 mount(s)", r.stderr.decode())
        self.assertEqual(host_mounts_under(self.root), [])

    def test_clean_never_deletes_through_a_mount(self):
        keep = os.path.join(self.tmp, "keep")
        os.makedirs(keep)
        open(os.path.join(keep, "precious"), "w").close()
        inside = os.path.join(self.root, "work")
        os.makedirs(inside)
        subprocess.check_call(["mount", "--bind", keep, inside])
        r = self.tool("clean", "bullseye")
        self.assertEqual(r.returncode, 0, r.stderr.decode())
        self.assertFalse(os.path.exists(self.root))
        self.assertTrue(os.path.exists(os.path.join(keep, "precious")))

    def test_info_and_list_describe_the_root(self):
        r = self.tool("info", "bullseye")
        self.assertEqual(r.returncode, 0, r.stderr.decode())
        info = json.loads(r.stdout.decode())
        self.assertEqual(info["root"], self.root)
        self.assertEqual(info["glibc"], "2.31")
        self.assertEqual(info["python3"], {"path": "/usr/bin/python3.9",
                                           "version": "3.9.2"})
        self.assertEqual(info["arch"], debroot.host_arch())
        r = self.tool("list")
        self.assertIn("bullseye/", r.stdout.decode())
        self.assertIn(self.root, r.stdout.decode())

    def test_info_and_list_into_a_closed_pipe_exit_quietly(self):
        for args in (("info", "bullseye"), ("list",)):
            r, w = os.pipe()
            os.close(r)         # the reader is gone before the first write
            try:
                p = subprocess.run([sys.executable, TOOL] + list(args),
                                   env=self.env, stdout=w,
                                   stderr=subprocess.PIPE, timeout=60)
            finally:
                os.close(w)
            self.assertEqual((p.returncode, p.stderr.decode()), (141, ""),
                             args)


class BuildTest(Base):
    def setUp(self):
        Base.setUp(self)
        self.need_root()
        self.template = os.path.join(self.tmp, "template")
        make_fake_tree(self.template)
        fake = os.path.join(self.tmp, "fake-debootstrap")
        with open(fake, "w") as f:
            f.write(FAKE_DEBOOTSTRAP)
        os.chmod(fake, 0o755)
        self.ready = os.path.join(self.tmp, "ready")
        self.env.update(DEBOOTSTRAP=fake, FAKE_TEMPLATE=self.template,
                        FAKE_READY=self.ready, FAKE_MODE="ok",
                        FAKE_SLEEP="60.%d" % os.getpid())
        self.final = os.path.join(self.roots,
                                  "bullseye-" + debroot.host_arch())

    def build(self, mode, *extra):
        self.env["FAKE_MODE"] = mode
        return self.tool("build", "bullseye", "--mirror",
                         "http://mirror.invalid/debian", *extra)

    def leftovers(self):
        return [n for n in os.listdir(self.roots) if n.startswith(".build-")]

    def test_a_build_is_complete_and_reused(self):
        r = self.build("ok")
        self.assertEqual(r.returncode, 0, r.stderr.decode())
        self.assertEqual(r.stdout.decode().strip(), self.final)
        self.assertTrue(debroot.is_complete(self.final))
        self.assertEqual(debroot.read_stamp(self.final)["glibc"], "2.31")
        self.assertIn("downloading", r.stderr.decode())
        self.assertEqual(self.leftovers(), [])
        self.assertEqual(host_mounts_under(self.roots), [])
        r = self.build("fail")
        self.assertEqual(r.returncode, 0, r.stderr.decode())
        self.assertIn("already built", r.stderr.decode())
        r = self.build("fail", "--rebuild")
        self.assertEqual(r.returncode, 1)
        self.assertTrue(debroot.is_complete(self.final))

    def test_a_failed_build_leaves_nothing(self):
        r = self.build("fail")
        err = r.stderr.decode()
        self.assertEqual(r.returncode, 1, err)
        self.assertIn("E: Couldn't download packages", err)
        self.assertIn("debootstrap failed", err)
        self.assertFalse(os.path.exists(self.final))
        self.assertEqual(self.leftovers(), [])

    def hang(self):
        self.env["FAKE_MODE"] = "hang"
        p = self.start("build", "bullseye", "--mirror",
                       "http://mirror.invalid/debian")
        end = time.monotonic() + 20
        while not os.path.exists(self.ready):
            self.assertLess(time.monotonic(), end, "the fake never started")
            self.assertIsNone(p.poll(), p.stderr.read() if p.poll() else "")
            time.sleep(0.02)
        self.assertEqual(len(self.leftovers()), 1)
        self.assertTrue(self.fakes())
        self.assertIn("building", self.tool("list").stdout.decode())
        return p

    def fakes(self):
        """The pids of the fake debootstrap and its sleep, seen from here."""
        marks = (self.env["DEBOOTSTRAP"].encode(),
                 self.env["FAKE_SLEEP"].encode())
        out = []
        for pid in filter(str.isdigit, os.listdir("/proc")):
            try:
                with open("/proc/%s/cmdline" % pid, "rb") as f:
                    cmdline = f.read()
            except OSError:
                continue
            if any(m in cmdline for m in marks):
                out.append(int(pid))
        return out

    def gone(self, within=5):
        end = time.monotonic() + within
        while self.fakes():
            if time.monotonic() > end:
                return False
            time.sleep(0.02)
        return True

    def test_sigterm_mid_build_leaves_nothing(self):
        p = self.hang()
        p.send_signal(signal.SIGTERM)
        self.assertEqual(p.wait(20), 128 + signal.SIGTERM)
        self.assertTrue(self.gone(), "debootstrap outlived the build")
        self.assertEqual(self.leftovers(), [])
        self.assertFalse(os.path.exists(self.final))

    def test_sigkill_mid_build_never_looks_complete(self):
        p = self.hang()
        p.kill()
        p.wait(10)
        self.assertTrue(self.gone(), "debootstrap outlived the build")
        self.assertEqual(host_mounts_under(self.roots), [])
        self.assertFalse(debroot.is_complete(self.final))
        self.assertEqual(len(self.leftovers()), 1)
        r = self.tool("run", "bullseye", "--", "true")
        self.assertEqual(r.returncode, 2)
        self.assertIn("not built", r.stderr.decode())
        self.assertIn("unfinished", self.tool("list").stdout.decode())
        r = self.build("ok")
        self.assertEqual(r.returncode, 0, r.stderr.decode())
        self.assertIn("removing an unfinished build", r.stderr.decode())
        self.assertEqual(self.leftovers(), [])
        self.assertTrue(debroot.is_complete(self.final))


if __name__ == "__main__":
    unittest.main()
