#!/usr/bin/env python3
"""`gilscope dump --native` and `gilscope record --native` against workloads of known shape
(tests/workloads/native_shapes.py, and the test library tests/support/gilscope_testlib.c).

NativeShapes_<version>, for every interpreter of pythons.py:
  regex           `dump --native --json` (retried until one thread holds the GIL in backtrack()
                  while the other waits): the holder is holding_gil_in_native, its innermost
                  frames are native frames of _sre (named "sre"/"SRE"; where the object holding
                  the interpreter has no symbol table, as Debian's stripped python3.11, an
                  unnamed OBJECT+0x... frame of it; inner to them at most helpers such as
                  libc's memcpy or a PLT stub), then the Python frames backtrack, run,
                  _bootstrap_inner, _bootstrap with no native frame between them, then the
                  thread's start in libc; native_function is the innermost frame; the other
                  thread waits under backtrack (when blocked, in libc); the idle main thread's
                  innermost frame is in libc. `record --native --mode blame`:
                  the blame view's heaviest leaf is an _sre frame under backtrack, the verdict
                  native_holds_gil, "native": true, held_in_native consistent per thread.
  regex (no --native)  the holder is still holding_gil_in_native (native_function null, no
                  native frame), and record's verdict is native_holds_gil.
  hash            `record --native`: both hashing threads mostly running_without_gil, the cpu
                  view mostly on native sha256/deflate frames under hash_buffer; verdict
                  native_releases_gil.
  ctypes_hold     (where ctypes works) the holder's merged stack frame by frame:
                  gilscope_busy_inner (file = the test library's base name, line null),
                  gilscope_busy_outer, only ctypes/libffi frames, then call_c_holding at its
                  line, run, _bootstrap_inner, _bootstrap, then the thread's start in libc;
                  holding_gil_in_native with native_function "gilscope_busy_inner"; the same
                  order with --native-all (plumbing allowed between); the text dump shows it;
                  without --native still holding_gil_in_native. `record --native`: verdict
                  native_holds_gil, the blame view's heaviest leaf and top_blame[0] are
                  gilscope_busy_inner; collapsed output names it "gilscope_busy_inner (lib)".
  ctypes_release  both threads running_without_gil with the same merged stacks under
                  call_c_releasing; `record --native`: verdict native_releases_gil, the cpu
                  view's heaviest leaf is gilscope_busy_inner.
Every dump's frames carry "native"; native frames have a base-name file and a null line (an
unnamed one reads OBJECT+0x... of its own file); no frame is CPython's evaluation loop (it is
replaced by the Python frames it ran); without --native-all no merged stack holds a native frame
between two Python frames, nor any frame of CPython's call plumbing (PLUMBING) anywhere.
After every gilscope run the workload must still run, untraced, with no thread stopped.

NativeDebugFiles (one interpreter): `record --native` of the copy shape (threads copying large
bytearrays into bytes, in libc's memory copy) blames a named memcpy/memmove function of libc
(the name from libc6-dbg's separate debug file, found by build id), not libc.so.6+0x...
Skipped when /usr/lib/debug/.build-id has no file for the target's libc.

NativeBadInput: `dump --native --nonblocking` and `record --native --nonblocking` exit 2 with
one line on stderr, and leave the target running.

Environment: GILSCOPE_BIN (required), GILSCOPE_TESTLIB (the gilscope_testlib shared library;
required by the ctypes shapes), GILSCOPE_TEST_PYTHONS (optional, see pythons.py).
Run: GILSCOPE_BIN=build/src/gilscope GILSCOPE_TESTLIB=build/tests/libgilscope_testlib.so \\
     python3 tests/integration/native_test.py -v
"""

import json
import os
import re
import shutil
import struct
import subprocess
import sys
import tempfile
import time
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import pythons  # noqa: E402
import shards  # noqa: E402
import support  # noqa: E402

SCRIPT = support.workload("native_shapes.py")
MARKERS = support.line_markers(SCRIPT)
VIEWS = ["blame", "wait", "gil", "wall", "cpu"]  # speedscope profiles, in this order
RECORD_SECONDS = 2
REGEX_RECORD_SECONDS = 3
RECORD_TIMEOUT = REGEX_RECORD_SECONDS + 30
FIND_DUMP_SECONDS = 15  # a regex match takes about a second: the threads need a few to settle
PAUSE_BETWEEN_DUMPS = 0.05
SETTLE_SECONDS = 0.3

SRE_NAME = re.compile(r"sre", re.I)
HASH_NAME = re.compile(r"sha256|deflate", re.I)
# CPython's own allocator, which C code such as _sre calls for memory.
ALLOCATOR = re.compile(r"^(_?Py(Object|Mem)(_Raw)?_|_PyMem_Raw)(Malloc|Calloc|Realloc|Free)"
                       r"(\.\w+)*$|^pymalloc_\w+$")
