"""reference.py - the reference's own mutants, built and judged in a copy of
the repository so the working tree is never mutated.

Why: the reference's tests are worth what they catch.  Each mutant of
harness/src/ is judged by two sides:
  tests  `make check-unit` (unit + CLI tests), the same under gcc's
         ASan+UBSan (`make VARIANT=asan check-unit`, as `make check` runs
         it) and `make replay` (every corpus file through the ASan+UBSan
         replay builds)
  fuzz   a short libFuzzer run (fuzz/run.py, FUZZ seconds) of the target
         that exercises the mutated file (FUZZ_TARGET; cmsg_parse when the
         copy has no such target), over a throwaway own corpus
         directory plus the committed corpora, so one mutant's finds never
         reach the next mutant's judgement

The copy is `git archive HEAD` unpacked under /tmp (committed state only),
built with warnings not fatal (a mutant is judged on behaviour; a warning
it raises is not a kill) and removed on every way out (close()).
"""

import os
import shutil
import tempfile
import time

from tools import procs
from mutants.cpython import BuildError, stripped

FILES = ("walk.c", "models.c", "recv.c", "sock.c", "addr.c", "json.c",
         "cmsg_len.c")
# The fuzz target that exercises each file.
FUZZ_TARGET = {"walk.c": "cmsg_parse", "models.c": "cmsg_parse",
               "json.c": "cmsg_json", "cmsg_len.c": "cmsg_len",
               "recv.c": "recvmsg_fake", "sock.c": "recvmsg_fake",
               "addr.c": "recvmsg_fake"}
MAKE_VARS = ["WARN=-std=c11", "--no-print-directory"]


class Copy(object):
    """A built copy of the repository at HEAD (see the module docstring)."""

    def __init__(self, repo, fuzz_seconds=10, log=print):
        self.repo = repo
        self.fuzz_seconds = fuzz_seconds
        self.log = log
        self.dir = tempfile.mkdtemp(prefix="cmsgref-mutref-")
        r = procs.run(["sh", "-c", "git -C \"$1\" archive HEAD | tar -x -C "
                       "\"$2\"", "sh", repo, self.dir], 300)
        if r.returncode != 0:
            self.close()
            raise BuildError("git archive HEAD: %s" % r.text("stderr")[-300:])
        r = procs.run(["git", "-C", repo, "rev-parse", "HEAD"], 60)
        self.commit = r.text().strip()
        self.pristine = {}
        self.originals = {}

    def close(self):
        shutil.rmtree(self.dir, ignore_errors=True)

    def source(self, name):
        with open(os.path.join(self.dir, "harness", "src", name)) as f:
            return f.read()

    def _write(self, name, text):
        path = os.path.join(self.dir, "harness", "src", name)
        with open(path, "w") as f:
            f.write(text)
        now = time.time()
        os.utime(path, (now, now))

    def make(self, targets, timeout, extra=()):
        return procs.run(["make", "-C", self.dir] + MAKE_VARS + list(extra) +
                         list(targets), timeout)

    def _object(self, name):
        obj = "build/obj/harness/src/%s" % name.replace(".c", ".o")
        r = self.make([obj], 300)
        if r.returncode != 0:
            return False, "\n".join((r.text() + r.text("stderr"))
                                    .splitlines()[-3:])
        return True, stripped(os.path.join(self.dir, obj))

    def prepare(self):
        """Builds everything once and checks both sides pass unmutated;
        returns {side: seconds} of the baseline."""
        self.log("reference: building the copy in %s ..." % self.dir)
        r = self.make(["all", "tests", "fuzz-build-replay", "fuzz-build-fuzz"],
                      1800, extra=["-j2"])
        if r.returncode != 0:
            raise BuildError("reference copy does not build: %s" %
                             r.text("stderr")[-500:])
        for name in FILES:
            self.originals[name] = self.source(name)
            ok, obj = self._object(name)
            if not ok:
                raise BuildError("reference: %s does not compile: %s" % (
                    name, obj))
            self.pristine[name] = obj
        base = {}
        for side in ("tests", "fuzz"):
            t0 = time.monotonic()
            verdict = self.side(side, "walk.c", 1800)
            base[side] = time.monotonic() - t0
            if verdict["killed"]:
                raise BuildError("reference: side %s fails unmutated: %s" % (
                    side, verdict["why"]))
        return base

    def side(self, side, name, timeout):
        """Runs one side; {'killed': bool, 'why': str, 'seconds': s}."""
        t0 = time.monotonic()
        if side == "tests":
            steps = [(["check-unit"], "make check-unit"),
                     (["VARIANT=asan", "check-unit"],
                      "make VARIANT=asan check-unit"),
                     (["replay"], "make replay")]
            for targets, what in steps:
                r = self.make(targets, timeout)
                if r.timed_out:
                    return _verdict(True, "%s timed out (killed)" % what, t0)
                if r.returncode != 0:
                    return _verdict(True, "%s: %s: %s" % (
                        what, r.status(), _last(r)), t0)
            return _verdict(False, "", t0)
        r = self.make(["fuzz-build-fuzz", "fuzz-build-replay", "all"], 600)
        if r.returncode != 0:
            return _verdict(True, "fuzz build: %s" % _last(r), t0)
        target = FUZZ_TARGET[name]
        if not os.path.exists(os.path.join(self.dir, "fuzz", target + ".c")):
            target = "cmsg_parse"
        args = self.make(["fuzz-target-args", "TARGETS=%s" % target], 60)
        spec = args.text().split()[-1]          # NAME:own,others
        own = tempfile.mkdtemp(prefix="own-", dir=self.dir)
        try:
            tname, dirs = spec.split(":", 1)
            spec = "%s:%s,%s" % (tname, own, dirs)
            r = procs.run(["python3", "fuzz/run.py", "libfuzzer", "--seconds",
                           str(self.fuzz_seconds), "--progress", "0",
                           "--target", spec], timeout, cwd=self.dir)
        finally:
            shutil.rmtree(own, ignore_errors=True)
            shutil.rmtree(os.path.join(self.dir, "build", "findings"),
                          ignore_errors=True)
        if r.timed_out:
            return _verdict(True, "fuzz run timed out (killed)", t0)
        if r.returncode != 0:
            return _verdict(True, "fuzz %s: %s: %s" % (target, r.status(),
                                                       _last(r)), t0)
        return _verdict(False, "", t0)

    def judge(self, m, sides, timeouts):
        """Builds mutant m and runs the sides; returns (status, detail,
        {side: verdict}) with status 'judged', 'uncompilable' or
        'unchanged' (the same machine code as the original)."""
        original = self.originals[m.file]
        try:
            self._write(m.file, m.apply(original))
            ok, obj = self._object(m.file)
            if not ok:
                return "uncompilable", obj, {}
            if obj == self.pristine[m.file]:
                return "unchanged", "identical object code", {}
            out = {}
            for side in sides:
                out[side] = self.side(side, m.file, timeouts[side])
            return "judged", "", out
        finally:
            self._write(m.file, original)


def _verdict(killed, why, t0):
    return {"killed": killed, "why": why,
            "seconds": round(time.monotonic() - t0, 1)}


def _last(r):
    lines = [l for l in (r.text() + "\n" + r.text("stderr")).splitlines()
             if l.strip()]
    return " | ".join(lines[-2:])[-300:]
