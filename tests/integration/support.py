"""Helpers shared by gilscope's integration tests (dump_test, bad_input_test, safety_test).

    GILSCOPE_BIN  path of the gilscope binary (required)
"""

import os
import re
import select
import signal
import subprocess
import time

HERE = os.path.dirname(os.path.abspath(__file__))
WORKLOADS = os.path.realpath(os.path.join(HERE, "..", "workloads"))
READY_TIMEOUT_SECONDS = 30
GILSCOPE_TIMEOUT_SECONDS = 30


class SetupError(Exception):
    pass


def gilscope_bin():
    """The gilscope binary from GILSCOPE_BIN; raises SetupError with a clear message otherwise."""
    path = os.environ.get("GILSCOPE_BIN")
    if not path:
        raise SetupError("GILSCOPE_BIN is not set: point it at the gilscope binary, e.g. "
                         "GILSCOPE_BIN=build/src/gilscope")
    if not os.path.isfile(path) or not os.access(path, os.X_OK):
        raise SetupError("GILSCOPE_BIN=%s is not an executable file" % path)
    return os.path.abspath(path)


def workload(name):
    return os.path.join(WORKLOADS, name)


def line_markers(path):
    """{"spin-loop": 33, ...} from the "# line: NAME" comments of a workload file."""
    markers = {}
    with open(path) as source:
        for number, text in enumerate(source, 1):
            match = re.search(r"#\s*line:\s*([\w-]+)", text)
            if match:
                markers[match.group(1)] = number
    return markers


def line_of(path, pattern):
    """Number of the first line of path matching the regular expression pattern."""
    with open(path) as source:
        for number, text in enumerate(source, 1):
            if re.search(pattern, text):
                return number
    raise AssertionError("no line of %s matches %r" % (path, pattern))


class Workload(object):
    """A workload process in its own session (so it and anything it forks can be killed)."""

    def __init__(self, argv, stdin=False, env=None):
        self.argv = list(argv)
        self.proc = subprocess.Popen(
            self.argv, stdin=subprocess.PIPE if stdin else subprocess.DEVNULL,
            stdout=subprocess.PIPE, stderr=subprocess.PIPE, start_new_session=True, bufsize=0,
            env=env)
        self.pid = self.proc.pid
        self._buffer = b""

    def read_line(self, timeout=READY_TIMEOUT_SECONDS):
        """The next line the workload prints (without the newline); AssertionError on timeout."""
        deadline = time.monotonic() + timeout
        fd = self.proc.stdout.fileno()
        while b"\n" not in self._buffer:
            left = deadline - time.monotonic()
            if left <= 0:
                raise AssertionError("%s printed no line within %g s (got %r so far; stderr: %s)"
                                     % (" ".join(self.argv), timeout, self._buffer, self._stderr()))
            readable, _, _ = select.select([fd], [], [], left)
            if readable:
                chunk = os.read(fd, 4096)
                if not chunk:
                    raise AssertionError("%s exited (status %s) before printing a line; stderr: %s"
                                         % (" ".join(self.argv), self.proc.wait(), self._stderr()))
                self._buffer += chunk
        line, self._buffer = self._buffer.split(b"\n", 1)
        return line.decode("utf-8", "replace")

    def wait_ready(self, timeout=READY_TIMEOUT_SECONDS):
        line = self.read_line(timeout)
        if line != "ready":
            raise AssertionError("%s printed %r instead of 'ready'" % (" ".join(self.argv), line))

    def write(self, text):
        self.proc.stdin.write(text.encode())
        self.proc.stdin.flush()

    def alive(self):
        return self.proc.poll() is None

    def _stderr(self):
        if self.proc.poll() is None:
            return "(still running)"
        return self.proc.stderr.read().decode("utf-8", "replace").strip()

    def kill(self):
        """Kills the workload and everything in its session, and reaps it. Idempotent."""
        try:
            os.killpg(self.pid, signal.SIGKILL)
        except (ProcessLookupError, PermissionError):
            pass
        if self.proc.poll() is None:
            self.proc.kill()
        self.proc.wait()
        for stream in (self.proc.stdin, self.proc.stdout, self.proc.stderr):
            if stream:
                stream.close()


def run_gilscope(args, timeout=GILSCOPE_TIMEOUT_SECONDS, prefix=(), binary=None):
    """Runs gilscope with args (after the command prefix, e.g. setpriv ...); returns
    (returncode, stdout, stderr). AssertionError if it hangs."""
    argv = list(prefix) + [binary or gilscope_bin()] + list(args)
    proc = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)
    try:
        out, err = proc.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        proc.kill()
        out, err = proc.communicate()
        raise AssertionError("%s hung: killed after %g s; stdout %r, stderr %r"
                             % (" ".join(argv), timeout, out[-2000:], err[-2000:]))
    return proc.returncode, out, err


