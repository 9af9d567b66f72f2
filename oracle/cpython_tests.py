"""cpython_tests.py - `make cpython-tests`: each installed CPython's own
test.test_socket recvmsg tests, natively and with oracle.reference.refsocket
installed.

Why: CPython's test suite is the upstream's own statement of what recvmsg()
and recvmsg_into() must do.  If the reference (libcmsgref through the
refsocket drop-in) passes everything the interpreter's native socket module
passes, the reference is at least as faithful as the tests can tell.  Each
interpreter runs its own copy of test.test_socket twice, in two processes:
  native     the interpreter's socket module;
  reference  oracle.reference.refsocket.install() first, so socket.socket.recvmsg,
             recvmsg_into, socket.CMSG_LEN and CMSG_SPACE are the reference.
The selection is the same in every version: the concrete (leaf) TestCase
classes of test.test_socket, and of those the tests whose id contains
"Recvmsg" (recvmsg and recvmsg_into, including InterruptedRecvTimeoutTest's
recvmsg methods), "SCMRights" or "CmsgMacro".  In 3.6-3.8 the mixins are
TestCase subclasses themselves; taking leaf classes only is what regrtest's
test_main() list does, and from 3.9 it is what `unittest -k` sees.

Exit status: 0 when, on every CPython that ships test.test_socket, every
test passing natively also passes with the reference; 1 otherwise (or when
a run crashes or times out, or an interpreter named in --pythons/PYTHONS is
missing or broken); 2 on bad arguments.  An interpreter without
test.test_socket (Debian's /usr/bin/python3 unless libpython3.X-testsuite is
installed) and PyPy (not a CPython: its tests are PyPy's) are reported as
not run, loudly, and do not fail the target unless --strict is given.

Usage: python3 -m oracle.cpython_tests [--pythons LIST] [--lib PATH]
       [--jobs N] [--timeout SECONDS] [--strict] [--verbose] [--out-dir D]
Per-run logs and raw outcomes go to build/cpython-tests/.
Each run is bounded by --timeout (default 900 s); a run that passes it is
killed (its whole tree, tools.procs) and counted as a failure.
"""

import argparse
import json
import os
import sys
import time

from tools import procs

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
SELECT = ("Recvmsg", "SCMRights", "CmsgMacro")
MODES = ("native", "reference")
EXIT_MISSING = 3


# ------------------------------------------------------------------ child

def select_tests(module, loader=None):
    """The selected tests of test.test_socket as a list of TestCase
    instances, in class-name then method-name order."""
    import unittest
    loader = loader or unittest.TestLoader()
    classes = [obj for obj in vars(module).values()
               if isinstance(obj, type) and issubclass(obj, unittest.TestCase)
               and obj.__module__ == module.__name__]
    leaves = [c for c in classes
              if not any(o is not c and issubclass(o, c) for o in classes)]
    out = []
    for cls in sorted(leaves, key=lambda c: c.__name__):
        for test in loader.loadTestsFromTestCase(cls):
            tid = test.id()
            if any(s in tid for s in SELECT):
                out.append(test)
    return out


def _make_result_class():
    import unittest

    class Recorder(unittest.TextTestResult):
        """Records one outcome per test id: pass, fail, error, skip,
        xfail, xpass.  A failing subtest makes its test fail."""

        def __init__(self, *a, **k):
            super(Recorder, self).__init__(*a, **k)
            self.outcomes = {}
            self.details = {}

        def _set(self, test, outcome, detail=None):
            tid = test.id()
            prev = self.outcomes.get(tid)
            if prev in ("fail", "error") and outcome == "pass":
                return
            self.outcomes[tid] = outcome
            if detail:
                self.details[tid] = detail[-1500:]

        def addSuccess(self, test):
            super(Recorder, self).addSuccess(test)
            self._set(test, "pass")

        def addFailure(self, test, err):
            super(Recorder, self).addFailure(test, err)
            self._set(test, "fail", self._exc_info_to_string(err, test))

        def addError(self, test, err):
            super(Recorder, self).addError(test, err)
            # Errors in class/module fixtures come with a pseudo test.
            self._set(test, "error", self._exc_info_to_string(err, test))

        def addSkip(self, test, reason):
            super(Recorder, self).addSkip(test, reason)
            self._set(test, "skip")

        def addExpectedFailure(self, test, err):
            super(Recorder, self).addExpectedFailure(test, err)
            self._set(test, "xfail")

        def addUnexpectedSuccess(self, test):
            super(Recorder, self).addUnexpectedSuccess(test)
            self._set(test, "xpass")

        def addSubTest(self, test, subtest, err):
            super(Recorder, self).addSubTest(test, subtest, err)
            if err is not None:
                self._set(test, "fail", self._exc_info_to_string(err, test))

    return Recorder


