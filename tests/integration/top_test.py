"""gilscope top in a real terminal: tmux runs it against workloads of known shape, sends keys
and reads the screen back (capture-pane).

gil_shapes.py has two pure-Python spinners (one holds the GIL while the other waits), a hasher
running native code without the GIL, a sleeper and a blocked thread. The screen must show the
spinners holding and waiting near 50/50 with contention near 100%, the hasher running without
the GIL, the sleeper idle; 'v' moves the function list to the next view; 't' hides the idle
threads; a 60-column terminal still draws; 'q' exits with the terminal restored and the target
running untraced; a target that exits leaves the last screen and exit status 0; a target with
hostile names sends no escape sequence of its own to the terminal. With --subprocesses
(pool_shapes.py --parent-spinners: a parent whose two threads spin while its 3 pool workers
spin alone), the screen has a line per process: the parent's GIL contended, each worker's
held with nobody waiting, and the verdict the parent's.

Run on one interpreter (pythons.behaviour_interpreter): the screen's figures come from the same
sampling every other test covers on every interpreter.

    GILSCOPE_BIN  path of the gilscope binary (required)
"""

import os
import re
import shutil
import signal
import subprocess
import sys
import itertools
import time
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import pythons  # noqa: E402
import shards  # noqa: E402
import support  # noqa: E402

SHAPES = support.workload("gil_shapes.py")
POOL = support.workload("pool_shapes.py")
HOSTILE = support.workload("hostile_names.py")
SCREEN_TIMEOUT = 30
_SERVERS = itertools.count()
WIDTH, HEIGHT = 120, 40


class Tmux(object):
    """A tmux server of its own, one session running `command`, then a marker with its exit
    status, then a shell sleep so the pane stays to be read."""

    def __init__(self, command, width=WIDTH, height=HEIGHT, env=None):
        # A server per session: kill-server returns before the old server has gone, and a new
        # session on the same socket can reach the dying one and fail.
        self.socket = "gilscope-top-test-%d-%d" % (os.getpid(), next(_SERVERS))
        shell = "%s; echo TOP-EXITED=$?; sleep 600" % " ".join(_quote(a) for a in command)
        environment = ["-e", "TERM=xterm-256color"]
        for key, value in (env or {}).items():
            environment += ["-e", "%s=%s" % (key, value)]
        self._tmux("new-session", "-d", "-s", "top", "-x", str(width), "-y", str(height),
                   *environment, shell)

    def _tmux(self, *args):
        done = subprocess.run(["tmux", "-L", self.socket, "-f", "/dev/null"] + list(args),
                              capture_output=True, text=True, timeout=20)
        if done.returncode != 0:
            raise AssertionError("tmux %s failed (%d): %s" % (args[0], done.returncode,
                                                              done.stderr.strip()))
        return done.stdout

    def screen(self):
        return self._tmux("capture-pane", "-p", "-t", "top")

    def alternate_screen(self):
        """Whether the pane is on the alternate screen, as a full-screen program puts it."""
        return self._tmux("display-message", "-p", "-t", "top", "#{alternate_on}").strip() == "1"

    def title(self):
        return self._tmux("display-message", "-p", "-t", "top", "#{pane_title}").strip()

    def keys(self, *keys):
        self._tmux("send-keys", "-t", "top", *keys)

    def resize(self, width, height=HEIGHT):
        self._tmux("resize-window", "-t", "top", "-x", str(width), "-y", str(height))

    def wait_for(self, predicate, what, timeout=SCREEN_TIMEOUT):
        deadline = time.monotonic() + timeout
        screen = ""
        while time.monotonic() < deadline:
            screen = self.screen()
            if predicate(screen):
                return screen
            time.sleep(0.2)
        raise AssertionError("the screen never showed %s; last screen:\n%s" % (what, screen))

    def close(self):
        subprocess.run(["tmux", "-L", self.socket, "kill-server"], capture_output=True, timeout=20)


