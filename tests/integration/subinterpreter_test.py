"""Subinterpreters with their own GIL (CPython 3.12+): tests/workloads/subinterpreter_shapes.py
runs two isolated subinterpreters, each with two threads spinning in pure Python. gilscope must
find every interpreter, see two GIL holders at once (one per subinterpreter GIL), and give
contention per GIL in record's summary.

Environment: GILSCOPE_BIN (required), GILSCOPE_TEST_PYTHONS (optional, see pythons.py).
"""
import json
import os
import shutil
import sys
import tempfile
import time
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import pythons  # noqa: E402
import support  # noqa: E402

SCRIPT = support.workload("subinterpreter_shapes.py")
MAX_DUMPS = 30
RECORD_SECONDS = 3
covered = []


def summary(dump):
    lines = []
    for gil in dump["gils"]:
        lines.append("  gil of interpreter %s: locked=%s holder=%s waiters=%s"
                     % (gil["interpreter_id"], gil["locked"], gil["holder"], gil["waiters"]))
    for thread in dump["threads"]:
        lines.append("  %s interp=%s %s %s" % (thread["native_id"], thread["interpreter_id"],
                                               thread["state"],
                                               [f["function"] for f in thread["frames"][:3]]))
    return "\n".join(lines)


class SubinterpreterChecks(object):
    python = None  # a pythons.Interpreter, set by the generated subclasses

    def setUp(self):
        if self.python.version_info < (3, 12):
            self.skipTest("subinterpreters with their own GIL need 3.12+")
        if self.python.free_threaded:
            self.skipTest("free-threaded build: its subinterpreters share no GIL to test")
        covered.append(self.python)
        self.workload = support.Workload([*self.python.command, SCRIPT])
        self.addCleanup(self.workload.kill)
        self.workload.wait_ready()
        self.tmp = tempfile.mkdtemp(prefix="gilscope-subinterp-")
        self.addCleanup(shutil.rmtree, self.tmp, True)

    def dump_json(self):
        code, out, err = support.run_gilscope(["dump", "--pid", str(self.workload.pid), "--json"])
        self.assertEqual(code, 0, err)
        return json.loads(out)

    def test_two_holders_at_once_one_per_subinterpreter(self):
        dump = None
        for attempt in range(MAX_DUMPS):
            if attempt:
                time.sleep(0.05)
            dump = self.dump_json()
            sub_gils = [g for g in dump["gils"] if g["interpreter_id"] != 0]
            if len(sub_gils) == 2 and all(g["holder"] is not None for g in sub_gils):
                break
        else:
            self.fail("no dump in %d showed both subinterpreter GILs held at once; the last:\n%s"
                      % (MAX_DUMPS, summary(dump)))
        context = "\n" + summary(dump)
        self.assertEqual(sorted(g["interpreter_id"] for g in dump["gils"]), [0, 1, 2], context)
        interpreters = set(t["interpreter_id"] for t in dump["threads"] if t["python"])
        self.assertEqual(interpreters, {0, 1, 2}, context)
        holders = {}
        for gil in sub_gils:
            thread = [t for t in dump["threads"] if t["native_id"] == gil["holder"]]
            self.assertEqual(len(thread), 1, context)
            self.assertEqual(thread[0]["interpreter_id"], gil["interpreter_id"],
                             "the holder of a GIL runs in another interpreter" + context)
            self.assertEqual(thread[0]["gil"], "held", context)
            self.assertEqual(thread[0]["frames"][0]["function"], "spin_in_subinterpreter", context)
            holders[gil["interpreter_id"]] = gil["holder"]
        self.assertNotEqual(holders[1], holders[2], context)
        spinners = [t for t in dump["threads"]
                    if t["frames"] and t["frames"][0]["function"] == "spin_in_subinterpreter"]
        self.assertEqual(len(spinners), 4, context)
        for interp in (1, 2):
            self.assertEqual(len([t for t in spinners if t["interpreter_id"] == interp]), 2, context)
        main_gil = [g for g in dump["gils"] if g["interpreter_id"] == 0][0]
        self.assertIsNone(main_gil["holder"], "nothing runs in the main interpreter" + context)
        if self.python.version_info >= (3, 13):
            # The threads that run the subinterpreters are shown once each, their caller's
            # frames below the subinterpreter's.
            tids = [t["native_id"] for t in dump["threads"]]
            self.assertEqual(len(tids), len(set(tids)), "a thread shown twice" + context)
            runners = [t for t in dump["threads"]
                       if any(f["function"].endswith("<lambda>") for f in t["frames"])]
            self.assertEqual(len(runners), 2, context)
            for runner in runners:
                self.assertIn(runner["interpreter_id"], (1, 2), context)
                self.assertEqual(runner["frames"][-1]["function"], "Thread._bootstrap", context)

    def test_record_gives_contention_per_gil(self):
        summary_path = os.path.join(self.tmp, "summary.json")
        collapsed = os.path.join(self.tmp, "out.txt")
        code, _, err = support.run_gilscope(
            ["record", "--pid", str(self.workload.pid), "-d", str(RECORD_SECONDS), "-o", collapsed,
             "--format", "collapsed", "--summary", summary_path],
            timeout=RECORD_SECONDS + 60)
        self.assertEqual(code, 0, err)
        with open(summary_path) as source:
            result = json.load(source)
        gils = dict((g["interpreter_id"], g) for g in result["gils"])
        context = "\n%s\n%s" % (json.dumps(result["gils"], indent=1), err)
        self.assertEqual(sorted(gils), [0, 1, 2], context)
        for interp in (1, 2):
            self.assertGreater(gils[interp]["held"], 0.8, "interpreter %d%s" % (interp, context))
            self.assertGreater(gils[interp]["contention"], 0.5, "interpreter %d%s" % (interp, context))
        self.assertLess(gils[0]["held"], 0.2, context)
        self.assertLess(gils[0]["contention"], 0.2, context)
        self.assertEqual(result["verdict"], "python_cpu_bound", context)


globals().update(pythons.test_classes("SubinterpreterTest_", SubinterpreterChecks))


def setUpModule():
    support.gilscope_bin()


def tearDownModule():
    sys.stderr.write("\n")
    pythons.print_covered("subinterpreter_test",
                          sorted(set(covered), key=lambda p: (p.version_info, p.path)))


if __name__ == "__main__":
    unittest.main()
