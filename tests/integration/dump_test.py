#!/usr/bin/env python3
"""`gilscope dump` against tests/workloads/gil_shapes.py on every interpreter of pythons.py.

For each interpreter one test class (DumpTest_<version>) starts the workload and checks:
  test_json       Up to MAX_DUMPS `dump --json` runs, until one shows the consistent picture: one
                  spinner holds the GIL (it is gils[0].holder), the other waits for it. Every dump
                  must have the right version, executable, thread set, full stacks (qualified names,
                  absolute files, marker line numbers), Python thread names in "name" ("MainThread",
                  "spinner-1", ...) and /proc comm in "os_name", sleeper/blocked/main released and
                  idle, at most one holder; the hasher must be seen running_without_gil at least once.
  test_text       The text output names the version, a holding-GIL spinner, a waiting thread,
                  the workload's functions and, in the thread headings, the Python thread names.
  test_nonblocking  `--nonblocking --json`: exit 0, valid JSON, "paused": false, same threads.
  test_lone_busy_thread  tests/workloads/lone_spinner.py, one thread in a pure-Python loop and
                  no other ever started (2.7 and 3.6 have not created their GIL): the thread is
                  holding_gil, the GIL's holder, in every dump; `record -d 1` says GIL held
                  > 90% and python_cpu_bound. (With a free-threaded build's GIL off: running
                  without it, verdict no_gil.)
After every dump the workload must still run, untraced, with no thread stopped (t/T).

Environment: GILSCOPE_BIN (required), GILSCOPE_TEST_PYTHONS (optional, see pythons.py).
Run: GILSCOPE_BIN=build/src/gilscope python3 tests/integration/dump_test.py -v
"""

import json
import os
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

MAX_DUMPS = 20
PAUSE_BETWEEN_DUMPS = 0.03
SCRIPT = support.workload("gil_shapes.py")
LONE_SPINNER = support.workload("lone_spinner.py")
MARKERS = support.line_markers(SCRIPT)
CRUNCH_LINES = {
    True: support.line_of(SCRIPT, r"return hashlib\.sha256\(data\)"),  # OpenSSL hashlib
    False: support.line_of(SCRIPT, r"return zlib\.compress\(data"),
}
MODULE_MAIN_LINE = support.line_of(SCRIPT, r"^\s+main\(\)\s*$")

STATES_FOR_GIL = {
    "held": ("holding_gil", "holding_gil_in_native"),
    "waiting": ("waiting_for_gil",),
    "released": ("running_without_gil", "idle", "unknown"),
}

covered = []


def expected_names(version_info):
    """Qualified names of threading.py's frames: co_qualname from 3.11 on, co_name before."""
    if version_info >= (3, 11):
        return {"run": "Thread.run", "inner": "Thread._bootstrap_inner",
                "bootstrap": "Thread._bootstrap", "cond_wait": "Condition.wait",
                "event_wait": "Event.wait"}
    if version_info >= (3, 0):
        return {"run": "run", "inner": "_bootstrap_inner", "bootstrap": "_bootstrap",
                "cond_wait": "wait", "event_wait": "wait"}
    return {"run": "run", "inner": "__bootstrap_inner", "bootstrap": "__bootstrap",
            "cond_wait": "wait", "event_wait": "wait"}


def summary(dump):
    """A compact, readable picture of a dump for failure messages."""
    if not isinstance(dump, dict):
        return repr(dump)
    lines = ["version=%s paused=%s gils=%s" % (dump.get("version"), dump.get("paused"),
                                               dump.get("gils"))]
    for thread in dump.get("threads", []):
        frames = ", ".join("%s:%s" % (frame.get("function"), frame.get("line"))
                           for frame in thread.get("frames", []))
        lines.append("  %s %r main=%s python=%s gil=%s state=%s blocked_in=%s [%s]%s" % (
            thread.get("native_id"), thread.get("name"), thread.get("main"), thread.get("python"),
            thread.get("gil"),
            thread.get("state"), thread.get("blocked_in"), frames,
            " error=%r" % thread["error"] if "error" in thread else ""))
    return "\n".join(lines)