UNNAMED = re.compile(r"^(.+)\+0x[0-9a-f]+$")
# Frames ctypes puts between a Python call and the C function it calls.
CTYPES_NAME = re.compile(r"ffi|ctypes|CFuncPtr|callproc|call_function", re.I)
# CPython's call dispatch ("plumbing"), which --native folds away unless --native-all: the
# generic call API, Python function and bound method calls (2.7's instancemethod_call is 3.x's
# method_call), builtin function calls, and ceval's out-of-line call helpers.
PLUMBING = frozenset([
    "PyObject_Call", "_PyObject_Call", "PyObject_CallObject", "PyEval_CallObjectWithKeywords",
    "PyObject_Vectorcall", "_PyObject_Vectorcall", "_PyObject_VectorcallTstate",
    "_PyObject_MakeTpCall", "_PyObject_FastCall", "_PyObject_FastCallDict",
    "_PyObject_FastCallKeywords", "PyVectorcall_Call", "_PyObject_Call_Prepend",
    "function_call", "_PyFunction_Vectorcall", "_PyFunction_FastCallDict",
    "_PyFunction_FastCallKeywords", "function_code_fastcall", "_PyEval_EvalCodeWithName",
    "_PyEval_Vector", "PyEval_EvalCodeEx", "call_function", "ext_do_call", "do_call_core",
    "method_call", "method_vectorcall", "instancemethod_call", "PyCFunction_Call",
    "cfunction_call", "cfunction_vectorcall_O", "cfunction_vectorcall_NOARGS",
    "cfunction_vectorcall_FASTCALL", "cfunction_vectorcall_FASTCALL_KEYWORDS",
    "method_vectorcall_O", "method_vectorcall_NOARGS", "method_vectorcall_VARARGS",
    "method_vectorcall_VARARGS_KEYWORDS", "method_vectorcall_FASTCALL",
    "method_vectorcall_FASTCALL_KEYWORDS", "slot_tp_call",
])

covered = []


def testlib():
    """The test library from GILSCOPE_TESTLIB; raises SetupError with a clear message otherwise."""
    path = os.environ.get("GILSCOPE_TESTLIB")
    if not path:
        raise support.SetupError("GILSCOPE_TESTLIB is not set: point it at the gilscope_testlib "
                                 "shared library, e.g. build/tests/libgilscope_testlib.so")
    if not os.path.isfile(path):
        raise support.SetupError("GILSCOPE_TESTLIB=%s is not a file" % path)
    return os.path.abspath(path)


def load_json(path):
    with open(path) as stream:
        return json.load(stream)


def has_ctypes(python):
    return subprocess.run([*python.command, "-c", "import ctypes; ctypes.PyDLL(None).usleep"],
                          capture_output=True, timeout=30).returncode == 0


def has_symtab(path):
    """Whether the ELF file at path has a full symbol table (a SHT_SYMTAB section)."""
    with open(path, "rb") as elf:
        header = elf.read(64)
        if header[:4] != b"\x7fELF" or header[4] != 2:  # ELF64 only (x86_64)
            return False
        shoff, = struct.unpack_from("<Q", header, 0x28)
        shentsize, shnum = struct.unpack_from("<HH", header, 0x3A)
        elf.seek(shoff)
        table = elf.read(shentsize * shnum)
    for index in range(shnum):
        sh_type, = struct.unpack_from("<I", table, index * shentsize + 4)
        if sh_type == 2:  # SHT_SYMTAB
            return True
    return False


def expected_names(version_info):
    """Qualified names of threading.py's frames: co_qualname from 3.11 on, co_name before."""
    if version_info >= (3, 11):
        return {"run": "Thread.run", "inner": "Thread._bootstrap_inner",
                "bootstrap": "Thread._bootstrap"}
    if version_info >= (3, 0):
        return {"run": "run", "inner": "_bootstrap_inner", "bootstrap": "_bootstrap"}
    return {"run": "run", "inner": "__bootstrap_inner", "bootstrap": "__bootstrap"}


def eval_function(version_info):
    """The native function of CPython's evaluation loop, which --native replaces."""
    return "PyEval_EvalFrameEx" if version_info < (3, 0) else "_PyEval_EvalFrameDefault"


def frame_text(frame):
    where = frame.get("file")
    if frame.get("line") is not None:
        where = "%s:%s" % (where, frame["line"])
    return "%s%s (%s)" % ("*" if frame.get("native") else "", frame.get("function"), where)


def summary(dump):
    """A compact, readable picture of a dump for failure messages (native frames marked *)."""
    if not isinstance(dump, dict):
        return repr(dump)
    lines = ["version=%s paused=%s python_binary=%s gils=%s" % (
        dump.get("version"), dump.get("paused"), dump.get("python_binary"), dump.get("gils"))]
    for thread in dump.get("threads", []):
        lines.append("  %s %r main=%s gil=%s state=%s native_function=%r blocked_in=%s%s" % (
            thread.get("native_id"), thread.get("name"), thread.get("main"), thread.get("gil"),
            thread.get("state"), thread.get("native_function"), thread.get("blocked_in"),
            " error=%r" % thread["error"] if "error" in thread else ""))
        for frame in thread.get("frames", []):
            lines.append("      " + frame_text(frame))
    return "\n".join(lines)


def python_frames(thread):
    return [frame for frame in thread["frames"] if not frame.get("native")]


def innermost_python(thread):
    frames = python_frames(thread)
    return frames[0]["function"] if frames else None


def is_state_frame(frame):
    """The state leaf the wall and cpu views add ("[holding GIL]"...), not a code frame."""
    return "file" not in frame and frame["name"].startswith("[")


