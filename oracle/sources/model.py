"""sources/model.py - the libc model the reference uses for each
interpreter, chosen once per interpreter, before any worker runs; both
suites' references use it (the worker's --libc).

How, in order (the entry's model_how says which):
  forced (CMSGREF_LIBC)  the environment names a model for every
                         interpreter of the run;
  build-time             the source knows the headers the interpreter was
                         compiled against and set entry["model"];
  detected (K14/K18)     the interpreter's own recvmsg, with its shim
                         preloaded, tells the models apart (spec §3;
                         oracle.suites.inject.detect), all interpreters at
                         once, each bounded by DETECT_TIMEOUT;
  library host model     without a shim to detect with (a run of the
                         sockets suite alone), the model libcmsgref.so
                         was built for.
An interpreter whose model cannot be chosen keeps model None and a
model_how saying why; the driver reports its cases as one ERROR a suite.
"""

import os

from oracle import REPO
from oracle.sources import base
from tools import procs

DETECT = "oracle.suites.inject.detect"
DETECT_TIMEOUT = 60
FORCED = "forced (CMSGREF_LIBC)"
DETECTED = "detected (K14/K18)"
HOST = "library host model (no shim to detect with)"


def choose(entries, host, forced=None):
    """Sets model and model_how of every ok entry (see the module doc).
    host: the model name the library was built for, taken when there is
    no shim to detect with; forced: a model name for all (default:
    $CMSGREF_LIBC)."""
    forced = forced if forced is not None else os.environ.get("CMSGREF_LIBC")
    todo = []
    for e in entries:
        if e["status"] != "ok":
            continue
        if forced:
            e["model"], e["model_how"] = forced, FORCED
        elif e.get("model"):
            e["model_how"] = e.get("model_how") or "build-time"
        elif not os.path.isfile(e["shim"]):
            e["model"] = host
            e["model_how"] = HOST
        else:
            todo.append(e)
    children = []
    for e in todo:
        env = base.environ(e, PYTHONPATH=REPO, LD_PRELOAD=e["shim"],
                           CMSGREF_LIB=e["lib"])
        env.pop("CMSGREF_LIBC", None)
        cmd, env = base.inner_env(e, list(e["argv"]) + ["-m", DETECT], env)
        try:
            children.append((e, procs.start(
                cmd, timeout=DETECT_TIMEOUT,
                stdout=procs.CAPTURE, stderr=procs.CAPTURE, env=env,
                cwd=REPO)))
        except procs.UsageError as err:
            e["model"], e["model_how"] = None, "not chosen: %s" % err
    for e, child in children:
        res = child.finish()
        name = res.text().strip()
        if res.returncode == 0 and name:
            e["model"], e["model_how"] = name, DETECTED
        else:
            lines = (res.text("stderr") or res.text()).strip().splitlines()
            e["model"] = None
            e["model_how"] = "not chosen: detection %s%s" % (
                res.status(), ": " + lines[-1][-160:] if lines else "")
    return entries

