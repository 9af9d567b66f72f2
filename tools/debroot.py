"""debroot.py - minimal Debian roots to run other releases' CPythons in.

Why: the oracle holds every CPython it can reach against the reference.
Other Debian releases ship other CPythons on other glibcs (bullseye: glibc
2.31, whose CMSG_NXTHDR is the legacy one); a root made by debootstrap from
Debian's archive runs them here, with a C compiler to build the library and
the injection shim against that root's libc.  scripts/debian-root is the
command; this module is all of it.

Cache layout (outside the work tree): $CMSGREF_CACHE (default
/var/cache/cmsgref) holds roots/<release>-<arch>/, a complete root, which
is complete exactly when it holds STAMP (written last, before the build
directory is renamed into place); roots/.build-<release>-<arch>-<pid>/, a
build in progress or one that was killed (never complete: the next build
or clean of that root removes it); roots/<release>-<arch>.log, the last
build's debootstrap output; roots/.lock-<release>-<arch>, the flock that
serialises build and clean of one root.

Mounts: `run` mounts inside a private mount namespace of its own
(unshare(CLONE_NEWNS), then / made recursively private), then chroots and
execs the command, so the mounts exist only in that namespace and vanish
with the command's last process, however it ends (SIGKILL included); the
host never sees them.  debootstrap runs the same way (unshare(1) with a
PID namespace, killed with its parent), so the proc and sys mounts it
makes in the target vanish with it too.  Mounts left under a root in the
host's namespace (by any older tool, or by hand) are detached before each
run, build and clean, and a tree is never deleted while anything is
mounted under it.

Limits: Linux, root only (debootstrap, chroot and mounts need it); the
architectures this kernel runs natively (amd64 and i386 on x86_64).
"""

import fcntl
import json
import os
import re
import select
import shutil
import struct
import sys
import tempfile
import time

from tools import procs

PROG = "debian-root"
RELEASES = ("bullseye", "bookworm", "trixie", "forky", "sid")
NATIVE_ARCHES = {"x86_64": ("amd64", "i386"), "aarch64": ("arm64", "armhf")}
PACKAGES = ("python3", "gcc", "libc6-dev", "make")
STAMP = ".cmsgref-root.json"
DEFAULT_CACHE = "/var/cache/cmsgref"
DEBOOTSTRAP_SCRIPTS = "/usr/share/debootstrap/scripts"
SOURCES = ("/etc/apt/sources.list", "/etc/apt/sources.list.d")
# Inside a root, PATH is Debian's default: the caller's PATH names host
# directories (pyenv, /usr/local) that mean something else in the root.
ROOT_PATH = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
# Device nodes bound from the host into a run's /dev (a tmpfs).
DEV_NODES = ("null", "zero", "full", "random", "urandom", "tty")
PROGRESS_EVERY = 5.0
REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
PYTHON_PROBE = ("import sys, platform, json; print(json.dumps("
                "{'version': platform.python_version(), "
                "'executable': sys.executable}))")

USAGE = """\
usage: debian-root build REL[/ARCH]... [--rebuild] [--mirror URL]
       debian-root run REL[/ARCH] [--env NAME=VALUE]... -- CMD [ARG...]
       debian-root info REL[/ARCH]
       debian-root list
       debian-root clean [REL[/ARCH]...]
       debian-root --help

Minimal Debian roots to run other Debian releases' CPythons in, made by
debootstrap --variant=minbase with: %(pkgs)s.
REL: %(rels)s.  ARCH: this machine's (%(arch)s)
by default; %(arches)s on kernels that run their programs (checked first).

  build   make each root once from the Debian mirror of this machine's apt
          sources (--mirror URL: another); a root already built is kept
          unless --rebuild.  Built in a temporary directory and renamed
          into place when complete, so an interrupted build never leaves a
          root that looks complete.  Progress goes to stderr, the root's
          path to stdout.
  run     run CMD chrooted in the root, with /proc, a minimal /dev (a
          tmpfs holding the host's %(devs)s
          and a private tmpfs /dev/shm), the host's /tmp and this
          repository at the same paths as outside (%(repo)s).
          The mounts live in a private mount namespace and vanish with CMD
          however it ends.  CMD starts in the caller's directory when that
          exists in the root (else /), with Debian's default PATH;
          --env NAME=VALUE sets a variable for CMD only (an LD_PRELOAD
          built for the root's libc belongs there, not in this command's
          own environment).  Exit status: CMD's; 127 if CMD cannot start.
  info    JSON: root path, arch, python3 path and version, glibc version.
  list    the roots built, and builds that did not finish.
  clean   remove the named roots (every root without one).

Cache: ${CMSGREF_CACHE:-%(cache)s}/roots/<rel>-<arch>.
Needs root, and debootstrap to build (apt-get install debootstrap;
DEBOOTSTRAP=PROG runs another program in its place).  Bad arguments: one
line on stderr, exit 2; a failed debootstrap: exit 1, its log's tail;
stdout's reader gone (`list | head`): quiet, exit 141 (as SIGPIPE shows).
"""


