"""sources/debian.py - the CPythons of other Debian releases, each run in a
minimal root of its own (scripts/debian-root, tools/debroot.py).

Which: the releases $CMSGREF_DEBIAN names (`make conformance DEBIAN="bullseye
trixie"` sets it; REL or REL/ARCH, separated by spaces or commas), and every
PYTHONS / --pythons item of the form debian:REL[/ARCH][/NAME], which is also
each entry's "select" (NAME: python3.N, default the root's python3).  Each
root is built once (debian-root build, a few minutes, progress on stderr)
and reused.  The library and the injection shim are built inside the root
for its libc, into build/debian-<rel>-<arch>/ (make VARIANT=...), and are the
entry's lib and shim; the host's build/ is not touched.

An entry: label debian:bullseye/python3.9, origin "Debian bullseye
(amd64)", argv `REPO/scripts/debian-root run bullseye -- /usr/bin/python3.9`,
libc glibc 2.31.  The shim's preload and the heap checks' variables reach
the root's interpreter alone, as `run --env NAME=VALUE` (base.inner_env):
the host's python3 runs debian-root itself.  The model comes from the root's glibc version (the libc6
package the root holds): glibc-legacy before 2.36 (the CMSG_NXTHDR that
takes the buffer's base address, spec §3), glibc from 2.36 on; on a 32-bit
architecture (i386) their 32-bit twins glibc-legacy-i386 and glibc-i386.

Without root nothing here can run: a release $CMSGREF_DEBIAN names is left
out with one line on stderr saying so (the other sources' interpreters
still run); an item of the requested list is a broken entry ("needs
root"), which the driver refuses as it does any named interpreter that
cannot run.
"""

import os
import re
import sys

from oracle import REPO
from oracle.sources import base
from tools import debroot, procs

ENV = "CMSGREF_DEBIAN"
PREFIX = "debian:"
TOOL = os.path.join(REPO, "scripts", "debian-root")
# glibc 2.36 changed CMSG_NXTHDR to bound the next header by the control
# buffer's end alone; before it, the rule involves the buffer's base
# address (cmsgref.h's "glibc-legacy").
LEGACY_BEFORE = (2, 36)
# Architectures whose size_t is 32 bits: a 12-byte cmsghdr, 4-byte
# alignment, pointer sums modulo 2^32 (cmsgref.h's "-i386" models).
ILP32_ARCHES = ("i386", "armhf", "armel")
BUILD_TIMEOUT = 1800
MAKE_TIMEOUT = 600


def model_for(glibc, arch=None):
    """The model name for a glibc version string ("2.31") on arch (None:
    a 64-bit one), or None when it is not one."""
    m = re.match(r"^(\d+)\.(\d+)", glibc or "")
    if not m:
        return None
    name = "glibc-legacy" if (int(m.group(1)), int(m.group(2))) \
        < LEGACY_BEFORE else "glibc"
    return name + ("-i386" if arch in ILP32_ARCHES else "")


def parse_select(item):
    """(release, arch, name or None) from "debian:REL[/ARCH][/NAME]"; raises
    debroot.UsageError for an unknown release or architecture."""
    parts = item[len(PREFIX):].split("/")
    rel, arch, name = parts[0], None, None
    rest = parts[1:]
    if rest and not rest[0].startswith("python"):
        arch = rest.pop(0)
    if rest:
        name = rest.pop(0)
    if rest or (name is not None and not re.match(r"^python3(\.\d+)?$",
                                                  name)):
        raise debroot.UsageError("%r: not debian:REL[/ARCH][/python3.N]"
                                 % item)
    rel, arch = debroot.parse_target(rel + ("/" + arch if arch else ""))
    return rel, arch, name


def wanted(requested, environ=None):
    """[(item, release, arch, name or None, explicit)] that $CMSGREF_DEBIAN
    and the requested list ask for, in order, once each; explicit: the
    requested list names it (an item of both is explicit)."""
    environ = os.environ if environ is None else environ
    items = [(PREFIX + w, False) for w in re.split(r"[\s,]+",
                                                   environ.get(ENV, "")) if w]
    items += [(r, True) for r in (requested or ()) if r.startswith(PREFIX)]
    out, seen = [], {}
    for item, explicit in items:
        try:
            rel, arch, name = parse_select(item)
        except debroot.UsageError as e:
            out.append((item, None, None, str(e), explicit))
            continue
        key = (rel, arch, name)
        if key not in seen:
            seen[key] = len(out)
            out.append((item, rel, arch, name, explicit))
        elif explicit:
            out[seen[key]] = out[seen[key]][:4] + (True,)
    return out