def _quote(arg):
    return "'" + arg.replace("'", "'\\''") + "'"


def thread_row(screen, name):
    """(held %, waiting %, rest of the row) of the row naming thread `name`, or None."""
    for line in screen.splitlines():
        if re.search(r"\b%s\b" % re.escape(name), line):
            match = re.search(r"\]\s+(\d+)%\s+(\d+)%\s+(.*)$", line)
            if match:
                return int(match.group(1)), int(match.group(2)), match.group(3)
    return None


def bar(screen, name):
    """The state cells of thread `name`'s bar ('#' held, 'w' waiting, 'r' running...)."""
    for line in screen.splitlines():
        if re.search(r"\b%s\b" % re.escape(name), line):
            match = re.search(r"\[([#Nwr.? ]+)\]", line)
            if match:
                return match.group(1).strip()
    return None


def contention(screen):
    match = re.search(r"contention (\d+)%", screen)
    return int(match.group(1)) if match else None


def full_window(screen):
    """The window has filled: the spinners' rows have their shares."""
    return thread_row(screen, "spinner-1") is not None and thread_row(screen, "spinner-2")


@unittest.skipIf(shutil.which("tmux") is None, "tmux is not installed")
class TopInTmux(unittest.TestCase):
    def setUp(self):
        self.python = pythons.behaviour_interpreter()
        self.workloads = []
        self.tmux = None

    def tearDown(self):
        if self.tmux:
            self.tmux.close()
        for workload in self.workloads:
            workload.kill()

    def start(self, script, *args):
        workload = support.Workload(self.python.command + [script]
                                    + list(args))
        workload.wait_ready()
        self.workloads.append(workload)
        return workload

    def top(self, pid, *options, **kwargs):
        self.tmux = Tmux([support.gilscope_bin(), "top", "--pid", str(pid), "--interval", "0.5",
                          "--window", "4"] + list(options), **kwargs)
        return self.tmux

    def test_screen_shows_who_holds_waits_and_runs(self):
        workload = self.start(SHAPES)
        tmux = self.top(workload.pid)
        screen = tmux.wait_for(lambda s: full_window(s) and "4.0 s so far" not in s and
                               re.search(r"rate \d+/100 Hz, window 4 s(?! \()", s) is not None,
                               "a full window", timeout=40)
        context = "%s\n%s" % (self.python.label, screen)
        for name in ("spinner-1", "spinner-2"):
            held, waiting, _ = thread_row(screen, name)
            self.assertGreater(held, 20, context)
            self.assertLess(held, 80, context)
            if self.python.waiters_tellable(False):
                self.assertGreater(held + waiting, 85, context)
        if self.python.waiters_tellable(False):
            self.assertGreater(contention(screen), 85, context)
        _, _, sleeper = thread_row(screen, "sleeper")
        self.assertTrue(sleeper.startswith("idle"), context)
        cells = bar(screen, "hasher")  # its time goes to native code without the GIL
        self.assertGreater(cells.count("r"), len(cells) / 2, context)
        self.assertIn("blame", screen, context)
        self.assertIn("spin_forever", screen, context)

    def test_keys_switch_view_hide_idle_and_quit(self):
        workload = self.start(SHAPES)
        tmux = self.top(workload.pid)
        tmux.wait_for(full_window, "the spinners")
        tmux.keys("v")
        screen = tmux.wait_for(lambda s: re.search(r"^\s*wait: ", s, re.M), "the wait view")
        self.assertIn("spin_forever", screen)
        tmux.keys("t")
        screen = tmux.wait_for(lambda s: "idle thread" in s and "hidden" in s, "idle hidden")
        self.assertIsNone(thread_row(screen, "sleeper"), screen)
        self.assertIsNotNone(thread_row(screen, "spinner-1"), screen)
        tmux.resize(60)
        screen = tmux.wait_for(lambda s: "spinner-1" in s and max(len(l) for l in s.splitlines())
                               <= 60, "a 60-column screen")
        self.assertIn("spin_forever", screen)
        self.assertTrue(tmux.alternate_screen())
        tmux.keys("q")
        screen = tmux.wait_for(lambda s: "TOP-EXITED=" in s, "top's exit")
        self.assertIn("TOP-EXITED=0", screen)
        self.assertFalse(tmux.alternate_screen(), "the terminal was not restored")
        self.assertTrue(workload.alive(), screen)
        self.assertEqual(support.running_problems(workload.pid, window=2), [], screen)

    def test_sigterm_restores_the_terminal(self):
        workload = self.start(SHAPES)
        tmux = self.top(workload.pid)
        tmux.wait_for(full_window, "the spinners")
        gilscope = subprocess.run(["pgrep", "-f", "top --pid %d " % workload.pid],
                                  capture_output=True, text=True).stdout.split()
        self.assertEqual(len(gilscope), 1, gilscope)
        os.kill(int(gilscope[0]), signal.SIGTERM)
        screen = tmux.wait_for(lambda s: "TOP-EXITED=" in s, "top's exit")
        self.assertIn("TOP-EXITED=0", screen)
        self.assertFalse(tmux.alternate_screen(), "the terminal was not restored")
        self.assertEqual(support.running_problems(workload.pid, window=2), [], screen)

    def test_target_exit_leaves_last_screen(self):
        workload = self.start(SHAPES)
        tmux = self.top(workload.pid)
        tmux.wait_for(full_window, "the spinners")
        workload.kill()
        screen = tmux.wait_for(lambda s: "TOP-EXITED=" in s, "top's exit")
        self.assertIn("TOP-EXITED=0", screen)
        self.assertIn("target exited", screen)
        self.assertIn("spinner-1", screen)  # the last screen stays
        self.assertFalse(tmux.alternate_screen(), "the terminal was not restored")

    def test_launch_mode_quit_ends_the_program(self):
        self.tmux = Tmux([support.gilscope_bin(), "top", "--interval", "0.5", "--",
                          self.python.path] + list(self.python.options) + [SHAPES])
        # The program's own output shares the terminal until the next repaint.
        screen = self.tmux.wait_for(lambda s: full_window(s) and re.search(r"pid \d+", s),
                                    "the spinners")
        pid = int(re.search(r"pid (\d+)", screen).group(1))
        self.tmux.keys("q")
        screen = self.tmux.wait_for(lambda s: "TOP-EXITED=" in s, "top's exit", timeout=10)
        self.assertIn("TOP-EXITED=0", screen)
        self.assertFalse(os.path.exists("/proc/%d/status" % pid), "the program still runs")

    def test_hostile_names_draw_no_escape_sequences(self):
        workload = self.start(HOSTILE)
        tmux = self.top(workload.pid, "--mode", "gil")
        before = tmux.title()
        screen = tmux.wait_for(lambda s: "alert(1)" in s, "the hostile names", timeout=40)
        self.assertIn("\\x1b[2J", screen)  # shown as text, not obeyed
        self.assertNotIn("owned", tmux.title())
        self.assertEqual(tmux.title(), before)
        tmux.keys("q")
        tmux.wait_for(lambda s: "TOP-EXITED=0" in s, "top's exit")


