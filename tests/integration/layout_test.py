#!/usr/bin/env python3
"""Checks gilscope's CPython layout tables against real interpreters.

The layout_fields tool (tests/tools/layout_fields.cc) prints each table entry as
    <major.minor> <tested_on> field <Type::member.path> <offset>
    <major.minor> <tested_on> sizeof <C type> <size>
    <major.minor> <tested_on> bit <Type::member.path> <bit>
    <major.minor> <tested_on> frame_owner_c_stack <value>
    <major.minor> <tested_on> eval_function <symbol>
    <major.minor> <tested_on> call_opcodes <opcode> ...
    * * call_plumbing <symbol>
    * * gil_acquire <symbol>
For each version this test finds the interpreter /root/.pyenv/versions/<tested_on>/ (plus any
interpreter in GILSCOPE_TEST_PYTHONS, colon-separated, of the same major.minor), takes its
libpython (or, for a static build, the executable) and
  - asks gdb, in ONE batch per interpreter, for every offset and size, every bit number (of
    a bit field inside its parent member, through gdb's Python API), and the frame owner
    values (the C-stack/interpreter owner must be the smallest of those, every Python owner
    below it);
  - checks that the eval function is a function in its symbol table (nm);
  - checks the call-opcode set against the set the naming rules (CALL_RULES) give on the
    interpreter's own opcode tables, and against the opcodes a frame is seen at while a C
    function it called calls back into Python (CALL_PROBE).
Across all interpreters found, every name of the call-plumbing and GIL-acquire lists must be a
function (or a GCC clone of one) in at least one symbol table. Each entry is a subTest, so one
run reports all mismatches.

An absent interpreter, or one without debug info, is a skip with a message, never a pass.
gdb and nm are declared test dependencies: without them the checks needing them fail.

Environment:
    GILSCOPE_LAYOUT_FIELDS  path of the layout_fields binary (required)
    GILSCOPE_TEST_PYTHONS   extra interpreters to check, colon-separated (optional)

Run: GILSCOPE_LAYOUT_FIELDS=/tmp/layout_fields python3 tests/integration/layout_test.py -v
"""

import collections
import glob
import os
import re
import shutil
import subprocess
import sys
import unittest

import shards

PYENV_VERSIONS = "/root/.pyenv/versions"
GDB_TIMEOUT_SECONDS = 300
MARKER = "@@gilscope"

# kind: "field", "sizeof", "bit" or "owner" (name "frame_owner_c_stack")
Check = collections.namedtuple("Check", "kind name expected")
# full version, file for gdb and nm, the interpreter to run
Target = collections.namedtuple("Target", "version image python")


class Layout(object):
    """What layout_fields printed for one major.minor."""

    def __init__(self, tested_on):
        self.tested_on = tested_on
        self.checks = []  # [Check]
        self.eval_function = None
        self.call_opcodes = None  # set of ints
        self.eval_breaker_opcodes = None  # set of ints


class LayoutToolError(Exception):
    pass


