"""Self-tests of the worker's record stream: the "frames" encoding the
driver reads (oracle.worker.frame / read_frames, Job.feed) gives the same
records as the JSON lines people read, whole frames only, and a stream
that is not frames is an error of the worker, never a silent loss."""

import json
import os
import socket
import subprocess
import sys
import unittest

from oracle import worker
from oracle.judge import driver as conformance
from oracle.tests.helpers import LIB, REPO, record


class Frames(unittest.TestCase):

    def test_round_trip_equals_the_json_encoding(self):
        recs = [record(), record(id="x", leaked_fds={"native": ["5 -> y"]},
                                 big=2 ** 70, ratio=0.5, text="\u00e9\u20ac")]
        blob = b"".join(worker.frame(r) for r in recs)
        got, used = worker.read_frames(blob)
        self.assertEqual(used, len(blob))
        self.assertEqual(got, [json.loads(worker.json_line(r).decode())
                               for r in recs])

    def test_a_type_marshal_refuses_goes_as_its_json_form(self):
        rec = record(family_enum=socket.AF_UNIX)   # an int subclass
        got, _ = worker.read_frames(worker.frame(rec))
        self.assertEqual(got[0]["family_enum"], int(socket.AF_UNIX))
        self.assertIs(type(got[0]["family_enum"]), int)

    def test_only_whole_frames_are_decoded(self):
        blob = worker.frame(record()) + worker.frame(record(id="second"))
        for cut in (0, 3, 7, 8, len(blob) - 1):
            got, used = worker.read_frames(blob[:cut])
            self.assertLessEqual(len(got), 1)
            self.assertEqual(used, len(worker.frame(record())) if got else 0)
        got, used = worker.read_frames(blob, len(worker.frame(record())))
        self.assertEqual([r["id"] for r in got], ["second"])

    def test_what_is_not_frames_is_refused(self):
        good = worker.frame(record())
        for bad in (b'{"id": "a json line"}\n', b"CRr1\xff\xff\xff\x7f" +
                    b"x" * 8, b"CRr1\x03\x00\x00\x00abc",
                    b"CRr1" + b"\x02\x00\x00\x00" + b"N\x00"):
            with self.assertRaises(ValueError, msg=bad):
                worker.read_frames(good + bad)

    def test_job_feed_reports_a_desynchronised_stream(self):
        job = conformance.Job({"label": "x"}, "inject", [], {}, os.devnull)
        blob = worker.frame(record())
        job.feed(blob[:5])
        job.feed(blob[5:])
        self.assertEqual(len(job.records), 1)
        self.assertIsNone(job.error)
        job.feed(b"stray output\n" + blob)
        self.assertIn("not record frames", job.error)
        job.feed(blob)                      # ignored after the error
        self.assertEqual(len(job.records), 1)


class WorkerFormats(unittest.TestCase):

    def run_worker(self, fmt):
        env = dict(os.environ)
        env["PYTHONPATH"] = REPO
        p = subprocess.Popen(
            [sys.executable, "-m", "oracle.worker", "--suite", "sockets",
             "--only", "cmsg-macros/", "--lib", LIB, "--no-progress", "--format",
             fmt], cwd=REPO, env=env, stdout=subprocess.PIPE,
            stderr=subprocess.PIPE)
        out, err = p.communicate(timeout=120)
        self.assertEqual(p.returncode, 0, err.decode())
        return out

    def test_both_formats_carry_the_same_records(self):
        lines = [json.loads(l) for l in
                 self.run_worker("json").decode().splitlines()]
        frames, used = worker.read_frames(self.run_worker("frames"))
        self.assertGreater(len(lines), 3)
        self.assertEqual(len(frames), len(lines))
        strip = lambda r: dict((k, v) for k, v in r.items() if k != "repro")
        self.assertEqual([strip(r) for r in frames],
                         [strip(r) for r in lines])


if __name__ == "__main__":
    unittest.main()