def child(mode, lib, out_path):
    """Runs the selection in this process in one mode and writes the JSON
    outcome to out_path.  Returns the exit status (EXIT_MISSING when
    test.test_socket cannot be imported)."""
    import unittest
    import platform
    info = {"mode": mode, "version": platform.python_version(),
            "executable": sys.executable}
    if mode == "reference":
        sys.path.insert(0, REPO)
        from oracle.reference import refsocket
        refsocket.load(lib)
        refsocket.install()
        info["lib"] = refsocket._State.path
    try:
        from test import test_socket
    except ImportError as e:
        info["missing"] = "cannot import test.test_socket: %s" % e
        with open(out_path, "w") as f:
            json.dump(info, f)
        return EXIT_MISSING
    tests = select_tests(test_socket)
    suite = unittest.TestSuite(tests)
    runner = unittest.TextTestRunner(stream=sys.stderr, verbosity=0,
                                     resultclass=_make_result_class())
    started = time.time()
    result = runner.run(suite)
    info["seconds"] = round(time.time() - started, 1)
    info["selected"] = len(tests)
    info["outcomes"] = result.outcomes
    info["details"] = result.details
    with open(out_path, "w") as f:
        json.dump(info, f)
    return 0


# ----------------------------------------------------------------- parent

class Run(object):
    """One child process: an interpreter in one mode (tools.procs runs
    it, bounded by timeout)."""

    def __init__(self, interp, mode, lib, tmpdir, timeout):
        self.interp, self.mode, self.timeout = interp, mode, timeout
        self.out = os.path.join(tmpdir, "%s-%s.json" % (interp["label"]
                                                        .replace("/", "_"),
                                                        mode))
        self.log = self.out[:-5] + ".log"
        self.cmd = list(interp.get("argv") or [interp["executable"]]) + [
            "-m", "oracle.cpython_tests", "--child", mode, "--lib", lib,
            "--out", self.out]
        self.child = None
        self.result = None
        self.problem = None

    def start(self):
        from oracle.sources import base
        env = base.environ(self.interp)
        env["PYTHONPATH"] = REPO + (os.pathsep + env["PYTHONPATH"]
                                    if env.get("PYTHONPATH") else "")
        env.pop("PYTHONHOME", None)
        try:
            self.child = procs.start(self.cmd, timeout=self.timeout,
                                     stdout=self.log, stderr=procs.STDOUT,
                                     env=env, cwd=REPO)
        except procs.UsageError as e:
            self.problem = str(e)

    def poll(self):
        """True once the child has ended (or was killed for its time)."""
        if self.child is None:
            return True
        if not self.child.done():
            return False
        res = self.child.result()
        if res.timed_out:
            self.problem = "timed out after %ds (killed)" % self.timeout
        try:
            with open(self.out) as f:
                self.result = json.load(f)
        except (OSError, ValueError):
            self.result = None
        if self.problem is None:
            if self.result is not None and "missing" in self.result:
                self.problem = "missing"
            elif res.returncode != 0 or self.result is None:
                self.problem = "crashed (%s); log %s" % (res.status(),
                                                         self.log)
        return True


def _counts(outcomes):
    c = {"pass": 0, "fail": 0, "error": 0, "skip": 0, "xfail": 0,
         "xpass": 0}
    for v in outcomes.values():
        c[v] = c.get(v, 0) + 1
    return c


def _fmt(c):
    return "%d/%d/%d/%d" % (c["pass"] + c["xfail"], c["fail"] + c["xpass"],
                            c["error"], c["skip"])


def run_all(interps, lib, jobs, timeout, tmpdir, out):
    """Runs both modes of every interpreter, at most `jobs` at a time.
    Returns {label: {mode: Run}}."""
    pending = []
    for it in interps:
        for mode in MODES:
            pending.append(Run(it, mode, lib, tmpdir, timeout))
    running = []
    done = {}
    while pending or running:
        while pending and len(running) < jobs:
            r = pending.pop(0)
            r.start()
            running.append(r)
        time.sleep(0.2)
        for r in list(running):
            if r.poll():
                running.remove(r)
                done.setdefault(r.interp["label"], {})[r.mode] = r
                out.write("  %-22s %-9s %s\n" % (
                    r.interp["label"], r.mode,
                    r.problem or "%d tests in %ss" % (
                        r.result["selected"], r.result["seconds"])))
                out.flush()
    return done


def compare(native, reference):
    """Tests passing natively that do not pass with the reference:
    [(test id, reference outcome)]."""
    good = ("pass", "xfail")
    out = []
    for tid, o in sorted(native.items()):
        if o in good and reference.get(tid) not in good:
            out.append((tid, reference.get(tid, "absent")))
    return out


class _Parser(argparse.ArgumentParser):
    def error(self, message):
        sys.stderr.write("oracle.cpython_tests: %s\n" % message)
        sys.exit(2)


def main(argv=None):
    """The command line (see the module doc); a stop signal kills every
    run's tree (tools.procs.guarded)."""
    return procs.guarded("oracle.cpython_tests", lambda: _main(argv),
                         what="run(s)")