class DumpChecks(object):
    """The tests; mixed into one unittest.TestCase subclass per interpreter."""

    python = None  # a pythons.Interpreter, set by the generated subclasses
    workload = None

    @classmethod
    def setUpClass(cls):
        support.gilscope_bin()
        cls.names = expected_names(cls.python.version_info)
        cls.openssl = cls._has_openssl_hashlib()
        cls.workload = support.Workload([*cls.python.command, SCRIPT])
        cls.addClassCleanup(cls.workload.kill)
        cls.workload.wait_ready()
        # The main thread prints "ready" with the GIL released (write(2)); let it get back to
        # its time.sleep at the "main" marker before the first dump.
        support.wait_until_sleeping(cls.workload.pid)
        # threads that must be seen idle: main; after the first dump also sleeper and blocked
        cls.quiet_tids = [cls.workload.pid]
        covered.append(cls.python)

    @classmethod
    def _has_openssl_hashlib(cls):
        return subprocess.run([*cls.python.command, "-c", "import _hashlib"], capture_output=True,
                              timeout=30).returncode == 0

    # --- running gilscope ------------------------------------------------------------------

    def dump(self, *extra):
        """Runs gilscope dump on the workload; checks exit 0, clean stderr, target still fine."""
        pid = self.workload.pid
        # Each paused dump wakes the idle threads for a moment; let them block again first.
        support.wait_in_syscall(pid, self.quiet_tids)
        code, out, err = support.run_gilscope(["dump", "--pid", str(pid)] + list(extra))
        self.assertEqual(code, 0, "gilscope dump %s exited %d: %s" % (" ".join(extra), code, err))
        self.assertEqual(err, "", "gilscope dump printed on stderr")
        self.assert_target_runs()
        return out

    def dump_json(self, *extra):
        out = self.dump("--json", *extra)
        try:
            return json.loads(out)
        except ValueError as error:
            self.fail("gilscope dump --json printed invalid JSON (%s): %r" % (error, out[:2000]))

    def assert_target_runs(self):
        self.assertTrue(self.workload.alive(), "the workload died during the dump")
        problems = support.running_problems(self.workload.pid, window=0.05)
        self.assertEqual(problems, [], "after the dump the workload is stopped or traced")

    # --- checking one dump -----------------------------------------------------------------

    def check_frames(self, thread, expected, what):
        """Frames' functions must equal expected (innermost first); files absolute and real."""
        frames = thread["frames"]
        self.assertEqual([frame["function"] for frame in frames], expected,
                         "%s: stack %s" % (what, frames))
        for frame in frames:
            self.assertTrue(os.path.isabs(frame["file"]), "%s: relative file %r" % (what, frame))
            self.assertTrue(os.path.isfile(frame["file"]), "%s: no such file %r" % (what, frame))
            line = frame["line"]
            self.assertTrue(line is None or (isinstance(line, int) and line > 0),
                            "%s: bad line %r" % (what, frame))
            if frame["function"] in (self.names["run"], self.names["inner"],
                                     self.names["bootstrap"], self.names["cond_wait"],
                                     self.names["event_wait"]):
                self.assertEqual(os.path.basename(frame["file"]), "threading.py", what)
                self.assertIsNotNone(line, "%s: threading.py frame without a line" % what)
            else:
                self.assertEqual(frame["file"], SCRIPT, "%s: %r" % (what, frame))

    def worker_stack(self, *inner):
        return list(inner) + [self.names["run"], self.names["inner"], self.names["bootstrap"]]

    def check_dump(self, dump, paused=True):
        """Checks what must hold in every dump; returns {role: [thread, ...]}."""
        context = "\n" + summary(dump)
        pid = self.workload.pid
        for key in ("pid", "version", "executable", "command_line", "python_binary", "paused",
                    "gils", "threads"):
            self.assertIn(key, dump, context)
        self.assertEqual(dump["pid"], pid, context)
        self.assertEqual(dump["version"], self.python.version, context)
        self.assertEqual(dump["paused"], paused, context)
        self.assertEqual(dump["executable"], self.python.realpath, context)
        self.assertIn(SCRIPT, dump["command_line"], context)
        self.assertTrue(os.path.isabs(dump["python_binary"]), context)
        self.assertTrue(os.path.isfile(dump["python_binary"]), context)

        self.assertEqual(len(dump["gils"]), 1, context)
        gil = dump["gils"][0]
        self.assertEqual(gil["interpreter_id"], 0, context)
        self.assertIsInstance(gil["locked"], bool, context)
        self.assertIsInstance(gil["waiters"], int, context)
        if self.python.version_info < (3, 0) or self.python.gil_disabled:
            self.assertIsNone(gil["switch_number"], "no switch counter (2.7, or GIL off)" + context)
        else:
            self.assertIsInstance(gil["switch_number"], int, context)

        threads = dump["threads"]
        self.assertEqual(len(set(t["native_id"] for t in threads)), len(threads),
                         "duplicate native_id" + context)
        for thread in threads:
            self.assertNotIn("error", thread, context)
            self.assertTrue(thread["python"], "a thread without Python state" + context)
            self.assertEqual(thread["interpreter_id"], 0, context)
            self.assertTrue(os.path.isdir("/proc/%d/task/%d" % (pid, thread["native_id"])),
                            "thread %d is not a thread of the workload%s"
                            % (thread["native_id"], context))
            self.assertIn("os_name", thread, context)
            with open("/proc/%d/task/%d/comm" % (pid, thread["native_id"])) as comm:
                self.assertEqual(thread["os_name"], comm.read().rstrip("\n"),
                                 "os_name is not the OS thread name" + context)
            self.assertIsInstance(thread["thread_id"], int, context)
            self.assertNotEqual(thread["thread_id"], 0, context)
            self.assertIn(thread["gil"], STATES_FOR_GIL, context)
            self.assertIn(thread["state"], STATES_FOR_GIL[thread["gil"]],
                          "state does not match gil" + context)

        roles = {"main": [], "spinner": [], "sleeper": [], "blocked": [], "hasher": [],
                 "other": []}
        for thread in threads:
            functions = [frame["function"] for frame in thread["frames"]]
            if thread["main"]:
                roles["main"].append(thread)
            elif functions[:1] == ["spin_forever"]:
                roles["spinner"].append(thread)
            elif functions[:1] == ["sleep_forever"]:
                roles["sleeper"].append(thread)
            elif "block_forever" in functions:
                roles["blocked"].append(thread)
            elif "hash_forever" in functions:
                roles["hasher"].append(thread)
            else:
                roles["other"].append(thread)
        for role, count in (("main", 1), ("spinner", 2), ("sleeper", 1), ("blocked", 1),
                            ("hasher", 1), ("other", 0)):
            self.assertEqual(len(roles[role]), count, "%s threads%s" % (role, context))

        # Python thread names (threading.Thread.name), as gil_shapes.py gives them.
        for role, names in (("main", ["MainThread"]), ("spinner", ["spinner-1", "spinner-2"]),
                            ("sleeper", ["sleeper"]), ("blocked", ["blocked"]),
                            ("hasher", ["hasher"])):
            self.assertEqual(sorted(t["name"] for t in roles[role]), names,
                             "%s: Python thread names%s" % (role, context))

        main = roles["main"][0]
        self.assertEqual(main["native_id"], pid, "the main thread is not the process" + context)
        self.check_frames(main, ["main", "<module>"], "main thread")
        self.assertEqual([f["line"] for f in main["frames"]],
                         [MARKERS["main"], MODULE_MAIN_LINE], "main thread lines" + context)
        for thread in threads:
            if thread is not main:
                self.assertFalse(thread["main"], context)

        for spinner in roles["spinner"]:
            self.check_frames(spinner, self.worker_stack("spin_forever"), "spinner")
            self.assertIn(spinner["frames"][0]["line"],
                          (MARKERS["spin-loop"], MARKERS["spin-body"]), "spinner line" + context)

        sleeper = roles["sleeper"][0]
        self.check_frames(sleeper, self.worker_stack("sleep_forever"), "sleeper")
        self.assertEqual(sleeper["frames"][0]["line"], MARKERS["sleep"], "sleeper line" + context)

        blocked = roles["blocked"][0]
        self.check_frames(blocked, self.worker_stack(
            self.names["cond_wait"], self.names["event_wait"], "block_forever"), "blocked")
        self.assertEqual(blocked["frames"][2]["line"], MARKERS["block"], "blocked line" + context)

        hasher = roles["hasher"][0]
        functions = [frame["function"] for frame in hasher["frames"]]
        if functions[:1] == ["crunch"]:
            self.check_frames(hasher, self.worker_stack("crunch", "hash_forever"), "hasher")
            self.assertEqual(hasher["frames"][0]["line"], CRUNCH_LINES[self.openssl],
                             "crunch line" + context)
        else:
            self.check_frames(hasher, self.worker_stack("hash_forever"), "hasher")
        hash_frame = [f for f in hasher["frames"] if f["function"] == "hash_forever"][0]
        self.assertEqual(hash_frame["line"], MARKERS["hash"], "hash_forever line" + context)

        type(self).quiet_tids = [roles[role][0]["native_id"] for role in ("main", "sleeper",
                                                                          "blocked")]
        for role in ("main", "sleeper", "blocked"):
            thread = roles[role][0]
            self.assertEqual((thread["gil"], thread["state"]), ("released", "idle"),
                             "%s must be idle without the GIL%s" % (role, context))
            self.assertTrue(thread["blocked_in"], "%s: idle but blocked in no syscall%s"
                            % (role, context))

        if paused:
            holders = [t for t in threads if t["gil"] == "held"]
            self.assertLessEqual(len(holders), 1, "several GIL holders" + context)
            if holders:
                self.assertEqual(gil["holder"], holders[0]["native_id"], context)
                self.assertTrue(gil["locked"], "a holder but the GIL is not locked" + context)
            if gil["holder"] is not None:
                self.assertEqual([t["native_id"] for t in holders], [gil["holder"]],
                                 "gils[0].holder is not the thread marked held" + context)
        return roles

    def is_consistent(self, dump, roles):
        """One spinner holds the GIL (and nobody else), the other spinner waits for it; with
        the GIL off, both spinners run at once and nobody holds or waits."""
        if self.python.gil_disabled:
            return ([t["state"] for t in roles["spinner"]] == ["running_without_gil"] * 2
                    and all(t["gil"] == "released" for t in dump["threads"]))
        gils = [t["gil"] for t in roles["spinner"]]
        holders = [t for t in dump["threads"] if t["gil"] == "held"]
        return sorted(gils) == ["held", "waiting"] and len(holders) == 1

    # --- the tests ---------------------------------------------------------------------------

    def test_json(self):
        hasher_states = []
        switches = []  # (time, switch_number)
        consistent = None
        dump = None
        for attempt in range(MAX_DUMPS):
            if attempt:
                time.sleep(PAUSE_BETWEEN_DUMPS)
            dump = self.dump_json()
            roles = self.check_dump(dump)
            hasher_states.append(roles["hasher"][0]["state"])
            switches.append((time.monotonic(), dump["gils"][0]["switch_number"]))
            if consistent is None and self.is_consistent(dump, roles):
                consistent = (dump, roles)
            if consistent and "running_without_gil" in hasher_states:
                break
        self.assertIsNotNone(consistent, "no dump in %d showed one spinner holding the GIL and "
                             "the other waiting; the last:\n%s" % (MAX_DUMPS, summary(dump)))
        dump, roles = consistent
        if self.python.gil_disabled:
            gil = dump["gils"][0]
            self.assertTrue(dump["free_threaded"], summary(dump))
            self.assertFalse(gil["enabled"], summary(dump))
            self.assertFalse(gil["locked"], summary(dump))
            self.assertIsNone(gil["holder"], summary(dump))
            self.assertEqual(gil["waiters"], 0, summary(dump))
            return
        self.assertTrue(dump["gils"][0]["enabled"], summary(dump))
        self.assertEqual(dump["free_threaded"], self.python.free_threaded, summary(dump))
        holder = [t for t in roles["spinner"] if t["gil"] == "held"][0]
        waiter = [t for t in roles["spinner"] if t["gil"] == "waiting"][0]
        gil = dump["gils"][0]
        self.assertEqual(gil["holder"], holder["native_id"], summary(dump))
        self.assertTrue(gil["locked"], summary(dump))
        self.assertEqual(waiter["state"], "waiting_for_gil", summary(dump))
        waiting = [t for t in dump["threads"] if t["gil"] == "waiting"]
        self.assertEqual(gil["waiters"], len(waiting),
                         "gils[0].waiters disagrees with the waiting threads\n" + summary(dump))
        self.assertIn("running_without_gil", hasher_states,
                      "the hasher never ran without the GIL in %d dumps: %s"
                      % (len(hasher_states), hasher_states))
        if self.python.version_info >= (3, 0):
            numbers = [number for _, number in switches]
            self.assertEqual(numbers, sorted(numbers), "switch_number went backwards")
            if len(switches) > 1 and switches[-1][0] - switches[0][0] > 0.1:
                self.assertGreater(numbers[-1], numbers[0], "two spinners but no GIL hand-off")

    def text_blocks(self, text):
        """{native_id: (status in brackets, heading line, frame lines)} of a text dump."""
        blocks = {}
        for block in text.split("\n\n"):
            lines = block.strip().splitlines()
            match = re.match(r"^Thread (\d+)\b.*\[(.*)\]$", lines[0]) if lines else None
            if match:
                blocks[int(match.group(1))] = (match.group(2), lines[0], lines[1:])
        return blocks

    def test_text(self):
        text = blocks = None
        for attempt in range(MAX_DUMPS):
            if attempt:
                time.sleep(PAUSE_BETWEEN_DUMPS)
            text = self.dump()
            blocks = self.text_blocks(text)
            statuses = [b[0] for b in blocks.values()]
            holding = [b for b in blocks.values() if b[0] == "holding GIL"]
            if self.python.gil_disabled:
                if ("GIL: disabled (free-threaded build" in text
                        and statuses.count("running without GIL") >= 2):
                    break
                continue
            if (statuses.count("holding GIL") == 1 and "waiting for GIL" in statuses
                    and holding[0][2] and holding[0][2][0].strip().startswith("spin_forever (")):
                break
        else:
            self.fail("no text dump in %d showed a spinner holding the GIL and a thread waiting "
                      "(GIL off: two spinners running and the GIL disabled); "
                      "the last:\n%s" % (MAX_DUMPS, text))
        self.assertIn("Python %s" % self.python.version, text)
        self.assertIn("Process %d" % self.workload.pid, text)
        for name in ("spin_forever", "sleep_forever", "block_forever", "hash_forever", "main",
                     "%s:%d" % (SCRIPT, MARKERS["sleep"]), "%s:%d" % (SCRIPT, MARKERS["block"]),
                     "%s:%d" % (SCRIPT, MARKERS["main"])):
            self.assertIn(name, text)
        self.assertEqual(len(blocks), 6, "six thread blocks expected:\n" + text)
        self.assertIn(self.workload.pid, blocks, text)
        self.assertIn("(main)", blocks[self.workload.pid][1], text)
        self.assertIn('"MainThread"', blocks[self.workload.pid][1], text)
        headings = [block[1] for tid, block in blocks.items() if tid != self.workload.pid]
        for name in ("spinner-1", "spinner-2", "sleeper", "blocked", "hasher"):
            self.assertEqual(len([h for h in headings if '"%s"' % name in h]), 1,
                             "one heading must name %s:\n%s" % (name, text))
        self.assertTrue(blocks[self.workload.pid][0].startswith("idle"), text)

    def test_nonblocking(self):
        dump = self.dump_json("--nonblocking")
        self.check_dump(dump, paused=False)

    def test_lone_busy_thread(self):
        lone = support.Workload([*self.python.command, LONE_SPINNER])
        self.addCleanup(lone.kill)
        lone.wait_ready()
        # "ready" is written with the GIL released (write(2)): wait until it is back in the loop.
        deadline = time.monotonic() + 10
        running_seen = 0
        while running_seen < 2:  # twice in a row, 20 ms apart
            running_seen = running_seen + 1 if support.process_state(lone.pid) == "R" else 0
            self.assertLess(time.monotonic(), deadline, "the lone spinner does not run")
            time.sleep(0.02)
        for _ in range(3):
            code, out, err = support.run_gilscope(["dump", "--pid", str(lone.pid), "--json"])
            self.assertEqual(code, 0, err)
            dump = json.loads(out)
            context = "\n" + summary(dump)
            self.assertEqual(len(dump["threads"]), 1, context)
            thread = dump["threads"][0]
            self.assertEqual(thread["frames"][0]["function"], "spin", context)
            if self.python.gil_disabled:
                self.assertEqual(thread["state"], "running_without_gil", context)
                continue
            self.assertEqual(thread["state"], "holding_gil", context)
            self.assertEqual(dump["gils"][0]["holder"], thread["native_id"], context)
        folder = tempfile.mkdtemp(prefix="gilscope-dump-")
        self.addCleanup(shutil.rmtree, folder)
        summary_path = os.path.join(folder, "s.json")
        code, _, err = support.run_gilscope(
            ["record", "--pid", str(lone.pid), "-d", "1", "-o", os.path.join(folder, "p.svg"),
             "--summary", summary_path])
        self.assertEqual(code, 0, err)
        with open(summary_path) as source:
            result = json.load(source)
        if self.python.gil_disabled:
            self.assertEqual(result["verdict"], "no_gil", err)
            return
        self.assertGreater(result["gil_held"], 0.9, err)
        self.assertEqual(result["verdict"], "python_cpu_bound", err)
        self.assertTrue(lone.alive(), "the lone spinner died")

globals().update(pythons.test_classes("DumpTest_", DumpChecks))


def setUpModule():
    support.gilscope_bin()  # fails the whole module at once when GILSCOPE_BIN is missing


def tearDownModule():
    sys.stderr.write("\n")
    pythons.print_covered("dump_test", sorted(covered, key=lambda p: (p.version_info, p.path)))


if __name__ == "__main__":
    shards.main()
