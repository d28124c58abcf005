#!/usr/bin/env python3
"""`gilscope dump --subprocesses` against tests/workloads/pool_shapes.py: a parent whose
multiprocessing.Pool(3) (forked) workers spin in pure Python while it waits on their results.

Run on two interpreters: pythons.behaviour_interpreter() and the newest with a GIL (a
free-threaded build with its GIL on counts; with it off no worker would hold one). Per class:
  test_json        `dump --subprocesses --json`: the parent and its 3 workers among the
                   processes dumped (multiprocessing may add helpers, e.g. a resource tracker or
                   a fork server; any found are named on stderr, not asserted), the parent first,
                   each with its true parent pid and version; each worker has exactly one Python
                   thread, holding the GIL, in spin(); the parent's main thread is idle in main()
                   at the pool-wait line; "skipped" is a list; nothing is left out.
  test_text        The text output heads a block "Process PID (parent PPID): ... — Python X.Y.Z"
                   for the parent and every worker, and shows 3 threads holding the GIL.
  test_shell_root  The tree of `sh -c 'python pool_shapes.py; echo done'`: the shell is skipped
                   quietly (listed in "skipped" as not_python), the 4 Python processes dumped.
Every command line carries an argument with a terminal escape, a bell and a byte that is not
UTF-8: the text output must hold no control character and be UTF-8, JSON keeps it as data.
Once (NoPythonTree): the tree of `sh -c 'sleep 600; echo done'` and a pid that does not exist
each give one clean stderr line and exit 1.
Once (Unreadable): gilscope run as nobody on a root shell with two Python children, one run as
nobody: that one is dumped; the shell and the root one are named, a line each, on stderr and
listed as unreadable in "skipped"; exit 0. A tree of one root Python process: it is named, then
"no Python process in the tree of PID N could be read", exit 1.
Once (WideTree, tests/workloads/wide_tree.py): a Python root with 301 children, 300 of them
/bin/sleep and one a Python spinner, started first (likely within the cap of 256 processes, the
root included) or last (likely beyond it; the expectations follow the real pids either way):
`dump --json` dumps the root and the spinner if within the cap, skips the rest of the first 256
as not_python, and counts the 46 beyond as "left_out"; the text dump names the count on stderr;
`record -d 1` records the same processes and reports the count (processes_left_out, and a
line on stderr, whether one process or several were recorded).
After every dump every process of the workload runs untraced, with no thread stopped.

Environment: GILSCOPE_BIN (required), GILSCOPE_TEST_PYTHONS (optional, see pythons.py).
Run: GILSCOPE_BIN=build/src/gilscope python3 tests/integration/process_tree_test.py -v
"""

import json
import os
import re
import shlex
import shutil
import subprocess
import sys
import tempfile
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import pythons  # noqa: E402
import shards  # noqa: E402
import support  # noqa: E402

SCRIPT = support.workload("pool_shapes.py")
MARKERS = support.line_markers(SCRIPT)
WORKERS = 3
# An argument for the command lines: a terminal escape, a bell, markup and (through
# surrogateescape) a byte that is not UTF-8.
HOSTILE_ARGUMENT = "\x1b[2J\x07</b>\udcff"
TERMINAL_CONTROL = re.compile(rb"[\x00-\x09\x0b-\x1f\x7f]|\xc2[\x80-\x9f]")

covered = []


def parent_of(pid):
    with open("/proc/%d/stat" % pid) as stat:
        return int(stat.read().rsplit(")", 1)[1].split()[1])


def exe_of(pid):
    return os.path.realpath("/proc/%d/exe" % pid)


