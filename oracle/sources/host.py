"""sources/host.py - the interpreters of this machine: PATH and pyenv, or
the list PYTHONS / --pythons gives.

Candidates: python3, python3.N and pypy3 on PATH (in PATH order; pyenv's
shims only forward to a version found below, so they are passed over) and
every pyenv version's python3 (or pypy3, or python for a 2.x install).  An
explicit list replaces discovery: paths, or names looked up on PATH.  Each
file is probed once: names that resolve to one file (/bin/python3,
/usr/bin/python3 and python3.11 are often one binary) are folded into the
first (the entry's "merged" says which), and the probe's answer (the real
path of its sys.executable) is the identity.
"""

import glob
import os
import re
import shutil
from concurrent.futures import ThreadPoolExecutor

from oracle.sources import base

PROBES_AT_ONCE = 4

_NAME_RE = re.compile(r"^(python3(\.\d+)?|pypy3(\.\d+)?)$")


def path_candidates(path_env=None):
    """python3 / python3.N / pypy3 executables on PATH, in PATH order."""
    out = []
    for d in (path_env if path_env is not None
              else os.environ.get("PATH", "")).split(os.pathsep):
        if not d or not os.path.isdir(d):
            continue
        try:
            names = sorted(os.listdir(d))
        except OSError:
            continue
        for name in names:
            full = os.path.join(d, name)
            if _NAME_RE.match(name) and os.access(full, os.X_OK) \
                    and os.path.isfile(full):
                out.append(full)
    return out


def pyenv_candidates(root=None):
    """Every pyenv version's python3 (or python for a 2.x install)."""
    if root is None:
        root = os.environ.get("PYENV_ROOT") or os.path.expanduser("~/.pyenv")
    out = []
    for vdir in sorted(glob.glob(os.path.join(root, "versions", "*"))):
        for name in ("python3", "pypy3", "python"):
            full = os.path.join(vdir, "bin", name)
            if os.access(full, os.X_OK):
                out.append(full)
                break
    return out


class HostSource(base.Source):
    """This machine's interpreters (see the module doc)."""

    name = "host"
    claims_rest = True

    def entries(self, requested=None):
        if requested is not None:
            cands = [(c, "PYTHONS") for c in requested]
        else:
            cands = [(c, "PATH") for c in path_candidates()
                     if "/shims/" not in c] + \
                [(c, "pyenv") for c in pyenv_candidates()]
        by_file, out, todo = {}, [], []
        for c, origin in cands:
            exe = c
            if os.sep not in c:
                exe = shutil.which(c) or c
            real = os.path.realpath(exe)
            first = by_file.get(real)
            if first is not None:
                if exe != first["executable"]:
                    first["merged"].append(exe)
                continue
            e = base.new_entry(self.name, exe, origin=origin)
            if not os.path.exists(exe):
                e.update(status="missing", reason="no such file",
                         identity=os.path.abspath(exe))
            else:
                todo.append(e)
            by_file[real] = e
            out.append(e)
        # The probes wait on their interpreters' start: a few at once.
        with ThreadPoolExecutor(PROBES_AT_ONCE) as pool:
            for e in pool.map(base.probe, todo):
                e["identity"] = os.path.realpath(e.get("real") or
                                                 e["executable"])
        return out


SOURCE = HostSource()
