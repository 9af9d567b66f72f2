"""cpython.py - CPython from Debian's source package, built once in a cache
outside the work tree, and its _socket extension rebuilt per mutant.

Why: a mutant of Modules/socketmodule.c is judged by running a real
interpreter whose _socket carries the change.  Debian's source package is
the CPython the host's /usr/bin/python3 was built from (bookworm: 3.11;
trixie serves 3.13), fetched with apt-get source through a private apt
configuration (its own sources.list, lists and caches under the cache
directory) so the system's apt state is left as it is.

Layout under CACHE/cpython-src/<version>/:
  apt/          the private apt configuration, lists and caches
  src/          the unpacked source package (patches applied), built in place
  build.log     configure's and make's output
  built.ok      written when the build finished; its presence skips it
  _socket.pristine.so  the unmutated extension, restored after every mutant

The interpreter is src/python; its shared modules live in
src/build/lib.<platform>-<version>/, which the interpreter finds itself.
"""

import glob
import json
import os
import re
import shlex
import shutil
import sys
import time

from tools import procs

# Debian suite serving each CPython minor version; the mirror is the one
# this machine's apt uses.
SUITES = {"3.11": "bookworm", "3.13": "trixie"}
DEFAULT_VERSION = "3.11"
KEYRING = "/usr/share/keyrings/debian-archive-keyring.gpg"


class BuildError(Exception):
    """A step of fetching or building failed; str() is one line."""


def cache_root():
    return os.environ.get("CMSGREF_CACHE") or "/var/cache/cmsgref"


def host_mirror(paths=("/etc/apt/sources.list",
                       "/etc/apt/sources.list.d")):
    """The first Debian archive URI (not -security) in the host's apt
    sources, one-line or deb822 form."""
    files = []
    for p in paths:
        if os.path.isdir(p):
            files += sorted(glob.glob(os.path.join(p, "*.sources")) +
                            glob.glob(os.path.join(p, "*.list")))
        elif os.path.isfile(p):
            files.append(p)
    for f in files:
        with open(f) as fh:
            text = fh.read()
        for m in re.finditer(r"^\s*(?:URIs:|deb(?:-src)?\s+(?:\[[^]]*\]\s+)?)"
                             r"\s*(\S+)", text, re.M):
            uri = m.group(1)
            if "debian" in uri and "security" not in uri:
                return uri.rstrip("/")
    raise BuildError("no Debian mirror in %s" % " ".join(paths))