class Speedscope(object):
    """The views of a speedscope file, as {view: [(frames root first, weight)]}; frames are the
    file's frame objects ({"name", "file"[, "line"]})."""

    def __init__(self, path):
        data = load_json(path)
        self.frames = data["shared"]["frames"]
        self.views = {}
        for view, profile in zip(VIEWS, data["profiles"]):
            self.views[view] = [([self.frames[i] for i in sample], weight)
                                for sample, weight in zip(profile["samples"], profile["weights"])]

    def total(self, view):
        return sum(weight for _, weight in self.views[view])

    def share(self, view, predicate):
        """Share of the view's weight on stacks for which predicate(frames) is true."""
        total = self.total(view)
        hit = sum(weight for frames, weight in self.views[view] if predicate(frames))
        return float(hit) / total if total else 0.0

    def heaviest_leaf(self, view):
        """(leaf frame, weight) with the most weight: the innermost code frame of each stack."""
        weights = {}
        frames_by_key = {}
        for frames, weight in self.views[view]:
            code = [frame for frame in frames if not is_state_frame(frame)]
            if not code:
                continue
            key = json.dumps(code[-1], sort_keys=True)
            frames_by_key[key] = code[-1]
            weights[key] = weights.get(key, 0) + weight
        if not weights:
            return None, 0
        key = max(weights, key=lambda k: weights[k])
        return frames_by_key[key], weights[key]

    def picture(self, view):
        """The heaviest stacks of a view, for failure messages."""
        stacks = sorted(self.views[view], key=lambda item: -item[1])[:8]
        return "\n".join("  %5d %s" % (weight, ";".join(
            "%s%s" % (frame["name"], "[%s]" % frame["file"] if "line" not in frame
                      and "file" in frame else "") for frame in frames))
            for frames, weight in stacks)


def stack_has(frames, predicate, under=None):
    """Whether some frame (root first) satisfies predicate, below a frame named under if given."""
    start = 0
    if under is not None:
        names = [frame["name"] for frame in frames]
        if under not in names:
            return False
        start = names.index(under) + 1
    return any(predicate(frame) for frame in frames[start:])


