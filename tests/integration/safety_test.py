#!/usr/bin/env python3
"""Killing or interrupting gilscope mid-dump must never leave the target stopped or traced.

The target is tests/workloads/many_threads.py (200 sleeping threads + 2 spinners), so that
gilscope's pause (seize every thread, read, detach every thread) lasts long enough to be hit.
Each test runs `gilscope dump --pid PID` repeatedly and signals it at a random moment:
half of the runs wait until the target's main thread is seen in ptrace stop (t) and then signal
after a random fraction of the (calibrated) pause, so the signal lands while the target is paused; the other half
signal at a random moment of a whole run. After each signal (and gilscope's exit), within ~100 ms
every thread of the target must be out of t/T with TracerPid 0, and the spinners must progress
(the target's CPU time grows).

  test_sigkill  SIGKILL_RUNS runs; gilscope must die of SIGKILL (or have finished)
  test_sigint / test_sigterm: gilscope holds these back while the target is paused, so it must
                end by the signal (or exit 0 if it had finished), never leave the target stopped

Environment: GILSCOPE_BIN (required), GILSCOPE_TEST_SEED (optional: seed of the random delays).
Run: GILSCOPE_BIN=build/src/gilscope python3 tests/integration/safety_test.py -v
"""

import os
import random
import signal
import subprocess
import sys
import time
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import shards  # noqa: E402
import support  # noqa: E402

SLEEPERS = 200
SPINNERS = 2
SIGKILL_RUNS = 30
OTHER_SIGNAL_RUNS = 12
SETTLE_WINDOW = 0.1
PROGRESS_TIMEOUT = 2.0
PROGRESS_TICKS = 2  # clock ticks of CPU time the spinners must add after each run


class SafetyTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        support.gilscope_bin()
        cls.seed = int(os.environ.get("GILSCOPE_TEST_SEED", random.randrange(1 << 30)))
        # sys.executable: the interpreter running the tests, which gilscope must support
        cls.workload = support.Workload([sys.executable, support.workload("many_threads.py"),
                                         str(SLEEPERS), str(SPINNERS)])
        cls.addClassCleanup(cls.workload.kill)
        cls.workload.wait_ready()
        cls.pid = cls.workload.pid
        # Calibrate: a complete dump must work (or the signals would only ever hit a gilscope
        # that gave up before pausing), and tells how long one run takes.
        durations = []
        for _ in range(3):
            start = time.monotonic()
            code, out, err = support.run_gilscope(["dump", "--pid", str(cls.pid)])
            durations.append(time.monotonic() - start)
            if code != 0:
                raise AssertionError("calibration dump failed (%d): %s" % (code, err))
            if out.count("\nThread ") < SLEEPERS + SPINNERS:
                raise AssertionError("calibration dump shows too few threads:\n" + out[:3000])
        cls.run_time = sorted(durations)[1]
        cls.pause_time = cls.measure_pause()

    @classmethod
    def measure_pause(cls):
        """How long a dump keeps the target's main thread in ptrace stop (median of 3 dumps
        seen pausing it). A pause can be shorter than one look at /proc from Python, so a dump
        seen not to pause is tried again, up to 10 dumps in all."""
        pauses = []
        for _ in range(10):
            gilscope = subprocess.Popen([support.gilscope_bin(), "dump", "--pid", str(cls.pid)],
                                        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
            first = last = None
            while gilscope.poll() is None:
                if cls.main_thread_paused():
                    last = time.monotonic()
                    first = first or last
            gilscope.wait()
            if first is not None:
                pauses.append(last - first)
            if len(pauses) == 3:
                return sorted(pauses)[1]
        raise AssertionError("calibration: saw the target paused by only %d of 10 dumps"
                             % len(pauses))

    def setUp(self):
        self.rng = random.Random("%d %s" % (self.seed, self.id()))
        self.assertEqual(self.problems(), [], "the target is not running before the test")

    @classmethod
    def main_thread_paused(cls):
        try:
            return support.process_state(cls.pid) in "tT"
        except OSError:
            return False

    def problems(self):
        """What is wrong with the target now, after SETTLE_WINDOW at most: [] when fine."""
        if not self.workload.alive():
            return ["the target died"]
        problems = support.running_problems(self.pid, window=SETTLE_WINDOW)
        if problems:
            return problems[:10] + (["..."] if len(problems) > 10 else [])
        before = support.cpu_ticks(self.pid)
        deadline = time.monotonic() + PROGRESS_TIMEOUT
        while support.cpu_ticks(self.pid) < before + PROGRESS_TICKS:
            if time.monotonic() > deadline:
                return ["the spinners made no progress in %g s" % PROGRESS_TIMEOUT]
            time.sleep(0.005)
        return []

    def signal_runs(self, signum, runs):
        """Runs gilscope at least `runs` times, sending signum mid-run, and goes on (up to 4x
        `runs`) until a quarter of the signals landed while the target was paused: timing is
        random, the number of paused hits must not be. Returns (paused hits, outcomes)."""
        paused_hits = 0
        outcomes = {}
        run = -1
        while True:
            run += 1
            if run >= runs and (paused_hits >= runs // 4 or run >= 4 * runs):
                break
            wait_for_pause = run % 2 == 0
            delay = self.rng.uniform(0, self.pause_time * 0.7 if wait_for_pause
                                     else self.run_time)
            gilscope = subprocess.Popen([support.gilscope_bin(), "dump", "--pid", str(self.pid)],
                                        stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                                        stderr=subprocess.PIPE)
            try:
                start = time.monotonic()
                if wait_for_pause:
                    while not self.main_thread_paused() and gilscope.poll() is None:
                        if time.monotonic() - start > 10:
                            break
                time.sleep(delay)
                hit = self.main_thread_paused()
                if gilscope.poll() is None:
                    gilscope.send_signal(signum)
                    paused_hits += hit
                try:
                    _, err = gilscope.communicate(timeout=10)
                except subprocess.TimeoutExpired:
                    self.fail("gilscope did not end within 10 s of signal %d" % signum)
            finally:
                if gilscope.poll() is None:
                    gilscope.kill()
                    gilscope.communicate()
            context = ("run %d (seed %d, %s, %.1f ms%s): gilscope exited %d, stderr %r"
                       % (run, self.seed, signal.Signals(signum).name, delay * 1000,
                          " after the pause began" if wait_for_pause else "",
                          gilscope.returncode, err[-500:]))
            self.assertIn(gilscope.returncode, (0, -signum), context)
            outcomes[gilscope.returncode] = outcomes.get(gilscope.returncode, 0) + 1
            self.assertEqual(self.problems(), [], context)
        sys.stderr.write("\n%s: %d runs, %d signalled while the target was paused (pause %.1f ms, "
                         "run %.1f ms), exits %s (seed %d)\n"
                         % (signal.Signals(signum).name, run, paused_hits,
                            self.pause_time * 1000, self.run_time * 1000, outcomes, self.seed))
        # the test is only worth something if the signal landed during pauses
        self.assertGreaterEqual(paused_hits, runs // 4, "too few signals hit a paused target")
        return paused_hits, outcomes

    def test_sigkill(self):
        self.signal_runs(signal.SIGKILL, SIGKILL_RUNS)

    def test_sigint(self):
        self.signal_runs(signal.SIGINT, OTHER_SIGNAL_RUNS)

    def test_sigterm(self):
        self.signal_runs(signal.SIGTERM, OTHER_SIGNAL_RUNS)


if __name__ == "__main__":
    shards.main()
