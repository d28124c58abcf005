#!/usr/bin/env python3
"""`gilscope record` against workloads of known shape (tests/workloads/record_shapes.py).

RecordShapes_<version>, for every interpreter of pythons.py, records each shape for
RECORD_SECONDS with `-f speedscope --summary` (one file carries every view) and checks:
  spin         in the gil, wait and blame views nearly all weight is on spin() and none on the
               idle main thread; GIL held and contention near 1; verdict python_cpu_bound;
               the hand-off rate counted unobserved before sampling within 2x of the sampled one
  spin at 1000 Hz  pausing 1000 times a second: each of the two pure-Python spinners, which by
               construction always hold or wait for the GIL, is never filed running without it
               or idle (<= 3%), is held or waiting in >= 97% of its samples, and the GIL is
               contended in >= 97% (a wait our own pause had interrupted, resumed as
               restart_syscall, once read as idle; a woken waiter, once read as native code).
               On 2.7 what cannot be placed (2-3%) is unknown: only "never misfiled" there
  spin at 1000 Hz, non-blocking  the same without pausing: a woken waiter is runnable and /proc
               shows no registers; its frame at an eval breaker opcode (3.10+) or glibc's count
               of the GIL's waiters places it. On 2.7-3.9 what cannot be placed is unknown:
               there only "never misfiled" is checked
  hash         GIL held low, both hashing threads mostly running without the GIL;
               verdict native_releases_gil
  io           verdict io_bound
  native_hold  (where ctypes works) the blame view names hold_in_c; verdict native_holds_gil
After each recording the workload must still run, untraced, with no thread stopped.

RecordBehaviour (one interpreter): collapsed output's format and round trip, the SVG parses
and carries its script and views, launch mode, Ctrl-C (SIGINT) mid-recording writes a
complete file atomically, a target exiting mid-recording still yields output, live status
only on a terminal. RecordBadInput: each bad argument gives one line and the right exit code.

Environment: GILSCOPE_BIN (required), GILSCOPE_TEST_PYTHONS (optional, see pythons.py).
Run: GILSCOPE_BIN=build/src/gilscope python3 tests/integration/record_test.py -v
"""

import json
import os
import pty
import re
import select
import shutil
import signal
import stat
import subprocess
import sys
import tempfile
import threading
import time
import unittest
import xml.etree.ElementTree as ElementTree

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import pythons  # noqa: E402
import shards  # noqa: E402
import support  # noqa: E402

SCRIPT = support.workload("record_shapes.py")
SHORT_THREADS = support.workload("short_threads.py")
RECORD_SECONDS = 2
VIEWS = ["blame", "wait", "gil", "wall", "cpu"]  # speedscope profiles, in this order
RECORD_TIMEOUT = RECORD_SECONDS + 30

covered = []


def load_json(path):
    with open(path) as stream:
        return json.load(stream)


def frame_name(frame):
    """The function of a speedscope frame, without any "(file:line)" suffix."""
    return frame["name"].split(" (", 1)[0]


class Speedscope(object):
    """The views of a speedscope file, as {view: [(function names root first, weight)]}."""

    def __init__(self, path):
        data = load_json(path)
        frames = data["shared"]["frames"]
        self.views = {}
        for view, profile in zip(VIEWS, data["profiles"]):
            self.views[view] = [([frame_name(frames[i]) for i in sample], weight)
                                for sample, weight in zip(profile["samples"], profile["weights"])]
        self.active = VIEWS[data["activeProfileIndex"]]

    def total(self, view):
        return sum(weight for _, weight in self.views[view])

    def share(self, view, function):
        """Share of the view's weight on stacks that contain function."""
        total = self.total(view)
        hit = sum(weight for names, weight in self.views[view] if function in names)
        return float(hit) / total if total else 0.0

    def picture(self, view):
        """The heaviest stacks of a view, for failure messages."""
        stacks = sorted(self.views[view], key=lambda item: -item[1])[:8]
        return "\n".join("  %5d %s" % (weight, ";".join(names)) for names, weight in stacks)


