#!/usr/bin/env python3
"""The sanitized gilscope (AddressSanitizer + UndefinedBehaviorSanitizer, the clang tree) run for
real against every interpreter of pythons.py: a sanitizer report fails the run, so these find the
memory and undefined-behaviour errors that only a live target's data reaches.

Sanitized_<version>, against tests/workloads/gil_shapes.py (two spinners, a sleeper, a blocked
thread, a hasher):
  dump_json     `dump --json`: exit 0, nothing on stderr, the workload's six threads with their
                names, both spinners in spin_forever
  dump_native   `dump --native`: exit 0, nothing on stderr, the spinners' stacks shown
  record        `record -d 1 --summary` to SVG: exit 0, no sanitizer report, samples taken
                (what they say is record_test's job; here, that reading them ran clean)
  launch        `record -- python record_shapes.py spin --seconds 1`: exit 0, no report, the
                program's exit recorded
After every run the workload still runs, with no thread left stopped or traced.

Environment: GILSCOPE_BIN (the sanitized binary), GILSCOPE_TEST_PYTHONS (see pythons.py),
ASAN_OPTIONS/UBSAN_OPTIONS as set by scripts/test.sh.
"""

import json
import os
import shutil
import sys
import tempfile
import unittest
from xml.etree import ElementTree

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import pythons  # noqa: E402
import shards  # noqa: E402
import support  # noqa: E402

GIL_SHAPES = support.workload("gil_shapes.py")
RECORD_SHAPES = support.workload("record_shapes.py")
THREAD_NAMES = {"spinner-1", "spinner-2", "sleeper", "blocked", "hasher"}
# What a sanitizer prints when it finds something (ASan, LSan, UBSan).
REPORT_MARKERS = ("Sanitizer", "runtime error:")
TIMEOUT_SECONDS = 120  # sanitized and sharing the machine: slow, but never hung
covered = []


class SanitizedChecks(object):
    python = None  # a pythons.Interpreter, set by the generated subclasses

    @classmethod
    def setUpClass(cls):
        cls.workload = support.Workload([*cls.python.command, GIL_SHAPES])
        cls.addClassCleanup(cls.workload.kill)
        cls.workload.wait_ready()
        covered.append(cls.python)

    def setUp(self):
        self.folder = tempfile.mkdtemp(prefix="gilscope-sanitized-")
        self.addCleanup(shutil.rmtree, self.folder)

    def run_clean(self, args):
        """Runs gilscope; asserts exit 0, no sanitizer report and the workload unharmed."""
        code, out, err = support.run_gilscope(args, timeout=TIMEOUT_SECONDS)
        context = "%s, gilscope %s: exit %d, stderr:\n%s" % (
            self.python.label, " ".join(args), code, err)
        for marker in REPORT_MARKERS:
            self.assertNotIn(marker, err, context)
        self.assertEqual(code, 0, context)
        if "--pid" in args:
            self.assertTrue(self.workload.alive(), "the workload died; " + context)
            self.assertEqual(support.running_problems(self.workload.pid, window=0.05), [],
                             "the workload was left stopped or traced; " + context)
        return out, err, context

    def test_dump_json(self):
        out, err, context = self.run_clean(["dump", "--pid", str(self.workload.pid), "--json"])
        self.assertEqual(err, "", context)
        threads = json.loads(out)["threads"]
        self.assertTrue(THREAD_NAMES <= set(thread["name"] for thread in threads), context)
        spinners = [thread for thread in threads if thread["name"].startswith("spinner-")]
        for spinner in spinners:
            self.assertIn("spin_forever", [frame["function"] for frame in spinner["frames"]],
                          context)

    def test_dump_native(self):
        out, err, context = self.run_clean(["dump", "--pid", str(self.workload.pid), "--native"])
        self.assertEqual(err, "", context)
        self.assertIn("spin_forever", out, context)

    def test_record(self):
        svg, summary = os.path.join(self.folder, "p.svg"), os.path.join(self.folder, "s.json")
        _, _, context = self.run_clean(["record", "--pid", str(self.workload.pid), "-d", "1",
                                        "-o", svg, "--summary", summary])
        ElementTree.parse(svg)
        with open(summary) as source:
            self.assertGreater(json.load(source)["samples"], 0, context)

    def test_launch(self):
        summary = os.path.join(self.folder, "s.json")
        _, _, context = self.run_clean(
            ["record", "-o", os.path.join(self.folder, "p.svg"), "--summary", summary, "--",
             *self.python.command, RECORD_SHAPES, "spin", "--seconds", "1"])
        with open(summary) as source:
            self.assertIn("target exited", json.load(source)["end_reason"], context)


globals().update(pythons.test_classes("Sanitized_", SanitizedChecks))


def setUpModule():
    support.gilscope_bin()


def tearDownModule():
    sys.stderr.write("\n")
    pythons.print_covered("sanitized_test",
                          sorted(covered, key=lambda p: (p.version_info, p.path)))


if __name__ == "__main__":
    shards.main()