class PoolChecks(object):
    python = None

    @classmethod
    def setUpClass(cls):
        covered.append(cls.python)

    def start(self, shell=False):
        """Starts the workload (under a shell if asked); returns (workload, root pid, parent
        pid, worker pids) once every worker spins and the parent waits."""
        argv = self.python.command + [SCRIPT, HOSTILE_ARGUMENT]
        if shell:
            # "; echo" keeps the shell from exec'ing the interpreter in its place.
            argv = ["/bin/sh", "-c", " ".join(shlex.quote(part) for part in argv) + "; echo done"]
        workload = support.Workload(argv)
        self.addCleanup(workload.kill)
        workers = []
        for _ in range(WORKERS):
            line = workload.read_line()
            self.assertTrue(line.startswith("worker "), "workload printed %r" % line)
            workers.append(int(line.split()[1]))
        parents = set(parent_of(worker) for worker in workers)
        self.assertEqual(len(parents), 1, "workers of several parents: %s" % parents)
        parent = parents.pop()
        if shell:
            self.assertEqual(parent_of(parent), workload.pid)
            self.assertNotEqual(exe_of(workload.pid), exe_of(parent), "the shell exec'd Python")
        else:
            self.assertEqual(parent, workload.pid)
        support.wait_in_syscall(parent, [parent])  # the main thread waits on a result
        return workload, workload.pid, parent, sorted(workers)

    def assert_all_running(self, pids, context):
        for pid in pids:
            self.assertEqual(support.running_problems(pid), [], "%s: process %d" % (context, pid))

    def dump_json(self, root):
        code, out, err = support.run_gilscope(["dump", "--pid", str(root), "--subprocesses",
                                               "--json"])
        self.assertEqual(code, 0, "stderr: %s" % err)
        self.assertEqual(err, "", "nothing to say on stderr for a readable tree")
        return json.loads(out)

    def check_pool(self, dump, parent, workers, context):
        processes = dump["processes"]
        by_pid = dict((process["pid"], process) for process in processes)
        self.assertEqual(len(by_pid), len(processes), "%s: a process dumped twice" % context)
        for pid in [parent] + workers:
            self.assertIn(pid, by_pid, "%s: pids dumped %s" % (context, sorted(by_pid)))
        self.assertEqual(processes[0]["pid"], parent, context)  # tree order: the parent first
        extra = sorted(set(by_pid) - set([parent] + workers))
        if extra:
            sys.stderr.write("\n%s: also dumped %s\n" % (context, ", ".join(
                "%d (%s)" % (pid, by_pid[pid]["command_line"]) for pid in extra)))
        for pid, process in by_pid.items():
            self.assertEqual(process["parent_pid"], parent_of(pid), context)
            self.assertEqual(process["version"], self.python.version, context)
            self.assertTrue(process["paused"], context)
            self.assertIn("pool_shapes.py \x1b[2J\x07</b>\ufffd", process["command_line"],
                          context)
        for worker in workers:
            process = by_pid[worker]
            threads = [thread for thread in process["threads"] if thread["python"]]
            self.assertEqual(len(threads), 1, "%s: worker %d threads %s" % (context, worker,
                                                                         threads))
            thread = threads[0]
            self.assertEqual(thread["native_id"], worker, context)
            self.assertEqual(thread["state"], "holding_gil", "%s: worker %d" % (context, worker))
            self.assertEqual(process["gils"][0]["holder"], worker, context)
            self.assertEqual(thread["frames"][0]["function"], "spin", context)
            self.assertEqual(thread["frames"][0]["file"], SCRIPT, context)
        main = [thread for thread in by_pid[parent]["threads"] if thread["main"]]
        self.assertEqual(len(main), 1, context)
        self.assertEqual(main[0]["state"], "idle", "%s: parent main thread %s" % (context, main))
        lines = [(frame["function"], frame["line"]) for frame in main[0]["frames"]
                 if frame["file"] == SCRIPT]
        self.assertIn(("main", MARKERS["pool-wait"]), lines, context)
        self.assertIsInstance(dump["skipped"], list, context)
        self.assertEqual(dump["left_out"], 0, context)

    def test_json(self):
        workload, root, parent, workers = self.start()
        dump = self.dump_json(root)
        self.check_pool(dump, parent, workers, "json")
        self.assertEqual(dump["skipped"], [], "every process of the tree runs Python")
        self.assert_all_running([parent] + workers, "after dump --json")

    def test_text(self):
        workload, root, parent, workers = self.start()
        proc = subprocess.run([support.gilscope_bin(), "dump", "--pid", str(root),
                               "--subprocesses"], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                              stdin=subprocess.DEVNULL, timeout=support.GILSCOPE_TIMEOUT_SECONDS)
        self.assertEqual(proc.returncode, 0, "stderr: %r" % proc.stderr)
        match = TERMINAL_CONTROL.search(proc.stdout)
        self.assertIsNone(match, "a control byte in the text: %r" % (match and proc.stdout[
            max(0, match.start() - 60):match.start() + 20]))
        out = proc.stdout.decode("utf-8")  # raises on invalid UTF-8
        self.assertIn("\\x1b[2J", out)  # the escape shown, not sent
        for pid in [parent] + workers:
            heading = "Process %d (parent %d): " % (pid, parent_of(pid))
            lines = [line for line in out.splitlines() if line.startswith(heading)]
            self.assertEqual(len(lines), 1, "no single heading %r in:\n%s" % (heading, out))
            self.assertIn(" \u2014 Python %s " % self.python.version, lines[0])
        self.assertGreaterEqual(out.count("[holding GIL]"), WORKERS, out)
        self.assertIn("spin (%s:" % SCRIPT, out)
        self.assert_all_running([parent] + workers, "after dump")

    def test_shell_root(self):
        workload, root, parent, workers = self.start(shell=True)
        dump = self.dump_json(root)
        self.check_pool(dump, parent, workers, "under sh -c")
        self.assertNotIn(root, [process["pid"] for process in dump["processes"]])
        shell = [entry for entry in dump["skipped"] if entry["pid"] == root]
        self.assertEqual(len(shell), 1, dump["skipped"])
        self.assertEqual(shell[0]["why"], "not_python")
        self.assertIn("pool_shapes.py", shell[0]["command_line"])
        self.assert_all_running([root, parent] + workers, "after dump of the shell's tree")