def has_ctypes(python):
    return subprocess.run([*python.command, "-c", "import ctypes; ctypes.PyDLL(None).usleep"],
                          capture_output=True, timeout=30).returncode == 0


def wait_until_main_idle(pid, timeout=20):
    """Waits until a dump shows the workload's main thread idle inside Event().wait(): on its way
    there it may still queue once for the GIL behind the threads it just started, and after
    that it never runs Python again. Idle elsewhere is not enough: writing "ready" it is idle
    in write(2), with go.set() still to come."""
    deadline = time.monotonic() + timeout
    while True:
        code, out, err = support.run_gilscope(["dump", "--pid", str(pid), "--json"])
        if code == 0:
            main = [t for t in json.loads(out)["threads"] if t["main"]]
            if (main and main[0]["state"] == "idle" and main[0]["frames"]
                    and main[0]["frames"][0]["function"].endswith("wait")):
                return
        if time.monotonic() > deadline:
            raise AssertionError("main thread of %d not idle within %g s: %s" % (pid, timeout, err))
        time.sleep(0.05)


class RecordShapeChecks(object):
    """Mixed into one unittest.TestCase subclass per interpreter."""

    python = None

    @classmethod
    def setUpClass(cls):
        support.gilscope_bin()
        covered.append(cls.python)

    def record(self, shape, main_idle=False, extra=()):
        """Records a running workload of shape (with extra options); returns (Speedscope,
        summary dict, context). With main_idle, recording starts once the main thread is idle
        for good."""
        workload = support.Workload([*self.python.command, SCRIPT, shape])
        self.addCleanup(workload.kill)
        workload.wait_ready()
        if main_idle:
            wait_until_main_idle(workload.pid)
        folder = tempfile.mkdtemp(prefix="gilscope-record-")
        self.addCleanup(shutil.rmtree, folder)
        out, summary = os.path.join(folder, "p.json"), os.path.join(folder, "s.json")
        code, stdout, err = support.run_gilscope(
            ["record", "--pid", str(workload.pid), "-d", str(RECORD_SECONDS), "-f", "speedscope",
             "-o", out, "--summary", summary, *extra], timeout=RECORD_TIMEOUT)
        context = "%s %s %s: %s" % (self.python.version, shape, " ".join(extra), err)
        self.assertEqual(code, 0, context)
        self.assertEqual(support.running_problems(workload.pid, window=0.1), [],
                         "workload left stopped or traced; " + context)
        self.assertTrue(workload.alive(), "workload died; " + context)
        result = load_json(summary)
        # Sampling went on through the whole recording and took enough samples for the shares
        # checked below. How close it kept to the rate is the summary's report and the
        # benchmarks' measure, not a timed assertion: on a loaded machine every sample is dearer.
        self.assertGreaterEqual(result["duration_s"], 0.75 * RECORD_SECONDS, context)
        self.assertGreaterEqual(result["samples"], 40, context)
        self.assertLessEqual(result["errors"], result["samples"] // 20, context)
        return Speedscope(out), result, context

    def check_without_gil(self, shape, busy_function):
        """A free-threaded build with its GIL off: no GIL views, the work in the cpu view, and
        the verdict says there is no GIL."""
        profile, result, context = self.record(shape, main_idle=True)
        for view in ("gil", "wait", "blame"):
            self.assertEqual(profile.total(view), 0, "%s view:\n%s\n%s"
                             % (view, profile.picture(view), context))
        picture = "cpu view:\n%s\n%s" % (profile.picture("cpu"), context)
        self.assertGreaterEqual(profile.share("cpu", busy_function), 0.5, picture)
        self.assertEqual(result["verdict"], "no_gil", context)
        self.assertEqual(result["gil_disabled"], 1.0, context)
        self.assertEqual(result["contention"], 0.0, context)
        self.assertIn("the GIL was off", context)

    def test_spin(self):
        if self.python.gil_disabled:
            return self.check_without_gil("spin", "spin")
        profile, result, context = self.record("spin", main_idle=True)
        for view in ("gil", "wait", "blame"):
            picture = "%s view:\n%s\n%s" % (view, profile.picture(view), context)
            self.assertGreater(profile.total(view), 0, picture)
            self.assertGreaterEqual(profile.share(view, "spin"), 0.9, picture)
            self.assertEqual(profile.share(view, "main"), 0.0, "idle main thread in " + picture)
        self.assertEqual(result["verdict"], "python_cpu_bound", context)
        if self.python.version_info >= (3, 0):  # the GIL's switch counter exists from 3.2 on
            self.assertIsNotNone(result["switches_per_s"], context)
            self.assertGreater(result["switches_per_s"], 0, context)
            # Two spinners hand the GIL over every switch interval (5 ms) whether or not they
            # are watched: the rate counted unobserved before sampling is of the same order.
            unobserved = result["unobserved_switches_per_s"]
            self.assertIsNotNone(unobserved, context)
            self.assertAlmostEqual(result["unobserved_window_s"], 0.25, delta=0.2)
            self.assertGreater(unobserved, 0.5 * result["switches_per_s"], context)
            self.assertLess(unobserved, 2.0 * result["switches_per_s"], context)
            self.assertIn("Observer effect: GIL hand-offs", context)
        else:
            self.assertIsNone(result["switches_per_s"], context)
            self.assertIsNone(result["unobserved_switches_per_s"], context)
        if self.python.version_info < (3, 0):
            # 2.7's old GIL is let go and retaken every 100 bytecodes, waking the waiter each
            # time: with two spinners on a busy two-core machine a sample often lands inside
            # that hand-off, so held and contention are lower there and vary from run to run.
            self.assertGreaterEqual(result["contention"], 0.2, context)
            return
        self.assertGreaterEqual(result["gil_held"], 0.85, context)
        self.assertGreaterEqual(result["contention"], 0.75, context)
        self.assertGreaterEqual(result["mean_waiters"], 0.75, context)
        spinners = [t for t in result["threads"] if t["held"] + t["waiting"] >= 0.8]
        self.assertEqual(len(spinners), 2, context)

    def test_spin_at_1000_hz(self):
        if self.python.gil_disabled:
            return  # no GIL to hold or wait for: test_spin checks that case
        self.check_spinners_at_1000_hz(("-r", "1000"))

    def test_spin_at_1000_hz_nonblocking(self):
        if self.python.gil_disabled:
            return  # no GIL to hold or wait for: test_spin checks that case
        self.check_spinners_at_1000_hz(("-r", "1000", "--nonblocking"))

    def check_spinners_at_1000_hz(self, extra):
        """A pure-Python spinner always holds or waits for the GIL: never filed as running
        without it or idle (<= 3% of its samples). Held or waiting in >= 97% and the GIL
        contended >= 97% wherever gilscope can tell: 3.x when pausing; without pausing on
        3.10+, where a waiter's frame sits at an eval breaker opcode. On 2.7, and 3.6-3.9
        non-blocking, a dropper of the GIL preempted after waking the next holder cannot be
        told from native code a slot runs: it must be filed unknown, not as another state."""
        _, result, context = self.record("spin", main_idle=True, extra=extra)
        spinners = [thread for thread in result["threads"] if thread["name"] != "MainThread"]
        self.assertEqual(len(spinners), 2, context)
        # 2.7 lets the GIL go every 100 bytecodes, so even paused a dropper preempted right
        # after waking the next holder is caught now and then (about 2-3%): unknown there.
        tellable = self.python.waiters_tellable("--nonblocking" in extra)
        for thread in spinners:
            where = "%s: %s" % (thread, context)
            self.assertLessEqual(thread["running_without_gil"] + thread["idle"], 0.03, where)
            if tellable:
                self.assertGreaterEqual(thread["held"] + thread["waiting"], 0.97, where)
        if tellable:
            self.assertGreaterEqual(result["contention"], 0.97, context)

    def test_hash(self):
        if self.python.gil_disabled:
            return self.check_without_gil("hash", "hash_buffer")
        profile, result, context = self.record("hash")
        self.assertLess(result["gil_held"], 0.5, context)
        hashers = [t for t in result["threads"] if t["running_without_gil"] >= 0.5]
        self.assertEqual(len(hashers), 2, context)
        self.assertEqual(result["verdict"], "native_releases_gil", context)
        self.assertGreaterEqual(profile.share("cpu", "hash_buffer"), 0.8,
                                "cpu view:\n%s\n%s" % (profile.picture("cpu"), context))

    def test_io(self):
        _, result, context = self.record("io")
        self.assertLess(result["contention"], 0.2, context)
        self.assertEqual(result["verdict"], "io_bound", context)

    def test_native_hold(self):
        if not has_ctypes(self.python):
            self.skipTest("ctypes is not available in %s" % self.python.path)
        if self.python.gil_disabled:
            # The C call sleeps: with no GIL to hold, only the spinners use a CPU.
            return self.check_without_gil("native_hold", "spin")
        profile, result, context = self.record("native_hold")
        self.assertGreaterEqual(result["contention"], 0.5, context)
        self.assertEqual(result["verdict"], "native_holds_gil", context)
        self.assertGreaterEqual(profile.share("blame", "hold_in_c"), 0.5,
                                "blame view:\n%s\n%s" % (profile.picture("blame"), context))

globals().update(pythons.test_classes("RecordShapes_", RecordShapeChecks))



class RecordBehaviour(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.python = pythons.behaviour_interpreter()

    def setUp(self):
        self.folder = tempfile.mkdtemp(prefix="gilscope-record-")
        self.addCleanup(shutil.rmtree, self.folder)

    def path(self, name):
        return os.path.join(self.folder, name)

    def spinning_workload(self, *extra):
        workload = support.Workload([*self.python.command, SCRIPT, "spin"] + list(extra))
        self.addCleanup(workload.kill)
        workload.wait_ready()
        return workload

    def assert_no_leftovers(self, *expected):
        self.assertEqual(sorted(os.listdir(self.folder)), sorted(expected),
                         "temporary files left behind")

    def test_collapsed_is_root_first_and_round_trips(self):
        workload = self.spinning_workload()
        out = self.path("gil.txt")
        code, _, err = support.run_gilscope(
            ["record", "--pid", str(workload.pid), "-d", "1.5", "-f", "collapsed", "--gil",
             "-o", out, "--summary", self.path("s.json")], timeout=RECORD_TIMEOUT)
        self.assertEqual(code, 0, err)
        with open(out) as stream:
            text = stream.read()
        lines = text.splitlines()
        self.assertTrue(lines, "empty collapsed output")
        parsed = []
        for line in lines:
            match = re.match(r"^(.+) (\d+)$", line)
            self.assertIsNotNone(match, "not a folded line: %r" % line)
            parsed.append((match.group(1).split(";"), int(match.group(2))))
        # Root first: a spinner's stack starts in threading's bootstrap and ends in spin.
        heaviest = max(parsed, key=lambda item: item[1])[0]
        self.assertIn("bootstrap", heaviest[0], heaviest)
        self.assertTrue(heaviest[-1].startswith("spin ("), heaviest)
        # The gil view has one stack per sample with a holder.
        summary = load_json(self.path("s.json"))
        held_samples = round(summary["gil_held"] * summary["samples"])
        self.assertEqual(sum(count for _, count in parsed), held_samples)
        rebuilt = "".join("%s %d\n" % (";".join(frames), count) for frames, count in parsed)
        self.assertEqual(rebuilt, text)
        self.assert_no_leftovers("gil.txt", "s.json")

    def test_flamegraph_parses_and_carries_every_view(self):
        workload = self.spinning_workload()
        out = self.path("p.svg")
        code, _, err = support.run_gilscope(
            ["record", "--pid", str(workload.pid), "-d", "1.5", "-o", out], timeout=RECORD_TIMEOUT)
        self.assertEqual(code, 0, err)
        root = ElementTree.parse(out).getroot()
        self.assertTrue(root.tag.endswith("svg"), root.tag)
        scripts = [e for e in root.iter() if e.tag.endswith("script")]
        self.assertTrue(scripts and any((e.text or "").strip() for e in scripts), "no script")
        text = ElementTree.tostring(root, encoding="unicode")
        for word in ["spin", "blame", "wait", "gil", "wall"]:
            self.assertIn(word, text)
        self.assertIn("Verdict", err)
        self.assertIn("python_cpu_bound", err)
        # The timeline view's data: runs per thread that add up to the views' totals, and the two
        # spinners taking turns, each both holding the GIL and waiting for it.
        data = json.loads([e for e in scripts if e.get("id") == "flame-data"][0].text)
        timeline, views = data["timeline"], {view["name"]: view for view in data["views"]}
        self.assertFalse(timeline["truncated"] or timeline["coarse"])
        lanes = [[thread["runs"][i:i + 7] for i in range(0, len(thread["runs"]), 7)]
                 for thread in timeline["threads"]]
        runs = [run for lane in lanes for run in lane]
        self.assertEqual(sum(run[1] for run in runs if run[2] in (0, 1)), views["gil"]["total"])
        self.assertEqual(sum(run[1] for run in runs if run[2] == 2), views["wait"]["total"])
        self.assertEqual(sum(run[4] for run in runs), views["blame"]["total"])
        innermost = lambda run: data["labels"][timeline["stacks"][run[3]][-1]]
        spinners = [lane for lane in lanes
                    if any(innermost(run).startswith("spin (") for run in lane)]
        self.assertEqual(len(spinners), 2, [thread["name"] for thread in timeline["threads"]])
        for lane in spinners:
            self.assertEqual({0, 2} - {run[2] for run in lane}, set(), lane[:10])

    def test_launch_mode_records_until_the_program_exits(self):
        out = self.path("launched.svg")
        started = time.monotonic()
        code, _, err = support.run_gilscope(
            ["record", "-o", out, "--summary", self.path("s.json"), "--",
             *self.python.command, SCRIPT, "spin", "--seconds", "2"], timeout=RECORD_TIMEOUT)
        self.assertEqual(code, 0, err)
        self.assertLess(time.monotonic() - started, 15, "did not stop when the program exited")
        summary = load_json(self.path("s.json"))
        self.assertIn("target exited", summary["end_reason"])
        self.assertIn("status 0", summary["end_reason"])
        self.assertGreaterEqual(summary["samples"], 100)
        self.assertEqual(summary["verdict"], "python_cpu_bound")
        # A program only starting has no steady hand-off rate to compare with: not measured.
        self.assertIsNone(summary["unobserved_switches_per_s"])
        ElementTree.parse(out)
        self.assert_no_leftovers("launched.svg", "s.json")

    def test_target_exiting_mid_recording_still_yields_output(self):
        workload = self.spinning_workload("--seconds", "1.5")
        out = self.path("p.txt")
        code, _, err = support.run_gilscope(
            ["record", "--pid", str(workload.pid), "-f", "collapsed", "-o", out,
             "--summary", self.path("s.json")], timeout=RECORD_TIMEOUT)
        self.assertEqual(code, 0, err)
        self.assertIn("target exited", load_json(self.path("s.json"))["end_reason"])
        with open(out) as stream:
            self.assertIn("spin (", stream.read())

    def test_sigint_mid_recording_writes_a_complete_file(self):
        workload = self.spinning_workload()
        out = self.path("p.svg")
        proc = subprocess.Popen([support.gilscope_bin(), "record", "--pid", str(workload.pid),
                                 "-o", out, "--summary", self.path("s.json")],
                                stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                                stderr=subprocess.PIPE, text=True)
        self.addCleanup(lambda: proc.poll() is None and proc.kill())
        time.sleep(1.5)
        self.assertIsNone(proc.poll(), "record ended on its own")
        self.assertFalse(os.path.exists(out), "output visible before the recording ended")
        proc.send_signal(signal.SIGINT)
        try:
            _, err = proc.communicate(timeout=20)
        except subprocess.TimeoutExpired:
            proc.kill()
            self.fail("record did not stop after SIGINT")
        self.assertEqual(proc.returncode, 0, err)
        ElementTree.parse(out)  # complete, well-formed
        summary = load_json(self.path("s.json"))
        self.assertEqual(summary["end_reason"], "interrupted")
        self.assertGreaterEqual(summary["samples"], 50)
        self.assertEqual(support.running_problems(workload.pid, window=0.1), [])
        self.assertTrue(workload.alive())
        self.assert_no_leftovers("p.svg", "s.json")

    def test_live_status_only_on_a_terminal(self):
        workload = self.spinning_workload()
        args = [support.gilscope_bin(), "record", "--pid", str(workload.pid), "-d", "1",
                "-o", self.path("p.svg")]
        _, _, err = support.run_gilscope(args[1:], timeout=RECORD_TIMEOUT)
        self.assertNotIn("\r", err, "live status written to a pipe")
        master, slave = pty.openpty()
        proc = subprocess.Popen(args, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                                stderr=slave)
        os.close(slave)
        seen = b""
        deadline = time.monotonic() + RECORD_TIMEOUT
        while time.monotonic() < deadline:
            readable, _, _ = select.select([master], [], [], 0.5)
            if readable:
                try:
                    chunk = os.read(master, 4096)
                except OSError:  # EIO once the writer is gone
                    break
                if not chunk:
                    break
                seen += chunk
            elif proc.poll() is not None:
                break
        os.close(master)
        proc.wait(timeout=10)
        self.assertEqual(proc.returncode, 0, seen)
        self.assertRegex(seen.decode("utf-8", "replace"), r"\rgilscope: [0-9.]+ s, \d+ samples")

    def test_nonblocking_never_stops_the_target(self):
        workload = self.spinning_workload()
        out = self.path("p.json")
        code, _, err = support.run_gilscope(
            ["record", "--pid", str(workload.pid), "-d", "1", "--nonblocking", "-f", "speedscope",
             "-o", out, "--summary", self.path("s.json")], timeout=RECORD_TIMEOUT)
        self.assertEqual(code, 0, err)
        summary = load_json(self.path("s.json"))
        self.assertFalse(summary["paused"])
        self.assertGreaterEqual(Speedscope(out).share("gil", "spin"), 0.8)

    def test_stdout_output(self):
        workload = self.spinning_workload()
        code, out, err = support.run_gilscope(
            ["record", "--pid", str(workload.pid), "-d", "0.5", "-f", "collapsed", "--mode", "wait",
             "-o", "-"], timeout=RECORD_TIMEOUT)
        self.assertEqual(code, 0, err)
        self.assertRegex(out, r"spin \([^)]*\) \d+\n")


class RecordBadInput(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.python = pythons.behaviour_interpreter()

    def expect_error(self, args, code, *words):
        got, out, err = support.run_gilscope(["record"] + args)
        context = "gilscope record %s" % " ".join(args)
        self.assertEqual(got, code, "%s: exit %d, stderr %r" % (context, got, err))
        line = support.one_clean_error_line(self, err, context)
        for word in words:
            self.assertIn(word.lower(), line.lower(), "%s: %r lacks %r" % (context, line, word))
        return line

    def live_python(self):
        workload = support.Workload([*self.python.command, SCRIPT, "spin"])
        self.addCleanup(workload.kill)
        workload.wait_ready()
        return workload

    def test_usage_errors(self):
        cases = [
            ([], "--pid"),
            (["--pid", "12", "-f", "png"], "png"),
            (["--pid", "12", "--mode", "holder"], "holder"),
            (["--pid", "12", "-r", "0"], "rate"),
            (["--pid", "12", "-r", "100001"], "100000"),
            (["--pid", "12", "-r", "fast"], "rate"),
            (["--pid", "12", "-d", "0"], "duration"),
            (["--pid", "12", "-d", "-3"], "duration"),
            (["--pid", "12", "--", "python3"], "not both"),
            (["--pid", "12", "--mode", "wait", "--gil"], "--gil"),
            (["--"], "nothing to launch"),
        ]
        for args, word in cases:
            with self.subTest(args=args):
                self.expect_error(args, 2, word)

    def test_unwritable_output_is_refused_before_sampling(self):
        workload = self.live_python()
        started = time.monotonic()
        self.expect_error(["--pid", str(workload.pid), "-o", "/nonexistent-dir/p.svg"], 1,
                          "cannot write", "/nonexistent-dir/p.svg")
        self.expect_error(["--pid", str(workload.pid), "-o", tempfile.gettempdir()], 1,
                          "directory")
        self.expect_error(["--pid", str(workload.pid), "-o", os.devnull, "--summary",
                           "/nonexistent-dir/s.json"], 1, "cannot write")
        self.assertLess(time.monotonic() - started, 5, "sampled before refusing the path")

    def test_output_that_is_not_a_regular_file_is_written_in_place(self):
        # A FIFO stands for /dev/null and /dev/stdout: renaming a file over it would replace
        # it (as root, /dev/null for every program), so it must still be a FIFO afterwards,
        # its reader given the profile.
        workload = self.live_python()
        directory = tempfile.mkdtemp()
        self.addCleanup(shutil.rmtree, directory)
        fifo = os.path.join(directory, "out")
        os.mkfifo(fifo)
        received = []
        reader = threading.Thread(target=lambda: received.append(open(fifo, "rb").read()))
        reader.start()
        time.sleep(0.2)  # the reader holds the FIFO open before gilscope opens it
        code, _, err = support.run_gilscope(["record", "--pid", str(workload.pid), "-d", "1",
                                             "-f", "collapsed", "-o", fifo])
        reader.join(30)
        self.assertEqual(code, 0, err)
        self.assertTrue(stat.S_ISFIFO(os.stat(fifo).st_mode), "the FIFO was replaced")
        self.assertIn(b"spin", received[0])
        self.assertEqual(os.listdir(directory), ["out"], "a temporary file was left")
        # No reader: refused before sampling, in one line.
        lonely = os.path.join(directory, "lonely")
        os.mkfifo(lonely)
        self.expect_error(["--pid", str(workload.pid), "-o", lonely], 1, "no reader")
        self.assertTrue(stat.S_ISFIFO(os.stat(lonely).st_mode))

    def test_missing_pid_and_not_python(self):
        self.expect_error(["--pid", "999999999", "-o", os.devnull], 1, "999999999")
        sleeper = support.Workload(["sleep", "60"])
        self.addCleanup(sleeper.kill)
        self.expect_error(["--pid", str(sleeper.pid), "-o", os.devnull], 1, "not Python")

    def test_launched_command_missing(self):
        self.expect_error(["-o", os.devnull, "--", "/nonexistent/python", "app.py"], 1,
                          "cannot run", "/nonexistent/python")

    def test_launched_command_not_python_is_stopped(self):
        seconds = "29.%05d" % (os.getpid() % 100000)  # an argument no other process has
        started = time.monotonic()
        self.expect_error(["-o", os.devnull, "--", "sleep", seconds], 1, "not Python")
        self.assertLess(time.monotonic() - started, 15)
        left = subprocess.run(["pgrep", "-f", "sleep " + seconds], capture_output=True,
                              text=True).stdout
        self.assertEqual(left.strip(), "", "the launched program was left running")

# Thread groups need a name with a counter: threading's default names. Two interpreters, one of
# them Debian's static, stripped 3.11, keep this fast; grouping reads no version-dependent data.
GROUP_PYTHONS = ((3, 11), (3, 12))
REQUEST_ROW = re.compile(r"^ +\u00d7(\d+) .*  Thread-N \(handle_request\)$", re.M)
REQUEST_NAME = re.compile(r"^Thread-\d+ \(handle_request\)$")


class RecordThreadGroups(unittest.TestCase):
    """Short-lived threads named alike (short_threads.py) read as one row of the summary."""

    def setUp(self):
        self.folder = tempfile.mkdtemp(prefix="gilscope-groups-")
        self.addCleanup(shutil.rmtree, self.folder)

    def group_pythons(self):
        chosen = {}
        for python in pythons.interpreters():
            version = python.version_info[:2]
            if version in GROUP_PYTHONS and not python.gil_disabled:
                if version not in chosen or python.path.startswith("/usr/bin/"):
                    chosen[version] = python
        if not chosen:
            self.skipTest("no Python 3.11 or 3.12 found")
        covered.extend(chosen.values())
        return [chosen[version] for version in sorted(chosen)]

    def record(self, pid, *extra):
        summary = os.path.join(self.folder, "s.json")
        code, _, err = support.run_gilscope(
            ["record", "--pid", str(pid), "-d", str(RECORD_SECONDS), "-f", "collapsed", "-o",
             os.path.join(self.folder, "p.txt"), "--summary", summary, "--baseline", "0",
             *extra])
        self.assertEqual(code, 0, err)
        return err, load_json(summary)

    def test_short_lived_threads_share_a_row(self):
        for python in self.group_pythons():
            with self.subTest(python=python.label):
                workload = support.Workload([*python.command, SHORT_THREADS])
                self.addCleanup(workload.kill)
                workload.wait_ready()
                err, summary = self.record(workload.pid)
                rows = REQUEST_ROW.findall(err)
                self.assertEqual(len(rows), 1, err)
                self.assertGreater(int(rows[0]), 3, err)
                self.assertNotIn("more threads", err)
                for spinner in ("spinner-1", "spinner-2"):  # two: each its own row
                    self.assertRegex(err, r"(?m)^ +\d+ .*  %s$" % spinner)
                # The JSON's group counts the threads its list names that way.
                groups = [group for group in summary["thread_groups"]
                          if group["name"] == "Thread-N (handle_request)"]
                self.assertEqual(len(groups), 1, summary["thread_groups"])
                members = set(thread["native_id"] for thread in summary["threads"]
                              if REQUEST_NAME.match(thread["name"] or ""))
                self.assertEqual(groups[0]["threads"], len(members))
                self.assertEqual(groups[0]["threads"], int(rows[0]))
                self.assertEqual(set(groups[0]["native_ids"]) - members, set())

                err, _ = self.record(workload.pid, "--by-thread")
                table = err.split("Threads (")[1].split("\n\n")[0]
                self.assertNotIn("\u00d7", table)
                self.assertRegex(err, r"(?m)^ +\d+ .*  Thread-\d+ \(handle_request\)$")
                self.assertTrue(workload.alive())
                workload.kill()


def setUpModule():
    support.gilscope_bin()


def tearDownModule():
    sys.stderr.write("\n")
    pythons.print_covered("record_test", sorted(covered, key=lambda p: (p.version_info, p.path)))


if __name__ == "__main__":
    shards.main()