def _main(argv):
    ap = _Parser(prog="python3 -m oracle.cpython_tests")
    ap.add_argument("--pythons", default=None,
                    help="interpreters (default: PYTHONS, else discovery)")
    ap.add_argument("--lib", default=os.path.join(REPO, "build",
                                                  "libcmsgref.so"))
    ap.add_argument("--jobs", type=int, default=2)
    ap.add_argument("--timeout", type=int, default=900)
    ap.add_argument("--strict", action="store_true",
                    help="fail when an interpreter cannot run the tests")
    ap.add_argument("--verbose", action="store_true")
    ap.add_argument("--out-dir", default=os.path.join(REPO, "build",
                                                      "cpython-tests"),
                    help="logs and raw outcomes (default build/cpython-tests)")
    ap.add_argument("--child", choices=MODES, help=argparse.SUPPRESS)
    ap.add_argument("--out", help=argparse.SUPPRESS)
    args = ap.parse_args(argv)
    if args.child:
        if not args.out:
            ap.error("--child needs --out")
        return child(args.child, args.lib, args.out)
    if args.jobs < 1 or args.timeout < 1:
        ap.error("--jobs and --timeout must be positive")
    lib = os.path.abspath(args.lib)
    if not os.path.exists(lib):
        sys.stderr.write("oracle.cpython_tests: %s not found (run make)\n"
                         % lib)
        return 2
    sys.path.insert(0, REPO)
    from oracle.reference.lib import forced_model_problem
    why = forced_model_problem(lib)
    if why:
        sys.stderr.write("oracle.cpython_tests: %s\n" % why)
        return 2
    from oracle import sources
    explicit = bool(args.pythons or os.environ.get("PYTHONS"))
    entries = sources.discover(args.pythons)
    out = sys.stdout
    interps = []
    notrun = []
    bad = 0
    for e in entries:
        if e["status"] != "ok":
            notrun.append((e, "%s: %s" % (e["status"], e["reason"])))
            if explicit and e["status"] in ("missing", "broken"):
                bad = 1  # an interpreter the user named does not work
        elif e["impl"] != "cpython":
            notrun.append((e, "not CPython: test.test_socket is "
                           "CPython's own suite"))
        else:
            interps.append(e)
    if not interps:
        sys.stderr.write("oracle.cpython_tests: no usable CPython (%s)\n" %
                         "; ".join("%s: %s" % (e["executable"], why)
                                   for e, why in notrun) or "none found")
        return 1
    out.write("make cpython-tests: %d CPython(s); selection: leaf classes "
              "of test.test_socket, ids containing %s\n"
              % (len(interps), " / ".join(SELECT)))
    tmpdir = os.path.abspath(args.out_dir)
    if not os.path.isdir(tmpdir):
        os.makedirs(tmpdir)
    done = run_all(interps, lib, args.jobs, args.timeout, tmpdir, out)
    out.write("\n%-22s %8s  %-20s %-20s %s\n" % (
        "interpreter", "selected", "native p/f/e/s", "reference p/f/e/s",
        "verdict"))
    for it in interps:
        runs = done[it["label"]]
        n, r = runs["native"], runs["reference"]
        if n.problem == "missing" or r.problem == "missing":
            why = (n.result or r.result or {}).get("missing", "missing")
            notrun.append((it, why))
            out.write("%-22s %8s  %-20s %-20s %s\n" % (
                it["label"], "-", "-", "-", "NOT RUN (see below)"))
            continue
        if n.problem or r.problem:
            bad = 1
            out.write("%-22s %8s  %-20s %-20s FAILED: %s\n" % (
                it["label"], "-",
                n.problem and "native run" or "", r.problem and
                "reference run" or "", n.problem or r.problem))
            continue
        no, ro = n.result["outcomes"], r.result["outcomes"]
        lost = compare(no, ro)
        verdict = "ok" if not lost else "FAIL: %d test(s) pass natively " \
            "but not with the reference" % len(lost)
        if lost:
            bad = 1
        out.write("%-22s %8d  %-20s %-20s %s\n" % (
            it["label"], n.result["selected"], _fmt(_counts(no)),
            _fmt(_counts(ro)), verdict))
        for tid, o in lost[:50 if args.verbose else 10]:
            out.write("    %s: native pass, reference %s\n" % (tid, o))
            detail = r.result["details"].get(tid)
            if detail and args.verbose:
                out.write("      " + detail.replace("\n", "\n      ") + "\n")
    for e, why in notrun:
        out.write("NOT RUN %s (%s): %s\n" % (e["label"], e["executable"], why))
        if "import test.test_socket" in why and \
                e["executable"].startswith("/usr/bin/"):
            ver = ".".join(e.get("version", "3.X").split(".")[:2])
            out.write("        (Debian: apt-get install libpython%s-testsuite "
                      "provides test.test_socket)\n" % ver)
    if notrun and args.strict:
        bad = 1
    out.write("logs and raw outcomes: %s\n" % tmpdir)
    out.write("RESULT: %s\n" % ("FAIL" if bad else "PASS"))
    return bad


if __name__ == "__main__":
    sys.exit(main())