def _interpreters():
    found = [python for python in pythons.interpreters() if not python.gil_disabled]
    if not found:
        return []
    chosen = [pythons.behaviour_interpreter(), found[-1]]
    return [python for index, python in enumerate(chosen) if python not in chosen[:index]]


for _python in _interpreters():
    _name = "ProcessTree_" + "".join(c if c.isalnum() else "_" for c in _python.label)
    globals()[_name] = type(_name, (PoolChecks, unittest.TestCase),
                            {"python": _python, "__doc__": _python.path})


class NoPythonTree(unittest.TestCase):
    def test_shell_and_sleep(self):
        workload = support.Workload(["/bin/sh", "-c", "sleep 600; echo done"])
        self.addCleanup(workload.kill)
        code, out, err = support.run_gilscope(["dump", "--pid", str(workload.pid),
                                               "--subprocesses", "--json"])
        self.assertEqual(code, 1, "stdout %r" % out)
        self.assertEqual(out, "")
        line = support.one_clean_error_line(self, err, "tree without Python")
        self.assertEqual(line, "gilscope: no Python process in the tree of PID %d" % workload.pid)
        self.assertEqual(support.running_problems(workload.pid), [])

    def test_no_such_process(self):
        pid = 4194303  # above any pid this machine hands out (pid_max is at most 2**22)
        while os.path.exists("/proc/%d" % pid):
            pid -= 1
        code, out, err = support.run_gilscope(["dump", "--pid", str(pid), "--subprocesses"])
        self.assertEqual(code, 1)
        support.one_clean_error_line(self, err, "no such process")