def load_layouts():
    """({"3.12": Layout, ...} in the tool's (oldest first) order, {"call_plumbing": [names],
    "gil_acquire": [names]})."""
    binary = os.environ.get("GILSCOPE_LAYOUT_FIELDS")
    if not binary:
        raise LayoutToolError(
            "GILSCOPE_LAYOUT_FIELDS is not set: point it at the layout_fields binary built "
            "from tests/tools/layout_fields.cc")
    try:
        proc = subprocess.run([binary], capture_output=True, text=True, timeout=60)
    except OSError as error:
        raise LayoutToolError("cannot run GILSCOPE_LAYOUT_FIELDS=%s: %s" % (binary, error))
    if proc.returncode != 0:
        raise LayoutToolError("%s exited with %d: %s" % (binary, proc.returncode, proc.stderr))
    layouts = collections.OrderedDict()
    native = {"call_plumbing": [], "gil_acquire": []}
    for line in proc.stdout.splitlines():
        parts = line.split()
        kind = parts[2] if len(parts) >= 3 else None
        if parts[:2] == ["*", "*"] and kind in native and len(parts) == 4:
            native[kind].append(parts[3])
            continue
        if kind == "call_opcodes":
            layout = layouts.setdefault(parts[0], Layout(parts[1]))
            layout.call_opcodes = set(int(opcode) for opcode in parts[3:])
            continue
        if kind == "eval_breaker_opcodes":
            layout = layouts.setdefault(parts[0], Layout(parts[1]))
            layout.eval_breaker_opcodes = set(int(opcode) for opcode in parts[3:])
            continue
        if kind == "frame_owner_c_stack" and len(parts) == 4:
            layouts.setdefault(parts[0], Layout(parts[1])).checks.append(
                Check("owner", kind, int(parts[3])))
            continue
        if kind == "eval_function" and len(parts) == 4:
            layouts.setdefault(parts[0], Layout(parts[1])).eval_function = parts[3]
            continue
        if len(parts) < 5 or kind not in ("field", "sizeof", "bit"):
            raise LayoutToolError("%s printed an unexpected line: %r" % (binary, line))
        version, tested_on = parts[:2]
        check = Check(kind, " ".join(parts[3:-1]), int(parts[-1]))
        if kind in ("field", "bit") and "::" not in check.name:
            raise LayoutToolError("field name is not Type::member: %r" % line)
        layouts.setdefault(version, Layout(tested_on)).checks.append(check)
    if not layouts:
        raise LayoutToolError("%s printed no layouts" % binary)
    for version, layout in layouts.items():
        if (layout.eval_function is None or layout.call_opcodes is None
                or layout.eval_breaker_opcodes is None):
            raise LayoutToolError("%s printed no eval_function, call_opcodes or "
                                  "eval_breaker_opcodes for %s" % (binary, version))
    if not native["call_plumbing"] or not native["gil_acquire"]:
        raise LayoutToolError("%s printed no call_plumbing or gil_acquire names" % binary)
    return layouts, native


# enum _frameowner (3.11+): frames owned by Python code, then (3.12, 3.13) FRAME_OWNED_BY_CSTACK,
# or (3.14+) FRAME_OWNED_BY_INTERPRETER (and, in 3.14 only, _CSTACK after it).
PYTHON_FRAME_OWNERS = ("FRAME_OWNED_BY_THREAD", "FRAME_OWNED_BY_GENERATOR",
                       "FRAME_OWNED_BY_FRAME_OBJECT")
C_FRAME_OWNERS = ("FRAME_OWNED_BY_INTERPRETER", "FRAME_OWNED_BY_CSTACK")


def gdb_expressions(check):
    """The gdb commands whose printed values check needs."""
    if check.kind == "sizeof":
        return ["print sizeof(%s)" % check.name]
    if check.kind == "owner":
        return ["print (int)%s" % name for name in PYTHON_FRAME_OWNERS + C_FRAME_OWNERS]
    c_type, path = check.name.split("::", 1)
    if check.kind == "bit":  # gdb's expressions cannot take a bit field's position
        parents, member = path.split(".")[:-1], path.split(".")[-1]
        return ["python import functools; parent = functools.reduce(lambda t, name: "
                "t.strip_typedefs()[name].type, %r, gdb.lookup_type(%r)); "
                "print('$0 = %%d' %% parent.strip_typedefs()[%r].bitpos)"
                % (parents, c_type, member)]
    return ["print (long)&((%s*)0)->%s" % (c_type, path)]


def run_gdb(gdb, image, checks):
    """Evaluates all checks in one gdb process: (debug_info_found, [[(value, error)] per
    gdb_expressions(check)])."""
    args = [gdb, "-nx", "-batch", "-iex", "set debuginfod enabled off",
            "-ex", "set language c", "-ex", "set width 0",
            "-ex", "echo %s sentinel\\n" % MARKER, "-ex", "print sizeof(PyObject)"]
    for index, check in enumerate(checks):
        for part, expression in enumerate(gdb_expressions(check)):
            args += ["-ex", "echo %s %d.%d\\n" % (MARKER, index, part), "-ex", expression]
    args.append(image)
    proc = subprocess.run(args, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                          stdin=subprocess.DEVNULL, text=True, timeout=GDB_TIMEOUT_SECONDS)
    segments, current = {}, None
    for line in proc.stdout.splitlines():
        if line.startswith(MARKER + " "):
            current = line.split()[1]
            segments[current] = []
        elif current is not None:
            segments[current].append(line)

    def value_of(key):
        lines = segments.get(key)
        if lines is None:
            return None, "gdb printed nothing (exit %d): %s" % (proc.returncode, proc.stdout[-500:])
        for line in lines:
            match = re.match(r"^\$\d+ = (-?\d+)$", line.strip())
            if match:
                return int(match.group(1)), None
        return None, " ".join(l.strip() for l in lines) or "no output"

    debug_info = value_of("sentinel")[0] is not None
    return debug_info, [[value_of("%d.%d" % (index, part))
                         for part in range(len(gdb_expressions(check)))]
                        for index, check in enumerate(checks)]


