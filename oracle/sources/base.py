"""sources/base.py - what every interpreter source provides: the entry.

A source is where interpreters come from (this machine's PATH and pyenv, a
Debian root, a musl build, a mutant build, ...); one module per source in
oracle/sources/, each with a SOURCE object of a Source subclass, listed in
oracle/sources/__init__.py's SOURCES.  A source hands the driver entries
(plain dicts, so they travel as JSON to the report and the workers):

  label         matrix column, unique in a run ("cpython-3.11.7")
  source        the source's name ("host")
  origin        where it came from, for people ("pyenv", "PATH",
                "PYTHONS", "Debian bookworm root", ...)
  identity      what makes two entries of one source the same interpreter
                (host: the real path of its sys.executable); entries are
                deduplicated by (source, identity), never by a host path
  executable    the interpreter as named (display; "missing" reasons)
  argv          the command that starts it, a list: a source that wraps
                the interpreter (a chroot, an emulator) puts its wrapper
                first; the worker's arguments are appended
  env           environment additions for every process run with argv
  select        what --pythons / PYTHONS takes to pick exactly this entry
                (the inject suite's reproducer uses it)
  status        "ok", "unsupported", "missing" or "broken"; reason: why not
  impl, version the probe's answer (e.g. "cpython", "3.11.7")
  libc, libc_version   the C library the interpreter runs on ("glibc",
                "2.36"; "unknown" when the probe cannot tell)
  model         the libc model the reference uses for it (cmsgref.h's
                names: "glibc", "glibc-legacy", "musl"); None until chosen
  model_how     how the model was chosen: "build-time" (the source knows
                the headers it was compiled against), "forced
                (CMSGREF_LIBC)" or "detected (K14/K18)" (sources/model.py)
  lib, shim     the libcmsgref.so and the LD_PRELOAD shim this
                interpreter's workers load (a worker on another libc needs
                builds of its own; the driver keeps loading its own lib)
  merged        other names of the same interpreter, folded into this one
  tag           (optional) a source's own name for the entry: its label
                is then "source:tag" ("debian:bullseye/python3.9")
  env_option    (optional) [OPTION, INDEX]: the wrapper in argv takes
                variables for the interpreter alone as OPTION NAME=VALUE
                at argv[INDEX] (scripts/debian-root run --env); the
                INNER_ENV variables go there (inner_env())

shell_line() writes a command that runs as printed from any directory:
"cd REPO && VAR=... argv... tail".  A source whose interpreter needs set-up
(a mount, a root) makes argv[0] a command that does it and undoes it.
Stdlib only; runs on every interpreter the worker runs on.
"""

import json
import os
import shlex
import subprocess

from oracle import REPO, REPO_LIB, REPO_SHIM

PROBE = (
    "import sys, os, platform, json\n"
    "try:\n"
    "    lv = os.confstr('CS_GNU_LIBC_VERSION')\n"
    "except (AttributeError, ValueError, OSError):\n"
    "    lv = None\n"
    "print(json.dumps({'impl': platform.python_implementation().lower(), "
    "'version': platform.python_version(), "
    "'version_info': list(sys.version_info[:3]), "
    "'executable': sys.executable, 'libc': lv or "
    "' '.join(platform.libc_ver())}))"
)
PROBE_TIMEOUT = 30
MIN_VERSION = {"cpython": (3, 6), "pypy": (3, 9)}


class Source(object):
    """The interface of an interpreter source (one module per source).

    name: the source's name, also entry["source"]; PYTHONS / --pythons
    items "NAME:..." are its own (oracle.sources.claimed).
    claims_rest: True for the one source that takes every other item (the
    host: paths and names on PATH).
    entries(requested): every interpreter it offers, each a probed entry
    (new_entry() then probe()); requested is None (discover everything) or
    the PYTHONS / --pythons items it claims (a list, maybe empty)."""

    name = None
    claims_rest = False

    def entries(self, requested=None):
        raise NotImplementedError


def new_entry(source, executable, argv=None, origin="", env=None,
              select=None, lib=REPO_LIB, shim=REPO_SHIM, model=None):
    """An unprobed entry (see the module doc); model: a source that knows
    the headers its interpreter was built against gives it (build-time)."""
    return {"label": executable, "source": source, "origin": origin,
            "identity": None, "executable": executable,
            "argv": list(argv or [executable]), "env": dict(env or {}),
            "select": select or executable, "status": "ok", "reason": "",
            "libc": "unknown", "libc_version": "", "model": model,
            "model_how": "build-time" if model else "", "lib": lib,
            "shim": shim, "merged": []}


def environ(entry, base=None, **extra):
    """The environment of a process run with entry's argv: base (default
    os.environ), the entry's additions, then extra."""
    env = dict(os.environ if base is None else base)
    env.update(entry.get("env") or {})
    env.update(extra)
    return env


