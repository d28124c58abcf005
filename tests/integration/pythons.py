"""Finds the Python interpreters gilscope's integration tests run against.

Discovered automatically:
    /root/.pyenv/versions/*/bin/python
    /usr/bin/python2.7 and /usr/bin/python3.N (names matching python<digit>.<digits> exactly,
    so python3.11-config and the like are left out)
A discovered path counts only if it is an executable regular file (after following symlinks);
interpreters reached by several paths are listed once (deduplicated by realpath).

Listed explicitly:
    GILSCOPE_TEST_PYTHONS  colon-separated interpreter paths. A listed path that does not exist,
                           is not executable, or does not answer as a Python interpreter is an
                           error (InterpreterError), never a silent skip.

Each interpreter is asked once, with -c, for its version; the answer is cached for the process.

    import pythons
    for python in pythons.interpreters():
        python.path, python.version, python.version_info   # ("/.../python", "3.12.1", (3, 12, 1))
        python.command, python.label                       # [path, options...], "3.14.7t"
    pythons.covered_text(list_of_interpreters)             # "2.7.18 (/path), 3.12.1 (/path)"
    globals().update(pythons.test_classes("DumpTest_", DumpChecks))  # one TestCase each
    pythons.behaviour_interpreter()                        # the one for single-interpreter tests
"""

import collections
import glob
import os
import re
import subprocess
import sys
import unittest

import shards

PYENV_GLOB = "/root/.pyenv/versions/*/bin/python"
SYSTEM_DIR = "/usr/bin"
SYSTEM_NAME = re.compile(r"^python(2\.7|3\.\d+)$")
ENV_VAR = "GILSCOPE_TEST_PYTHONS"
PROBE_TIMEOUT_SECONDS = 30

# Prints e.g. "3.12.1 CPython 0" or "3.15.0rc1 CPython 1" (the last word: 1 for a
# free-threaded build); works on 2.7 and every 3.x.
_PROBE = ("import platform, sys, sysconfig; "
          "sys.stdout.write('%s %s %d' % (platform.python_version(), "
          "platform.python_implementation(), "
          "int(bool(sysconfig.get_config_var('Py_GIL_DISABLED')))))")


class InterpreterError(Exception):
    """An interpreter listed in GILSCOPE_TEST_PYTHONS is missing or unusable."""


class Interpreter(collections.namedtuple(
        "Interpreter", "path realpath version version_info free_threaded options")):
    """One interpreter to test. A free-threaded build is listed twice: labelled "3.14.7t", run
    with its GIL off (-X gil=0), and "3.14.7t-gil", run with the GIL turned back on (-X gil=1),
    which gilscope must treat as a GIL build. `version` is what the interpreter reports."""

    @property
    def label(self):
        if not self.free_threaded:
            return self.version
        return self.version + ("t" if self.gil_disabled else "t-gil")

    @property
    def command(self):
        """The argv prefix that starts it: its path and its options."""
        return [self.path] + list(self.options)

    @property
    def gil_disabled(self):
        return self.free_threaded and "gil=0" in self.options

    def waiters_tellable(self, nonblocking):
        """Whether gilscope can tell every GIL waiter of this interpreter: 3.x when pausing,
        and without pausing 3.10+ only. Older loops hand the GIL over where a read that races
        the target cannot place the threads (they read unknown), and 2.7 lets the GIL go every
        100 bytecodes, so even paused a dropper is caught now and then."""
        return self.version_info >= (3, 0) and (not nonblocking or self.version_info >= (3, 10))


def _is_executable_file(path):
    real = os.path.realpath(path)
    return os.path.isfile(real) and os.access(real, os.X_OK)