def find_image(prefix, version):
    """The libpython under prefix/lib, or for a static build the executable, or None."""
    libs = glob.glob(os.path.join(prefix, "lib", "libpython%s*.so*" % version))
    real = sorted({os.path.realpath(lib) for lib in libs if os.path.isfile(lib)},
                  key=lambda path: -os.path.getsize(path))
    if real:
        return real[0]
    executable = os.path.join(prefix, "bin", "python" + version)
    return os.path.realpath(executable) if os.path.isfile(executable) else None


# Run by each extra interpreter (Python 2.7 too): its version and the file holding libpython.
# A free-threaded build answers "3.14t", the key of its own table (and "3.14.7t" as its version).
QUERY = r"""
import os, sys, sysconfig
v = sys.version_info
t = 't' if sysconfig.get_config_var('Py_GIL_DISABLED') else ''
image = os.path.realpath(sys.executable)
for line in open('/proc/self/maps'):
    parts = line.split(None, 5)
    if len(parts) == 6 and '/libpython%d.%d%s.' % (v[0], v[1], t) in parts[5]:
        image = parts[5].strip()
        break
level = {'alpha': 'a', 'beta': 'b', 'candidate': 'rc'}.get(v[3])
release = '%s%d' % (level, v[4]) if level else ''
print('%d.%d%s %d.%d.%d%s%s' % (v[0], v[1], t, v[0], v[1], v[2], release, t))
print(image)
"""

# Run by each interpreter: every opcode name and number it knows, specialized forms included.
OPCODE_TABLES = r"""
import opcode, sys
names = dict(opcode.opmap)
try:
    import dis
    names.update(getattr(dis, '_all_opmap', {}))
except Exception:
    pass
names.update(getattr(opcode, '_specialized_opmap', {}))
for name, number in sorted(names.items()):
    sys.stdout.write('%s %d\n' % (name, number))
"""

# The rules PythonLayout::native_call_opcodes follows, over opcode names: calls (CALL*,
# PRECALL_*, INSTRUMENTED_CALL*) except those that only prepare a call or push a Python frame,
# and CALL_INTRINSIC_*, CALL_FINALLY (not calls; BUILD_*_WITH_CALL does not start with CALL).
CALL_NAME = re.compile(r"^(INSTRUMENTED_)?(PRE)?CALL")
NOT_NATIVE_CALL = re.compile(
    r"^(PRECALL|PRECALL_ADAPTIVE|PRECALL_PYFUNC|PRECALL_BOUND_METHOD"  # 3.11: prepare only
    r"|CALL_PY_\w+|CALL_BOUND_METHOD_\w+|CALL_ALLOC_AND_ENTER_INIT"  # push a Python frame
    r"|CALL_KW_PY|CALL_KW_BOUND_METHOD|CALL_EX_PY"  # 3.14+: push a Python frame too
    r"|CALL_INTRINSIC_\d|CALL_FINALLY)$")


# PythonLayout::eval_breaker_opcodes, over names: 2.7-3.10, JUMP_ABSOLUTE; 3.11+, JUMP_BACKWARD
# and RESUME with their specialized (_QUICK, _CHECK; 3.14+ _JIT, _NO_JIT, _CHECK_JIT) and
# instrumented forms, not JUMP_BACKWARD_NO_INTERRUPT.
EVAL_BREAKER_NAME = re.compile(
    r"^(INSTRUMENTED_)?(JUMP_BACKWARD|RESUME)(_QUICK|_CHECK|_JIT|_NO_JIT|_CHECK_JIT)?$")


