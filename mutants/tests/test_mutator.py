"""Tests of the mutator, the tokenizer and the report's scoring (part of
make check).  The end-to-end test mutates a tiny C file, compiles each
mutant with cc and judges it with a small test program: the boundary
mutants must be killed, and one known-equivalent mutant must survive."""

import json
import os
import shutil
import subprocess
import tempfile
import unittest

from mutants import ctok, mutator, report

TINY = r"""
#include <stddef.h>
/* a comment with { braces } and "quotes" */
#define TWICE(x) ((x) * 2) /* { */
static const char *name = "str { not a brace";
int fits(size_t len, size_t need)
{
    if (len < need)
        return 0;
    return 1;
}
#if 0
int never(void) {
#else
int never(void)
{
#endif
    return 3;
}
static int pick(int a, int b)
{
    return a - b;
}
int diff(int x, int y)
{
    return pick(x, y);
}
int sum_to(int n)
{
    int s = 0;
    for (int i = 0; i <= n; i++)
        s += i;
    return s;
}
"""

TEST_MAIN = r"""
#include <stdio.h>
#include <stddef.h>
int fits(size_t len, size_t need);
int sum_to(int n);
int diff(int x, int y);
int main(void)
{
    int bad = 0;
    bad |= fits(4, 4) != 1;
    bad |= fits(3, 4) != 0;
    bad |= fits(5, 4) != 1;
    bad |= sum_to(3) != 6;
    bad |= diff(5, 3) != 2;
    return bad;
}
"""


class Tokenizer(unittest.TestCase):
    def test_comments_strings_and_preprocessor_lines_hold_no_tokens(self):
        toks = ctok.tokenize(TINY)
        texts = [t.text for t in toks]
        self.assertNotIn("comment", texts)
        self.assertNotIn("TWICE", texts)
        self.assertIn('"str { not a brace"', texts)

    def test_functions_found_with_first_branch_of_an_if(self):
        toks = ctok.tokenize(TINY)
        names = [f.name for f in ctok.functions(toks)]
        self.assertEqual(names, ["fits", "never", "pick", "diff", "sum_to"])

    def test_multi_character_operators_are_one_token(self):
        texts = [t.text for t in ctok.tokenize("a->b <<= c <= d && e")]
        self.assertEqual(texts, ["a", "->", "b", "<<=", "c", "<=", "d", "&&",
                                 "e"])


class Mutants(unittest.TestCase):
    def test_numbering_and_ids_are_deterministic(self):
        a = mutator.mutants(TINY, ["fits", "sum_to"], "tiny.c")
        b = mutator.mutants(TINY, ["fits", "sum_to"], "tiny.c")
        self.assertEqual([(m.num, m.id, m.line, m.after) for m in a],
                         [(m.num, m.id, m.line, m.after) for m in b])
        self.assertEqual([m.num for m in a], list(range(1, len(a) + 1)))
        self.assertEqual(len(set(m.id for m in a)), len(a))

    def test_ids_do_not_depend_on_line_numbers(self):
        a = mutator.mutants(TINY, ["fits"], "tiny.c")
        b = mutator.mutants("\n\n" + TINY, ["fits"], "tiny.c")
        self.assertEqual([m.id for m in a], [m.id for m in b])
        self.assertEqual([m.line + 2 for m in a], [m.line for m in b])

    def test_each_mutant_changes_exactly_one_line(self):
        ms = mutator.mutants(TINY, ["fits", "never", "diff", "sum_to"], "tiny.c")
        self.assertGreater(len(ms), 10)
        old = TINY.splitlines()
        for m in ms:
            new = m.apply(TINY).splitlines()
            self.assertEqual(len(new), len(old), m.diff())
            changed = [i for i in range(len(old)) if old[i] != new[i]]
            self.assertEqual(changed, [m.line - 1], m.diff())
            self.assertEqual(new[m.line - 1], m.after)

    def test_operators_present(self):
        ms = mutator.mutants(TINY, ["fits", "diff", "sum_to"], "tiny.c")
        ops = set(m.op for m in ms)
        self.assertEqual(ops, {"rel", "const", "negate", "cond", "delete",
                               "swap"} | ({"size"} & ops) | ({"logic"} & ops))
        afters = [m.after.strip() for m in ms]
        self.assertIn("if (len <= need)", afters)
        self.assertIn("if (0)", afters)
        self.assertIn("if (!(len < need))", afters)
        self.assertIn(";", afters)                       # s += i; deleted

    def test_spec_with_case_labels_limits_the_switch(self):
        src = ("int f(int k)\n{\n    int r = 0;\n    switch (k) {\n"
               "    case 1:\n        r = 10;\n        break;\n"
               "    case 2:\n        r = 20;\n        break;\n    }\n"
               "    return r;\n}\n")
        ms = mutator.mutants(src, ["f[1]"], "f.c")
        self.assertTrue(any("11" in m.after for m in ms))
        self.assertFalse(any("21" in m.after or "19" in m.after for m in ms))

    def test_unknown_function_is_an_error(self):
        with self.assertRaises(ValueError):
            mutator.mutants(TINY, ["nope"], "tiny.c")

    def test_select_spreads_evenly_and_is_stable(self):
        ms = list(range(100))
        self.assertEqual(mutator.select(ms, 4), [0, 25, 50, 75])
        self.assertEqual(mutator.select(ms, 0), ms)