class Unreadable(unittest.TestCase):
    NOBODY = 65534

    def as_nobody(self):
        """(setpriv prefix, a gilscope binary nobody may run); skips without root or setpriv."""
        setpriv = shutil.which("setpriv")
        if os.geteuid() != 0 or not setpriv:
            self.skipTest("needs root and setpriv, to run gilscope and a child as another user")
        prefix = [setpriv, "--reuid=%d" % self.NOBODY, "--regid=%d" % self.NOBODY,
                  "--clear-groups"]
        binary = support.gilscope_bin()
        if subprocess.run(prefix + [binary, "--version"], capture_output=True).returncode != 0:
            directory = tempfile.mkdtemp()  # the build tree is not readable by nobody
            self.addCleanup(shutil.rmtree, directory)
            os.chmod(directory, 0o755)
            binary = os.path.join(directory, "gilscope")
            shutil.copy(support.gilscope_bin(), binary)
            os.chmod(binary, 0o755)
        return prefix, binary

    def test_nothing_readable(self):
        prefix, binary = self.as_nobody()
        python = pythons.behaviour_interpreter()
        workload = support.Workload(python.command + [support.workload("lone_spinner.py")])
        self.addCleanup(workload.kill)
        workload.wait_ready()
        code, out, err = support.run_gilscope(
            ["dump", "--pid", str(workload.pid), "--subprocesses"], prefix=prefix, binary=binary)
        self.assertEqual((code, out), (1, ""), err)
        self.assertEqual(err.splitlines()[1:], [
            "gilscope: no Python process in the tree of PID %d could be read" % workload.pid])
        self.assertTrue(err.startswith("gilscope: process %d (" % workload.pid), err)
        self.assertEqual(support.running_problems(workload.pid), [])

    def test_a_child_of_another_user_is_named_and_the_rest_dumped(self):
        prefix, binary = self.as_nobody()
        python = pythons.behaviour_interpreter()
        spinner = " ".join(shlex.quote(part) for part in python.command +
                           [support.workload("lone_spinner.py")])
        workload = support.Workload(["/bin/sh", "-c", "%s %s & %s; echo done" % (
            " ".join(prefix), spinner, spinner)])
        self.addCleanup(workload.kill)
        for _ in range(2):
            self.assertEqual(workload.read_line(), "ready")
        children = [pid for pid in map(int, filter(str.isdigit, os.listdir("/proc")))
                    if os.path.exists("/proc/%d/stat" % pid) and parent_of(pid) == workload.pid]
        owners = dict((pid, os.stat("/proc/%d" % pid).st_uid) for pid in children)
        self.assertEqual(sorted(owners.values()), [0, self.NOBODY], owners)
        mine = [pid for pid, uid in owners.items() if uid == self.NOBODY][0]
        theirs = [pid for pid, uid in owners.items() if uid == 0][0]
        code, out, err = support.run_gilscope(
            ["dump", "--pid", str(workload.pid), "--subprocesses", "--json"], prefix=prefix,
            binary=binary)
        self.assertEqual(code, 0, "stderr: %s" % err)
        dump = json.loads(out)
        self.assertEqual([process["pid"] for process in dump["processes"]], [mine])
        skipped = dict((entry["pid"], entry) for entry in dump["skipped"])
        self.assertEqual(skipped[theirs]["why"], "unreadable", skipped)
        self.assertTrue(skipped[theirs]["message"])
        lines = err.splitlines()
        for pid in (workload.pid, theirs):
            named = [line for line in lines if line.startswith("gilscope: process %d (" % pid)]
            self.assertEqual(len(named), 1, "process %d in stderr %r" % (pid, err))
        self.assertEqual(len(lines), 2, err)
        for pid in (workload.pid, mine, theirs):
            self.assertEqual(support.running_problems(pid), [], "process %d" % pid)


