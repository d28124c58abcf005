"""Subinterpreters (CPython 3.12+): tests/workloads/subinterpreter_shapes.py runs two isolated
subinterpreters, each with its own GIL and two threads spinning in pure Python (and, in its
"legacy" shape, one subinterpreter sharing the main interpreter's GIL). gilscope must find every
interpreter, see two GIL holders at once (one per subinterpreter GIL), show each thread once in
the interpreter it runs in, give held and contention per GIL in record's summary, and split
flame graph stacks by interpreter on request. A free-threaded build with its GIL on is held to
the same; with it off, every GIL reads disabled, the spinners run without one, and the verdict
is no_gil.

Environment: GILSCOPE_BIN (required), GILSCOPE_TEST_PYTHONS (optional, see pythons.py).
"""
import json
import os
import re
import shutil
import sys
import tempfile
import time
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import pythons  # noqa: E402
import shards  # noqa: E402
import support  # noqa: E402

SCRIPT = support.workload("subinterpreter_shapes.py")
SPIN = "spin_in_subinterpreter"
MAX_DUMPS = 30
PAUSE_BETWEEN_DUMPS = 0.05
RECORD_SECONDS = 3
RECORD_TIMEOUT = RECORD_SECONDS + 60
covered = []
skipped = []


def summary(dump):
    lines = []
    for gil in dump["gils"]:
        lines.append("  gil of interpreter %s (used by %s): locked=%s holder=%s waiters=%s"
                     % (gil["interpreter_id"], gil["interpreter_ids"], gil["locked"],
                        gil["holder"], gil["waiters"]))
    for thread in dump["threads"]:
        lines.append("  %s interp=%s %s %s" % (thread["native_id"], thread["interpreter_id"],
                                               thread["state"],
                                               [f["function"] for f in thread["frames"]]))
    return "\n".join(lines)


def leaf(thread):
    return thread["frames"][0]["function"] if thread["frames"] else None


def runs_exec_code(thread):
    """A thread running the code given to a subinterpreter's exec (the spinners' starter),
    compiled as "<string>" (3.14: "<script>")."""
    return any(f["file"] in ("<string>", "<script>") and f["function"] == "<module>"
               for f in thread["frames"])


def text_sections(text):
    """{interpreter id: (heading, [thread blocks])} of a text dump grouped by interpreter."""
    sections = {}
    current = None
    for block in text.split("\n\n"):
        lines = block.strip().splitlines()
        if not lines:
            continue
        heading = re.match(r"^Interpreter (\d+)\b", lines[0])
        if heading:
            current = int(heading.group(1))
            sections[current] = (lines[0], [])
        elif lines[0].startswith("Thread ") and current is not None:
            sections[current][1].append(lines)
    return sections