class TinyEndToEnd(unittest.TestCase):
    """Each mutant of TINY compiled and run against TEST_MAIN."""

    @classmethod
    def setUpClass(cls):
        cls.dir = tempfile.mkdtemp(prefix="mutants-test-")
        with open(os.path.join(cls.dir, "main.c"), "w") as f:
            f.write(TEST_MAIN)

    @classmethod
    def tearDownClass(cls):
        shutil.rmtree(cls.dir, ignore_errors=True)

    def judge(self, text):
        c = os.path.join(self.dir, "tiny.c")
        exe = os.path.join(self.dir, "t")
        with open(c, "w") as f:
            f.write(text)
        r = subprocess.run(["cc", "-O0", "-w", "-o", exe, c,
                            os.path.join(self.dir, "main.c")],
                           stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        if r.returncode != 0:
            return "uncompilable"
        r = subprocess.run([exe], timeout=10)
        return "killed" if r.returncode != 0 else "survived"

    def test_original_passes_and_mutants_are_judged(self):
        self.assertEqual(self.judge(TINY), "survived")
        results = {}
        for m in mutator.mutants(TINY, ["fits", "diff", "sum_to"], "tiny.c"):
            results[m.after.strip()] = self.judge(m.apply(TINY))
        self.assertEqual(results["if (len <= need)"], "killed")
        self.assertEqual(results["if (len >= need)"], "killed")
        self.assertEqual(results["return pick(y, x);"], "killed")
        self.assertEqual(results["for (int i = 0; i < n; i++)"], "killed")
        # i = 1 instead of 0 adds nothing to the sum: equivalent.
        self.assertEqual(results["for (int i = 1; i <= n; i++)"], "survived")
        self.assertIn("killed", results.values())


class Scores(unittest.TestCase):
    def rec(self, num, id_, oracle, tests, status="judged"):
        return {"num": num, "id": id_, "func": "f", "line": 1, "op": "rel",
                "before": "a", "after": "b", "status": status,
                "verdicts": {"oracle": {"killed": oracle, "why": ""},
                             "tests": {"killed": tests, "why": ""}}
                if status == "judged" else {}}

    def test_scores_survivors_first_and_equivalents_excluded(self):
        data = {"sides": {"cpython": {"sides": ["oracle", "tests"],
                                      "mutants": [
            self.rec(1, "f:1", True, True), self.rec(2, "f:2", False, False),
            self.rec(3, "f:3", True, False), self.rec(4, "f:4", False, False),
            self.rec(5, "f:5", None, None, status="uncompilable")]}}}
        report.summarize(data, {"f:4": "same machine behaviour"})
        sec = data["sides"]["cpython"]
        self.assertEqual([m["num"] for m in sec["mutants"]], [2, 3, 1, 4, 5])
        self.assertEqual(sec["scores"]["oracle"],
                         {"killed": 2, "of": 3, "score": 0.667})
        self.assertEqual(sec["scores"]["tests"]["killed"], 1)
        self.assertEqual(sec["counts"]["uncompilable"], 1)
        self.assertEqual(sec["counts"]["equivalent"], 1)

    def test_unreachable_survivors_stay_counted_and_are_shown_apart(self):
        data = {"sides": {"cpython": {"sides": ["oracle", "tests"],
                                      "mutants": [
            self.rec(1, "f:1", True, True), self.rec(2, "f:2", False, False),
            self.rec(3, "f:3", False, False), self.rec(4, "f:4", True, True)]}}}
        report.summarize(data, {"f:3": "same"}, {"f:2": "needs a MemoryError",
                                                 "f:4": "wrongly argued"})
        sec = data["sides"]["cpython"]
        by = dict((m["id"], m) for m in sec["mutants"])
        self.assertEqual(by["f:2"]["unreachable"], "needs a MemoryError")
        self.assertIsNone(by["f:2"]["equivalent"])
        self.assertTrue(by["f:4"]["unreachable_contradicted"])
        # Not equivalent: f:2 still counts as a survivor.
        self.assertEqual(sec["scores"]["oracle"],
                         {"killed": 2, "of": 3, "score": 0.667})
        self.assertEqual(sec["counts"]["equivalent"], 1)
        self.assertEqual(sec["counts"]["unreachable"], 2)
        text = "\n".join(report.terminal(data))
        self.assertIn("[not reachable by the judges]", text)
        self.assertIn("not reachable by the judges: needs a MemoryError",
                      report.to_html(data))

    def test_committed_unreachable_list_loads_and_is_not_equivalent(self):
        un = report.load_unreachable()
        self.assertIsInstance(un, dict)
        self.assertFalse(set(un) & set(report.load_equivalent()))
        for k, v in un.items():
            self.assertRegex(k, r"^\w+:[0-9a-f]{8}(~\d+)?$")
            self.assertTrue(v.strip())

    def test_committed_equivalent_list_loads(self):
        eq = report.load_equivalent()
        for k, v in eq.items():
            self.assertRegex(k, r"^\w+:[0-9a-f]{8}(~\d+)?$")
            self.assertTrue(v.strip())

    def test_bad_equivalent_list_is_one_error(self):
        d = tempfile.mkdtemp()
        try:
            p = os.path.join(d, "e.json")
            with open(p, "w") as f:
                json.dump([{"id": "f:1"}], f)
            with self.assertRaises(report.ReportError):
                report.load_equivalent(p)
            with open(p, "w") as f:
                json.dump([{"id": "f:1", "argument": "why"}], f)
            self.assertEqual(report.load_unreachable(p), {"f:1": "why"})
        finally:
            shutil.rmtree(d)


class BuildLog(unittest.TestCase):
    def test_socket_commands_found_in_a_setup_py_log(self):
        from mutants import cpython
        d = tempfile.mkdtemp()
        try:
            log = os.path.join(d, "build.log")
            with open(log, "w") as f:
                f.write("gcc -fPIC -O3 -c /s/Modules/selectmodule.c -o x.o\n"
                        "gcc -fPIC -O3 -I./Include -c /s/Modules/socketmodule.c"
                        " -o build/temp/s/Modules/socketmodule.o\n"
                        "gcc -shared build/temp/s/Modules/socketmodule.o -o "
                        "build/lib.linux-x86_64-3.11/_socket.cpython-311-x86_64"
                        "-linux-gnu.so\n")
            cmds = cpython._find_commands(log)
            self.assertIn("-c /s/Modules/socketmodule.c", cmds["compile"])
            self.assertIn("_socket.cpython-311", cmds["link"])
            self.assertIsNone(cpython._find_commands(os.path.join(d, "nope")))
        finally:
            shutil.rmtree(d)


class OracleSide(unittest.TestCase):
    def test_oracle_runs_with_the_given_seed(self):
        from mutants import sides
        seen = []

        class Fake(object):
            returncode, timed_out, seconds = 0, False, 0.1

        def fake_run(cmd, timeout, **kw):
            seen.append(cmd)
            args = [a for a in cmd if a.startswith("ORACLE_ARGS=")][0]
            out = args.split()[1]
            os.makedirs(out)
            with open(os.path.join(out, "report.json"), "w") as f:
                json.dump({"cases": [
                    {"id": "a", "outcome": "PASS"},
                    {"id": "gen/s7.1", "outcome": "XFAIL"},
                    {"id": "gen/s7.2", "outcome": "XFAIL", "may_pass": True},
                    {"id": "gen/s7.3", "outcome": "FAIL", "may_pass": True}]},
                          f)
            return Fake()

        d = tempfile.mkdtemp()
        real = sides.procs.run
        sides.procs.run = fake_run
        try:
            sig, _ = sides.oracle("/repo", "/py", d, 60, 7)
        finally:
            sides.procs.run = real
            shutil.rmtree(d)
        self.assertIn("--seed 7", [a for a in seen[0]
                                   if a.startswith("ORACLE_ARGS=")][0])
        # an XFAIL that may pass is the same verdict as a PASS; a FAIL is not
        self.assertEqual(sig["not_pass"], ["FAIL gen/s7.3", "XFAIL gen/s7.1"])

    def test_baseline_and_mutants_are_judged_with_the_run_s_seed(self):
        from mutants import run, sides
        seeds = []

        class Fake(object):
            returncode, timed_out, seconds = 0, False, 0.1

        def fake_oracle(repo, python, work, timeout, seed):
            seeds.append(seed)
            return {"exit": 0, "timed_out": False, "not_pass": []}, Fake()

        def fake_tests(python, work, timeout):
            return {"exit": 0, "timed_out": False, "ran": 1, "bad": []}, \
                Fake()

        class Opts(object):
            side, seed, repo, out = "cpython", 7, "/repo", "/nonexistent"
            equivalent, unreachable = report.EQUIVALENT, report.UNREACHABLE

        class Tree(object):
            python = "/py"

        real = sides.oracle, sides.cpython_tests
        sides.oracle, sides.cpython_tests = fake_oracle, fake_tests
        try:
            r = run.Run(Opts(), log=lambda *a: None)
            base, limits = r._cpython_baseline(Tree(), "/w")
            r._oracle(Tree(), "/w", limits["oracle"], base["oracle"])
            r._cpython_baseline(Tree(), "/w", limits)
        finally:
            sides.oracle, sides.cpython_tests = real
        self.assertEqual(seeds, [7, 7, 7])

    def test_seed_defaults_to_1_and_reads_the_environment(self):
        from mutants import __main__ as m
        got = []

        class Stop(Exception):
            pass

        def fake_run(o, log=print):
            got.append(o.seed)
            raise Stop()

        from mutants import run
        real, old = run.Run, os.environ.pop("MUTANTS_SEED", None)
        run.Run = fake_run
        try:
            for env in (None, "", "5"):
                if env is not None:
                    os.environ["MUTANTS_SEED"] = env
                with self.assertRaises(Stop):
                    m.main([])
        finally:
            run.Run = real
            os.environ.pop("MUTANTS_SEED", None)
            if old is not None:
                os.environ["MUTANTS_SEED"] = old
        self.assertEqual(got, [1, 1, 5])

    def test_bad_seed_is_one_line_and_exit_2(self):
        from mutants import __main__ as m
        import contextlib
        import io
        err = io.StringIO()
        with contextlib.redirect_stderr(err):
            self.assertEqual(m.main(["--seed", "x"]), 2)
            self.assertEqual(m.main(["--seed", "-1"]), 2)
        self.assertEqual(err.getvalue().count("\n"), 2)
        self.assertIn("MUTANTS_SEED", err.getvalue())


if __name__ == "__main__":
    unittest.main()