class UsageError(Exception):
    """A bad argument or an unmet precondition; str() is the one line."""


class Failed(Exception):
    """An operation that was tried and failed (exit 1); str() is one line."""


def say(msg):
    sys.stderr.write("%s: %s\n" % (PROG, msg))
    sys.stderr.flush()


def usage_text():
    return USAGE % {"pkgs": ", ".join(PACKAGES), "rels": ", ".join(RELEASES),
                    "arch": host_arch() or "unknown",
                    "arches": ", ".join(native_arches()) or "none",
                    "devs": ", ".join(DEV_NODES), "repo": REPO,
                    "cache": DEFAULT_CACHE}


# ---- names and places ---------------------------------------------------

def native_arches():
    return NATIVE_ARCHES.get(os.uname().machine, ())


def host_arch():
    arches = native_arches()
    return arches[0] if arches else None


def parse_target(text):
    """(release, arch) from 'REL' or 'REL/ARCH'; UsageError if unknown."""
    rel, _, arch = text.partition("/")
    if rel not in RELEASES:
        raise UsageError("unknown release %r (one of: %s)"
                         % (text[:60], ", ".join(RELEASES)))
    arch = arch or host_arch()
    if arch not in native_arches():
        raise UsageError("architecture %r does not run natively here "
                         "(one of: %s)" % (arch, ", ".join(native_arches())
                                           or "none"))
    return rel, arch


def _i386_exit0():
    """A complete i386 ELF executable whose code is exit(0) through int
    0x80: one PT_LOAD segment holding the headers and nine bytes of code."""
    base, ehsize, phsize = 0x08048000, 52, 32
    code = bytes([0xb8, 1, 0, 0, 0,         # mov eax, 1 (exit)
                  0x31, 0xdb,               # xor ebx, ebx (status 0)
                  0xcd, 0x80])              # int 0x80
    size = ehsize + phsize + len(code)
    ident = b"\x7fELF" + bytes([1, 1, 1]) + bytes(9)
    header = ident + struct.pack("<HHIIIIIHHHHHH", 2, 3, 1,
                                 base + ehsize + phsize, ehsize, 0, 0,
                                 ehsize, phsize, 1, 0, 0, 0)
    phdr = struct.pack("<IIIIIIII", 1, 0, base, base, size, size, 5, 0x1000)
    return header + phdr + code


def arch_runs(arch):
    """True when this kernel runs programs of arch: always for the host's
    own; for i386 on x86_64, when it runs a tiny i386 program (a kernel
    can have IA-32 emulation compiled in and switched off)."""
    if arch == host_arch():
        return True
    if arch != "i386":
        return arch in native_arches()
    fd, path = tempfile.mkstemp(prefix="debroot-i386-")
    try:
        os.write(fd, _i386_exit0())
        os.close(fd)
        os.chmod(path, 0o700)
        try:
            return procs.run([path], 10).returncode == 0
        except procs.UsageError:
            return False
    finally:
        os.unlink(path)