class SubinterpreterChecks(object):
    python = None  # a pythons.Interpreter, set by the generated subclasses

    def setUp(self):
        if self.python.version_info < (3, 12):
            reason = "subinterpreters with their own GIL need 3.12+"
            skipped.append("%s (%s)" % (self.python.label, reason))
            self.skipTest(reason)
        covered.append(self.python)
        self.tmp = tempfile.mkdtemp(prefix="gilscope-subinterp-")
        self.addCleanup(shutil.rmtree, self.tmp, True)

    def start(self, shape="isolated"):
        workload = support.Workload([*self.python.command, SCRIPT, shape])
        self.addCleanup(workload.kill)
        workload.wait_ready()
        return workload

    def dump_json(self, workload):
        code, out, err = support.run_gilscope(["dump", "--pid", str(workload.pid), "--json"])
        self.assertEqual(code, 0, err)
        return json.loads(out)

    def dump_until(self, workload, consistent, what):
        """The first of up to MAX_DUMPS JSON dumps for which consistent(dump) holds: a dump can
        land inside a GIL hand-off, when nobody holds it."""
        dump = None
        for attempt in range(MAX_DUMPS):
            if attempt:
                time.sleep(PAUSE_BETWEEN_DUMPS)
            dump = self.dump_json(workload)
            if consistent(dump):
                return dump
        self.fail("no dump in %d showed %s; the last:\n%s" % (MAX_DUMPS, what, summary(dump)))

    def record(self, workload, extra=()):
        """(summary JSON, collapsed stacks, stderr) of a recording in blame mode."""
        summary_path = os.path.join(self.tmp, "summary.json")
        collapsed = os.path.join(self.tmp, "out.txt")
        code, _, err = support.run_gilscope(
            ["record", "--pid", str(workload.pid), "-d", str(RECORD_SECONDS), "-o", collapsed,
             "--format", "collapsed", "--summary", summary_path] + list(extra),
            timeout=RECORD_TIMEOUT)
        self.assertEqual(code, 0, err)
        with open(summary_path) as source:
            result = json.load(source)
        return result, support.read_collapsed(collapsed), err

    # --- isolated subinterpreters: a GIL each ------------------------------------------------

    def test_dump_json_two_holders_at_once_one_per_subinterpreter(self):
        workload = self.start()
        if self.python.gil_disabled:
            return self.check_dump_json_without_gil(workload)

        def both_held(dump):
            sub_gils = [g for g in dump["gils"] if g["interpreter_id"] != 0]
            return len(sub_gils) == 2 and all(g["holder"] is not None for g in sub_gils)

        dump = self.dump_until(workload, both_held, "both subinterpreter GILs held at once")
        context = "\n" + summary(dump)
        self.assertTrue(dump["gil_enabled"], context)
        self.assertEqual([(i["id"], i["gil_interpreter_id"], i["own_gil"])
                          for i in dump["interpreters"]],
                         [(0, 0, True), (1, 1, True), (2, 2, True)], context)
        self.assertEqual([g["interpreter_ids"] for g in dump["gils"]], [[0], [1], [2]], context)
        self.assertEqual(set(t["interpreter_id"] for t in dump["threads"] if t["python"]),
                         {0, 1, 2}, context)
        holders = {}
        for gil in dump["gils"][1:]:
            thread = [t for t in dump["threads"] if t["native_id"] == gil["holder"]]
            self.assertEqual(len(thread), 1, context)
            self.assertEqual(thread[0]["interpreter_id"], gil["interpreter_id"],
                             "the holder of a GIL runs in another interpreter" + context)
            self.assertEqual(thread[0]["gil"], "held", context)
            self.assertEqual(leaf(thread[0]), SPIN, context)
            holders[gil["interpreter_id"]] = gil["holder"]
        self.assertNotEqual(holders[1], holders[2], context)
        spinners = [t for t in dump["threads"] if leaf(t) == SPIN]
        self.assertEqual(sorted(t["interpreter_id"] for t in spinners), [1, 1, 2, 2], context)
        # Each subinterpreter's spinners take turns: the one not holding waits (or is about to).
        for interp in (1, 2):
            waiting = [t for t in spinners if t["interpreter_id"] == interp and t["gil"] == "waiting"]
            self.assertEqual(dump["gils"][interp]["waiters"], len(waiting), context)
        main_gil = dump["gils"][0]
        self.assertIsNone(main_gil["holder"], "nothing runs in the main interpreter" + context)
        if self.python.version_info >= (3, 13):
            # The threads that run the subinterpreters are shown once each, in the
            # subinterpreter, with their caller's frames below the subinterpreter's.
            tids = [t["native_id"] for t in dump["threads"]]
            self.assertEqual(len(tids), len(set(tids)), "a thread shown twice" + context)
            runners = [t for t in dump["threads"] if runs_exec_code(t)]
            self.assertEqual(sorted(t["interpreter_id"] for t in runners), [1, 2], context)
            for runner in runners:
                self.assertEqual(runner["frames"][-1]["function"], "Thread._bootstrap", context)
                self.assertFalse(runner["main"], context)

    def check_dump_json_without_gil(self, workload):
        """Every interpreter's GIL is off: the four spinners run at once, nobody holds or waits."""
        def all_running(dump):
            spinners = [t for t in dump["threads"] if leaf(t) == SPIN]
            return (len(spinners) == 4
                    and all(t["state"] == "running_without_gil" for t in spinners))

        dump = self.dump_until(workload, all_running, "four spinners running without a GIL")
        context = "\n" + summary(dump)
        self.assertIs(dump["gil_enabled"], False, context)
        self.assertEqual([i["id"] for i in dump["interpreters"]], [0, 1, 2], context)
        self.assertEqual([(g["enabled"], g["holder"], g["waiters"]) for g in dump["gils"]],
                         [(False, None, 0)] * 3, context)
        self.assertEqual(sorted(t["interpreter_id"] for t in dump["threads"] if leaf(t) == SPIN),
                         [1, 1, 2, 2], context)
        self.assertFalse([t for t in dump["threads"] if t["gil"] != "released"], context)

    def test_dump_text_groups_threads_by_interpreter(self):
        workload = self.start()
        if self.python.gil_disabled:
            code, text, err = support.run_gilscope(["dump", "--pid", str(workload.pid)])
            self.assertEqual(code, 0, err)
            for interp in (1, 2):
                self.assertIn("\nInterpreter %d: GIL disabled (free-threaded build)\n" % interp,
                              text)
            self.assertNotIn("GIL held", text)
            return
        text = sections = None
        for attempt in range(MAX_DUMPS):
            if attempt:
                time.sleep(PAUSE_BETWEEN_DUMPS)
            code, text, err = support.run_gilscope(["dump", "--pid", str(workload.pid)])
            self.assertEqual(code, 0, err)
            sections = text_sections(text)
            if all(re.search(r"GIL held by thread \d+", sections.get(i, ("", []))[0])
                   for i in (1, 2)):
                break
        else:
            self.fail("no text dump in %d showed both subinterpreter GILs held; the last:\n%s"
                      % (MAX_DUMPS, text))
        self.assertIn("3 interpreters, 3 GILs", text)
        self.assertEqual(sorted(sections), [0, 1, 2], text)
        self.assertTrue(sections[0][0].startswith("Interpreter 0 (main): GIL "), text)
        for interp in (1, 2):
            heading, blocks = sections[interp]
            self.assertTrue(heading.startswith("Interpreter %d (own GIL): GIL held by thread"
                                               % interp), text)
            holder = int(re.search(r"held by thread (\d+)", heading).group(1))
            spinners = [b for b in blocks if b[1].strip().startswith(SPIN + " (")]
            self.assertEqual(len(spinners), 2, "two spinners under interpreter %d:\n%s"
                             % (interp, text))
            # "[holding GIL, blocked in futex]" too: caught in drop_gil's forced hand-off, the
            # holder still owns the GIL while it waits for the taker (seen under load).
            held = [b for b in spinners if re.search(r"\[holding GIL(, blocked in \w+)?\]$", b[0])]
            self.assertEqual(len(held), 1, text)
            self.assertTrue(held[0][0].startswith("Thread %d " % holder), text)
        self.assertFalse([b for b in sections[0][1] if b[1].strip().startswith(SPIN)], text)

    def test_record_gives_held_and_contention_per_gil_and_splits_by_interpreter(self):
        workload = self.start()
        if self.python.gil_disabled:
            return self.check_record_without_gil(workload)
        result, stacks, err = self.record(workload, ["--by-interpreter"])
        gils = dict((g["interpreter_id"], g) for g in result["gils"])
        context = "\n%s\n%s" % (json.dumps(result["gils"], indent=1), err)
        self.assertEqual(sorted(gils), [0, 1, 2], context)
        self.assertEqual(result["interpreters"], [0, 1, 2], context)
        self.assertTrue(result["by_interpreter"], context)
        for interp in (1, 2):
            gil = gils[interp]
            where = "interpreter %d%s" % (interp, context)
            self.assertEqual(gil["interpreter_ids"], [interp], where)
            self.assertGreater(gil["held"], 0.8, where)
            self.assertGreater(gil["contention"], 0.5, where)
            self.assertGreater(gil["mean_waiters"], 0.5, where)
            self.assertGreater(gil["switches_per_s"], 1, where)
        self.assertLess(gils[0]["held"], 0.2, context)
        self.assertLess(gils[0]["contention"], 0.2, context)
        # Two GILs held at once: the holder-samples of both subinterpreters add up to more
        # samples than the recording has.
        spinners = [t for t in result["threads"] if t["held"] + t["waiting"] > 0.8]
        self.assertEqual(sorted(t["interpreter_id"] for t in spinners), [1, 1, 2, 2], context)
        self.assertGreater(sum(t["held"] for t in spinners), 1.6, context)
        self.assertEqual(result["verdict"], "python_cpu_bound", context)
        self.assertIn("GIL of interpreter 1: held", err)
        self.assertIn("GIL of interpreter 2: held", err)

        # Blame, split by interpreter: each subinterpreter's spinners under their own root.
        self.check_split_by_interpreter(stacks, context)

    def check_split_by_interpreter(self, stacks, context):
        """Every stack under an "interpreter N" root; each subinterpreter's spinners under
        theirs, with at least 30% of the weight each; next to nothing under the main one."""
        picture = "\n".join("%6d %s" % (w, ";".join(f)) for f, w in stacks) + context
        self.assertTrue(stacks, picture)
        roots = {}
        for frames, weight in stacks:
            self.assertRegex(frames[0], r"^interpreter \d+$", picture)
            roots[frames[0]] = roots.get(frames[0], 0) + weight
            if frames[0] != "interpreter 0":
                self.assertTrue(frames[-1].startswith(SPIN + " ("), picture)
        total = float(sum(roots.values()))
        for interp in (1, 2):
            self.assertGreater(roots.get("interpreter %d" % interp, 0) / total, 0.3, picture)
        self.assertLess(roots.get("interpreter 0", 0) / total, 0.05, picture)

    def check_record_without_gil(self, workload):
        """No GIL to hold: the GIL views are empty, so the cpu view is split by interpreter."""
        result, stacks, err = self.record(workload, ["--by-interpreter", "--mode", "cpu"])
        context = "\n%s\n%s" % (json.dumps(result["gils"], indent=1), err)
        self.assertIs(result["gil_enabled"], False, context)
        self.assertEqual(result["verdict"], "no_gil", context)
        self.assertEqual(sorted(g["interpreter_id"] for g in result["gils"]), [0, 1, 2], context)
        for gil in result["gils"]:
            self.assertEqual((gil["held"], gil["contention"]), (0.0, 0.0), context)
        self.assertIn("No GIL: free-threaded build running without it", err)
        self.assertNotIn("GIL of interpreter", err)
        # cpu stacks end with the state pseudo-frame: the spinner is the frame before it.
        self.check_split_by_interpreter([(f[:-1], w) for f, w in stacks], context)

    # --- a legacy subinterpreter: the main interpreter's GIL, shared --------------------------

    def test_legacy_subinterpreter_shares_the_main_gil(self):
        workload = self.start("legacy")
        if self.python.gil_disabled:
            dump = self.dump_json(workload)
            context = "\n" + summary(dump)
            self.assertEqual([(i["id"], i["own_gil"]) for i in dump["interpreters"]],
                             [(0, True), (1, False)], context)
            self.assertIs(dump["gil_enabled"], False, context)
            self.assertEqual(dump["gils"][0]["interpreter_ids"], [0, 1], context)
            return
        dump = self.dump_until(workload, lambda d: d["gils"] and d["gils"][0]["holder"],
                               "the shared GIL held")
        context = "\n" + summary(dump)
        self.assertEqual([(i["id"], i["gil_interpreter_id"], i["own_gil"])
                          for i in dump["interpreters"]], [(0, 0, True), (1, 0, False)], context)
        self.assertEqual(len(dump["gils"]), 1, context)
        self.assertEqual(dump["gils"][0]["interpreter_ids"], [0, 1], context)
        holders = [t for t in dump["threads"] if t["gil"] == "held"]
        self.assertEqual(len(holders), 1, "one GIL, one holder" + context)
        self.assertEqual((holders[0]["interpreter_id"], leaf(holders[0])), (1, SPIN), context)

        code, text, err = support.run_gilscope(["dump", "--pid", str(workload.pid)])
        self.assertEqual(code, 0, err)
        self.assertIn("2 interpreters, 1 GIL\n", text)
        self.assertIn("Interpreter 1: shares the main interpreter's GIL\n", text)

        result, _, err = self.record(workload)
        context = "\n%s\n%s" % (json.dumps(result["gils"], indent=1), err)
        self.assertEqual(len(result["gils"]), 1, context)
        gil = result["gils"][0]
        self.assertEqual(gil["interpreter_ids"], [0, 1], context)
        self.assertGreater(gil["held"], 0.8, context)
        self.assertGreater(gil["contention"], 0.5, context)
        self.assertIn("GIL of interpreter 0 (shared with 1): held", err)


globals().update(pythons.test_classes("SubinterpreterTest_", SubinterpreterChecks))


def setUpModule():
    support.gilscope_bin()


def tearDownModule():
    sys.stderr.write("\n")
    pythons.print_covered("subinterpreter_test",
                          sorted(set(covered), key=lambda p: (p.version_info, p.path)))
    if skipped:
        sys.stderr.write("subinterpreter_test: skipped %s\n" % ", ".join(sorted(set(skipped))))


if __name__ == "__main__":
    shards.main()
