"""test_schedule.py - how the driver spreads the work: the sockets cases
that wait out wall time run in a worker of their own (oracle.worker
--part), the two parts together are every case exactly once, at most
njobs workers of each kind run at once and a waiting one runs beside a
computing one; --profile's figures; canon.diff's shortcut for values that
marshal alike keeps every difference of type.

Why: the schedule decides how long `make conformance` takes, and it must
change nothing else: a split that lost or repeated a case, or ran more
computing workers than asked, would change what the matrix checks or how
hard it loads a shared machine.
"""

import argparse
import os
import platform
import shutil
import sys
import tempfile
import unittest

from oracle import worker
from oracle.judge import canon, driver
from oracle.suites import suite_module
from oracle.tests.helpers import LIB, SHIM

# Stream recvmsg under every timeout: 1e-09, 0.001 and 0.01 with nothing
# pending wait, the rest do not.
TIMEOUTS = "timeout/kind=stream,method=recvmsg,"


def _ids(part, only=""):
    return [cid for _, cid in worker.select_cases(suite_module("sockets"),
                                                  only, part=part)]


class Waited(unittest.TestCase):
    """A timed-out call's wait against its timeout rounded up to whole ms
    (§7): 1 ns waits 1 ms, 10 ms waits 10 ms."""

    def test_rounded_up_to_whole_ms(self):
        from oracle.suites.sockets.run import _waited
        self.assertEqual(_waited("1e-09", 0.0011), "full")
        self.assertEqual(_waited("1e-09", 0.00003), "short")
        self.assertEqual(_waited("0.001", 0.001), "full")
        self.assertEqual(_waited("0.01", 0.0099), "short")
        self.assertEqual(_waited("0.01", 0.0101), "full")


class Parts(unittest.TestCase):

    def test_the_two_parts_are_every_case_once(self):
        every = _ids(None)
        waiting, computing = _ids("waiting"), _ids("computing")
        self.assertEqual(sorted(waiting + computing), sorted(every))
        self.assertFalse(set(waiting) & set(computing))
        self.assertTrue(waiting and computing)

    def test_what_waits(self):
        waiting = set(_ids("waiting"))
        for cid in _ids(None, "eintr-deadline/") + [
                TIMEOUTS + "timeout=0.01,pending=False",
                TIMEOUTS + "timeout=0.001,pending=False",
                TIMEOUTS + "timeout=1e-09,pending=False"]:
            self.assertIn(cid, waiting)
        for cid in [TIMEOUTS + "timeout=0,pending=False",
                    TIMEOUTS + "timeout=0.01,pending=True",
                    TIMEOUTS + "timeout=none,pending=True"] + \
                _ids(None, "cmsg-macros/")[:3]:
            self.assertNotIn(cid, waiting)

    def test_a_suite_without_the_hook_is_one_computing_part(self):
        mod = suite_module("inject")
        self.assertFalse(hasattr(mod, "waits"))
        cases = worker.select_cases(mod, "spec-record")
        self.assertTrue(cases)
        self.assertEqual(worker.select_cases(mod, "spec-record",
                                             part="computing"), cases)
        self.assertEqual(worker.select_cases(mod, "spec-record",
                                             part="waiting"), [])


class Schedule(unittest.TestCase):

    def setUp(self):
        self.dir = tempfile.mkdtemp(prefix="cmsgref-sched-")

    def tearDown(self):
        shutil.rmtree(self.dir, ignore_errors=True)

    def test_one_of_each_kind_at_a_time_and_every_case_reported(self):
        args = argparse.Namespace(lib=LIB, shim=SHIM, only=TIMEOUTS,
                                  heapcheck=False, profile=True)
        interps = [{"label": "py-%s" % n, "executable": sys.executable,
                    "argv": [sys.executable], "env": {},
                    "impl": platform.python_implementation().lower(),
                    "version": platform.python_version()} for n in "ab"]
        wanted = driver.selected(["sockets"], TIMEOUTS)
        jobs = driver.build_jobs(interps, ["sockets"], args, self.dir,
                                 wanted)
        self.assertEqual(sorted((j.interp["label"], j.part) for j in jobs),
                         [(l, p) for l in ("py-a", "py-b")
                          for p in ("computing", "waiting")])
        seen = []

        def status(jobs):
            seen.append(sorted(j.part for j in jobs if j.running()))
        driver.run_jobs(jobs, 1, 120, status, LIB)
        for running in seen:
            self.assertLessEqual(running.count("waiting"), 1, running)
            self.assertLessEqual(running.count("computing"), 1, running)
        self.assertIn(["computing", "waiting"], seen)
        for j in jobs:
            self.assertIsNone(j.error)
            self.assertEqual(sorted(r["id"] for r in j.records),
                             sorted(j.expected))
            self.assertEqual(set(r["outcome"] for r in j.rows), {"PASS"})
        prof = driver.profile(jobs)
        self.assertEqual(sum(j["cases"] for j in prof["jobs"]),
                         2 * len(wanted["sockets"]))
        self.assertEqual(prof["families"]["sockets/timeout"]["cases"],
                         2 * len(wanted["sockets"]))
        for j in jobs:
            self.assertFalse([r for r in j.records if "cost" in r])

    def test_profile_sums_the_costs_per_family(self):
        job = driver.Job({"label": "x"}, "sockets", [], {}, os.devnull,
                         None, "computing")
        job.records = [{"family": "a", "id": "1", "cost": [1.0, 0.25]},
                       {"family": "a", "id": "2", "cost": [2.0, 0.5]},
                       {"family": "b", "id": "3", "cost": [4.0, 1.0]},
                       {"family": "b", "id": "4"}]
        job.seconds, job.cpu, job.began = 9.0, 2.0, 5.0
        prof = driver.profile([job], {"workers_s": 9.0})
        self.assertEqual(prof["phases"], {"workers_s": 9.0})
        got = prof["jobs"][0]
        self.assertEqual((got["cases"], got["case_wall_s"],
                          got["case_cpu_s"], got["started_s"]),
                         (3, 7.0, 1.75, 0.0))
        self.assertEqual(got["families"], {"a": [2, 3.0, 0.75],
                                           "b": [1, 4.0, 1.0]})
        self.assertEqual(prof["families"]["sockets/a"],
                         {"cases": 2, "wall_s": 3.0, "cpu_s": 0.75})


class DiffShortcut(unittest.TestCase):

    def test_equal_values_of_another_type_still_differ(self):
        for a, b in ((1, True), (0, False), (1, 1.0), ([1], [True]),
                     ({"k": [0]}, {"k": [False]}), ("1", 1)):
            self.assertTrue(canon.diff(a, b), (a, b))
            self.assertTrue(canon.diff({"x": a}, {"x": b}), (a, b))

    def test_equal_values_are_equal_whatever_the_key_order(self):
        self.assertEqual(canon.diff({"a": 1, "b": [2, "c"]},
                                    {"b": [2, "c"], "a": 1}), [])
        self.assertEqual(canon.diff({"a": None}, {"a": None}), [])


if __name__ == "__main__":
    unittest.main()