def require_arch_runs(arch):
    if not arch_runs(arch):
        raise UsageError("this kernel does not run %s programs (32-bit "
                         "emulation is off): no %s root can run here"
                         % (arch, arch))


def cache_dir():
    return os.path.join(os.environ.get("CMSGREF_CACHE") or DEFAULT_CACHE,
                        "roots")


def root_path(rel, arch):
    """Where the complete root of rel/arch is (whether or not it exists)."""
    return os.path.join(cache_dir(), "%s-%s" % (rel, arch))


def is_complete(path):
    return os.path.isfile(os.path.join(path, STAMP))


def read_stamp(path):
    try:
        with open(os.path.join(path, STAMP)) as f:
            return json.load(f)
    except (OSError, ValueError):
        return {}


def require_root_user():
    if os.geteuid() != 0:
        raise UsageError("needs root: debootstrap, chroot and the mounts a "
                         "root needs are root-only (running as uid %d)"
                         % os.geteuid())


# ---- mounts --------------------------------------------------------------

_LIBC = None
MS_RDONLY, MS_NOSUID, MS_NODEV, MS_NOEXEC = 1, 2, 4, 8
MS_BIND, MS_REC, MS_PRIVATE = 4096, 16384, 1 << 18
MNT_DETACH = 2
CLONE_NEWNS = 0x00020000


def _libc():
    global _LIBC
    if _LIBC is None:
        import ctypes
        _LIBC = ctypes.CDLL(None, use_errno=True)
    return _LIBC


def _check(rc, what):
    if rc != 0:
        import ctypes
        e = ctypes.get_errno()
        raise Failed("%s: %s" % (what, os.strerror(e)))


def mount(source, target, fstype, flags, data=None):
    """mount(2); Failed with one line on error."""
    enc = lambda s: None if s is None else s.encode()
    import ctypes
    _check(_libc().mount(enc(source), enc(target), enc(fstype),
                         ctypes.c_ulong(flags), enc(data)),
           "cannot mount %s on %s" % (fstype or source, target))


def _unescape(field):
    """A mountinfo path field: octal escapes (\\040 for a space) decoded."""
    return re.sub(r"\\([0-7]{3})", lambda m: chr(int(m.group(1), 8)), field)


def mounts_under(path, mountinfo="/proc/self/mountinfo"):
    """The mount points at or below path in this process's namespace,
    deepest first."""
    path = os.path.realpath(path)
    found = []
    with open(mountinfo) as f:
        for line in f:
            point = _unescape(line.split()[4])
            if point == path or point.startswith(path.rstrip("/") + "/"):
                found.append(point)
    return sorted(set(found), key=lambda p: (-p.count("/"), p))


def detach_mounts(path):
    """Detaches (umount2 MNT_DETACH) every mount at or below path in this
    namespace, deepest first; returns how many.  Failed if any remains."""
    n = 0
    for _ in range(8):          # stacked mounts need one pass each
        points = mounts_under(path)
        if not points:
            return n
        for point in points:
            if _libc().umount2(point.encode(), MNT_DETACH) == 0:
                n += 1
    left = mounts_under(path)
    if left:
        raise Failed("cannot unmount %s (still mounted under %s)"
                     % (left[0], path))
    return n


def remove_tree(path):
    """Deletes path after detaching every mount under it: a bind mount left
    there must never lead the deletion into what it shows."""
    if not os.path.lexists(path):
        return
    detach_mounts(path)
    try:
        shutil.rmtree(path)
    except OSError as e:
        raise Failed("cannot remove %s: %s" % (path, e.strerror or e))


