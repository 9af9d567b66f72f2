"""sources/musl.py - CPython built against musl (scripts/musl-python): the
musl model (spec §3) on a real interpreter.

Which: the versions $CMSGREF_MUSL names (`make conformance MUSL=3.11` sets
it; separated by spaces or commas), and every PYTHONS / --pythons item
musl:VERSION, which is also each entry's "select".  Each interpreter is
built once (scripts/musl-python build, from Debian's source packages with
musl-gcc, progress on stderr, cached outside the tree) and reused.  The
library and the injection shim its workers load are built with musl-gcc
(make VARIANT=musl: build/musl/); the driver keeps its own.

An entry: label musl:3.11, origin "musl-gcc build of Debian's python3.11",
libc "musl" and the version of the musl package musl-gcc links against.
The model is "musl", build-time: the interpreter was compiled against
musl's <sys/socket.h>.
"""

import os
import re
import subprocess

from oracle import REPO
from oracle.sources import base
from tools import procs

ENV = "CMSGREF_MUSL"
PREFIX = "musl:"
TOOL = os.path.join(REPO, "scripts", "musl-python")
VERSIONS = ("3.11",)
BUILD_TIMEOUT = 3 * 3600
MAKE_TIMEOUT = 600
OUT = os.path.join(REPO, "build", "musl")


def wanted(requested, environ=None):
    """[(item, version or None, reason)] that $CMSGREF_MUSL and the
    requested list ask for, in order, once each; version None means the
    item names none served (reason says why)."""
    environ = os.environ if environ is None else environ
    items = [PREFIX + w for w in re.split(r"[\s,]+", environ.get(ENV, ""))
             if w]
    items += [r for r in (requested or ()) if r.startswith(PREFIX)]
    out, seen = [], set()
    for item in items:
        ver = item[len(PREFIX):]
        if ver in seen:
            continue
        seen.add(ver)
        if ver not in VERSIONS:
            out.append((item, None, "%r: musl builds are made of CPython %s"
                        % (item, ", ".join(VERSIONS))))
        else:
            out.append((item, ver, ""))
    return out


def musl_version():
    """The version of the musl package musl-gcc links against ("1.2.3"),
    or "" when dpkg does not know it."""
    try:
        out = subprocess.check_output(
            ["dpkg-query", "-W", "-f", "${Version}", "musl-dev"],
            stderr=subprocess.DEVNULL, timeout=30)
    except (OSError, subprocess.SubprocessError):
        return ""
    return out.decode("ascii", "replace").split("-")[0]


def _last_line(res):
    lines = (res.text("stderr") + res.text()).strip().splitlines()
    return lines[-1][-200:] if lines else res.status()


def prepare(version):
    """Builds the interpreter if it is not built (its progress on stderr),
    then the library and shim with musl-gcc.  Returns (python path, None)
    or (None, reason)."""
    res = procs.run([TOOL, "path", version], 60)
    if res.returncode != 0:
        res = procs.run([TOOL, "build", version], BUILD_TIMEOUT,
                        stderr=None)
        if res.returncode != 0:
            return None, "it could not be built (%s): see scripts/" \
                "musl-python build %s" % (res.status(), version)
    python = res.text().strip().splitlines()[-1]
    made = procs.run(["make", "-C", REPO, "VARIANT=musl", "lib",
                      "oracle-inject-shim"], MAKE_TIMEOUT)
    if made.returncode != 0:
        return None, "the library or shim did not build with musl-gcc " \
            "(%s): %s" % (made.status(), _last_line(made))
    return python, None


class MuslSource(base.Source):
    """musl-built CPythons (see the module doc)."""

    name = "musl"

    def entries(self, requested=None):
        out = []
        for item, version, why in wanted(requested):
            e = base.new_entry(
                self.name, item, origin="musl-gcc build of Debian's "
                "python%s" % (version or "?"), select=item,
                lib=os.path.join(OUT, "libcmsgref.so"),
                shim=os.path.join(OUT, "inject", "libcrinject.so"),
                model="musl")
            e.update(tag=version or item[len(PREFIX):], identity=item)
            if version is None:
                out.append(base._set(e, "missing", why))
                continue
            python, why = prepare(version)
            if python is None:
                out.append(base._set(e, "broken", why))
                continue
            e["executable"] = python
            e["argv"] = [python]
            e["model_how"] = "build-time (compiled against musl's headers)"
            base.probe(e)
            if e.get("libc", "unknown") == "unknown":
                e["libc"], e["libc_version"] = "musl", musl_version()
            out.append(e)
        return out


SOURCE = MuslSource()
