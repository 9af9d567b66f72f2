"""suites/sockets/children.py - a forked child that runs native sides for
the scenarios whose call can kill the process (the table's "isolate").

One child serves such cases one after another while it lives; a side that
kills it becomes a "process-crash" result (canon.crash_result) and the
next case forks a new child.  The child exits when its request pipe
reaches EOF (the parent closed it or died), so it never outlives the
worker.
"""

import json
import os
import sys

from oracle.judge import canon

def _fork(body):
    """Fork a child that runs body() and _exits with what it returns (0
    for None, 3 if it raised); returns the child's pid to the parent, who
    must reap it.  stdio is flushed first so nothing buffered is written
    twice."""
    sys.stdout.flush()
    sys.stderr.flush()
    pid = os.fork()
    if pid == 0:
        code = 3
        try:
            code = body() or 0
        except BaseException:
            pass
        os._exit(code)
    return pid


def _write_all(fd, data):
    while data:
        data = data[os.write(fd, data):]


class Isolator(object):
    """One forked child that runs native sides one after another (one fork
    for a run of isolated cases, not one each).  side(case_id) is what the
    child runs for a case: it returns (native canonical result, the fd
    leaks of that side in the child's own table), so the native side's
    leak check is made where the side runs.  changed() is called whenever
    the parent's fd table changes here (the pipes are opened or closed), so
    the caller can list it again.  Protocol: the parent writes a case id
    and a newline; the child answers with one JSON line {"result": ...,
    "leaks": [...]}, or dies: a signal, or exit status 3 when side()
    raised.  Owns its two pipe ends until stop()."""

    def __init__(self, side, changed):
        self.side, self.changed = side, changed
        self.pid = None
        self.req = None     # parent's write end of the request pipe
        self.rep = None     # parent's read end of the reply pipe
        self.buf = b""
        self.family = None  # the family of the case that last used it

    def start(self):
        """Forks the child if none is running.  Call it before taking the
        case's first fd snapshot: the pipes stay open across cases."""
        if self.pid is not None:
            return
        req_r, req_w = os.pipe()
        rep_r, rep_w = os.pipe()

        def child():
            os.close(req_w)
            os.close(rep_r)
            return self._serve(req_r, rep_w)
        pid = _fork(child)
        os.close(req_r)
        os.close(rep_w)
        self.pid, self.req, self.rep, self.buf = pid, req_w, rep_r, b""
        self.changed()

    def _serve(self, req, rep):
        """The child's loop; returns its exit status."""
        pending = b""
        while True:
            while b"\n" not in pending:
                b = os.read(req, 4096)
                if not b:
                    return 0
                pending += b
            line, pending = pending.split(b"\n", 1)
            try:
                res, leaks = self.side(line.decode("utf-8"))
                out = json.dumps({"result": res, "leaks": leaks})
                _write_all(rep, (out + "\n").encode("utf-8"))
            except BaseException:
                return 3

    def run(self, case_id):
        """(native result, its leaked fds in the child) of case_id, or (the
        crash result, []) when the child died (it is then reaped and the
        next run() forks a new one)."""
        self.start()
        try:
            msg = (case_id + "\n").encode("utf-8")
            while msg:
                msg = msg[os.write(self.req, msg):]
        except OSError:
            pass            # EPIPE: the child is gone; its status says why
        try:
            while b"\n" not in self.buf:
                b = os.read(self.rep, 65536)
                if not b:
                    break
                self.buf += b
        except OSError:
            pass            # the child is gone; its status says why
        if b"\n" in self.buf:
            line, self.buf = self.buf.split(b"\n", 1)
            got = json.loads(line.decode("utf-8"))
            return got["result"], got["leaks"]
        return canon.crash_result(self.stop()), []

    def stop(self):
        """Closes the pipes and reaps the child; returns its waitpid
        status (0 when none was running)."""
        if self.pid is None:
            return 0
        for fd in (self.req, self.rep):
            try:
                os.close(fd)
            except OSError:
                pass
        self.changed()
        _, status = os.waitpid(self.pid, 0)
        self.pid = self.req = self.rep = None
        self.buf = b""
        return status