class Lock(object):
    """The exclusive flock on roots/.lock-<rel>-<arch>: one build or clean
    of a root at a time.  Used as a context manager."""

    def __init__(self, rel, arch):
        self.path = os.path.join(cache_dir(), ".lock-%s-%s" % (rel, arch))
        self.fd = None

    def __enter__(self):
        os.makedirs(cache_dir(), exist_ok=True)
        self.fd = os.open(self.path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC,
                          0o644)
        try:
            fcntl.flock(self.fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            os.close(self.fd)
            self.fd = None
            raise UsageError("%s is being built or cleaned by another "
                             "debian-root (lock %s)" % (
                                 os.path.basename(self.path)[6:], self.path))
        return self

    def __exit__(self, *exc):
        os.close(self.fd)
        self.fd = None


# ---- the mirror ----------------------------------------------------------

def apt_mirror(sources=SOURCES):
    """The first Debian archive URI (not a security or updates one) named
    by the apt sources (one-line .list and deb822 .sources files), or
    None."""
    files = []
    for s in sources:
        if os.path.isdir(s):
            files += [os.path.join(s, n) for n in sorted(os.listdir(s))
                      if n.endswith((".list", ".sources"))]
        elif os.path.isfile(s):
            files.append(s)
    for name in files:
        try:
            with open(name) as f:
                text = f.read()
        except OSError:
            continue
        entries = []
        if name.endswith(".sources"):
            for para in re.split(r"\n\s*\n", text):
                fields = dict(
                    (k.strip().lower(), v.strip()) for k, _, v in
                    (l.partition(":") for l in para.splitlines()
                     if l and not l.startswith(("#", " ", "\t"))))
                if "deb" in fields.get("types", "").split():
                    for uri in fields.get("uris", "").split():
                        entries.append((uri, fields.get("suites", "")))
        else:
            for line in text.splitlines():
                words = re.sub(r"\[[^]]*\]", " ", line.split("#")[0]).split()
                if len(words) >= 3 and words[0] == "deb":
                    entries.append((words[1], words[2]))
        for uri, suites in entries:
            if uri.rstrip("/").endswith("/debian") and not any(
                    s.endswith("-security") for s in suites.split()):
                return uri
    return None


# ---- build ---------------------------------------------------------------

def _debootstrap_script(rel):
    """The script argument debootstrap needs for a release it does not
    know by name (one newer than it): Debian's releases all use sid's."""
    if os.path.exists(os.path.join(DEBOOTSTRAP_SCRIPTS, rel)):
        return []
    return [os.path.join(DEBOOTSTRAP_SCRIPTS, "sid")]


# debootstrap's verbs, folded into the phases a progress line names.
PHASES = {"retrieving": "downloading", "validating": "downloading",
          "extracting": "extracting", "installing": "unpacking",
          "unpacking": "unpacking", "configuring": "configuring",
          "base": "finished"}


class Progress(object):
    """Folds debootstrap's 'I: <Verb> <what>' lines into one line at the
    start of each phase (PHASES) and then one every PROGRESS_EVERY seconds:
    the phase, how many lines it has had, the latest item, the elapsed
    time.  W: and E: lines are relayed whole at once."""

    def __init__(self, name, out=None):
        self.name = name
        self.out = out or sys.stderr
        self.started = time.monotonic()
        self.phase, self.count, self.item = "starting", 0, ""
        self.last = 0.0

    def line(self, text):
        text = text.rstrip()
        if text.startswith(("W: ", "E: ")):
            self.emit(text)
            return
        if not text.startswith("I: "):
            return
        verb, _, rest = text[3:].partition(" ")
        phase = PHASES.get(verb.lower(), "preparing")
        new = phase != self.phase
        if new:
            self.phase, self.count = phase, 0
        self.count += 1
        self.item = rest.rstrip(".")
        if new or time.monotonic() - self.last >= PROGRESS_EVERY:
            self.show()

    def show(self):
        n = " %d" % self.count if self.count > 1 else ""
        item = (": " + self.item[:50]) if self.item else ""
        self.emit("%s%s%s" % (self.phase, n, item))

    def emit(self, text):
        self.last = time.monotonic()
        self.out.write("%s: %s [%3ds] %s\n" % (
            PROG, self.name, self.last - self.started, text))
        self.out.flush()

    def tick(self):
        if time.monotonic() - self.last >= PROGRESS_EVERY:
            self.show()


def _debootstrap_cmd(rel, arch, target, mirror):
    """debootstrap in a PID and mount namespace of its own that dies with
    this process (setpriv --pdeathsig, unshare --kill-child): nothing it
    starts or mounts outlives a killed build."""
    prog = os.environ.get("DEBOOTSTRAP") or "debootstrap"
    return (["setpriv", "--pdeathsig", "KILL", "--",
             "unshare", "--mount", "--propagation", "private", "--pid",
             "--fork", "--kill-child=KILL", "--mount-proc", "--",
             prog, "--variant=minbase", "--arch=" + arch,
             "--include=" + ",".join(PACKAGES), rel, target, mirror]
            + _debootstrap_script(rel))


def _stale_builds(rel, arch):
    prefix = ".build-%s-%s-" % (rel, arch)
    try:
        names = os.listdir(cache_dir())
    except OSError:
        return []
    return [os.path.join(cache_dir(), n) for n in sorted(names)
            if n.startswith(prefix)]


def _relay(child, progress, log):
    """Copies the child's output to log and its lines to progress until it
    ends; returns its returncode."""
    fd = child.stdout.fileno()
    buf = b""
    while True:
        ready, _, _ = select.select([fd], [], [], 1.0)
        if ready:
            data = os.read(fd, 65536)
            if not data:
                break
            log.write(data)
            buf += data
            *lines, buf = buf.split(b"\n")
            for line in lines:
                progress.line(line.decode("utf-8", "replace"))
        progress.tick()
    child.stdout.close()
    return child.wait()


def _tail(path, n=15):
    try:
        with open(path, "rb") as f:
            lines = f.read().decode("utf-8", "replace").splitlines()
    except OSError:
        return []
    return lines[-n:]


def _keep_inner_log(tmp, log_path):
    """Appends debootstrap's own log (inside the build directory, which is
    about to go) to log_path: the details its W: lines point at."""
    inner = os.path.join(tmp, "debootstrap", "debootstrap.log")
    try:
        with open(inner, "rb") as src, open(log_path, "ab") as dst:
            dst.write(b"--- debootstrap/debootstrap.log ---\n")
            shutil.copyfileobj(src, dst)
    except OSError:
        pass


def describe(path):
    """What a root holds: python3's path and version (asked of the root's
    python3, chrooted), the libc6 package's version and the glibc version
    it carries.  Failed if the root's python3 does not answer."""
    res = procs.run(["chroot", path, "/usr/bin/python3", "-c", PYTHON_PROBE],
                    timeout=60, env=dict(os.environ, PATH=ROOT_PATH))
    try:
        py = json.loads(res.text().strip().splitlines()[-1])
    except (ValueError, IndexError):
        raise Failed("the python3 of %s does not answer (%s): %s" % (
            path, res.status(), res.text("stderr").strip()[:200]))
    libc6 = dpkg_version(path, "libc6")
    m = re.match(r"(?:\d+:)?(\d+\.\d+)", libc6 or "")
    return {"python3": {"path": os.path.realpath(
                            os.path.join(path, "usr/bin/python3"))[len(path):],
                        "version": py["version"]},
            "libc6": libc6, "glibc": m.group(1) if m else None}


def dpkg_version(path, package):
    """The installed version of package in the root's dpkg status, or
    None."""
    try:
        with open(os.path.join(path, "var/lib/dpkg/status")) as f:
            text = f.read()
    except OSError:
        return None
    for para in text.split("\n\n"):
        if re.search(r"^Package: %s$" % re.escape(package), para, re.M) \
                and re.search(r"^Status: .* installed$", para, re.M):
            m = re.search(r"^Version: (\S+)$", para, re.M)
            return m.group(1) if m else None
    return None


def build(rel, arch, rebuild=False, mirror=None):
    """Makes the root of rel/arch unless it is complete (or rebuild).
    Returns the root's path; Failed if debootstrap fails."""
    final = root_path(rel, arch)
    name = "%s/%s" % (rel, arch)
    require_arch_runs(arch)
    with Lock(rel, arch):
        for stale in _stale_builds(rel, arch):
            say("%s: removing an unfinished build: %s" % (name, stale))
            remove_tree(stale)
        if is_complete(final) and not rebuild:
            say("%s: already built: %s (--rebuild to make it again)"
                % (name, final))
            return final
        mirror = mirror or apt_mirror()
        if not mirror:
            raise UsageError("no Debian mirror in %s: give --mirror URL"
                             % " or ".join(SOURCES))
        if not (os.environ.get("DEBOOTSTRAP") or shutil.which("debootstrap")):
            raise UsageError("debootstrap not found: apt-get install "
                             "debootstrap (.ci/run installs it)")
        tmp = os.path.join(cache_dir(), ".build-%s-%s-%d"
                           % (rel, arch, os.getpid()))
        log_path = os.path.join(cache_dir(), "%s-%s.log" % (rel, arch))
        os.makedirs(tmp)
        started = time.monotonic()
        say("%s: debootstrap from %s into %s" % (name, mirror, tmp))
        child = None
        try:
            with open(log_path, "wb") as log:
                child = procs.start(_debootstrap_cmd(rel, arch, tmp, mirror),
                                    stdout=procs.PIPE, stderr=procs.STDOUT)
                rc = _relay(child, Progress(name), log)
            if rc != 0:
                _keep_inner_log(tmp, log_path)
                for line in _tail(log_path):
                    sys.stderr.write("  " + line + "\n")
                raise Failed("%s: debootstrap failed (%s); log: %s" % (
                    name, child.result().status(), log_path))
            info = describe(tmp)
            info.update(release=rel, arch=arch, mirror=mirror,
                        packages=list(PACKAGES),
                        built=time.strftime("%Y-%m-%dT%H:%M:%SZ",
                                            time.gmtime()))
            with open(os.path.join(tmp, STAMP), "w") as f:
                json.dump(info, f, indent=1, sort_keys=True)
                f.write("\n")
            if os.path.lexists(final):
                old = os.path.join(cache_dir(), ".build-%s-%s-%d-old"
                                   % (rel, arch, os.getpid()))
                os.rename(final, old)
                os.rename(tmp, final)
                remove_tree(old)
            else:
                os.rename(tmp, final)
        finally:
            if child is not None and child.returncode is None:
                child.kill()
            remove_tree(tmp)
        say("%s: built in %ds: python %s, glibc %s: %s" % (
            name, time.monotonic() - started, info["python3"]["version"],
            info["glibc"], final))
    return final


def clean(targets):
    """Removes the roots (and unfinished builds) of targets: (rel, arch)
    pairs, or every root when targets is empty.  Returns what it removed."""
    if not targets:
        names = os.listdir(cache_dir()) if os.path.isdir(cache_dir()) else []
        targets = sorted(set(
            tuple(m.groups()) for m in
            (re.match(r"^(?:\.build-)?(%s)-([a-z0-9]+)(?:-\d+(?:-old)?)?$"
                      % "|".join(RELEASES), n) for n in names) if m))
    removed = []
    for rel, arch in targets:
        with Lock(rel, arch):
            for path in _stale_builds(rel, arch):
                remove_tree(path)
                removed.append(path)
            path = root_path(rel, arch)
            if os.path.lexists(path):
                # Out of its place first: a clean cut short never leaves
                # a half-deleted tree that still looks complete.
                detach_mounts(path)
                gone = os.path.join(cache_dir(), ".build-%s-%s-%d-old"
                                    % (rel, arch, os.getpid()))
                os.rename(path, gone)
                remove_tree(gone)
                removed.append(path)
    return removed


# ---- run -----------------------------------------------------------------

def _bind(source, target, is_dir):
    if is_dir:
        os.makedirs(target, exist_ok=True)
    elif not os.path.exists(target):
        open(target, "a").close()
    mount(source, target, None, MS_BIND)


def enter(root):
    """In this process: a private mount namespace, the run's mounts in it,
    chroot into root.  Returns the directory to start in (inside)."""
    libc = _libc()
    _check(libc.unshare(CLONE_NEWNS), "cannot make a mount namespace")
    mount(None, "/", None, MS_REC | MS_PRIVATE)
    mount("proc", os.path.join(root, "proc"), "proc",
          MS_NOSUID | MS_NODEV | MS_NOEXEC)
    dev = os.path.join(root, "dev")
    os.makedirs(dev, exist_ok=True)
    mount("tmpfs", dev, "tmpfs", MS_NOSUID | MS_NOEXEC, "mode=0755,size=64k")
    for node in DEV_NODES:
        if os.path.exists("/dev/" + node):
            _bind("/dev/" + node, os.path.join(dev, node), False)
    for i, std in enumerate(("stdin", "stdout", "stderr")):
        os.symlink("/proc/self/fd/%d" % i, os.path.join(dev, std))
    os.symlink("/proc/self/fd", os.path.join(dev, "fd"))
    os.makedirs(os.path.join(dev, "shm"))
    mount("tmpfs", os.path.join(dev, "shm"), "tmpfs",
          MS_NOSUID | MS_NODEV, "mode=1777")
    _bind("/tmp", os.path.join(root, "tmp"), True)
    _bind(REPO, root + REPO, True)
    cwd = os.getcwd()
    os.chroot(root)
    start_in = cwd if os.path.isdir(cwd) else "/"
    os.chdir(start_in)
    return start_in


def run(rel, arch, cmd, env_extra):
    """Execs cmd in the root of rel/arch (see enter()); returns only on
    failure: 127 when cmd cannot be started."""
    root = root_path(rel, arch)
    require_arch_runs(arch)
    if not is_complete(root):
        raise UsageError("%s/%s is not built: scripts/debian-root build %s"
                         % (rel, arch, rel if arch == host_arch()
                            else rel + "/" + arch))
    n = detach_mounts(root)
    if n:
        say("%s/%s: detached %d mount(s) a previous run left under %s"
            % (rel, arch, n, root))
    env = dict(os.environ, PATH=ROOT_PATH)
    env.update(env_extra)
    enter(root)
    try:
        os.execvpe(cmd[0], cmd, env)
    except OSError as e:
        say("cannot run %s in %s/%s: %s" % (cmd[0][:200], rel, arch,
                                             e.strerror or e))
        return 127


# ---- info and list -------------------------------------------------------

def info(rel, arch):
    root = root_path(rel, arch)
    if not is_complete(root):
        raise UsageError("%s/%s is not built: scripts/debian-root build %s"
                         % (rel, arch, rel))
    out = {"release": rel, "arch": arch, "root": root}
    out.update(describe(root))
    stamp = read_stamp(root)
    for key in ("mirror", "built", "packages"):
        out[key] = stamp.get(key)
    return out


def _locked(name):
    """True while a build or clean holds the lock of root name
    ("<rel>-<arch>")."""
    try:
        fd = os.open(os.path.join(cache_dir(), ".lock-" + name),
                     os.O_RDONLY | os.O_CLOEXEC)
    except OSError:
        return False
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        return False
    except OSError:
        return True
    finally:
        os.close(fd)


def listing():
    """Lines: each complete root and each unfinished build."""
    d = cache_dir()
    names = sorted(os.listdir(d)) if os.path.isdir(d) else []
    lines = []
    for n in names:
        path = os.path.join(d, n)
        if n.startswith(".build-"):
            if _locked(n[len(".build-"):].rsplit("-", 1)[0]):
                lines.append("building    %s" % path)
            else:
                lines.append("unfinished  %s (removed by the next build "
                             "or clean of that root)" % path)
        elif os.path.isdir(path) and is_complete(path):
            s = read_stamp(path)
            lines.append("%-16s python %-8s glibc %-5s %s" % (
                "%s/%s" % (s.get("release"), s.get("arch")),
                s.get("python3", {}).get("version"), s.get("glibc"), path))
    return lines


# ---- command line ---------------------------------------------------------

def _parse(argv):
    """(command, options dict) or UsageError."""
    if not argv:
        raise UsageError("no command (build, run, info, list, clean; "
                         "--help)")
    cmd, rest = argv[0], argv[1:]
    if cmd in ("-h", "--help", "help"):
        return "help", {}
    if cmd == "run":
        if "--" not in rest:
            raise UsageError("run: give the command after '--': "
                             "run REL -- CMD...")
        i = rest.index("--")
        head, command = rest[:i], rest[i + 1:]
        if not command:
            raise UsageError("run: no command after '--'")
        env, targets = {}, []
        while head:
            a = head.pop(0)
            if a == "--env" or a.startswith("--env="):
                v = a[6:] if a.startswith("--env=") else (
                    head.pop(0) if head else "")
                if not re.match(r"^[A-Za-z_][A-Za-z0-9_]*=", v):
                    raise UsageError("run: --env wants NAME=VALUE, not %r"
                                     % v[:60])
                k, _, val = v.partition("=")
                env[k] = val
            elif a.startswith("-"):
                raise UsageError("run: unknown option %r" % a[:60])
            else:
                targets.append(a)
        if len(targets) != 1:
            raise UsageError("run: give one REL[/ARCH] before '--'")
        return cmd, {"target": parse_target(targets[0]), "cmd": command,
                     "env": env}
    opts = {"rebuild": False, "mirror": None, "targets": []}
    while rest:
        a = rest.pop(0)
        if cmd == "build" and a == "--rebuild":
            opts["rebuild"] = True
        elif cmd == "build" and (a == "--mirror" or a.startswith("--mirror=")):
            v = a[9:] if a.startswith("--mirror=") else (
                rest.pop(0) if rest else "")
            if not re.match(r"^(https?|file)://\S+$", v):
                raise UsageError("build: --mirror wants a URL, not %r"
                                 % v[:60])
            opts["mirror"] = v
        elif a.startswith("-"):
            raise UsageError("%s: unknown option %r" % (cmd, a[:60]))
        else:
            opts["targets"].append(parse_target(a))
    if cmd == "build" and not opts["targets"]:
        raise UsageError("build: give REL[/ARCH] (one of: %s)"
                         % ", ".join(RELEASES))
    if cmd == "info" and len(opts["targets"]) != 1:
        raise UsageError("info: give one REL[/ARCH]")
    if cmd == "list" and opts["targets"]:
        raise UsageError("list takes no argument")
    if cmd not in ("build", "info", "list", "clean"):
        raise UsageError("unknown command %r (build, run, info, list, "
                         "clean; --help)" % cmd[:60])
    return cmd, opts


def main(argv=None):
    """Runs the command line argv (default sys.argv[1:]) and returns the
    exit status; `run` returns only when CMD could not be started (it
    execs CMD)."""
    argv = sys.argv[1:] if argv is None else argv
    try:
        cmd, opts = _parse(list(argv))
        if cmd == "help":
            sys.stdout.write(usage_text())
            return 0
        require_root_user()
        if cmd == "run":
            rel, arch = opts["target"]
            return run(rel, arch, opts["cmd"], opts["env"])
        if cmd == "build":
            def go():
                for rel, arch in opts["targets"]:
                    print(build(rel, arch, opts["rebuild"], opts["mirror"]))
                return 0
            return procs.guarded(PROG, go, what="debootstrap process(es)")
        if cmd == "info":
            print(json.dumps(info(*opts["targets"][0]), indent=1,
                             sort_keys=True))
            sys.stdout.flush()
            return 0
        if cmd == "list":
            for line in listing():
                print(line)
            sys.stdout.flush()
            return 0
        def go_clean():
            for path in clean(opts["targets"]):
                print("removed %s" % path)
            return 0
        return procs.guarded(PROG, go_clean)
    except BrokenPipeError:
        # stdout's reader went away (`info ... | head`): quiet, as a filter
        # killed by SIGPIPE; fd 1 to /dev/null so the exit's flush is too.
        try:
            fd = os.open(os.devnull, os.O_WRONLY)
            os.dup2(fd, 1)
            os.close(fd)
        except OSError:
            pass
        return 141
    except UsageError as e:
        say(str(e))
        return 2
    except (Failed, procs.UsageError) as e:
        say(str(e))
        return 1
