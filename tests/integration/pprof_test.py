#!/usr/bin/env python3
"""`gilscope record -f pprof` read back by `go tool pprof`.

Pprof_<version>, for every interpreter of pythons.py: tests/workloads/gil_shapes.py --no-hasher
(two pure-Python spinners taking turns on the GIL, a sleeper, a thread blocked on an Event, the
main thread asleep) is recorded once for RECORD_SECONDS with `-f pprof --summary`, and:
  -raw         decodes; every sample carries gil_state, thread_name and thread_id (and
               interpreter on 3.12+); the sleeper is idle with the system call it sleeps in;
               wall = samples x the period
  per thread   the samples of each state (held = holding + holding_in_native) are the summary
               JSON's counts of the same recording, within rounding of its fractions; -tags
               with -sample_index=samples gives the same per-state totals
  blame        (GIL on) -top -sample_index=blame puts >= 90% on spin_forever
  waiting      (waiters tellable, GIL on) -top -tagfocus=gil_state=waiting puts >= 90% on
               spin_forever, and its total is the summary's waiting samples
PprofBehaviour (one interpreter): `-o -` to a terminal is refused before recording; `-o -` to
a pipe is a gzip stream pprof reads.

Skipped, saying so, when `go` is not installed.
Environment: GILSCOPE_BIN (required), GILSCOPE_TEST_PYTHONS (optional, see pythons.py).
Run: GILSCOPE_BIN=build/src/gilscope python3 tests/integration/pprof_test.py -v
"""

import collections
import gzip
import json
import os
import pty
import re
import shutil
import subprocess
import sys
import tempfile
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import pythons  # noqa: E402
import shards  # noqa: E402
import support  # noqa: E402

SCRIPT = support.workload("gil_shapes.py")
RECORD_SECONDS = 2
RECORD_TIMEOUT = RECORD_SECONDS + 30
RATE_HZ = 100
GO = shutil.which("go")
STATES = ("holding", "holding_in_native", "waiting", "running_without_gil", "idle", "unknown")

covered = []

RawSample = collections.namedtuple("RawSample", "values locations labels")


def go_pprof(args, timeout=60):
    """stdout of `go tool pprof args`; AssertionError with its stderr when it fails."""
    proc = subprocess.run([GO, "tool", "pprof"] + list(args), capture_output=True, timeout=timeout,
                          env=dict(os.environ, HOME=os.environ.get("HOME", "/root")))
    if proc.returncode != 0:
        raise AssertionError("go tool pprof %s failed: %s"
                             % (" ".join(args), proc.stderr.decode("utf-8", "replace")))
    return proc.stdout.decode("utf-8")


def parse_raw(text):
    """The samples of `go tool pprof -raw`: values, location ids, and labels {key: value} (a
    numeric label's unit dropped)."""
    samples = []
    in_samples = False
    for line in text.splitlines():
        if line.startswith("Samples:"):
            in_samples = True
            continue
        if not in_samples:
            continue
        if line and not line[0].isspace() and not line.startswith("samples/"):
            break  # "Locations", the next section
        values = re.match(r"^\s*(\d+)\s+(\d+)\s+(\d+):\s*(.*)$", line)
        if values:
            samples.append(RawSample([int(v) for v in values.groups()[:3]],
                                     values.group(4).split(), {}))
        elif samples:
            for key, value in re.findall(r"(\w+):\[([^\]]*)\]", line):
                samples[-1].labels[key] = re.sub(r" id$", "", value)
    return samples


def top_share(text, function):
    """(flat share of function, nodes total, profile total) from `go tool pprof -top`."""
    shown = re.search(r"Showing nodes accounting for (\d+), [\d.]+% of (\d+) total", text)
    if not shown:
        return 0.0, 0, 0
    nodes, total = int(shown.group(1)), int(shown.group(2))
    for line in text.splitlines():
        fields = line.split()
        if len(fields) >= 6 and fields[-1] == function:
            return float(fields[0]) / nodes if nodes else 0.0, nodes, total
    return 0.0, nodes, total