def eval_breaker_opcodes_by_rules(version, opmap):
    """{number: name} of the opcodes the rules above select for major.minor version."""
    major, minor = (int(part) for part in version.rstrip("t").split("."))
    if (major, minor) <= (3, 10):
        rule = re.compile(r"^JUMP_ABSOLUTE$")
    else:
        rule = EVAL_BREAKER_NAME
    return dict((number, name) for name, number in opmap.items() if rule.match(name))


def call_opcodes_by_rules(opmap):
    """{number: name} of the opcodes the rules above select."""
    return dict((number, name) for name, number in opmap.items()
                if CALL_NAME.match(name) and not NOT_NATIVE_CALL.match(name))


# Run by each interpreter: C functions its frames call (builtins, classes, method descriptors,
# through generic and specialized calls, after warming up so 3.11+ specialize) call back into
# Python; each callback reads the opcode its caller's frame is at, as gilscope would read it
# from outside, and prints them. Every one must be in the version's call-opcode set.
CALL_PROBE = r"""
import functools, sys
seen = []
def probe():
    caller = sys._getframe(2)  # the frame whose call into C called back into Python
    code = getattr(caller.f_code, '_co_code_adaptive', caller.f_code.co_code)
    op = code[caller.f_lasti]
    seen.append(op if isinstance(op, int) else ord(op))
    return 0
class Meta(type):
    def __instancecheck__(cls, other):
        return probe()
def method_str(self):
    probe()
    return ''
Obj = Meta('Obj', (object,), {'__str__': method_str, '__repr__': method_str,
                              '__len__': lambda self: probe()})
def gen():
    probe()
    yield ''
def run(obj):
    callback = lambda *args: probe()
    sorted([3, 1], key=callback)
    sorted(*([3, 1],), **{'key': callback})
    list(map(callback, [1]))
    [3, 1].sort(key=callback)
    functools.reduce(callback, [1, 2])
    str(obj)
    repr(obj)
    len(obj)
    isinstance(1, Obj)
    tuple(gen())
    ''.join(gen())
    any(gen())
obj = Obj()
for _ in range(300):
    del seen[:]
    run(obj)
sys.stdout.write(' '.join(str(op) for op in sorted(set(seen))) + '\n')
"""


def run_python(python, script):
    return subprocess.run([python, "-E", "-S", "-c", script], capture_output=True, text=True,
                          timeout=120, check=True).stdout


def symbol_table(nm, image):
    """Names of the functions in image's symbol tables (full and dynamic)."""
    names = set()
    for args in ([nm, image], [nm, "-D", image]):
        proc = subprocess.run(args, capture_output=True, text=True, timeout=120)
        for line in proc.stdout.splitlines():
            parts = line.split()
            if len(parts) == 3 and parts[1] in ("T", "t", "W", "w", "i"):
                names.add(parts[2].split("@")[0])
    return names


def extra_interpreters():
    """[(major.minor, Target)] for GILSCOPE_TEST_PYTHONS; unusable entries print a note."""
    found = []
    for path in filter(None, os.environ.get("GILSCOPE_TEST_PYTHONS", "").split(":")):
        try:
            out = subprocess.run([path, "-E", "-S", "-c", QUERY], capture_output=True,
                                 text=True, timeout=60, check=True).stdout.split("\n")
            found.append((out[0].split()[0], Target(out[0].split()[1], out[1], path)))
        except (OSError, subprocess.SubprocessError, IndexError) as error:
            note("GILSCOPE_TEST_PYTHONS: cannot query %s: %s" % (path, error))
    return found


def note(message):
    print("layout_test: " + message, file=sys.stderr, flush=True)


try:
    (LAYOUTS, NATIVE_NAMES), LOAD_ERROR = load_layouts(), None
except (LayoutToolError, subprocess.SubprocessError, ValueError) as error:
    LAYOUTS, NATIVE_NAMES, LOAD_ERROR = collections.OrderedDict(), {}, str(error)
