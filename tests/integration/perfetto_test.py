#!/usr/bin/env python3
"""`gilscope record -f perfetto` on real interpreters: the trace decodes with Perfetto's
published schema and shows what the workload does by construction.

PerfettoTrace_<version>, for every interpreter of pythons.py: tests/workloads/gil_shapes.py
--no-hasher runs two pure-Python spinners (which take turns on the GIL), a sleeper and a thread
blocked on an event. Recorded for 2 s, the trace must have one track per spinner named after
it; the GIL-state slices of both spinners alternate (each has holding and waiting slices, and
their holding slices barely overlap); the GIL-waiters counter sits at 1 most of the time; the
spinner's function is in the stack slices; the verdict is python_cpu_bound. Free-threaded
builds running without their GIL only have to decode and name their threads.

Needs protoc (the trace is decoded by `protoc --decode=perfetto.protos.Trace` against
testdata/perfetto/perfetto_trace.proto); skipped with a message when it is absent.

Environment: GILSCOPE_BIN (required), GILSCOPE_TEST_PYTHONS (optional, see pythons.py).
Run: GILSCOPE_BIN=build/src/gilscope python3 tests/integration/perfetto_test.py -v
"""

import os
import shutil
import sys
import tempfile
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import perfetto_text  # noqa: E402
import pythons  # noqa: E402
import shards  # noqa: E402
import support  # noqa: E402

SHAPES = support.workload("gil_shapes.py")
RECORD_SECONDS = 2
SPINNERS = ("spinner-1", "spinner-2")
# Two spinners: while one holds the GIL the other waits, so their holding slices overlap only
# where a hand-off fell between samples; and one thread waits nearly all the time.
MAX_HOLDING_OVERLAP = 0.1  # of the shorter total holding time
MIN_ONE_WAITER = 0.8  # of the counter's time span

covered = []


def total(slices):
    return sum(s.end - s.begin for s in slices)


def overlap(first, second):
    """Time covered by a slice of first and one of second (each list disjoint in itself)."""
    result, j = 0, 0
    second = sorted(second, key=lambda s: s.begin)
    for a in sorted(first, key=lambda s: s.begin):
        while j < len(second) and second[j].end <= a.begin:
            j += 1
        k = j
        while k < len(second) and second[k].begin < a.end:
            result += min(a.end, second[k].end) - max(a.begin, second[k].begin)
            k += 1
    return result


def share_at(points, value, end):
    """Share of [first point, end) during which a step counter of points equals value."""
    if not points or end <= points[0][0]:
        return 0.0
    at_value = 0
    for i, (ts, current) in enumerate(points):
        until = points[i + 1][0] if i + 1 < len(points) else end
        if current == value:
            at_value += until - ts
    return at_value / float(end - points[0][0])


class PerfettoChecks(object):
    """Mixed into one unittest.TestCase subclass per interpreter."""

    python = None

    @classmethod
    def setUpClass(cls):
        support.gilscope_bin()
        missing = perfetto_text.protoc_missing()
        if missing:
            raise unittest.SkipTest("cannot decode Perfetto traces: " + missing)

    def record(self):
        workload = support.Workload([*self.python.command, SHAPES, "--no-hasher"])
        self.addCleanup(workload.kill)
        workload.wait_ready()
        folder = tempfile.mkdtemp(prefix="gilscope-perfetto-")
        self.addCleanup(shutil.rmtree, folder)
        out = os.path.join(folder, "t.pftrace")
        code, _, err = support.run_gilscope(
            ["record", "--pid", str(workload.pid), "-d", str(RECORD_SECONDS), "-f", "perfetto",
             "-o", out, "--baseline", "0"])
        context = "%s: %s" % (self.python.label, err)
        self.assertEqual(code, 0, context)
        self.assertTrue(workload.alive(), context)
        return workload, perfetto_text.decode(out), context

    def test_spinners_take_turns_in_the_trace(self):
        workload, trace, context = self.record()
        covered.append(self.python)
        self.assertEqual(trace.unclosed, 0, context)
        process = [track.one("process") for track in trace.tracks.values() if "process" in track]
        self.assertEqual(len(process), 1, context)
        self.assertEqual(process[0].one("pid"), workload.pid, context)
        self.assertIn("gil_shapes.py", process[0].one("process_name"), context)

        threads = trace.thread_tracks()
        spinner_tracks = {}
        for name in SPINNERS:
            uuids = [uuid for uuid, thread in threads.items() if thread.one("thread_name") == name]
            self.assertEqual(len(uuids), 1, "%s: tracks %s" % (name, context))
            self.assertEqual(threads[uuids[0]].one("pid"), workload.pid, context)
            spinner_tracks[name] = uuids[0]
        for name, uuid in spinner_tracks.items():
            stack_tracks = trace.children_of(uuid, "Python stack")
            self.assertEqual(len(stack_tracks), 1, "%s: stack tracks; %s" % (name, context))
            stack = trace.slices[stack_tracks[0]]
            self.assertTrue(any(s.name.startswith("spin_forever (%s:" % SHAPES) for s in stack),
                            "%s's stack slices: %s" % (name, sorted(set(s.name for s in stack))))

        if self.python.gil_disabled:
            self.assertEqual(trace.summary["verdict"], "no_gil", context)
            return
        self.assertEqual(trace.summary["verdict"], "python_cpu_bound", context)
        self.assertTrue(trace.summary["verdict_reason"], context)
        self.assertEqual(trace.summary["python_version"], self.python.version, context)

        holding = {}
        for name, uuid in spinner_tracks.items():
            states = trace.slices[uuid]
            self.assertTrue(all(s.depth == 0 for s in states), context)
            holding[name] = [s for s in states if s.name == "holding GIL"]
            waiting = [s for s in states if s.name == "waiting for GIL"]
            self.assertTrue(holding[name] and waiting, "%s: states %s; %s" % (
                name, sorted(set(s.name for s in states)), context))
        both = overlap(holding[SPINNERS[0]], holding[SPINNERS[1]])
        shorter = min(total(holding[name]) for name in SPINNERS)
        self.assertLess(both, MAX_HOLDING_OVERLAP * shorter,
                        "holding slices overlap %d of %d ns; %s" % (both, shorter, context))

        waiters = trace.track_named("GIL waiters")
        self.assertEqual(len(waiters), 1, context)
        if self.python.waiters_tellable(False):
            share = share_at(trace.counters[waiters[0]], 1, trace.end)
            self.assertGreater(share, MIN_ONE_WAITER, "one waiter %.2f of the time; %s"
                               % (share, context))
        # Hand-offs per second where the version counts them, as the summary says.
        handoffs = trace.track_named("GIL hand-offs/s")
        self.assertEqual(len(handoffs), 1 if "switches_per_s" in trace.summary else 0, context)
        for uuid in handoffs:
            values = [value for _, value in trace.counters[uuid]]
            self.assertTrue(values and min(values) >= 0 and max(values) > 0, context)


globals().update(pythons.test_classes("PerfettoTrace_", PerfettoChecks))


def tearDownModule():
    sys.stderr.write("\n")
    pythons.print_covered("perfetto_test", sorted(covered, key=lambda p: (p.version_info, p.path)))


if __name__ == "__main__":
    shards.main()