class WideTree(unittest.TestCase):
    SLEEPERS = 300
    CAP = 256  # kMaxTreeProcesses, the root included

    def start(self, spinner_last):
        """(root, spinner, the pids within the cap in tree order) once every child runs."""
        python = pythons.behaviour_interpreter()
        if python.version_info < (3,):
            self.skipTest("wide_tree.py runs on Python 3")
        workload = support.Workload(python.command + [support.workload("wide_tree.py")] +
                                    (["--spinner-last"] if spinner_last else []))
        self.addCleanup(workload.kill)
        lines = sorted(workload.read_line() for _ in range(2))
        self.assertRegex(lines[0], r"^ready \d+$")
        self.assertEqual(lines[1], "spinning " + lines[0].split()[1])
        spinner = int(lines[1].split()[1])
        root = workload.pid
        children = [pid for pid in map(int, filter(str.isdigit, os.listdir("/proc")))
                    if os.path.exists("/proc/%d/stat" % pid) and parent_of(pid) == root]
        self.assertEqual(len(children), self.SLEEPERS + 1)
        support.wait_until_sleeping(root)
        # Depth first, siblings by pid; no child has children of its own.
        return root, spinner, [root] + sorted(children)[:self.CAP - 1]

    def check(self, spinner_last):
        root, spinner, within = self.start(spinner_last)
        left_out = self.SLEEPERS + 2 - self.CAP
        python = [root] + ([spinner] if spinner in within else [])
        sys.stderr.write("\n  spinner %s the cap (pid %d, root %d)\n" % (
            "within" if spinner in within else "beyond", spinner, root))
        code, out, err = support.run_gilscope(["dump", "--pid", str(root), "--subprocesses",
                                               "--json"], timeout=60)
        self.assertEqual(code, 0, err)
        said = "the tree of PID %d has %d more processes than the %d read" % (root, left_out,
                                                                               self.CAP)
        self.assertIn(said, err)
        dump = json.loads(out)
        self.assertEqual(dump["left_out"], left_out)
        self.assertEqual([process["pid"] for process in dump["processes"]], python)
        self.assertEqual(sorted(entry["pid"] for entry in dump["skipped"]),
                         sorted(set(within) - set(python)))
        self.assertEqual(set(entry["why"] for entry in dump["skipped"]), set(["not_python"]))
        if spinner in within:
            threads = dump["processes"][1]["threads"]
            self.assertEqual([thread["state"] for thread in threads], ["holding_gil"])
            self.assertEqual(threads[0]["frames"][0]["function"], "spin")

        code, out, err = support.run_gilscope(["dump", "--pid", str(root), "--subprocesses"],
                                              timeout=60)
        self.assertEqual(code, 0, err)
        self.assertIn(said, err)
        for pid in python:
            self.assertIn("Process %d (parent %d): " % (pid, parent_of(pid)), out)
        self.assertEqual(out.count("Process "), len(python), out)

        directory = tempfile.mkdtemp(prefix="gilscope-wide-tree-")
        self.addCleanup(shutil.rmtree, directory)
        summary_path = os.path.join(directory, "s.json")
        code, out, err = support.run_gilscope(
            ["record", "--pid", str(root), "--subprocesses", "-d", "1", "-f", "collapsed", "-o",
             os.path.join(directory, "c.txt"), "--summary", summary_path], timeout=60)
        self.assertEqual(code, 0, err)
        with open(summary_path) as source:
            summary = json.load(source)
        self.assertEqual(summary["processes_left_out"], left_out)
        self.assertEqual([process["pid"] for process in summary["processes"]], python)
        self.assertIn("%d more descendants beyond the %d read were not sampled"
                      % (left_out, self.CAP), err)
        for pid in python:
            self.assertEqual(support.running_problems(pid), [], "process %d" % pid)

    def test_spinner_first(self):
        self.check(spinner_last=False)

    def test_spinner_last(self):
        self.check(spinner_last=True)


def tearDownModule():
    sys.stderr.write("\n")
    pythons.print_covered("process_tree_test", covered)


if __name__ == "__main__":
    shards.main()