EXTRA = extra_interpreters() if LAYOUTS else []
COVERED = []  # (full version, number of checks)
SKIPPED = []  # (version, reason)


class LayoutTest(unittest.TestCase):
    longMessage = False  # the messages below say which value is which

    def targets_of(self, version, record_skip=True):
        """The interpreters of a version found here; skips the test when there are none."""
        tested_on = LAYOUTS[version].tested_on
        targets = find_targets(version)
        if not targets:
            reason = "no Python %s interpreter (%s/%s/ absent)" % (version, PYENV_VERSIONS,
                                                                   tested_on)
            if record_skip:
                SKIPPED.append((version, reason))
                note("skipping %s: %s" % (version, reason))
            self.skipTest(reason)
        return targets

    def need_tool(self, name, package):
        path = shutil.which(name)
        if path is None:
            self.fail("%s not found on PATH: it is a declared test dependency of the layout "
                      "test (apt-get install %s)" % (name, package))
        return path

    def check_version(self, version):
        gdb = self.need_tool("gdb", "gdb")
        checks = LAYOUTS[version].checks
        targets = self.targets_of(version)
        checked, skips = 0, []
        for target in targets:
            debug_info, results = run_gdb(gdb, target.image, checks)
            if not debug_info:
                skips.append("%s has no debug info (gdb cannot resolve PyObject)" % target.image)
                SKIPPED.append((target.version, skips[-1]))
                note("skipping %s: %s" % (target.version, skips[-1]))
                continue
            checked += 1
            COVERED.append((target.version, len(checks)))
            for check, values in zip(checks, results):
                with self.subTest(version=target.version, field=check.name):
                    where = "Python %s %s %s" % (target.version, check.kind, check.name)
                    if check.kind == "owner":
                        self.check_frame_owners(where, check.expected, values)
                        continue
                    actual, error = values[0]
                    if error is not None:
                        self.fail("%s: table says %d, gdb could not evaluate it in %s: %s"
                                  % (where, check.expected, target.image, error))
                    self.assertEqual(actual, check.expected,
                                     "%s: table says %d, debug info of %s says %d"
                                     % (where, check.expected, target.image, actual))
        if not checked:
            self.skipTest("; ".join(skips))

    def check_frame_owners(self, where, expected, values):
        """expected is the smallest C-owner value; every Python owner is below it."""
        names = PYTHON_FRAME_OWNERS + C_FRAME_OWNERS
        found = dict((name, value) for name, (value, _) in zip(names, values) if value is not None)
        python_owners = [found.get(name) for name in PYTHON_FRAME_OWNERS]
        c_owners = [found[name] for name in C_FRAME_OWNERS if name in found]
        self.assertTrue(None not in python_owners and c_owners,
                        "%s: gdb does not know the frame owners: %s" % (where, values))
        self.assertEqual(min(c_owners), expected, "%s: table says %d, the enum says %s"
                         % (where, expected, found))
        self.assertLess(max(python_owners), expected, "%s: a Python frame owner is not below %d: "
                        "%s" % (where, expected, found))

    def check_eval_function(self, version):
        nm = self.need_tool("nm", "binutils")
        eval_function = LAYOUTS[version].eval_function
        for target in self.targets_of(version, record_skip=False):
            with self.subTest(version=target.version):
                self.assertIn(eval_function, symbol_table(nm, target.image),
                              "Python %s: eval_function %s is not a function in %s"
                              % (target.version, eval_function, target.image))

    def check_call_opcodes(self, version):
        table = LAYOUTS[version].call_opcodes
        runnable = [target for target in self.targets_of(version, record_skip=False)
                    if target.python]
        if not runnable:
            self.skipTest("no runnable Python %s interpreter" % version)
        for target in runnable:
            with self.subTest(version=target.version):
                opmap = dict((line.split()[0], int(line.split()[1]))
                             for line in run_python(target.python, OPCODE_TABLES).splitlines())
                names = dict((number, name) for name, number in opmap.items())
                expected = call_opcodes_by_rules(opmap)

                def describe(numbers):
                    return ", ".join("%d (%s)" % (n, names.get(n, "not an opcode"))
                                     for n in sorted(numbers)) or "none"

                self.assertEqual(
                    table, set(expected),
                    "Python %s: call_opcodes differ from the naming rules on %s's opcode "
                    "tables. Missing: %s. Extra: %s. The rules give: %s"
                    % (target.version, target.python, describe(set(expected) - table),
                       describe(table - set(expected)), describe(expected)))
                breakers = eval_breaker_opcodes_by_rules(version, opmap)
                self.assertEqual(
                    LAYOUTS[version].eval_breaker_opcodes, set(breakers),
                    "Python %s: eval_breaker_opcodes differ from the naming rules; the rules "
                    "give: %s" % (target.version, describe(breakers)))
                seen = set(int(op) for op in run_python(target.python, CALL_PROBE).split())
                self.assertTrue(seen, "Python %s: the call probe saw nothing" % target.version)
                self.assertEqual(seen - table, set(),
                                 "Python %s: frames calling C were seen at %s, not in "
                                 "call_opcodes" % (target.version, describe(seen - table)))

    def test_native_function_names(self):
        """Every name IsCallPlumbing / IsGilAcquireFunction match is a real function."""
        nm = self.need_tool("nm", "binutils")
        images = sorted(set(target.image for version in LAYOUTS
                            for target in find_targets(version)))
        if not images:
            self.skipTest("no interpreter found")
        symbols = set()
        for image in images:
            symbols.update(name.split(".")[0] for name in symbol_table(nm, image))
        newest = max([tuple(int(part) for part in re.findall(r"\d+", version)[:2])
                      for version in LAYOUTS if find_targets(version)] or [(0, 0)])
        for kind, names in sorted(NATIVE_NAMES.items()):
            for name in names:
                if NAMES_SINCE.get(name, (0, 0)) > newest:
                    continue  # no interpreter here is recent enough to have it
                with self.subTest(kind=kind, name=name):
                    self.assertIn(name, symbols, "%s %s is a function in none of %s"
                                  % (kind, name, ", ".join(images)))