class NativeShapeChecks(object):
    """Mixed into one unittest.TestCase subclass per interpreter."""

    python = None

    @classmethod
    def setUpClass(cls):
        support.gilscope_bin()
        cls.names = expected_names(cls.python.version_info)
        cls.eval_function = eval_function(cls.python.version_info)
        covered.append(cls.python)

    # --- workloads and gilscope ---------------------------------------------------------------

    def start(self, shape):
        if self.python.gil_disabled:
            # Every shape here is about who holds the GIL; dump_test and record_test check
            # free-threaded builds with the GIL off.
            self.skipTest("GIL off (free-threaded build): no holder to find native code under")
        argv = [*self.python.command, SCRIPT, shape]
        if shape.startswith("ctypes"):
            if not has_ctypes(self.python):
                self.skipTest("ctypes is not available in %s" % self.python.path)
            argv += ["--lib", testlib()]
        workload = support.Workload(argv)
        self.addCleanup(workload.kill)
        workload.wait_ready()
        # "ready" comes as the workers are let go: give them a moment to get into their calls
        # (the first dump could otherwise catch a holder still in Python, setting its call up).
        time.sleep(SETTLE_SECONDS)
        return workload

    def assert_target_runs(self, workload, context):
        self.assertTrue(workload.alive(), "the workload died; " + context)
        self.assertEqual(support.running_problems(workload.pid, window=0.1), [],
                         "the workload is left stopped or traced; " + context)

    def dump_json(self, workload, *extra):
        args = ["dump", "--pid", str(workload.pid), "--json"] + list(extra)
        code, out, err = support.run_gilscope(args)
        context = "%s: gilscope %s" % (self.python.version, " ".join(args))
        self.assertEqual(code, 0, "%s exited %d: %s" % (context, code, err))
        self.assertEqual(err, "", "%s printed on stderr" % context)
        self.assert_target_runs(workload, context)
        try:
            dump = json.loads(out)
        except ValueError as error:
            self.fail("%s printed invalid JSON (%s): %r" % (context, error, out[:2000]))
        self.check_schema(dump, native="--native" in extra)
        if "--native" in extra and "--native-all" not in extra:
            for thread in dump["threads"]:
                self.check_folded(thread, dump, "thread %d" % thread["native_id"])
        return dump

    def find_dump(self, workload, extra, pick, what):
        """Dumps (with extra options) until pick(dump) returns something; returns (dump, it)."""
        deadline = time.monotonic() + FIND_DUMP_SECONDS
        dump = None
        while True:
            dump = self.dump_json(workload, *extra)
            found = pick(dump)
            if found:
                return dump, found
            if time.monotonic() > deadline:
                self.fail("%s: no dump in %g s showed %s; the last:\n%s"
                          % (self.python.version, FIND_DUMP_SECONDS, what, summary(dump)))
            time.sleep(PAUSE_BETWEEN_DUMPS)

    def record(self, workload, shape, seconds=RECORD_SECONDS, *extra):
        """Records the workload with -f speedscope --summary; returns (Speedscope, summary,
        context)."""
        folder = tempfile.mkdtemp(prefix="gilscope-native-")
        self.addCleanup(shutil.rmtree, folder)
        out, summary_path = os.path.join(folder, "p.json"), os.path.join(folder, "s.json")
        args = ["record", "--pid", str(workload.pid), "-d", str(seconds), "-f", "speedscope",
                "-o", out, "--summary", summary_path] + list(extra)
        code, _, err = support.run_gilscope(args, timeout=RECORD_TIMEOUT)
        context = "%s %s, gilscope %s: %s" % (self.python.version, shape, " ".join(args), err)
        self.assertEqual(code, 0, context)
        self.assert_target_runs(workload, context)
        result = load_json(summary_path)
        self.assertIn("native", result, context)
        self.assertEqual(result["native"], "--native" in extra, context)
        # Unwinding makes a sample dearer: the rate may not be kept, but sampling goes on through
        # the whole recording, with enough samples for the shares below (the rate kept is the
        # summary's report, not a timed assertion).
        self.assertGreaterEqual(result["duration_s"], 0.75 * seconds, context)
        self.assertGreaterEqual(result["samples"], 20, context)
        self.assertLessEqual(result["errors"], result["samples"] // 20, context)
        for thread in result["threads"]:
            self.assertIn("held_in_native", thread, context)
            self.assertLessEqual(thread["held_in_native"], thread["held"] + 1e-9, context)
        # held_in_native is the share of held samples with the holder in native code; per
        # thread, the share of that thread's samples: the two must agree.
        per_thread = sum(t["held_in_native"] * t["samples"] for t in result["threads"])
        self.assertAlmostEqual(per_thread / result["samples"],
                               result["held_in_native"] * result["gil_held"], delta=0.02,
                               msg="held_in_native per thread and overall disagree; " + context)
        profile = Speedscope(out)
        for frame in profile.frames:
            if frame["name"] in ("gilscope_busy_inner", "gilscope_busy_outer"):
                self.assertEqual(frame.get("file"), os.path.basename(testlib()), context)
                self.assertIsNone(frame.get("line"), "native frame with a line; " + context)
        if "--native" not in extra:
            for frame in profile.frames:
                self.assertNotIn(frame["name"], ("gilscope_busy_inner", "gilscope_busy_outer"),
                                 "native frame without --native; " + context)
        return profile, result, context

    # --- what every dump must satisfy ---------------------------------------------------------

    def check_schema(self, dump, native):
        context = "\n" + summary(dump)
        for key in ("version", "python_binary", "threads"):
            self.assertIn(key, dump, context)
        self.assertEqual(dump["version"], self.python.version, context)
        holders = [t for t in dump["threads"] if t["gil"] == "held"]
        self.assertLessEqual(len(holders), 1, "several GIL holders" + context)
        for thread in dump["threads"]:
            self.assertNotIn("error", thread, context)
            self.assertIn("native_function", thread, context)
            self.assertIn(thread["state"], ("holding_gil", "holding_gil_in_native",
                                            "waiting_for_gil", "running_without_gil", "idle",
                                            "unknown"), context)
            if thread["state"] in ("holding_gil", "holding_gil_in_native"):
                self.assertEqual(thread["gil"], "held", context)
            if thread["state"] != "holding_gil_in_native" or not native:
                self.assertIsNone(thread["native_function"], context)
            self.assertTrue(thread["frames"], "a thread without frames" + context)
            for frame in thread["frames"]:
                self.assertIn("native", frame, context)
                self.assertIsInstance(frame["native"], bool, context)
                if not frame["native"]:
                    self.assertTrue(os.path.isabs(frame["file"]), "%r%s" % (frame, context))
                    self.assertTrue(frame["line"] is None or frame["line"] > 0, context)
                    continue
                self.assertTrue(native, "native frame without --native: %r%s" % (frame, context))
                self.assertIsNone(frame["line"], "native frame with a line: %r%s"
                                  % (frame, context))
                self.assertTrue(frame["function"], "native frame without a name" + context)
                self.assertTrue(frame["file"] and "/" not in frame["file"],
                                "native frame's file is not an object's base name: %r%s"
                                % (frame, context))
                unnamed = UNNAMED.match(frame["function"])
                if unnamed:
                    self.assertEqual(unnamed.group(1), frame["file"],
                                     "unnamed frame of another object: %r%s" % (frame, context))
                self.assertNotEqual(frame["function"], self.eval_function,
                                    "the evaluation loop is left in the stack" + context)

    # --- merged stacks ------------------------------------------------------------------------

    def check_folded(self, thread, dump, what):
        """Without --native-all: no native frame between two Python frames, no call plumbing."""
        context = "%s: %s\n%s" % (self.python.version, what, summary(dump))
        frames = thread["frames"]
        positions = [i for i, frame in enumerate(frames) if not frame["native"]]
        if positions:
            between = [frame_text(frames[i]) for i in range(positions[0], positions[-1] + 1)
                       if frames[i]["native"]]
            self.assertEqual(between, [], "native frames between Python frames without "
                             "--native-all (call plumbing is to be folded); " + context)
        plumbing = [frame_text(frame) for frame in frames if frame["native"]
                    and frame["function"].split(".")[0] in PLUMBING]
        self.assertEqual(plumbing, [], "call plumbing left in the stack without --native-all; "
                         + context)

    def check_merged(self, thread, python_names, native_all, dump, what):
        """The thread's stack is native frames, then exactly python_names (innermost first) with
        no native frame between them (unless native_all), then native frames down to the thread's
        start in libc. Returns the native frames inner to the innermost Python frame."""
        context = "%s: %s\n%s" % (self.python.version, what, summary(dump))
        frames = thread["frames"]
        positions = [i for i, frame in enumerate(frames) if not frame["native"]]
        self.assertEqual([frames[i]["function"] for i in positions], python_names,
                         "Python frames; " + context)
        if not native_all:
            self.check_folded(thread, dump, what)
        outer = frames[positions[-1] + 1:]
        self.assertTrue(outer, "no native frame outer to the outermost Python frame (the "
                        "thread's start); " + context)
        self.assertEqual(frames[-1]["file"], "libc.so.6",
                         "the stack does not reach the thread's start in libc; " + context)
        return frames[:positions[0]]

    def is_sre_frame(self, frame, python_binary):
        """An _sre frame: named "sre"/"SRE", or unnamed in the interpreter's own object when that
        object has no symbol table (_sre's functions are static)."""
        name = frame.get("function", frame.get("name"))
        if SRE_NAME.search(name):
            return True
        unnamed = UNNAMED.match(name)
        return bool(unnamed and frame.get("file") == os.path.basename(python_binary)
                    and not has_symtab(python_binary))

    # --- regex: C code holding the GIL --------------------------------------------------------

    def pick_regex(self, dump):
        """The (holder, waiter) backtrack threads when one holds the GIL and the other waits."""
        workers = [t for t in dump["threads"] if innermost_python(t) == "backtrack"]
        holders = [t for t in workers if t["gil"] == "held"]
        waiters = [t for t in workers if t["gil"] == "waiting"]
        if len(workers) == 2 and holders and waiters:
            # A waiter still in drop_gil (waiting for the switch) means the hand-off is in
            # flight: the new holder may not have gone back into _sre yet. Wait for a steady
            # moment, when the waiter queues in take_gil behind a holder running the regex.
            if any(frame.get("function", "").startswith("drop_gil")
                   for frame in waiters[0].get("frames", [])):
                return None
            return holders[0], waiters[0]
        return None

    def test_regex_dump_native(self):
        workload = self.start("regex")
        dump, (holder, waiter) = self.find_dump(
            workload, ["--native"], self.pick_regex,
            "a thread holding the GIL in backtrack and the other waiting")
        context = "%s\n%s" % (self.python.version, summary(dump))
        stack = ["backtrack", self.names["run"], self.names["inner"], self.names["bootstrap"]]
        self.assertEqual(holder["state"], "holding_gil_in_native", context)
        inner = self.check_merged(holder, stack, False, dump, "regex holder")
        self.assertTrue(inner, "no native frame inner to backtrack; " + context)
        binary = dump["python_binary"]
        # The innermost _sre frame; inner to it only the helpers the engine calls (memcpy and
        # the like, to save its marks): libc's, the dynamic linker's, CPython's allocator (the
        # mark stack grows with PyObject_Realloc), or a PLT stub on the way (unnamed: no symbol
        # covers a PLT entry).
        sre = [i for i, frame in enumerate(inner) if self.is_sre_frame(frame, binary)]
        self.assertTrue(sre, "no _sre frame (named sre/SRE, or unnamed in %s when it has no "
                        "symbol table) inner to backtrack; %s" % (os.path.basename(binary), context))
        helpers = [frame_text(f) for f in inner[:sre[0]]
                   if f["file"] not in ("libc.so.6", "ld-linux-x86-64.so.2")
                   and not UNNAMED.match(f["function"])
                   and not ALLOCATOR.match(f["function"])]
        self.assertEqual(helpers, [], "frames inner to _sre's that are not libc helpers or PLT "
                         "stubs; " + context)
        if has_symtab(binary):
            self.assertTrue(SRE_NAME.search(inner[sre[0]]["function"]), context)
        self.assertEqual(holder["native_function"], inner[0]["function"], context)
        python_line = python_frames(holder)[0]["line"]
        self.assertEqual(python_line, MARKERS["backtrack-match"], context)

        self.assertEqual(waiter["state"], "waiting_for_gil", context)
        waiter_inner = self.check_merged(waiter, stack, False, dump, "regex waiter")
        self.assertTrue(waiter_inner, "the waiter has no native frame inner to backtrack; "
                        + context)
        if waiter["blocked_in"]:  # else runnable, about to take the GIL (in take_gil)
            self.assertEqual(waiter_inner[0]["file"], "libc.so.6",
                             "the waiter is blocked in a system call, in libc; " + context)

        main = [t for t in dump["threads"] if t["main"]][0]
        self.assertEqual(main["state"], "idle", context)
        self.assertEqual([f["function"] for f in python_frames(main)], ["main", "<module>"],
                         context)
        self.assertTrue(main["frames"][0]["native"], context)
        self.assertEqual(main["frames"][0]["file"], "libc.so.6", context)

    def test_regex_record_native(self):
        workload = self.start("regex")
        binary = self.dump_json(workload)["python_binary"]
        profile, result, context = self.record(workload, "regex", REGEX_RECORD_SECONDS,
                                               "--native", "--mode", "blame")
        picture = "blame view:\n%s\n%s" % (profile.picture("blame"), context)
        self.assertGreater(profile.total("blame"), 0, picture)
        leaf, _ = profile.heaviest_leaf("blame")
        self.assertTrue(self.is_sre_frame(leaf, binary),
                        "heaviest blame leaf %r is not an _sre frame; %s" % (leaf, picture))
        if has_symtab(binary):
            self.assertTrue(SRE_NAME.search(leaf["name"]), picture)
        self.assertNotIn("line", leaf, picture)
        self.assertGreaterEqual(profile.share("blame", lambda frames: stack_has(
            frames, lambda f: self.is_sre_frame(f, binary), under="backtrack")), 0.6, picture)
        self.assertEqual(result["verdict"], "native_holds_gil", context)
        self.assertGreaterEqual(result["held_in_native"], 0.6, context)
        self.assertGreaterEqual(result["contention"], 0.5, context)

    def test_regex_without_native(self):
        workload = self.start("regex")
        dump, (holder, waiter) = self.find_dump(
            workload, [], self.pick_regex,
            "a thread holding the GIL in backtrack and the other waiting")
        context = "%s\n%s" % (self.python.version, summary(dump))
        self.assertEqual(holder["state"], "holding_gil_in_native", context)
        self.assertIsNone(holder["native_function"], context)
        self.assertEqual(waiter["state"], "waiting_for_gil", context)
        _, result, context = self.record(workload, "regex", RECORD_SECONDS)
        self.assertEqual(result["verdict"], "native_holds_gil", context)
        self.assertGreaterEqual(result["held_in_native"], 0.6, context)

    # --- hash: C code without the GIL ---------------------------------------------------------

    def test_hash_record_native(self):
        workload = self.start("hash")
        profile, result, context = self.record(workload, "hash", RECORD_SECONDS, "--native")
        hashers = [t for t in result["threads"] if t["running_without_gil"] >= 0.5]
        self.assertEqual(len(hashers), 2, context)
        self.assertLess(result["gil_held"], 0.5, context)
        self.assertEqual(result["verdict"], "native_releases_gil", context)
        for view in ("cpu", "wall"):
            picture = "%s view:\n%s\n%s" % (view, profile.picture(view), context)
            share = profile.share(view, lambda frames: stack_has(
                frames, lambda f: "line" not in f and bool(HASH_NAME.search(f["name"])),
                under="hash_buffer"))
            self.assertGreaterEqual(share, 0.6 if view == "cpu" else 0.4,
                                    "native sha256/deflate frames under hash_buffer; " + picture)

    # --- ctypes: a C function of the test library ---------------------------------------------

    def check_ctypes_stack(self, thread, caller, native_all, dump, what):
        """gilscope_busy_inner, gilscope_busy_outer, ctypes/libffi frames (any native frames
        with native_all), then caller at its marker line and the thread's run frames."""
        context = "%s: %s\n%s" % (self.python.version, what, summary(dump))
        stack = [caller, self.names["run"], self.names["inner"], self.names["bootstrap"]]
        inner = self.check_merged(thread, stack, native_all, dump, what)
        library = os.path.basename(testlib())
        self.assertGreaterEqual(len(inner), 2, context)
        self.assertEqual([(f["function"], f["file"], f["line"]) for f in inner[:2]],
                         [("gilscope_busy_inner", library, None),
                          ("gilscope_busy_outer", library, None)], context)
        for frame in inner[2:]:
            self.assertNotIn(frame["function"], ("gilscope_busy_inner", "gilscope_busy_outer"),
                             context)
            if not native_all:
                self.assertTrue(frame["file"].startswith("libffi") or "_ctypes" in frame["file"]
                                or CTYPES_NAME.search(frame["function"]),
                                "%s between the C function and %s: only ctypes/libffi frames "
                                "expected; %s" % (frame_text(frame), caller, context))
        caller_frame = python_frames(thread)[0]
        self.assertEqual(caller_frame["file"], SCRIPT, context)
        marker = "call-holding" if caller == "call_c_holding" else "call-releasing"
        self.assertEqual(caller_frame["line"], MARKERS[marker], context)

    def pick_hold(self, dump):
        workers = [t for t in dump["threads"] if innermost_python(t) == "call_c_holding"]
        holders = [t for t in workers if t["gil"] == "held"]
        waiters = [t for t in workers if t["gil"] == "waiting"]
        if len(workers) == 2 and holders and waiters:
            return holders[0], waiters[0]
        return None

    def test_ctypes_hold_dump_native(self):
        workload = self.start("ctypes_hold")
        what = "a thread holding the GIL in call_c_holding and the other waiting"
        for extra, native_all in ((["--native"], False), (["--native", "--native-all"], True)):
            dump, (holder, waiter) = self.find_dump(workload, extra, self.pick_hold, what)
            context = "%s %s\n%s" % (self.python.version, " ".join(extra), summary(dump))
            self.assertEqual(holder["state"], "holding_gil_in_native", context)
            self.assertEqual(holder["native_function"], "gilscope_busy_inner", context)
            self.check_ctypes_stack(holder, "call_c_holding", native_all, dump,
                                    "ctypes_hold holder, " + " ".join(extra))
            self.assertEqual(waiter["state"], "waiting_for_gil", context)

        # The text dump: the holder's heading names the C function, native frames are listed.
        for attempt in range(20):
            args = ["dump", "--pid", str(workload.pid), "--native"]
            code, text, err = support.run_gilscope(args)
            self.assertEqual(code, 0, err)
            self.assertEqual(err, "", "gilscope dump --native printed on stderr")
            self.assert_target_runs(workload, "gilscope " + " ".join(args))
            holding = [block for block in text.split("\n\n")
                       if re.match(r"^Thread \d+\b.*\[holding GIL", block.strip())]
            if holding and "call_c_holding (" in holding[0]:
                break
            time.sleep(PAUSE_BETWEEN_DUMPS)
        else:
            self.fail("no text dump showed a holder in call_c_holding; the last:\n" + text)
        lines = holding[0].strip().splitlines()
        status = re.match(r"^Thread \d+\b.*\[(.*)\]$", lines[0])
        self.assertIsNotNone(status, text)
        self.assertTrue(status.group(1).startswith("holding GIL in native code"), text)
        self.assertIn("gilscope_busy_inner", status.group(1), text)
        self.assertIn("gilscope_busy_inner", lines[1], "first frame line; " + text)
        self.assertTrue(any("gilscope_busy_outer" in line for line in lines[2:]), text)
        self.assertTrue(any("%s:%d" % (SCRIPT, MARKERS["call-holding"]) in line
                            for line in lines), text)

    def test_ctypes_hold_without_native(self):
        workload = self.start("ctypes_hold")
        dump, (holder, waiter) = self.find_dump(
            workload, [], self.pick_hold,
            "a thread holding the GIL in call_c_holding and the other waiting")
        context = "%s\n%s" % (self.python.version, summary(dump))
        self.assertEqual(holder["state"], "holding_gil_in_native", context)
        self.assertIsNone(holder["native_function"], context)
        self.assertEqual(waiter["state"], "waiting_for_gil", context)

    def test_ctypes_hold_record_native(self):
        workload = self.start("ctypes_hold")
        profile, result, context = self.record(workload, "ctypes_hold", RECORD_SECONDS,
                                               "--native")
        picture = "blame view:\n%s\n%s" % (profile.picture("blame"), context)
        leaf, _ = profile.heaviest_leaf("blame")
        self.assertIsNotNone(leaf, picture)
        self.assertEqual((leaf["name"], leaf.get("file")),
                         ("gilscope_busy_inner", os.path.basename(testlib())), picture)
        self.assertGreaterEqual(profile.share("blame", lambda frames: stack_has(
            frames, lambda f: f["name"] == "gilscope_busy_inner", under="call_c_holding")), 0.8,
            picture)
        self.assertEqual(result["verdict"], "native_holds_gil", context)
        self.assertGreaterEqual(result["held_in_native"], 0.8, context)
        self.assertGreaterEqual(result["contention"], 0.5, context)
        self.assertTrue(result["top_blame"], context)
        top = result["top_blame"][0]
        self.assertEqual((top["function"], top["file"], top["line"]),
                         ("gilscope_busy_inner", os.path.basename(testlib()), None), context)

        # collapsed: "function (object)" for native frames, the C function as the leaf
        args = ["record", "--pid", str(workload.pid), "-d", "1", "--native", "-f", "collapsed",
                "--mode", "blame", "-o", "-"]
        code, out, err = support.run_gilscope(args, timeout=RECORD_TIMEOUT)
        context = "gilscope %s: %s" % (" ".join(args), err)
        self.assertEqual(code, 0, context)
        self.assert_target_runs(workload, context)
        stacks = []
        for line in out.splitlines():
            match = re.match(r"^(.+) (\d+)$", line)
            self.assertIsNotNone(match, "not a folded line: %r; %s" % (line, context))
            stacks.append((match.group(1).split(";"), int(match.group(2))))
        self.assertTrue(stacks, "empty collapsed output; " + context)
        heaviest = max(stacks, key=lambda item: item[1])[0]
        self.assertEqual(heaviest[-1], "gilscope_busy_inner (%s)" % os.path.basename(testlib()),
                         "%s; %s" % (heaviest, context))

    def pick_release(self, dump):
        workers = [t for t in dump["threads"] if innermost_python(t) == "call_c_releasing"]
        if len(workers) == 2 and all(t["state"] == "running_without_gil" for t in workers):
            return workers
        return None

    def test_ctypes_release_dump_native(self):
        workload = self.start("ctypes_release")
        dump, workers = self.find_dump(workload, ["--native"], self.pick_release,
                                       "both threads running without the GIL in call_c_releasing")
        for worker in workers:
            self.assertIsNone(worker["native_function"], summary(dump))
            self.check_ctypes_stack(worker, "call_c_releasing", False, dump, "ctypes_release")

    def test_ctypes_release_record_native(self):
        workload = self.start("ctypes_release")
        profile, result, context = self.record(workload, "ctypes_release", RECORD_SECONDS,
                                               "--native")
        workers = [t for t in result["threads"] if t["running_without_gil"] >= 0.7]
        self.assertEqual(len(workers), 2, context)
        self.assertEqual(result["verdict"], "native_releases_gil", context)
        picture = "cpu view:\n%s\n%s" % (profile.picture("cpu"), context)
        leaf, _ = profile.heaviest_leaf("cpu")
        self.assertIsNotNone(leaf, picture)
        self.assertEqual((leaf["name"], leaf.get("file")),
                         ("gilscope_busy_inner", os.path.basename(testlib())), picture)
        self.assertGreaterEqual(profile.share("cpu", lambda frames: stack_has(
            frames, lambda f: f["name"] == "gilscope_busy_inner", under="call_c_releasing")),
            0.8, picture)

globals().update(pythons.test_classes("NativeShapes_", NativeShapeChecks))



def elf_build_id(path):
    """The hex NT_GNU_BUILD_ID of a little-endian ELF64 file (from its PT_NOTE segments), or
    None."""
    with open(path, "rb") as stream:
        data = stream.read()
    if data[:4] != b"\x7fELF" or data[4] != 2:
        return None
    phoff, = struct.unpack_from("<Q", data, 0x20)
    phentsize, phnum = struct.unpack_from("<HH", data, 0x36)
    for i in range(phnum):
        p_type, _, p_offset, _, _, p_filesz = struct.unpack_from("<IIQQQQ", data,
                                                                 phoff + i * phentsize)
        if p_type != 4:  # PT_NOTE
            continue
        pos, end = p_offset, p_offset + p_filesz
        while pos + 12 <= end:
            namesz, descsz, note_type = struct.unpack_from("<III", data, pos)
            name_at = pos + 12
            desc_at = name_at + (namesz + 3) // 4 * 4
            if note_type == 3 and data[name_at:name_at + namesz] == b"GNU\0":  # NT_GNU_BUILD_ID
                return data[desc_at:desc_at + descsz].hex()
            pos = desc_at + (descsz + 3) // 4 * 4
    return None


def mapped_libc(pid):
    """The path of the libc the process maps, as this process can open it."""
    with open("/proc/%d/maps" % pid) as maps:
        for line in maps:
            fields = line.split()
            if len(fields) >= 6 and os.path.basename(fields[5]).startswith("libc.so"):
                inside = "/proc/%d/root%s" % (pid, fields[5])
                return inside if os.path.exists(inside) else fields[5]
    return None


MEMORY_COPY = re.compile(r"^(__)?mem(cpy|move)(_\w+)?$")


class NativeDebugFiles(unittest.TestCase):
    def test_memory_copy_is_named_from_libc_debug_file(self):
        python = pythons.behaviour_interpreter()
        workload = support.Workload([*python.command, SCRIPT, "copy"])
        self.addCleanup(workload.kill)
        workload.wait_ready()
        libc = mapped_libc(workload.pid)
        self.assertIsNotNone(libc, "the workload maps no libc")
        build_id = elf_build_id(libc)
        if not build_id:
            self.skipTest("%s has no build id" % libc)
        debug_file = "/usr/lib/debug/.build-id/%s/%s.debug" % (build_id[:2], build_id[2:])
        if not os.path.exists(debug_file):
            self.skipTest("no separate debug file for %s (install libc6-dbg): %s is missing"
                          % (libc, debug_file))
        time.sleep(SETTLE_SECONDS)

        folder = tempfile.mkdtemp(prefix="gilscope-native-")
        self.addCleanup(shutil.rmtree, folder)
        out = os.path.join(folder, "p.json")
        args = ["record", "--pid", str(workload.pid), "-d", str(RECORD_SECONDS), "--native",
                "-f", "speedscope", "-o", out]
        code, _, err = support.run_gilscope(args, timeout=RECORD_TIMEOUT)
        context = "%s, gilscope %s: %s" % (python.version, " ".join(args), err)
        self.assertEqual(code, 0, context)
        self.assertTrue(workload.alive(), context)
        profile = Speedscope(out)
        libc_name = os.path.basename(libc)
        for view in ("cpu", "blame"):
            picture = "%s view:\n%s\n%s" % (view, profile.picture(view), context)
            leaf, _ = profile.heaviest_leaf(view)
            self.assertIsNotNone(leaf, picture)
            self.assertRegex(leaf["name"], MEMORY_COPY, picture)
            self.assertEqual(leaf.get("file"), libc_name, picture)
            self.assertGreaterEqual(profile.share(view, lambda frames: stack_has(
                frames, lambda f: bool(MEMORY_COPY.match(f["name"])), under="copy_bytes")),
                0.5, picture)
        # No libc frame is left unnamed at the copy routine's offsets.
        unnamed = [f["name"] for f in profile.frames
                   if UNNAMED.match(f["name"]) and f["name"].startswith(libc_name)]
        self.assertLessEqual(len(unnamed), 2, "unnamed libc frames %s; %s" % (unnamed, context))


class NativeBadInput(unittest.TestCase):
    def test_native_with_nonblocking_is_refused(self):
        python = pythons.behaviour_interpreter()
        workload = support.Workload([*python.command, SCRIPT, "regex"])
        self.addCleanup(workload.kill)
        workload.wait_ready()
        folder = tempfile.mkdtemp(prefix="gilscope-native-")
        self.addCleanup(shutil.rmtree, folder)
        out = os.path.join(folder, "p.svg")
        for args in (["dump", "--pid", str(workload.pid), "--native", "--nonblocking"],
                     ["dump", "--pid", str(workload.pid), "--json", "--nonblocking", "--native"],
                     ["record", "--pid", str(workload.pid), "-d", "1", "-o", out, "--native",
                      "--nonblocking"]):
            with self.subTest(args=args):
                started = time.monotonic()
                code, stdout, err = support.run_gilscope(args)
                context = "gilscope %s" % " ".join(args)
                self.assertEqual(code, 2, "%s: exit %d, stderr %r" % (context, code, err))
                self.assertEqual(stdout, "", context)
                line = support.one_clean_error_line(self, err, context)
                self.assertIn("native", line, context)
                self.assertIn("nonblocking", line, context)
                self.assertLess(time.monotonic() - started, 5, "sampled before refusing")
                self.assertFalse(os.path.exists(out), "%s wrote %s" % (context, out))
                self.assertEqual(support.running_problems(workload.pid, window=0.1), [], context)
                self.assertTrue(workload.alive(), context)


def setUpModule():
    support.gilscope_bin()


def tearDownModule():
    sys.stderr.write("\n")
    pythons.print_covered("native_test", sorted(covered, key=lambda p: (p.version_info, p.path)))


if __name__ == "__main__":
    shards.main()