# Variables for the interpreter alone, never its wrapper: a preload built
# for the interpreter's libc (a root's shim needing a newer glibc) would
# stop the loader of a wrapper run on the host's.
INNER_ENV = ("LD_PRELOAD", "CMSGREF_INJECT", "PYTHONMALLOC",
             "MALLOC_CHECK_", "MALLOC_PERTURB_")


def inner_env(entry, cmd, env):
    """(cmd, env) for running cmd (entry's argv and then the arguments)
    with env: for an entry with env_option, env's INNER_ENV variables
    move into cmd as the wrapper's options, so only the interpreter it
    starts gets them; otherwise both as they are."""
    how = entry.get("env_option")
    if not how:
        return cmd, env
    option, at = how
    env = dict(env)
    words = []
    for name in INNER_ENV:
        if name in env:
            words += [option, "%s=%s" % (name, env.pop(name))]
    return list(cmd[:at]) + words + list(cmd[at:]), env


def shell_line(entry, tail, env=None):
    """A shell command that runs entry's argv + tail from the repo, as
    printed from any directory: "cd REPO && K=V ... argv... tail".  env:
    variables the command needs beyond the entry's own ({name: value})."""
    q = shlex.quote
    pairs = sorted((entry.get("env") or {}).items()) + sorted(
        (env or {}).items())
    return "cd %s && %s%s" % (q(REPO), "".join(
        "%s=%s " % (k, q(v)) for k, v in pairs), " ".join(
        q(a) for a in list(entry["argv"]) + list(tail)))


def _said(out, limit=60):
    """The last line of a probe's output, as "(it printed: ...)" cut to
    limit characters, or "(it printed nothing)": enough to recognise the
    program, never the probe command (a non-Python may echo it)."""
    lines = [l.strip() for l in out.decode("utf-8", "replace")
             .replace(PROBE, "<probe>").splitlines() if l.strip()]
    if not lines:
        return "(it printed nothing)"
    line = lines[-1]
    return "(it printed: %s)" % (line if len(line) <= limit
                                  else line[:limit - 3] + "...")


def _answer(out):
    """The probe's answer (a dict with str impl, version, executable, libc
    and a version_info of ints) from its output's last line, or None if
    that is not what PROBE prints."""
    try:
        lines = out.decode("utf-8", "replace").strip().splitlines()
        info = json.loads(lines[-1]) if lines else None
    except ValueError:
        return None
    if not isinstance(info, dict):
        return None
    vi = info.get("version_info")
    if not (isinstance(info.get("impl"), str) and info["impl"]
            and isinstance(info.get("version"), str)
            and isinstance(info.get("executable"), (str, type(None)))
            and isinstance(info.get("libc", ""), str)
            and isinstance(vi, list) and len(vi) >= 2
            and all(type(x) is int for x in vi)):
        return None
    return info


def probe(entry):
    """Start the entry's interpreter and ask who it is; fills in status,
    reason and, when it answered, impl, version, libc, libc_version and
    "real" (its sys.executable as it sees it).  Returns the entry.  Never
    raises for a bad interpreter."""
    try:
        out = subprocess.check_output(
            list(entry["argv"]) + ["-c", PROBE], stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL, env=environ(entry),
            timeout=PROBE_TIMEOUT)
    except subprocess.TimeoutExpired:
        return _set(entry, "broken", "probe timed out after %ds"
                    % PROBE_TIMEOUT)
    except subprocess.CalledProcessError as e:
        return _set(entry, "broken", "probe exited with status %s %s"
                    % (e.returncode, _said(e.output or b"")))
    except OSError as e:
        return _set(entry, "broken", "cannot start it: %s"
                    % (e.strerror or e))
    info = _answer(out)
    if info is None:
        return _set(entry, "broken", "not a Python: no answer to the probe "
                    "%s" % _said(out))
    entry["impl"] = info["impl"]
    entry["version"] = info["version"]
    entry["real"] = info["executable"] or entry["executable"]
    libc = (info.get("libc") or "").split()
    if len(libc) == 2:
        entry["libc"], entry["libc_version"] = libc
    floor = MIN_VERSION.get(info["impl"])
    if floor is None:
        _set(entry, "unsupported", "implementation %s is not covered by "
             "the spec" % info["impl"])
    elif tuple(info["version_info"][:2]) < floor:
        _set(entry, "unsupported", "%s %s is older than %d.%d"
             % (info["impl"], info["version"], floor[0], floor[1]))
    return entry


def _set(entry, status, reason):
    entry["status"], entry["reason"] = status, reason
    return entry


def label(entry):
    """A short name: "cpython-3.11.7" (the executable if it never
    answered); a source other than the host prefixes its name."""
    if "impl" not in entry:
        return entry["executable"]
    name = "%s-%s" % (entry["impl"], entry["version"])
    if entry["source"] != "host":
        name = "%s:%s" % (entry["source"], entry.get("tag") or name)
    return name
