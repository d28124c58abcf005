#!/usr/bin/env python3
"""Checks every offset in gilscope's CPython layout tables against real debug info.

The layout_fields tool (tests/tools/layout_fields.cc) prints each table entry as
    <major.minor> <tested_on> field <Type::member.path> <offset>
    <major.minor> <tested_on> sizeof <C type> <size>
For each version this test finds the interpreter /root/.pyenv/versions/<tested_on>/ (plus any
interpreter in GILSCOPE_TEST_PYTHONS, colon-separated, of the same major.minor), takes its
libpython (or, for a static build, the executable) and asks gdb, in ONE batch per interpreter,
for every offset and size. Each entry is a subTest, so one run reports all mismatches.

An absent interpreter, or one without debug info, is a skip with a message, never a pass.
gdb is a declared test dependency: without it every version fails.

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

PYENV_VERSIONS = "/root/.pyenv/versions"
GDB_TIMEOUT_SECONDS = 300
MARKER = "@@gilscope"

Check = collections.namedtuple("Check", "kind name expected")  # kind: "field" or "sizeof"
Target = collections.namedtuple("Target", "version image")  # full version, file for gdb


class LayoutToolError(Exception):
    pass


def load_layouts():
    """{"3.12": ("3.12.1", [Check, ...]), ...} in the tool's (oldest first) order."""
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
    for line in proc.stdout.splitlines():
        parts = line.split()
        if len(parts) < 5 or parts[2] not in ("field", "sizeof"):
            raise LayoutToolError("%s printed an unexpected line: %r" % (binary, line))
        version, tested_on, kind = parts[:3]
        check = Check(kind, " ".join(parts[3:-1]), int(parts[-1]))
        if kind == "field" and "::" not in check.name:
            raise LayoutToolError("field name is not Type::member: %r" % line)
        layouts.setdefault(version, (tested_on, []))[1].append(check)
    if not layouts:
        raise LayoutToolError("%s printed no layouts" % binary)
    return layouts


def gdb_expression(check):
    if check.kind == "sizeof":
        return "print sizeof(%s)" % check.name
    c_type, path = check.name.split("::", 1)
    return "print (long)&((%s*)0)->%s" % (c_type, path)


def run_gdb(gdb, image, checks):
    """Evaluates all checks in one gdb process: (debug_info_found, [(value, error)])."""
    args = [gdb, "-nx", "-batch", "-iex", "set debuginfod enabled off",
            "-ex", "set language c", "-ex", "set width 0",
            "-ex", "echo %s sentinel\\n" % MARKER, "-ex", "print sizeof(PyObject)"]
    for index, check in enumerate(checks):
        args += ["-ex", "echo %s %d\\n" % (MARKER, index), "-ex", gdb_expression(check)]
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
    return debug_info, [value_of(str(index)) for index in range(len(checks))]


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
QUERY = r"""
import os, sys
v = sys.version_info
image = os.path.realpath(sys.executable)
for line in open('/proc/self/maps'):
    parts = line.split(None, 5)
    if len(parts) == 6 and '/libpython%d.%d' % (v[0], v[1]) in parts[5]:
        image = parts[5].strip()
        break
print('%d.%d %d.%d.%d' % (v[0], v[1], v[0], v[1], v[2]))
print(image)
"""


def extra_interpreters():
    """[(major.minor, Target)] for GILSCOPE_TEST_PYTHONS; unusable entries print a note."""
    found = []
    for path in filter(None, os.environ.get("GILSCOPE_TEST_PYTHONS", "").split(":")):
        try:
            out = subprocess.run([path, "-E", "-S", "-c", QUERY], capture_output=True,
                                 text=True, timeout=60, check=True).stdout.split("\n")
            found.append((out[0].split()[0], Target(out[0].split()[1], out[1])))
        except (OSError, subprocess.SubprocessError, IndexError) as error:
            note("GILSCOPE_TEST_PYTHONS: cannot query %s: %s" % (path, error))
    return found


def note(message):
    print("layout_test: " + message, file=sys.stderr, flush=True)


try:
    LAYOUTS, LOAD_ERROR = load_layouts(), None
except (LayoutToolError, subprocess.SubprocessError, ValueError) as error:
    LAYOUTS, LOAD_ERROR = collections.OrderedDict(), str(error)
EXTRA = extra_interpreters() if LAYOUTS else []
COVERED = []  # (full version, number of checks)
SKIPPED = []  # (version, reason)


class LayoutTest(unittest.TestCase):
    longMessage = False  # the messages below say which value is which

    def check_version(self, version):
        gdb = shutil.which("gdb")
        if gdb is None:
            self.fail("gdb not found on PATH: it is a declared test dependency of the layout "
                      "test (apt-get install gdb)")
        tested_on, checks = LAYOUTS[version]
        targets, images = [], set()
        pyenv_image = find_image(os.path.join(PYENV_VERSIONS, tested_on), version)
        for found_version, target in ([(version, Target(tested_on, pyenv_image))] + EXTRA):
            if found_version == version and target.image and target.image not in images:
                images.add(target.image)
                targets.append(target)
        if not targets:
            reason = "no Python %s interpreter (%s/%s/ absent)" % (version, PYENV_VERSIONS,
                                                                   tested_on)
            SKIPPED.append((version, reason))
            note("skipping %s: %s" % (version, reason))
            self.skipTest(reason)
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
            for check, (actual, error) in zip(checks, results):
                with self.subTest(version=target.version, field=check.name):
                    where = "Python %s %s %s" % (target.version, check.kind, check.name)
                    if error is not None:
                        self.fail("%s: table says %d, gdb could not evaluate it in %s: %s"
                                  % (where, check.expected, target.image, error))
                    self.assertEqual(actual, check.expected,
                                     "%s: table says %d, debug info of %s says %d"
                                     % (where, check.expected, target.image, actual))
        if not checked:
            self.skipTest("; ".join(skips))


def add_version_tests():
    if LOAD_ERROR is not None:
        LayoutTest.test_layout_fields = lambda self: self.fail(LOAD_ERROR)
        return ["test_layout_fields"]
    names = []
    for version in LAYOUTS:
        name = "test_python_" + version.replace(".", "_")
        setattr(LayoutTest, name, lambda self, version=version: self.check_version(version))
        names.append(name)
    return names


TEST_NAMES = add_version_tests()


def load_tests(loader, tests, pattern):  # keep the tool's oldest-first order
    return unittest.TestSuite(LayoutTest(name) for name in TEST_NAMES)


def tearDownModule():
    versions = " ".join(version for version, _ in COVERED) or "nothing"
    note("checked %s (%d fields)" % (versions, sum(count for _, count in COVERED)))
    for version, reason in SKIPPED:
        note("not checked %s: %s" % (version, reason))


if __name__ == "__main__":
    unittest.main()