class Tree(object):
    """One version's cache directory; see the module docstring."""

    def __init__(self, version=DEFAULT_VERSION, root=None, log=None):
        if version not in SUITES:
            raise BuildError("CPython version %r not served (one of %s)" % (
                version, ", ".join(sorted(SUITES))))
        self.version = version
        self.dir = os.path.join(root or cache_root(), "cpython-src", version)
        self.src = os.path.join(self.dir, "src")
        self.apt = os.path.join(self.dir, "apt")
        self.log = log or (lambda line: print(line, flush=True))

    # ---- fetch ----------------------------------------------------------

    def _apt_opts(self):
        return ["-o", "Dir::Etc::SourceList=%s/sources.list" % self.apt,
                "-o", "Dir::Etc::SourceParts=/dev/null",
                "-o", "Dir::State=%s/state" % self.apt,
                "-o", "Dir::State::Lists=%s/lists" % self.apt,
                "-o", "Dir::State::status=/var/lib/dpkg/status",
                "-o", "Dir::Cache=%s/cache" % self.apt,
                "-o", "Debug::NoLocking=1",
                "-o", "APT::Sandbox::User=root"]

    def fetch(self):
        """Unpacks the source package into src/ unless it is there."""
        if os.path.isfile(os.path.join(self.src, "Modules", "socketmodule.c")):
            return
        os.makedirs(os.path.join(self.apt, "lists", "partial"), exist_ok=True)
        os.makedirs(os.path.join(self.apt, "state"), exist_ok=True)
        os.makedirs(os.path.join(self.apt, "cache", "archives", "partial"),
                    exist_ok=True)
        suite = SUITES[self.version]
        with open(os.path.join(self.apt, "sources.list"), "w") as f:
            f.write("deb-src [signed-by=%s] %s %s main\n" % (
                KEYRING, host_mirror(), suite))
        self._step("apt-get update", ["apt-get"] + self._apt_opts() +
                   ["update"], cwd=self.apt, timeout=600)
        work = os.path.join(self.dir, "fetch")
        shutil.rmtree(work, ignore_errors=True)
        os.makedirs(work)
        self._step("apt-get source", ["apt-get"] + self._apt_opts() +
                   ["source", "python%s" % self.version], cwd=work,
                   timeout=1800)
        dirs = [d for d in glob.glob(os.path.join(work, "python%s-*" %
                                                  self.version))
                if os.path.isdir(d)]
        if len(dirs) != 1:
            raise BuildError("apt-get source left %d source directories in %s"
                             % (len(dirs), work))
        shutil.rmtree(self.src, ignore_errors=True)
        os.rename(dirs[0], self.src)
        with open(os.path.join(self.dir, "package-version"), "w") as f:
            f.write(os.path.basename(dirs[0]) + "\n")
        shutil.rmtree(work, ignore_errors=True)

    def _step(self, what, cmd, cwd, timeout, logfile=None):
        """Runs one step with a progress line every ~10 s; raises
        BuildError (naming the log) when it fails."""
        logfile = logfile or os.path.join(self.dir, "%s.log" % what.replace(
            " ", "-"))
        self.log("cpython %s: %s ..." % (self.version, what))
        with open(logfile, "ab") as out:
            out.write(("\n$ %s\n" % " ".join(map(shlex.quote, cmd))).encode())
            out.flush()
            r = procs.run(cmd, timeout, stdout=out, stderr=procs.STDOUT,
                          cwd=cwd, every=10, progress=lambda t: self.log(
                              "cpython %s: %s: %d s" % (self.version, what, t)))
        if r.returncode != 0:
            raise BuildError("cpython %s: %s: %s (log: %s)" % (
                self.version, what, r.status(), logfile))
        self.log("cpython %s: %s: done in %d s" % (self.version, what,
                                                   r.seconds))

    # ---- build ----------------------------------------------------------

    @property
    def python(self):
        return os.path.join(self.src, "python")

    def build(self, jobs=2):
        """./configure && make -jN in src/, once (built.ok marks it)."""
        ok = os.path.join(self.dir, "built.ok")
        if os.path.exists(ok) and os.path.exists(self.python):
            return
        self.fetch()
        log = os.path.join(self.dir, "build.log")
        if not os.path.exists(os.path.join(self.src, "Makefile")):
            self._step("configure", ["./configure"], cwd=self.src,
                       timeout=1200, logfile=log)
        self._step("make -j%d" % jobs, ["make", "-j%d" % jobs], cwd=self.src,
                   timeout=3600, logfile=log)
        so = self.socket_so()
        shutil.copy2(so, self.pristine)
        with open(ok, "w") as f:
            f.write("%s\n" % time.strftime("%Y-%m-%dT%H:%M:%S"))

    @property
    def pristine(self):
        return os.path.join(self.dir, "_socket.pristine.so")

    def socket_so(self):
        """The _socket extension the built interpreter loads."""
        found = glob.glob(os.path.join(self.src, "build", "lib.*",
                                       "_socket.*.so"))
        if len(found) != 1:
            raise BuildError("expected one _socket*.so under %s/build/lib.*, "
                             "found %d" % (self.src, len(found)))
        return found[0]

    def socket_source(self):
        with open(os.path.join(self.src, "Modules", "socketmodule.c"),
                  encoding="latin-1") as f:
            return f.read()


# ---- one mutant's extension ---------------------------------------------

