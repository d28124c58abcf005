#!/usr/bin/env python3
"""`gilscope record --subprocesses` against tests/workloads/pool_shapes.py: a parent whose
multiprocessing.Pool(3) (forked) workers spin in pure Python while it waits on their results.

Run on two interpreters: pythons.behaviour_interpreter() and the newest with a GIL. Per class:
  test_attach          (argv[0] with a terminal escape, a bell and a byte that is not
                       UTF-8) `record --pid PARENT --subprocesses -d 3 -f collapsed --mode wall --idle
                       --summary S`: at least the parent and its 3 workers recorded, each with
                       its true parent pid; each worker holds its GIL in > 80% of samples with
                       nobody waiting (one Python thread each) and is python_cpu_bound; the
                       parent is idle or io_bound; the top-level verdict is a worker's; every
                       collapsed stack starts with one "pid N: ..." root frame, and each of the
                       4 pids roots some stack; the collapsed file is UTF-8 with the escape
                       shown as text, stderr has no control character. Every process runs
                       untraced afterwards.
  test_late_and_killed The parent starts its pool only when told, after the recording began:
                       the 3 workers are recorded all the same; one worker killed mid-recording
                       keeps its samples and its end reason says it exited.
  test_parent_contended The parent also runs two pure-Python spinners (--parent-spinners):
                       its own GIL contended (> 80% where waiters can be told), both spinners
                       near half of it each, verdict python_cpu_bound and the top-level
                       verdict the parent's; the workers' GILs stay uncontended. Written as
                       a Perfetto trace: a process track per process with its own verdict and
                       its own GIL's waiter counter (never above 0 in a worker).
  test_launch          `record --subprocesses -- python pool_shapes.py --exit-after 3`, no -d:
                       the workers (started by the launched program) are recorded, and the
                       recording ends by itself once the whole tree is gone.

Environment: GILSCOPE_BIN (required), GILSCOPE_TEST_PYTHONS (optional, see pythons.py).
Run: GILSCOPE_BIN=build/src/gilscope python3 tests/integration/record_tree_test.py -v
"""

import json
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import perfetto_text  # noqa: E402
import pythons  # noqa: E402
import shards  # noqa: E402
import support  # noqa: E402

SCRIPT = support.workload("pool_shapes.py")
WORKERS = 3
# argv[0] of the parent (exec -a), which root frames and summary lines carry within their first
# 60 bytes: a terminal escape, a bell, markup and (through surrogateescape) a byte that is not
# UTF-8. Forked workers keep it.
HOSTILE_ARGV0 = "py\x1b[2J\x07</b>\udcff"
TERMINAL_CONTROL = re.compile(r"[\x00-\x09\x0b-\x1f\x7f-\x9f]")

covered = []


def parent_of(pid):
    with open("/proc/%d/stat" % pid) as stat:
        return int(stat.read().rsplit(")", 1)[1].split()[1])


