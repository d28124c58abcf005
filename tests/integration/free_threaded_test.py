"""Why a free-threaded build's GIL is on, as dump, dump --json and record's summary say it:
off by default, asked for with PYTHON_GIL=1 or -X gil=1, or re-enabled by importing an
extension module that does not declare free-threading support, named. Each case is checked
against what the interpreter itself says (sys._is_gil_enabled()), and with the GIL on, two
pure-Python spinners must show it held and contended.

Runs only with a free-threaded interpreter (3.14t+) in GILSCOPE_TEST_PYTHONS; the extension is
compiled at test time with gcc against that interpreter's headers.
"""

import json
import os
import shutil
import subprocess
import sys
import tempfile
import unittest

import pythons
import support

EXTENSION = "gilscope_gil_user"
# A single-phase module without Py_mod_gil: importing it re-enables the GIL.
EXTENSION_SOURCE = r"""
#include <Python.h>
static struct PyModuleDef def = {PyModuleDef_HEAD_INIT, "%s", NULL, -1, NULL};
PyMODINIT_FUNC PyInit_%s(void) { return PyModule_Create(&def); }
""" % (EXTENSION, EXTENSION)
RECORD_SECONDS = "1"


def free_threaded_interpreters():
    """Each free-threaded interpreter once (pythons lists them twice, with -X gil=0 and 1)."""
    seen = {}
    for python in pythons.interpreters():
        if python.free_threaded and python.version_info >= (3, 14):
            seen.setdefault(python.realpath, python)
    return list(seen.values())


def build_extension(python, directory):
    """Compiles EXTENSION for `python` into `directory`."""
    paths = subprocess.run(
        [python.path, "-c", "import sysconfig; print(sysconfig.get_paths()['include']); "
         "print(sysconfig.get_config_var('EXT_SUFFIX'))"],
        capture_output=True, text=True, check=True).stdout.split()
    include, suffix = paths[0], paths[1]
    source = os.path.join(directory, EXTENSION + ".c")
    with open(source, "w") as out:
        out.write(EXTENSION_SOURCE)
    subprocess.run(["gcc", "-shared", "-fPIC", "-I", include, "-o",
                    os.path.join(directory, EXTENSION + suffix), source], check=True,
                   capture_output=True)


class FreeThreadedGilTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        found = free_threaded_interpreters()
        if not found:
            raise unittest.SkipTest(
                "no free-threaded interpreter (3.14t+): list one in GILSCOPE_TEST_PYTHONS, "
                "e.g. GILSCOPE_TEST_PYTHONS=/path/to/python3.14t")
        if shutil.which("gcc") is None:
            raise unittest.SkipTest("gcc is needed to build the test's extension module")
        cls.python = found[-1]
        cls.tmp = tempfile.mkdtemp(prefix="gilscope-ft-")
        build_extension(cls.python, cls.tmp)
        pythons.print_covered("free_threaded_test", [cls.python])

    @classmethod
    def tearDownClass(cls):
        shutil.rmtree(cls.tmp, ignore_errors=True)

    def start(self, options=(), env=None, extension=False):
        """The workload, ready; returns it and the GIL state its interpreter reports."""
        argv = [self.python.path] + list(options) + [support.workload("free_threaded_gil.py")]
        if extension:
            argv += [self.tmp, EXTENSION]
        environment = dict(os.environ)
        environment.pop("PYTHON_GIL", None)
        environment.update(env or {})
        workload = support.Workload(argv, env=environment)
        self.addCleanup(workload.kill)
        line = workload.read_line()
        self.assertIn(line, ("ready True", "ready False"), argv)
        return workload, line == "ready True"

    def dump(self, pid):
        code, out, err = support.run_gilscope(["dump", "--pid", str(pid)])
        self.assertEqual(code, 0, err)
        code, json_out, err = support.run_gilscope(["dump", "--json", "--pid", str(pid)])
        self.assertEqual(code, 0, err)
        return out, json.loads(json_out)

    def record(self, pid):
        summary = os.path.join(self.tmp, "summary-%d.json" % pid)
        code, _, err = support.run_gilscope(
            ["record", "--pid", str(pid), "--duration", RECORD_SECONDS, "--format", "collapsed",
             "-o", os.path.join(self.tmp, "out-%d.txt" % pid), "--summary", summary])
        self.assertEqual(code, 0, err)
        with open(summary) as source:
            return err, json.load(source)

    def check(self, workload, gil_on, state, line, modules=()):
        text, dumped = self.dump(workload.pid)
        context = "%s\n%s" % (" ".join(workload.argv), text)
        self.assertTrue(dumped["free_threaded"], context)
        self.assertEqual(dumped["free_threaded_gil"], {"state": state, "modules": list(modules)},
                         context)
        self.assertIn(line, text.splitlines(), context)
        summary_text, summary = self.record(workload.pid)
        context = "%s\n%s" % (" ".join(workload.argv), summary_text)
        self.assertEqual(summary["free_threaded_gil"],
                         {"state": state, "modules": list(modules)}, context)
        if gil_on:
            self.assertIn(line, summary_text.splitlines(), context)
            # Two pure-Python spinners: one holds the GIL, the other waits, all the time.
            self.assertGreater(summary["gil_held"], 0.9, context)
            self.assertGreater(summary["contention"], 0.5, context)
            self.assertEqual(summary["gil_disabled"], 0, context)
        else:
            self.assertEqual(summary["gil_disabled"], 1.0, context)

    def test_default_run_is_off(self):
        workload, gil_on = self.start()
        self.assertFalse(gil_on)
        self.check(workload, False, "off", "GIL: disabled (free-threaded build)")

    def test_python_gil_1_is_asked_for(self):
        workload, gil_on = self.start(env={"PYTHON_GIL": "1"})
        self.assertTrue(gil_on)
        self.check(workload, True, "asked_for", "GIL: on, asked for (PYTHON_GIL=1 or -X gil=1)")

    def test_x_gil_1_is_asked_for(self):
        workload, gil_on = self.start(options=("-X", "gil=1"))
        self.assertTrue(gil_on)
        self.check(workload, True, "asked_for", "GIL: on, asked for (PYTHON_GIL=1 or -X gil=1)")

    def test_extension_without_free_threading_support_is_named(self):
        workload, gil_on = self.start(extension=True)
        self.assertTrue(gil_on)
        self.check(workload, True, "enabled_by_module",
                   "GIL: on, re-enabled when module '%s' was imported (it does not declare "
                   "free-threading support)" % EXTENSION, modules=[EXTENSION])

    def test_extension_kept_off_by_x_gil_0_is_off(self):
        workload, gil_on = self.start(options=("-X", "gil=0"), extension=True)
        self.assertFalse(gil_on)
        text, dumped = self.dump(workload.pid)
        self.assertEqual(dumped["free_threaded_gil"], {"state": "off", "modules": []}, text)


if __name__ == "__main__":
    unittest.main()