class TopWithoutTerminal(unittest.TestCase):
    def test_bad_targets_get_one_line(self):
        code, out, err = support.run_gilscope(["top", "--pid", "4194303", "--plain"])
        self.assertEqual(code, 1, err)
        self.assertEqual(out, "")
        support.one_clean_error_line(self, err, "no such pid")
        sleeper = support.Workload(["sleep", "60"])
        try:
            code, out, err = support.run_gilscope(["top", "--pid", str(sleeper.pid), "--plain"])
            self.assertEqual(code, 1, err)
            support.one_clean_error_line(self, err, "not Python")
            code, out, err = support.run_gilscope(["top", "--pid", str(sleeper.pid), "--plain",
                                                   "--subprocesses"])
            self.assertEqual(code, 1, err)
            line = support.one_clean_error_line(self, err, "--subprocesses, no Python in the tree")
            self.assertIn("no Python process in the tree of PID %d" % sleeper.pid, line)
            self.assertEqual(support.running_problems(sleeper.pid, window=2), [])
        finally:
            sleeper.kill()

    def test_pipe_is_refused_and_plain_prints_screens(self):
        python = pythons.behaviour_interpreter()
        workload = support.Workload(python.command + [SHAPES])
        try:
            workload.wait_ready()
            code, out, err = support.run_gilscope(["top", "--pid", str(workload.pid)])
            self.assertEqual(code, 2, err)
            self.assertIn("--plain", err)
            self.assertIn("record", err)
            self.assertEqual(len(err.strip().splitlines()), 1, err)
            code, out, err = support.run_gilscope(["top", "--pid", str(workload.pid), "--plain",
                                                   "--interval", "0.5", "-d", "2"])
            self.assertEqual(code, 0, err)
            self.assertGreaterEqual(out.count("gilscope top"), 3, out)
            self.assertIn("spinner-1", out)
            self.assertNotIn("\x1b", out)
            self.assertEqual(support.running_problems(workload.pid, window=2), [])
        finally:
            workload.kill()


