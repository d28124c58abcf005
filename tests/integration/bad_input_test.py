#!/usr/bin/env python3
"""gilscope's answer to bad command lines and to targets it cannot or should not read.

Every case checks the exit status (2: usage error, 1: problem with the target; never a signal),
that stderr is exactly one line "gilscope: ..." with no sign of a crash, and that the message says
what is wrong. Cases about a target also check that the target is left running and untraced.

Environment: GILSCOPE_BIN (required), GILSCOPE_TEST_PYTHONS (optional, see pythons.py),
GILSCOPE_TEST_SEED (optional: seed of the random delays of test_target_exits_mid_dump).
Run: GILSCOPE_BIN=build/src/gilscope python3 tests/integration/bad_input_test.py -v
"""

import collections
import json
import os
import random
import re
import shutil
import subprocess
import sys
import tempfile
import time
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import pythons  # noqa: E402
import shards  # noqa: E402
import support  # noqa: E402

NOBODY = 65534
EXIT_RUNS = 20
MAX_DUMPS_PER_EXIT = 200


def setUpModule():
    support.gilscope_bin()


class BadInputTest(unittest.TestCase):
    def expect_error(self, args, code, *words, **kwargs):
        """Runs gilscope; asserts exit code, one clean stderr line containing every word."""
        got, out, err = support.run_gilscope(args, prefix=kwargs.get("prefix", ()),
                                             binary=kwargs.get("binary"))
        context = "gilscope %s" % " ".join(args)
        self.assertEqual(got, code, "%s: exit %d, stderr %r" % (context, got, err))
        self.assertEqual(out, "", "%s: printed on stdout" % context)
        line = support.one_clean_error_line(self, err, context)
        for word in words:
            self.assertIn(word.lower(), line.lower(),
                          "%s: message %r lacks %r" % (context, line, word))
        return line

    def start(self, argv, ready=True, **kwargs):
        workload = support.Workload(argv, **kwargs)
        self.addCleanup(workload.kill)
        if ready:
            workload.wait_ready()
        return workload

    def assert_untouched(self, pid):
        self.assertEqual(support.running_problems(pid, window=0.05), [],
                         "the target is stopped or traced after gilscope")

    # --- usage errors: exit 2 --------------------------------------------------------------

    def test_no_pid(self):
        self.expect_error(["dump"], 2, "--pid")

    def test_pid_without_value(self):
        self.expect_error(["dump", "--pid"], 2, "--pid")

    def test_pid_not_a_number(self):
        self.expect_error(["dump", "--pid", "abc"], 2, "--pid", "abc")

    def test_pid_negative(self):
        self.expect_error(["dump", "--pid", "-5"], 2, "--pid", "-5")

    def test_pid_zero(self):
        self.expect_error(["dump", "--pid", "0"], 2, "--pid", "'0'")

    def test_no_command(self):
        got, _, err = support.run_gilscope([])
        self.assertEqual(got, 2, err)
        self.assertIn("Usage", err)  # the usage text, deliberately more than one line

    def test_unknown_command(self):
        self.expect_error(["frobnicate", "--pid", str(os.getpid())], 2, "unknown command",
                          "frobnicate")

    def test_unknown_option(self):
        self.expect_error(["dump", "--pid", str(os.getpid()), "--bogus"], 2, "--bogus")

    # --- problems with the target: exit 1 --------------------------------------------------

    def test_no_such_process(self):
        proc = subprocess.Popen(["true"])
        proc.wait()  # reaped: the PID is free
        self.assertFalse(os.path.exists("/proc/%d" % proc.pid), "PID %d reused" % proc.pid)
        self.expect_error(["dump", "--pid", str(proc.pid)], 1, "no process", str(proc.pid))

    def test_not_python(self):
        sleeper = self.start(["sleep", "60"], ready=False)
        self.expect_error(["dump", "--pid", str(sleeper.pid)], 1, "not Python", str(sleeper.pid))
        self.assertTrue(sleeper.alive())
        self.assert_untouched(sleeper.pid)

    def test_unsupported_version(self):
        """Py_Version patched in the target's memory (tests/workloads/fake_version.py)."""
        candidates = [p for p in pythons.interpreters() if p.version_info >= (3, 11)]
        if not candidates:
            self.skipTest("needs a Python 3.11+ (Py_Version) to fake an unsupported version")
        python = candidates[-1]
        workload = self.start([*python.command, support.workload("fake_version.py"), "0x036300f0"],
                              ready=False)
        line = workload.read_line()
        if line.startswith("skip:"):
            self.skipTest("%s: %s" % (python.path, line))
        self.assertEqual(line, "ready")
        self.expect_error(["dump", "--pid", str(workload.pid)], 1, "3.99", "not supported")
        self.assert_untouched(workload.pid)

    def test_zombie(self):
        parent = self.start([sys.executable, "-c", (
            "import os, sys, time\n"
            "child = os.fork()\n"
            "if child == 0:\n"
            "    os._exit(0)\n"
            "print(child, flush=True)\n"
            "time.sleep(60)\n")], ready=False)
        child = int(parent.read_line())
        deadline = time.monotonic() + 10
        while support.process_state(child) != "Z":
            self.assertLess(time.monotonic(), deadline, "the child never became a zombie")
            time.sleep(0.005)
        line = self.expect_error(["dump", "--pid", str(child)], 1, str(child))
        self.assertTrue("zombie" in line or "exited" in line, line)

    def test_main_thread_exited_while_others_run(self):
        # The leader is a zombie but a thread still runs Python: not "no process", not a crash.
        target = self.start([sys.executable, "-c", (
            "import ctypes, sys, threading, time\n"
            "def spin():\n"
            "    while True: pass\n"
            "threading.Thread(target=spin).start()\n"
            "time.sleep(0.1)\n"
            "print('ready', flush=True)\n"
            "ctypes.CDLL(None).syscall(60, 0)\n")])
        deadline = time.monotonic() + 10
        while support.process_state(target.pid) != "Z":
            self.assertLess(time.monotonic(), deadline, "the main thread never exited")
            time.sleep(0.005)
        self.expect_error(["dump", "--pid", str(target.pid)], 1, "main thread")

    def test_no_permission(self):
        if os.geteuid() != 0:
            self.skipTest("needs root, to run gilscope as another user against a root process")
        setpriv = shutil.which("setpriv")
        if not setpriv:
            self.skipTest("setpriv is not installed")
        prefix = [setpriv, "--reuid=%d" % NOBODY, "--regid=%d" % NOBODY, "--clear-groups"]
        binary = support.gilscope_bin()
        if subprocess.run(prefix + [binary, "--version"], capture_output=True).returncode != 0:
            # the build tree is not readable by nobody: run a copy that is
            directory = tempfile.mkdtemp()
            self.addCleanup(shutil.rmtree, directory)
            os.chmod(directory, 0o755)
            binary = os.path.join(directory, "gilscope")
            shutil.copy(support.gilscope_bin(), binary)
            os.chmod(binary, 0o755)
        workload = self.start([sys.executable, support.workload("gil_shapes.py"), "--no-hasher"])
        self.assertEqual(os.stat("/proc/%d" % workload.pid).st_uid, 0)
        self.expect_error(["dump", "--pid", str(workload.pid)], 1, "permission",
                          str(workload.pid), prefix=prefix, binary=binary)
        self.assertTrue(workload.alive())
        self.assert_untouched(workload.pid)

    def test_already_traced(self):
        """Another tracer (a debugger) holds the target: gilscope says which process."""
        workload = self.start([sys.executable, support.workload("gil_shapes.py"), "--no-hasher"])
        tracer = self.start([sys.executable, "-c", (
            "import ctypes, sys, time\n"
            "libc = ctypes.CDLL(None, use_errno=True)\n"
            "libc.ptrace.argtypes = [ctypes.c_long, ctypes.c_long, ctypes.c_void_p, "
            "ctypes.c_void_p]\n"
            "if libc.ptrace(0x4206, %d, None, None) != 0:  # PTRACE_SEIZE: the target runs on\n"
            "    sys.exit('PTRACE_SEIZE failed: errno %%d' %% ctypes.get_errno())\n"
            "print('ready', flush=True)\n"
            "time.sleep(60)\n" % workload.pid)])
        self.expect_error(["dump", "--pid", str(workload.pid)], 1, "already traced",
                          str(tracer.pid))
        tracer.kill()
        self.assertTrue(workload.alive())
        self.assert_untouched(workload.pid)

    def test_target_exits_mid_dump(self):
        """Targets that exit (os._exit, or interpreter shutdown) while gilscope dumps them.

        EXIT_RUNS workloads, cycling over the interpreters; each is told to exit after a random
        delay of 0-25 ms, and gilscope dumps it back to back (alternately blocking and
        --nonblocking) until the workload is a zombie. Every dump must exit 0 with valid JSON
        or 1 with one clean line, within 10 s."""
        seed = int(os.environ.get("GILSCOPE_TEST_SEED", random.randrange(1 << 30)))
        rng = random.Random(seed)
        interpreters = pythons.interpreters()
        outcomes = collections.Counter()
        for run in range(EXIT_RUNS):
            python = interpreters[run % len(interpreters)]
            mode = ("os_exit", "finalize")[(run // len(interpreters) + run) % 2]
            delay = rng.uniform(0, 0.025)
            workload = support.Workload([*python.command, support.workload("exit_soon.py"), mode],
                                        stdin=True)
            try:
                workload.wait_ready()
                workload.write("%f\n" % delay)
                for attempt in range(MAX_DUMPS_PER_EXIT):
                    options = ["--json"] + (["--nonblocking"] if attempt % 2 else [])
                    context = "run %d (seed %d): %s, %s after %.1f ms, dump %d %s" % (
                        run, seed, python.path, mode, delay * 1000, attempt, " ".join(options))
                    code, out, err = self.dump_exiting(workload.pid, options, context)
                    outcomes[(code, re.sub(r"\d+", "N", err.strip())[:70])] += 1
                    if code == 1 and support.process_state(workload.pid) == "Z":
                        break
                else:
                    self.fail("run %d: the workload never exited (%s)" % (run, mode))
            finally:
                workload.kill()
        sys.stderr.write("\nexit mid-dump outcomes (seed %d): %s\n" % (seed, "; ".join(
            "%d x exit %d %s" % (count, code, text) for (code, text), count in
            sorted(outcomes.items()))))

    def dump_exiting(self, pid, options, context):
        gilscope = subprocess.Popen([support.gilscope_bin(), "dump", "--pid", str(pid)] + options,
                                    stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                                    stderr=subprocess.PIPE, text=True)
        try:
            out, err = gilscope.communicate(timeout=10)
        except subprocess.TimeoutExpired:
            gilscope.kill()
            gilscope.communicate()
            self.fail("%s: gilscope hung (killed after 10 s)" % context)
        code = gilscope.returncode
        self.assertIn(code, (0, 1), "%s: gilscope exited %d (a signal if < 0 or >= 128); "
                      "stderr %r" % (context, code, err))
        if code == 0:
            self.assertEqual(err, "", context)
            try:
                json.loads(out)
            except ValueError as error:
                self.fail("%s: exit 0 but invalid JSON (%s): %r" % (context, error, out[:2000]))
        else:
            support.one_clean_error_line(self, err, context)
        return code, out, err

if __name__ == "__main__":
    shards.main()