# Names of call plumbing that only newer versions have, with the first version that does.
NAMES_SINCE = {
    "_PyObject_VectorcallPrepend": (3, 14),
    "_Py_VectorCallInstrumentation_StackRefSteal": (3, 15),
    "_Py_VectorCall_StackRefSteal": (3, 15),
    "_PyCallMethodDescriptorFastWithKeywords_StackRef": (3, 15),
}


def find_targets(version):
    """[Target] for a major.minor: the pyenv interpreter and matching GILSCOPE_TEST_PYTHONS."""
    tested_on = LAYOUTS[version].tested_on
    prefix = os.path.join(PYENV_VERSIONS, tested_on)
    python = os.path.join(prefix, "bin", "python" + version)
    pyenv = Target(tested_on, find_image(prefix, version),
                   python if os.path.isfile(python) else None)
    targets, images = [], set()
    for found_version, target in [(version, pyenv)] + EXTRA:
        if found_version == version and target.image and target.image not in images:
            images.add(target.image)
            targets.append(target)
    return targets


def add_version_tests():
    if LOAD_ERROR is not None:
        LayoutTest.test_layout_fields = lambda self: self.fail(LOAD_ERROR)
        return ["test_layout_fields"]
    names = []
    for version in LAYOUTS:
        suffix = version.replace(".", "_")
        for prefix, method in (("test_python_", LayoutTest.check_version),
                               ("test_eval_function_", LayoutTest.check_eval_function),
                               ("test_call_opcodes_", LayoutTest.check_call_opcodes)):
            setattr(LayoutTest, prefix + suffix,
                    lambda self, version=version, method=method: method(self, version))
            names.append(prefix + suffix)
    return names + ["test_native_function_names"]


TEST_NAMES = add_version_tests()


def load_tests(loader, tests, pattern):  # keep the tool's oldest-first order
    return unittest.TestSuite(LayoutTest(name) for name in TEST_NAMES)


def tearDownModule():
    versions = " ".join(version for version, _ in COVERED) or "nothing"
    note("checked %s (%d fields)" % (versions, sum(count for _, count in COVERED)))
    for version, reason in SKIPPED:
        note("not checked %s: %s" % (version, reason))


if __name__ == "__main__":
    shards.main()
