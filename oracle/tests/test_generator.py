"""test_generator.py - the seeded scenario generator: the same seed gives
the same scenarios, an id alone rebuilds its scenario, and no scenario
can wait forever.

Why: a generated failure is only useful if its reproducer reruns it
exactly, on any interpreter; a scenario that waits with nothing coming
would hang a worker until the driver's timeout.
"""

import os
import unittest

from oracle.suites import generator
from oracle.suites.sockets import expand, table


class Generator(unittest.TestCase):

    def test_same_seed_same_scenarios_other_seed_others(self):
        a = [generator.case_id(7, i, generator.scenario(7, i))
             for i in range(200)]
        b = [generator.case_id(7, i, generator.scenario(7, i))
             for i in range(200)]
        c = [generator.case_id(8, i, generator.scenario(8, i))
             for i in range(200)]
        self.assertEqual(a, b)
        self.assertNotEqual([x.split("/", 2)[2] for x in a],
                            [x.split("/", 2)[2] for x in c])
        self.assertEqual(len(set(a)), 200)

    def test_an_id_rebuilds_its_scenario_and_a_wrong_one_is_refused(self):
        p = generator.scenario(12345, 17)
        cid = generator.case_id(12345, 17, p)
        self.assertEqual(generator.lookup(cid), p)
        self.assertIsNone(generator.lookup(cid + "x"))
        self.assertIsNone(generator.lookup("gen/s1.x/kind=dgram"))
        self.assertIsNone(generator.lookup("rights/kind=dgram"))
        # the suite's table finds it without CMSGREF_GEN
        old = os.environ.pop(generator.ENV, None)
        try:
            self.assertEqual(expand.cases()[1][cid], p)
        finally:
            if old is not None:
                os.environ[generator.ENV] = old

    def test_no_scenario_waits_for_nothing_without_a_bound(self):
        for seed in (0, 1, 99):
            for i in range(500):
                p = generator.scenario(seed, i)
                waits = p["timeout"] in ("none", "5")
                comes = p["pending"] and not (
                    p["kind"] == "stream" and p["data"] == 0)
                brings = p["eintr"] in ("returns", "reenter")
                self.assertTrue(not waits or comes or brings or
                                p["eintr"] == "raises", (seed, i, p))
                if p["kind"] == "stream":
                    self.assertFalse((p["flags"] or 0) & table.MSG_TRUNC)
                self.assertEqual(type(p["flags"]) in (int, type(None)),
                                 True)

    def test_settings(self):
        old = os.environ.get(generator.ENV)
        try:
            os.environ[generator.ENV] = "5:3"
            self.assertEqual(generator.settings(), (5, 3))
            self.assertEqual(len(generator.cases()), 3)
            os.environ[generator.ENV] = "5:0"
            self.assertIsNone(generator.settings())
            os.environ[generator.ENV] = "x:1"
            self.assertRaises(ValueError, generator.settings)
        finally:
            if old is None:
                os.environ.pop(generator.ENV, None)
            else:
                os.environ[generator.ENV] = old


if __name__ == "__main__":
    unittest.main()