class PprofChecks(object):
    """Mixed into one unittest.TestCase subclass per interpreter."""

    python = None

    @classmethod
    def setUpClass(cls):
        covered.append(cls.python)
        cls.folder = tempfile.mkdtemp(prefix="gilscope-pprof-")
        cls.addClassCleanup(shutil.rmtree, cls.folder, True)
        workload = support.Workload([*cls.python.command, SCRIPT, "--no-hasher"])
        cls.addClassCleanup(workload.kill)
        workload.wait_ready()
        cls.profile = os.path.join(cls.folder, "p.pb.gz")
        summary = os.path.join(cls.folder, "s.json")
        code, _, err = support.run_gilscope(
            ["record", "--pid", str(workload.pid), "-d", str(RECORD_SECONDS), "-r", str(RATE_HZ),
             "-f", "pprof", "-o", cls.profile, "--summary", summary], timeout=RECORD_TIMEOUT)
        cls.context = "%s: %s" % (cls.python.label, err)
        if code != 0:
            raise AssertionError("record failed: " + cls.context)
        with open(summary) as stream:
            cls.summary = json.load(stream)
        cls.raw_text = go_pprof(["-raw", cls.profile])
        cls.samples = parse_raw(cls.raw_text)

    def gil_on(self):
        return self.summary["gil_enabled"] and not self.python.gil_disabled

    def test_raw_lists_every_label(self):
        self.assertTrue(self.samples, self.raw_text[:2000])
        period_ns = 10 ** 9 // RATE_HZ
        for sample in self.samples:
            for key in ("gil_state", "thread_name", "thread_id"):
                self.assertIn(key, sample.labels, sample)
            self.assertIn(sample.labels["gil_state"], STATES)
            if self.python.version_info >= (3, 12):
                self.assertIn("interpreter", sample.labels, sample)
            self.assertEqual(sample.values[1], sample.values[0] * period_ns, sample)
            self.assertTrue(sample.locations, sample)
        sleeper = [s for s in self.samples if s.labels["thread_name"] == "sleeper"]
        self.assertTrue(sleeper, self.raw_text[:2000])
        self.assertEqual(set(s.labels["gil_state"] for s in sleeper), {"idle"})
        self.assertTrue(all(s.labels.get("blocked_in") for s in sleeper), sleeper)
        self.assertIn("Comment: verdict: ", self.raw_text)
        self.assertIn("Comment: gilscope record of Python %s" % self.python.version,
                      self.raw_text)

    def test_state_counts_match_the_summary(self):
        counts = collections.defaultdict(collections.Counter)  # thread id -> state -> samples
        for sample in self.samples:
            counts[int(sample.labels["thread_id"])][sample.labels["gil_state"]] += sample.values[0]
        threads = {t["native_id"]: t for t in self.summary["threads"]}
        self.assertEqual(set(counts), set(threads), self.context)
        for tid, states in counts.items():
            thread = threads[tid]
            total = sum(states.values())
            self.assertEqual(total, thread["samples"], thread)
            for key, found in (("held", states["holding"] + states["holding_in_native"]),
                               ("held_in_native", states["holding_in_native"]),
                               ("waiting", states["waiting"]),
                               ("running_without_gil", states["running_without_gil"]),
                               ("idle", states["idle"]), ("unknown", states["unknown"])):
                self.assertAlmostEqual(found, thread[key] * total, delta=0.5,
                                       msg="%s %s: %s" % (thread["name"], key, self.context))
        tags = go_pprof(["-tags", "-sample_index=samples", self.profile])
        section = tags.split("gil_state:", 1)[1].split("\n\n", 1)[0]
        totals = {state: int(float(n)) for n, state in
                  re.findall(r"^\s*([\d.]+) \([^)]*\): (\w+)$", section, re.M)}
        expected = collections.Counter()
        for states in counts.values():
            expected.update(states)
        self.assertEqual(totals, {k: v for k, v in expected.items() if v}, tags)

    def test_blame_names_the_spinner(self):
        if not self.gil_on():
            self.skipTest("GIL off: nobody waits")
        text = go_pprof(["-top", "-sample_index=blame", self.profile])
        share, nodes, _ = top_share(text, "spin_forever")
        self.assertGreater(nodes, 0, text)
        self.assertGreaterEqual(share, 0.9, text)

    def test_waiting_threads_wait_in_the_spinner(self):
        if not self.gil_on() or not self.python.waiters_tellable(False):
            self.skipTest("waiters not tellable here")
        text = go_pprof(["-top", "-sample_index=samples", "-tagfocus=gil_state=waiting",
                         self.profile])
        share, nodes, total = top_share(text, "spin_forever")
        self.assertGreaterEqual(share, 0.9, text)
        waiting = sum(t["waiting"] * t["samples"] for t in self.summary["threads"])
        self.assertAlmostEqual(nodes, waiting, delta=0.5 * len(self.summary["threads"]))
        self.assertEqual(total, sum(t["samples"] for t in self.summary["threads"]), text)


globals().update(pythons.test_classes("Pprof_", PprofChecks))


class PprofBehaviour(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.python = pythons.behaviour_interpreter()
        covered.append(cls.python)

    def start(self):
        workload = support.Workload([*self.python.command, SCRIPT, "--no-hasher"])
        self.addCleanup(workload.kill)
        workload.wait_ready()
        return workload

    def test_refuses_a_terminal(self):
        workload = self.start()
        leader, follower = pty.openpty()
        self.addCleanup(os.close, leader)
        try:
            proc = subprocess.run([support.gilscope_bin(), "record", "--pid", str(workload.pid),
                                   "-d", "1", "-f", "pprof", "-o", "-"], stdin=subprocess.DEVNULL,
                                  stdout=follower, stderr=subprocess.PIPE, timeout=RECORD_TIMEOUT)
        finally:
            os.close(follower)
        self.assertNotEqual(proc.returncode, 0)
        self.assertIn(b"will not write a binary profile to a terminal", proc.stderr)
        self.assertEqual(support.running_problems(workload.pid), [])

    def test_pipe_gets_a_gzip_stream(self):
        workload = self.start()
        proc = subprocess.run([support.gilscope_bin(), "record", "--pid", str(workload.pid),
                               "-d", "1", "-f", "pprof", "-o", "-"], stdin=subprocess.DEVNULL,
                              capture_output=True, timeout=RECORD_TIMEOUT)
        self.assertEqual(proc.returncode, 0, proc.stderr)
        self.assertEqual(proc.stdout[:2], b"\x1f\x8b")
        self.assertGreater(len(gzip.decompress(proc.stdout)), 0)
        folder = tempfile.mkdtemp(prefix="gilscope-pprof-")
        self.addCleanup(shutil.rmtree, folder, True)
        path = os.path.join(folder, "p.pb.gz")
        with open(path, "wb") as stream:
            stream.write(proc.stdout)
        self.assertTrue(parse_raw(go_pprof(["-raw", path])))


def setUpModule():
    support.gilscope_bin()
    if GO is None:
        raise unittest.SkipTest("`go` is not installed: `go tool pprof` is what reads the profile "
                                "(apt-get install golang-go)")


def tearDownModule():
    sys.stderr.write("\n")
    pythons.print_covered("pprof_test", sorted(set(covered),
                                               key=lambda p: (p.version_info, p.path)))


if __name__ == "__main__":
    shards.main()