def read_collapsed(path):
    """[(frames root first, weight)] of a collapsed (folded) stacks file: "a;b;c 12" per line."""
    stacks = []
    with open(path) as source:
        for line in source:
            line = line.rstrip("\n")
            if line:
                frames, weight = line.rsplit(" ", 1)
                stacks.append((frames.split(";"), int(weight)))
    return stacks


def task_status(pid):
    """{tid: (state letter, TracerPid)} of every thread of pid (threads that vanish are skipped)."""
    result = {}
    try:
        tids = os.listdir("/proc/%d/task" % pid)
    except OSError:
        return result
    for tid in tids:
        try:
            with open("/proc/%d/task/%s/status" % (pid, tid)) as status:
                text = status.read()
        except OSError:
            continue
        state = re.search(r"^State:\s+(\S)", text, re.M)
        tracer = re.search(r"^TracerPid:\s+(\d+)", text, re.M)
        result[int(tid)] = (state.group(1) if state else "?",
                            int(tracer.group(1)) if tracer else -1)
    return result


def stopped_or_traced(pid):
    """Human-readable problems: threads of pid in state t/T or with a tracer."""
    problems = []
    for tid, (state, tracer) in sorted(task_status(pid).items()):
        if state in "tT":
            problems.append("thread %d is in state %s" % (tid, state))
        if tracer != 0:
            problems.append("thread %d has TracerPid %d" % (tid, tracer))
    return problems


def running_problems(pid, window=0.05):
    """[] once every thread of pid runs untraced, polling for up to window seconds (a stop can
    linger for a moment after the tracer detaches); the problems still seen after that."""
    deadline = time.monotonic() + window
    while True:
        if not os.path.exists("/proc/%d/task" % pid):
            return ["process %d is gone" % pid]
        problems = stopped_or_traced(pid)
        if not problems or time.monotonic() >= deadline:
            return problems
        time.sleep(0.005)


def cpu_ticks(pid):
    """utime + stime of pid, in clock ticks."""
    with open("/proc/%d/stat" % pid) as stat:
        fields = stat.read().rsplit(")", 1)[1].split()
    return int(fields[11]) + int(fields[12])  # fields 14 and 15 of proc(5), counted from "state"


# x86-64 numbers of the calls time.sleep uses (select, nanosleep, clock_nanosleep, pselect6)
SLEEP_SYSCALLS = (23, 35, 230, 270)


def current_syscall(pid, tid):
    """The system call number thread tid of pid is blocked in, or None (running, or gone)."""
    try:
        with open("/proc/%d/task/%d/syscall" % (pid, tid)) as syscall:
            fields = syscall.read().split()
    except OSError:
        return None
    if fields and re.match(r"^\d+$", fields[0]):
        return int(fields[0])
    return None  # "running", or "-1 sp pc" (in user space)


def wait_in_syscall(pid, tids, syscalls=None, timeout=10):
    """Waits until every thread in tids of pid is blocked in a system call (one of syscalls,
    if given). A dump interrupts blocking calls (ptrace), so after one the threads need a
    moment, on a busy machine, to get back into their calls."""
    deadline = time.monotonic() + timeout
    while True:
        late = {}
        for tid in tids:
            number = current_syscall(pid, tid)
            if number is None or (syscalls is not None and number not in syscalls):
                late[tid] = number
        if not late:
            return
        if time.monotonic() > deadline:
            raise AssertionError("threads of %d not blocked in %s within %g s: %s"
                                 % (pid, syscalls or "a system call", timeout, late))
        time.sleep(0.002)


def wait_until_sleeping(pid, tid=None, timeout=10):
    """Waits until thread tid (default: the main thread) of pid is inside a sleep system call."""
    wait_in_syscall(pid, [tid or pid], SLEEP_SYSCALLS, timeout)


def process_state(pid):
    with open("/proc/%d/stat" % pid) as stat:
        return stat.read().rsplit(")", 1)[1].split()[0]


def one_clean_error_line(test, err, context):
    """Asserts err is exactly one line "gilscope: ..." with no sign of a crash; returns it."""
    lines = err.splitlines()
    test.assertEqual(len(lines), 1, "%s: want exactly one stderr line, got %r" % (context, err))
    line = lines[0]
    test.assertTrue(line.startswith("gilscope: "), "%s: stderr %r" % (context, err))
    for sign in ("Traceback", "terminate called", "what():", "Assertion", "Aborted",
                 "Segmentation", "core dumped", "internal error", "#0 ", "Check failed",
                 "Stack trace"):
        test.assertNotIn(sign, line, "%s: stderr looks like a crash: %r" % (context, err))
    test.assertGreater(len(line), len("gilscope: ") + 5, "%s: message too short" % context)
    return line