class Extension(object):
    """Rebuilds _socket from a given socketmodule.c text with the commands
    the build's Makefile uses (taken once from `make -n` and kept in
    CACHE/.../socket-commands.json), and installs it over the built one.
    restore() puts the pristine extension back; call it on every way out."""

    def __init__(self, tree, work):
        self.tree = tree
        self.work = work
        self.target = tree.socket_so()
        self.cmds = self._commands()

    def _commands(self):
        path = os.path.join(self.tree.dir, "socket-commands.json")
        if os.path.exists(path):
            with open(path) as f:
                return json.load(f)
        cmds = _find_commands(os.path.join(self.tree.dir, "build.log"))
        if cmds is None:
            # Not in the log: rebuild the shared modules with
            # socketmodule.c touched, which recompiles only _socket.
            os.utime(os.path.join(self.tree.src, "Modules", "socketmodule.c"))
            log = os.path.join(self.tree.dir, "sharedmods.log")
            self.tree._step("make sharedmods", ["make", "sharedmods"],
                            cwd=self.tree.src, timeout=1200, logfile=log)
            cmds = _find_commands(log)
        if cmds is None:
            raise BuildError("cannot find _socket's compile and link commands "
                             "in the build's log")
        with open(path, "w") as f:
            json.dump(cmds, f, indent=1)
        return cmds

    def _sub(self, which, c_path, o_path, so_path):
        """The compile (or link) command as an argv, on our paths."""
        argv = shlex.split(self.cmds[which])
        out = []
        for k, arg in enumerate(argv):
            prev = argv[k - 1] if k else ""
            if which == "compile" and prev == "-c":
                arg = c_path
            elif which == "compile" and prev == "-o":
                arg = o_path
            elif which == "link" and prev == "-o":
                arg = so_path
            elif which == "link" and arg.endswith("socketmodule.o"):
                arg = o_path
            out.append(arg)
        if which == "compile":
            out += ["-iquote", os.path.join(self.tree.src, "Modules")]
        return out

    def compile(self, text, name, timeout=300):
        """Compiles text as WORK/socketmodule.c (one name for every mutant,
        so nothing but the change differs) into WORK/<name>.o; returns
        (ok, stripped object bytes or the compiler's last lines)."""
        c = os.path.join(self.work, "socketmodule.c")
        o = os.path.join(self.work, "%s.o" % name)
        with open(c, "w", encoding="latin-1") as f:
            f.write(text)
        r = procs.run(self._sub("compile", c, o, ""), timeout,
                      cwd=self.tree.src)
        if r.returncode != 0:
            return False, "\n".join((r.text() + r.text("stderr"))
                                    .splitlines()[-3:])
        return True, stripped(o)

    def install(self, name, timeout=120):
        """Links WORK/<name>.o into the extension the interpreter loads."""
        o = os.path.join(self.work, "%s.o" % name)
        so = os.path.join(self.work, "%s.so" % name)
        r = procs.run(self._sub("link", "", o, so), timeout,
                      cwd=self.tree.src)
        if r.returncode != 0:
            raise BuildError("linking %s: %s" % (name, r.text("stderr")[-300:]))
        tmp = self.target + ".mutant"
        shutil.copy2(so, tmp)
        os.rename(tmp, self.target)

    def restore(self):
        if os.path.exists(self.tree.pristine):
            tmp = self.target + ".restore"
            shutil.copy2(self.tree.pristine, tmp)
            os.rename(tmp, self.target)


def _find_commands(log):
    """{'compile', 'link'}: the last commands in log that compiled
    Modules/socketmodule.c and linked _socket, or None."""
    try:
        with open(log, errors="replace") as f:
            lines = f.read().splitlines()
    except OSError:
        return None
    comp = [l for l in lines if " -c " in l and re.search(
        r"(^|[ /])Modules/socketmodule\.c( |$)", l)]
    link = [l for l in lines if "-shared" in l and "socketmodule.o" in l and
            re.search(r"/_socket[.][^ /]*\.so( |$)", l)]
    if not comp or not link:
        return None
    return {"compile": comp[-1].strip(), "link": link[-1].strip()}


def stripped(obj):
    """obj's bytes without debug information: equal for two compilations
    that differ only in line or column records."""
    out = obj + ".nodebug"
    r = procs.run(["objcopy", "--strip-debug", obj, out], 60)
    if r.returncode != 0:
        raise BuildError("objcopy %s: %s" % (obj, r.status()))
    with open(out, "rb") as f:
        data = f.read()
    os.unlink(out)
    return data
