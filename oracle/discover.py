"""discover.py - find every Python interpreter the oracle should run.

Why: `make conformance` compares *every* Python on the machine against the
reference (issue 4, item 4).  Interpreters come from PYTHONS (an explicit
list, which replaces discovery) or from PATH (python3, python3.N, pypy3) and
pyenv's versions directory.  Each candidate is probed in its own process; the
answer (implementation, version, real executable) is what dedupes them.

Limits: the oracle supports CPython 3.6+ and PyPy 3.9+ (the versions the spec
covers).  Older or unknown interpreters are reported as "unsupported", not
dropped; a PYTHONS entry that does not exist is "missing"; one that does not
start is "broken".  Nothing is skipped silently: the driver prints every
entry whose status is not "ok".

Usage: python3 -m oracle.discover [--json | --help]
"""

import glob
import json
import os
import re
import shutil
import subprocess
import sys

PROBE = (
    "import sys, platform, json; "
    "print(json.dumps({'impl': platform.python_implementation().lower(), "
    "'version': platform.python_version(), "
    "'version_info': list(sys.version_info[:3]), "
    "'executable': sys.executable}))"
)
PROBE_TIMEOUT = 30
MIN_VERSION = {"cpython": (3, 6), "pypy": (3, 9)}
_NAME_RE = re.compile(r"^(python3(\.\d+)?|pypy3(\.\d+)?)$")


def split_list(text):
    """PYTHONS is a list separated by ':', ',' or whitespace; a value that
    names an existing file as a whole is that one interpreter, so a path
    holding a separator (a space, a comma, a colon) can be given alone."""
    if os.path.isfile(text):
        return [text]
    return [p for p in re.split(r"[:,\s]+", text) if p]


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
    """The probe's answer (a dict with str impl, version, executable and a
    version_info of ints) from its output's last line, or None if that is
    not what PROBE prints."""
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
            and isinstance(vi, list) and len(vi) >= 2
            and all(type(x) is int for x in vi)):
        return None
    return info


def probe(executable):
    """Start executable and ask who it is.

    Returns a dict {"executable", "status", "reason", and when it answered
    "impl", "version", "real"}; status is "ok", "unsupported", "missing" or
    "broken".  Never raises for a bad candidate."""
    entry = {"executable": executable, "status": "ok", "reason": ""}
    if os.sep not in executable:
        found = shutil.which(executable)
        if found:
            executable = entry["executable"] = found
    if not os.path.exists(executable):
        entry.update(status="missing", reason="no such file")
        return entry
    try:
        out = subprocess.check_output([executable, "-c", PROBE],
                                      stderr=subprocess.STDOUT,
                                      timeout=PROBE_TIMEOUT)
    except subprocess.TimeoutExpired:
        entry.update(status="broken", reason="probe timed out after %ds"
                     % PROBE_TIMEOUT)
        return entry
    except subprocess.CalledProcessError as e:
        entry.update(status="broken", reason="probe exited with status %s %s"
                     % (e.returncode, _said(e.output or b"")))
        return entry
    except OSError as e:
        entry.update(status="broken", reason="cannot start it: %s"
                     % (e.strerror or e))
        return entry
    info = _answer(out)
    if info is None:
        entry.update(status="broken", reason="not a Python: no answer to the "
                     "probe %s" % _said(out))
        return entry
    entry["impl"] = info["impl"]
    entry["version"] = info["version"]
    entry["real"] = os.path.realpath(info["executable"] or executable)
    floor = MIN_VERSION.get(info["impl"])
    if floor is None:
        entry.update(status="unsupported",
                     reason="implementation %s is not covered by the spec"
                     % info["impl"])
    elif tuple(info["version_info"][:2]) < floor:
        entry.update(status="unsupported",
                     reason="%s %s is older than %d.%d" %
                     (info["impl"], info["version"], floor[0], floor[1]))
    return entry


def label(entry):
    """A short unique-ish name: "cpython-3.11.7" (the path if unknown)."""
    if "impl" not in entry:
        return entry["executable"]
    return "%s-%s" % (entry.get("impl", "?"), entry.get("version", "?"))


def discover(pythons=None):
    """The interpreters to run, each probed once.

    pythons: an explicit list (or PYTHONS-style string); None means PYTHONS
    from the environment if set, else PATH + pyenv.  Returns a list of probe
    entries, deduplicated by real executable, ok entries first in version
    order; labels of two different executables with the same version get
    the executable appended so matrix columns stay distinct."""
    if pythons is None:
        pythons = os.environ.get("PYTHONS") or None
    if isinstance(pythons, str):
        pythons = split_list(pythons)
    explicit = pythons is not None
    cands = list(pythons) if explicit else \
        path_candidates() + pyenv_candidates()
    if not explicit:    # pyenv shims only forward to a version found below
        cands = [c for c in cands if "/shims/" not in c]
    # One probe per file: /bin/python3, /usr/bin/python3 and python3.11 are
    # often one binary (the first name given is kept).  A probe is an
    # interpreter's startup (0.1-0.3 s): the repeats were 1.5 s of every
    # `make conformance` here.
    files, unique = set(), []
    for c in cands:
        real = os.path.realpath(shutil.which(c) or c) if os.sep not in c \
            else os.path.realpath(c)
        if real not in files:
            files.add(real)
            unique.append(c)
    seen = set()
    entries = []
    for c in unique:
        e = probe(c)
        key = e.get("real", os.path.abspath(c))
        if key in seen:
            continue
        seen.add(key)
        entries.append(e)
    counts = {}
    for e in entries:
        counts[label(e)] = counts.get(label(e), 0) + 1
    for e in entries:
        e["label"] = label(e)
        if counts[e["label"]] > 1:
            e["label"] += "@" + e["executable"]

    def order(e):
        ver = tuple(int(x) for x in re.findall(r"\d+", e.get("version", "")))
        return (e["status"] != "ok", e.get("impl", "~"), ver, e["label"])
    entries.sort(key=order)
    return entries


USAGE = """usage: python3 -m oracle.discover [--json]
Lists the interpreters `make conformance` would run (PYTHONS, else PATH and
pyenv), one a line: status, label, executable, reason; --json prints the
probe entries instead.  Exit status 0, 2 on bad arguments.
"""


def stdout_gone():
    """After a BrokenPipeError on stdout (its reader, `head` say, went
    away): point fd 1 at /dev/null so the interpreter's last flush cannot
    raise again, and return 141, the status a shell shows for a process
    killed by SIGPIPE.  oracle.worker and the suites' command lines use it
    too."""
    try:
        fd = os.open(os.devnull, os.O_WRONLY)
        os.dup2(fd, sys.stdout.fileno())
        os.close(fd)
    except (OSError, ValueError, AttributeError):
        pass
    return 141


def main(argv=None):
    argv = sys.argv[1:] if argv is None else argv
    if argv and argv[0] in ("-h", "--help"):
        sys.stdout.write(USAGE)
        return 0
    if argv not in ([], ["--json"]):
        sys.stderr.write("oracle.discover: bad arguments %s (usage: python3 "
                         "-m oracle.discover [--json])\n" % " ".join(argv))
        return 2
    entries = discover()
    try:
        if argv == ["--json"]:
            print(json.dumps(entries, indent=1))
        else:
            for e in entries:
                print("%-12s %-28s %s %s" % (e["status"], e["label"],
                                             e["executable"], e["reason"]))
        sys.stdout.flush()
    except BrokenPipeError:
        return stdout_gone()
    return 0


if __name__ == "__main__":
    sys.exit(main())