def _tool(*args):
    return [TOOL] + list(args)


def _last_line(res):
    lines = (res.text("stderr") + res.text()).strip().splitlines()
    return lines[-1][-200:] if lines else res.status()


def _variant(rel, arch):
    return "debian-%s-%s" % (rel, arch)


def prepare(rel, arch):
    """Builds the root of rel/arch if it is not built (its progress on
    stderr), then the library and shim inside it.  Returns (info dict,
    None) or (None, reason)."""
    root = debroot.root_path(rel, arch)
    if not debroot.arch_runs(arch):
        return None, "this kernel does not run %s programs (32-bit " \
            "emulation is off)" % arch
    if not debroot.is_complete(root):
        res = procs.run(_tool("build", "%s/%s" % (rel, arch)),
                        BUILD_TIMEOUT, stdout=procs.DEVNULL, stderr=None)
        if res.returncode != 0:
            return None, "its root could not be built (%s): see " \
                "scripts/debian-root build %s/%s" % (res.status(), rel, arch)
    res = procs.run(_tool("run", "%s/%s" % (rel, arch), "--", "make", "-C",
                          REPO, "VARIANT=" + _variant(rel, arch), "lib",
                          "oracle-inject-shim"), MAKE_TIMEOUT)
    if res.returncode != 0:
        return None, "the library or shim did not build in the root " \
            "(%s): %s" % (res.status(), _last_line(res))
    return debroot.read_stamp(root), None


class DebianSource(base.Source):
    """Debian roots' CPythons (see the module doc)."""

    name = "debian"

    def entries(self, requested=None):
        todo = wanted(requested)
        if not todo:
            return []
        if os.geteuid() != 0:
            why = "scripts/debian-root needs root for chroot and mounts " \
                "(running as uid %d)" % os.geteuid()
            implicit = [t[0][len(PREFIX):] for t in todo if not t[4]]
            if implicit:
                sys.stderr.write("oracle: the Debian interpreters (%s) are "
                                 "not run: %s\n" % (" ".join(implicit), why))
            out = []
            for item, rel, arch, name, explicit in todo:
                if explicit:
                    e = base.new_entry(self.name, item, origin="Debian")
                    e.update(identity=item)
                    out.append(base._set(
                        e, "broken", "needs root for debian-root's chroot "
                        "and mounts (running as uid %d)" % os.geteuid()))
            return out
        out, prepared = [], {}
        for item, rel, arch, name, _ in todo:
            if rel is None:
                e = base.new_entry(self.name, item, origin="Debian")
                e.update(status="missing", reason=name, identity=item)
                out.append(e)
                continue
            if (rel, arch) not in prepared:
                prepared[(rel, arch)] = prepare(rel, arch)
            stamp, why = prepared[(rel, arch)]
            out.append(self.entry(rel, arch, name, stamp, why))
        return out

    def entry(self, rel, arch, name, stamp, why):
        """One probed entry for python `name` (None: python3) of rel/arch;
        stamp: the root's stamp (debroot.read_stamp), why: the reason it
        cannot run, or None."""
        where = rel if arch == debroot.host_arch() else rel + "/" + arch
        root = debroot.root_path(rel, arch)
        exe = "/usr/bin/" + (name or os.path.basename(
            (stamp or {}).get("python3", {}).get("path") or "python3"))
        out_dir = os.path.join(REPO, "build", _variant(rel, arch))
        glibc = (stamp or {}).get("glibc")
        model = model_for(glibc, arch)
        tag = "%s/%s" % (where, os.path.basename(exe))
        e = base.new_entry(
            self.name, PREFIX + tag,
            argv=_tool("run", where, "--", exe),
            origin="Debian %s (%s)" % (rel, arch), select=PREFIX + tag,
            lib=os.path.join(out_dir, "libcmsgref.so"),
            shim=os.path.join(out_dir, "inject", "libcrinject.so"),
            model=model)
        e.update(tag=tag, identity="%s/%s:%s" % (rel, arch, exe),
                 env_option=["--env", 3])    # run WHERE --env N=V -- exe
        if why:
            return base._set(e, "broken", why)
        if not os.path.exists(root + exe):
            return base._set(e, "missing", "%s has no %s" % (root, exe))
        if model is None:
            return base._set(e, "broken", "the root's glibc version is "
                             "unknown (%r)" % glibc)
        e["model_how"] = "the root's glibc %s" % glibc
        return base.probe(e)


SOURCE = DebianSource()