class TreeChecks(object):
    python = None

    @classmethod
    def setUpClass(cls):
        covered.append(cls.python)

    def setUp(self):
        self.directory = tempfile.mkdtemp(prefix="gilscope-record-tree-")
        self.addCleanup(shutil.rmtree, self.directory)

    def path(self, name):
        return os.path.join(self.directory, name)

    def read_workers(self, workload):
        workers = []
        for _ in range(WORKERS):
            line = workload.read_line()
            self.assertTrue(line.startswith("worker "), "workload printed %r" % line)
            workers.append(int(line.split()[1]))
        return sorted(workers)

    def summary(self):
        with open(self.path("s.json")) as source:
            summary = json.load(source)
        return summary, dict((process["pid"], process) for process in summary["processes"])

    def check_worker(self, process, context):
        self.assertGreater(process["samples"], 0, context)
        self.assertGreater(process["gil_held"], 0.8, context)
        self.assertEqual(process["contention"], 0, context)
        self.assertEqual(process["mean_waiters"], 0, context)
        self.assertEqual(process["verdict"], "python_cpu_bound", context)
        self.assertEqual(len([thread for thread in process["threads"] if thread["samples"]]), 1,
                         context)

    def test_attach(self):
        workload = support.Workload(["/bin/bash", "-c", 'exec -a "$0" "$@"', HOSTILE_ARGV0] +
                                    self.python.command + [SCRIPT])
        self.addCleanup(workload.kill)
        workers = self.read_workers(workload)
        parent = workload.pid
        support.wait_in_syscall(parent, [parent])
        code, out, err = support.run_gilscope(
            ["record", "--pid", str(parent), "--subprocesses", "-d", "3", "-f", "collapsed",
             "--mode", "wall", "--idle", "-o", self.path("c.txt"), "--summary",
             self.path("s.json")])
        self.assertEqual(code, 0, err)
        summary, by_pid = self.summary()
        self.assertGreaterEqual(len(by_pid), 4, sorted(by_pid))
        for pid in [parent] + workers:
            self.assertIn(pid, by_pid, "pids recorded: %s" % sorted(by_pid))
            self.assertEqual(by_pid[pid]["parent_pid"], parent_of(pid))
            self.assertEqual(by_pid[pid]["command_line"],
                             " ".join(["py\x1b[2J\x07</b>\ufffd"] + self.python.command[1:] +
                                      [SCRIPT]))
        for worker in workers:
            self.check_worker(by_pid[worker], "worker %d" % worker)
        self.assertIn(by_pid[parent]["verdict"], ("idle", "io_bound"))
        self.assertIn(summary["pid"], workers, "the top level is a worker's")
        self.assertEqual(summary["verdict"], "python_cpu_bound")
        self.assertIn("Verdict: pid %d: python_cpu_bound" % summary["pid"], err)
        for pid in [parent] + workers:
            self.assertIn("  pid %d: " % pid, err)
        self.assertIsNone(TERMINAL_CONTROL.search(err), err)
        with open(self.path("c.txt"), "rb") as collapsed:
            text = collapsed.read().decode("utf-8")  # raises on invalid UTF-8
        self.assertIsNone(TERMINAL_CONTROL.search(text.replace("\n", "")))
        self.assertIn("\\x1b[2J", text)  # the escape shown, not sent
        roots = set()
        for frames, _ in support.read_collapsed(self.path("c.txt")):
            self.assertRegex(frames[0], r"^pid \d+: ")
            self.assertEqual([frame for frame in frames if frame.startswith("pid ")],
                             [frames[0]])
            roots.add(int(frames[0].split()[1].rstrip(":")))
        for pid in [parent] + workers:
            self.assertIn(pid, roots)
        for pid in [parent] + workers:
            self.assertEqual(support.running_problems(pid), [], "process %d" % pid)

    def test_late_and_killed(self):
        workload = support.Workload(self.python.command + [SCRIPT, "--wait-for-go"], stdin=True)
        self.addCleanup(workload.kill)
        self.assertEqual(workload.read_line(), "ready %d" % workload.pid)
        recording = subprocess.Popen(
            [support.gilscope_bin(), "record", "--pid", str(workload.pid), "--subprocesses",
             "-d", "5", "-f", "collapsed", "-o", self.path("c.txt"), "--summary",
             self.path("s.json")], stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
            stderr=subprocess.PIPE, text=True)
        self.addCleanup(lambda: recording.poll() is None and recording.kill())
        time.sleep(0.5)  # let the recording start with the parent alone
        workload.write("go\n")
        workers = self.read_workers(workload)
        time.sleep(2)  # a scan (about once a second) finds the workers; they are sampled
        os.kill(workers[0], signal.SIGKILL)
        _, err = recording.communicate(timeout=support.GILSCOPE_TIMEOUT_SECONDS)
        self.assertEqual(recording.returncode, 0, err)
        summary, by_pid = self.summary()
        for worker in workers:
            self.assertIn(worker, by_pid, "pids recorded: %s" % sorted(by_pid))
            self.check_worker(by_pid[worker], "worker %d" % worker)
        self.assertEqual(by_pid[workers[0]]["end_reason"], "target exited")
        self.assertEqual(by_pid[workers[1]]["end_reason"], "duration reached")
        for pid in [workload.pid] + workers[1:]:
            self.assertEqual(support.running_problems(pid), [], "process %d" % pid)

    def check_perfetto_tracks(self, parent, workers, by_pid):
        """Each process its own track, with its own verdict and its GIL's waiters under it."""
        if perfetto_text.protoc_missing():
            return
        trace = perfetto_text.decode(self.path("p.pftrace"))
        process_tracks = dict((track.one("process").one("pid"), uuid)
                              for uuid, track in trace.tracks.items() if "process" in track)
        self.assertEqual(sorted(process_tracks), sorted(by_pid))
        for pid in [parent] + workers:
            description = trace.tracks[process_tracks[pid]].one("description")
            self.assertIn("gilscope: %s (" % by_pid[pid]["verdict"], description)
            waiters = trace.children_of(process_tracks[pid], "GIL waiters")
            self.assertEqual(len(waiters), 1, "process %d: %s" % (pid, description))
            most = max(value for _, value in trace.counters[waiters[0]])
            if pid in workers:
                self.assertEqual(most, 0, "worker %d's GIL has waiters" % pid)
            elif self.python.waiters_tellable(False):
                self.assertGreaterEqual(most, 1, "the parent's GIL never had a waiter")
        spinners = [thread for thread in trace.thread_tracks().values()
                    if thread.one("thread_name", "").startswith("parent-spinner-")]
        self.assertEqual([thread.one("pid") for thread in spinners], [parent, parent])

    def test_parent_contended(self):
        workload = support.Workload(self.python.command + [SCRIPT, "--parent-spinners"])
        self.addCleanup(workload.kill)
        workers = self.read_workers(workload)
        code, out, err = support.run_gilscope(
            ["record", "--pid", str(workload.pid), "--subprocesses", "-d", "3", "-f",
             "perfetto", "-o", self.path("p.pftrace"), "--summary", self.path("s.json")])
        self.assertEqual(code, 0, err)
        summary, by_pid = self.summary()
        parent = by_pid[workload.pid]
        self.check_perfetto_tracks(workload.pid, workers, by_pid)
        context = "%s\n%s" % (self.python.label, err)
        spinners = [thread for thread in parent["threads"]
                    if (thread["name"] or "").startswith("parent-spinner-")]
        self.assertEqual(len(spinners), 2, context)
        for spinner in spinners:
            self.assertGreater(spinner["held"], 0.2, context)
            self.assertLess(spinner["held"], 0.8, context)
        self.assertEqual(parent["verdict"], "python_cpu_bound", context)
        if self.python.waiters_tellable(False):
            self.assertGreater(parent["contention"], 0.8, context)
            self.assertEqual(summary["pid"], workload.pid, "the contended parent matters most")
            self.assertIn("Verdict: pid %d: python_cpu_bound" % workload.pid, err)
        for worker in workers:
            self.check_worker(by_pid[worker], "worker %d" % worker)

    def test_launch(self):
        code, out, err = support.run_gilscope(
            ["record", "--subprocesses", "-f", "collapsed", "-o", self.path("c.txt"),
             "--summary", self.path("s.json"), "--"] + self.python.command +
            [SCRIPT, "--exit-after", "3"])
        self.assertEqual(code, 0, err)
        summary, by_pid = self.summary()
        workers = [pid for pid, process in by_pid.items()
                   if process["verdict"] == "python_cpu_bound"]
        self.assertGreaterEqual(len(workers), WORKERS, by_pid)
        for worker in workers:
            self.check_worker(by_pid[worker], "worker %d" % worker)
        root = summary["processes"][0]["pid"]
        self.assertIn("--exit-after", summary["processes"][0]["command_line"])
        self.assertNotIn(root, workers)
        for worker in workers:
            self.assertEqual(by_pid[worker]["parent_pid"], root)
        self.assertEqual(summary["end_reason"], "target exited")


def _interpreters():
    found = [python for python in pythons.interpreters() if not python.gil_disabled]
    if not found:
        return []
    chosen = [pythons.behaviour_interpreter(), found[-1]]
    return [python for index, python in enumerate(chosen) if python not in chosen[:index]]


for _python in _interpreters():
    _name = "RecordTree_" + "".join(c if c.isalnum() else "_" for c in _python.label)
    globals()[_name] = type(_name, (TreeChecks, unittest.TestCase),
                            {"python": _python, "__doc__": _python.path})


def tearDownModule():
    sys.stderr.write("\n")
    pythons.print_covered("record_tree_test", covered)


if __name__ == "__main__":
    shards.main()