def _start_probe(path):
    try:
        return subprocess.Popen([path, "-c", _PROBE], stdin=subprocess.DEVNULL,
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    except OSError as error:
        raise InterpreterError("cannot run %s: %s" % (path, error))


def _finish_probe(path, proc):
    """(version text, version tuple) of the interpreter at path, or raise InterpreterError."""
    try:
        out, err = proc.communicate(timeout=PROBE_TIMEOUT_SECONDS)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.communicate()
        raise InterpreterError("%s did not answer within %d s" % (path, PROBE_TIMEOUT_SECONDS))
    match = re.match(r"^((\d+)\.(\d+)\.(\d+)\S*) (\S+) ([01])$", out.strip())
    if proc.returncode != 0 or not match:
        raise InterpreterError("%s does not answer as a Python interpreter (exit %d): %s %s"
                               % (path, proc.returncode, out.strip(), err.strip()))
    if match.group(5) != "CPython":
        raise InterpreterError("%s is %s, not CPython" % (path, match.group(5)))
    info = tuple(int(part) for part in match.groups()[1:4])
    return match.group(1), info, match.group(6) == "1"


def _discovered_paths():
    paths = sorted(glob.glob(PYENV_GLOB))
    try:
        names = sorted(os.listdir(SYSTEM_DIR))
    except OSError:
        names = []
    paths += [os.path.join(SYSTEM_DIR, name) for name in names if SYSTEM_NAME.match(name)]
    return [path for path in paths if _is_executable_file(path)]


def _listed_paths():
    listed = [part for part in os.environ.get(ENV_VAR, "").split(":") if part]
    for path in listed:
        if not os.path.exists(path):
            raise InterpreterError("%s lists %s, which does not exist" % (ENV_VAR, path))
        if not _is_executable_file(path):
            raise InterpreterError("%s lists %s, which is not an executable file" % (ENV_VAR, path))
    return listed


_cache = None


def interpreters():
    """Every interpreter to test, oldest version first. Raises InterpreterError."""
    global _cache
    if _cache is None:
        listed = _listed_paths()
        listed_real = set(os.path.realpath(path) for path in listed)
        candidates = collections.OrderedDict()  # realpath -> path, discovered first
        for path in _discovered_paths() + listed:
            candidates.setdefault(os.path.realpath(path), path)
        probes = []  # all interpreters are asked at once
        try:
            for real, path in candidates.items():
                try:
                    probes.append((real, path, _start_probe(path)))
                except InterpreterError:
                    if real in listed_real:
                        raise
            found = []
            for real, path, proc in probes:
                try:
                    version, info, free_threaded = _finish_probe(path, proc)
                except InterpreterError:
                    if real in listed_real:
                        raise
                    continue  # a discovered file that is not a working CPython
                if free_threaded:
                    found.append(Interpreter(path, real, version, info, True, ("-X", "gil=0")))
                    found.append(Interpreter(path, real, version, info, True, ("-X", "gil=1")))
                else:
                    found.append(Interpreter(path, real, version, info, False, ()))
        finally:
            for _, _, proc in probes:
                if proc.poll() is None:
                    proc.kill()
                    proc.communicate()
        _cache = sorted(found, key=lambda python: (python.version_info, python.path))
    return list(_cache)


def covered_text(pythons):
    return ", ".join("%s (%s)" % (python.label, python.path) for python in pythons)


def print_covered(prefix, pythons, stream=None):
    """Prints "<prefix>: covered 2.7.18 (/path), ..." on stream (default stderr); a shard of a
    module (see shards.py) says which, and covers only its share."""
    stream = stream or sys.stderr
    stream.write("%s%s: covered %s\n" % (prefix, shards.label(),
                                          covered_text(pythons) or "no interpreter"))
    stream.flush()


if __name__ == "__main__":
    print_covered("pythons", interpreters(), sys.stdout)


def test_classes(prefix, checks):
    """One unittest.TestCase per interpreter, mixing in `checks` with `python` set: a dict of
    class name ("<prefix>3_12_1"; the path added when two share a version) -> class."""
    generated = {}
    for python in interpreters():
        name = prefix + re.sub(r"\W", "_", python.label)
        if name in generated:
            name += "_" + re.sub(r"\W", "_", python.path.strip("/"))
        # In the caller's module, so that its setUpModule/tearDownModule (which print what
        # was covered) run around these classes, not before them.
        generated[name] = type(name, (checks, unittest.TestCase),
                               {"python": python, "__doc__": python.path,
                                "__module__": checks.__module__})
    return generated


def behaviour_interpreter():
    """The interpreter for tests run on one only: Debian's python3 when present, else the newest.
    Skips the calling test when none is found."""
    found = interpreters()
    if not found:
        raise unittest.SkipTest("no Python interpreter found")
    system = [p for p in found if p.path.startswith("/usr/bin/")]
    return (system or sorted(found, key=lambda p: p.version_info))[-1]