class TopOfATree(unittest.TestCase):
    def test_each_process_has_its_gil_figures(self):
        python = pythons.behaviour_interpreter()
        workload = support.Workload(python.command + [POOL, "--parent-spinners"])
        self.addCleanup(workload.kill)
        workers = sorted(int(workload.read_line().split()[1]) for _ in range(3))
        code, out, err = support.run_gilscope(
            ["top", "--pid", str(workload.pid), "--subprocesses", "--plain", "--interval", "1",
             "--window", "3", "-d", "3.5"])
        self.assertEqual(code, 0, err)
        screen = out.split("gilscope top")[-1]
        context = "%s\n%s" % (python.label, screen)
        self.assertIn("pid %d and its tree: 4 Python processes" % workload.pid, screen, context)
        lines = {}
        for match in re.finditer(r"^  pid (\d+)  held (\d+)%  contention (\d+)%.*?  (\w+)  ",
                                 screen, re.M):
            lines[int(match.group(1))] = (int(match.group(2)), int(match.group(3)),
                                          match.group(4))
        self.assertEqual(sorted(lines), sorted([workload.pid] + workers), context)
        for worker in workers:
            held, contended, verdict = lines[worker]
            self.assertGreater(held, 80, context)
            self.assertEqual(contended, 0, context)
            self.assertEqual(verdict, "python_cpu_bound", context)
        if python.waiters_tellable(False):
            self.assertGreater(lines[workload.pid][1], 80, context)
            self.assertIn("verdict so far: pid %d: python_cpu_bound" % workload.pid, screen,
                          context)
        for name in ("parent-spinner-1", "parent-spinner-2"):
            self.assertIsNotNone(thread_row(screen, name), context)
            # The pid column names the thread's process.
            self.assertRegex(screen, r"(?m)^\s*%d\s+\d+ %s " % (workload.pid, name), context)
        for worker in workers:  # a worker's main thread: its OS id is its pid
            self.assertRegex(screen, r"(?m)^\s*%d\s+%d " % (worker, worker), context)
        self.assertIn("spin_in_parent", out)
        for pid in [workload.pid] + workers:
            self.assertEqual(support.running_problems(pid), [], "process %d" % pid)


def tearDownModule():
    try:
        pythons.print_covered("top_test", [pythons.behaviour_interpreter()])
    except unittest.SkipTest:
        pythons.print_covered("top_test", [])


if __name__ == "__main__":
    shards.main()
