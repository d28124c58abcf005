#!/usr/bin/env python3
"""One program, one verdict: how gilscope looks must not change what it concludes.

VerdictStability_<version>, for every interpreter of pythons.py, records workloads whose
verdict is known by construction, each in several ways of looking (pausing or not, 100 Hz to
10 kHz, with or without --native), and checks that every recording gives the expected verdict:
  record_shapes.py spin          two pure-Python spinners            python_cpu_bound
  record_shapes.py hash          two threads hashing outside the GIL native_releases_gil
  record_shapes.py io            threads on sockets and asleep       io_bound
  record_shapes.py native_hold   a C call keeping the GIL (ctypes)   native_holds_gil
  json_server.py                 a thread-per-request HTTP server    native_holds_gil
                                 under load, each request in json's C encoder (where the
                                 interpreter has it; else python_cpu_bound)
record_test checks each workload's figures the default way (100 Hz, pausing, no --native); here
every look must give the verdict, a reason for it, and the default look's GIL figures (held,
contended) and top blamed function. Free-threaded builds running
without their GIL are left to record_test (the verdict is no_gil however one looks).

Environment: GILSCOPE_BIN (required), GILSCOPE_TEST_PYTHONS (optional, see pythons.py).
Run: GILSCOPE_BIN=build/src/gilscope python3 tests/integration/verdict_test.py -v
"""

import json
import os
import shutil
import subprocess
import sys
import tempfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import pythons  # noqa: E402
import shards  # noqa: E402
import support  # noqa: E402

SHAPES = support.workload("record_shapes.py")
SERVER = support.workload("json_server.py")
RECORD_SECONDS = 1

# Ways of looking beyond record_test's default (100 Hz, pausing, Python stacks only): together
# they flip every option that changes how gilscope looks, the rate in both modes up to 10 kHz.
# (--native needs the target paused.)
LOOKS = [
    ("-r", "1000"),
    ("-r", "1000", "--native"),
    ("--nonblocking",),
    ("-r", "1000", "--nonblocking"),
    ("-r", "10000", "--nonblocking"),
]
# How far a look's contention may stray from the default look's on the same workload, where
# gilscope can tell it (Interpreter.waiters_tellable, record_test's rule too): the workloads hold their shape, so a faster or
# gentler look must see the same share. (The share
# of samples with the GIL held is not compared: 2.7's semaphore GIL reads held 40-75% of the
# time for two spinners depending on how gilscope looks, in builds before this test as well.)
CONTENTION_TOLERANCE = 0.15
# Shapes whose top blamed function is known: the spinners' loop, the ctypes call.
BLAME_SHAPES = ("spin", "native_hold")

covered = []


class VerdictChecks(object):
    """Mixed into one unittest.TestCase subclass per interpreter."""

    python = None

    @classmethod
    def setUpClass(cls):
        support.gilscope_bin()
        covered.append(cls.python)

    def setUp(self):
        if self.python.gil_disabled:
            self.skipTest("no GIL: the verdict is no_gil however gilscope looks (record_test)")

    def verdicts(self, pid, name, looks):
        """Records pid once per way of looking; returns [(look, verdict, reason, context)]."""
        folder = tempfile.mkdtemp(prefix="gilscope-verdict-")
        self.addCleanup(shutil.rmtree, folder)
        summary = os.path.join(folder, "s.json")
        results = []
        for look in looks:
            code, _, err = support.run_gilscope(
                ["record", "--pid", str(pid), "-d", str(RECORD_SECONDS), "-f", "collapsed",
                 "-o", os.path.join(folder, "p.txt"), "--summary", summary,
                 "--baseline", "0", *look])  # the hand-off baseline is record_test's
            context = "%s %s [%s]: %s" % (self.python.version, name, " ".join(look), err)
            self.assertEqual(code, 0, context)
            with open(summary) as stream:
                result = json.load(stream)
            self.assertGreaterEqual(result["samples"], 40, context)
            results.append((look, result, context))
        return results

    def check_shape(self, shape, expected):
        workload = support.Workload([*self.python.command, SHAPES, shape])
        self.addCleanup(workload.kill)
        workload.wait_ready()
        results = self.verdicts(workload.pid, shape, [()] + LOOKS)
        reference = results[0][1]
        for look, result, context in results:
            self.assertEqual(result["verdict"], expected, context)
            self.assertTrue(result["verdict_reason"], context)
            # The same views: contention, and the code that holds the GIL while others wait
            # (with --native the innermost frame is a C function: compared without it).
            if self.python.waiters_tellable("--nonblocking" in look):
                self.assertAlmostEqual(result["contention"], reference["contention"],
                                       delta=CONTENTION_TOLERANCE, msg="contention: " + context)
            if shape in BLAME_SHAPES and "--native" not in look:
                self.assertTrue(reference["top_blame"] and result["top_blame"], context)
                self.assertEqual(result["top_blame"][0]["function"],
                                 reference["top_blame"][0]["function"], context)
        self.assertTrue(workload.alive(), shape)

    def test_spin(self):
        self.check_shape("spin", "python_cpu_bound")

    def test_hash(self):
        self.check_shape("hash", "native_releases_gil")

    def test_io(self):
        self.check_shape("io", "io_bound")

    def test_native_hold(self):
        probe = [*self.python.command, "-c", "import ctypes; ctypes.PyDLL(None).usleep"]
        if subprocess.run(probe, capture_output=True, timeout=30).returncode != 0:
            self.skipTest("ctypes is not available in %s" % self.python.path)
        self.check_shape("native_hold", "native_holds_gil")

    def test_json_server_under_load(self):
        probe = [*self.python.command, "-c",
                 "import json.encoder, sys; sys.exit(json.encoder.c_make_encoder is None)"]
        c_encoder = subprocess.run(probe, capture_output=True, timeout=30).returncode == 0
        expected = "native_holds_gil" if c_encoder else "python_cpu_bound"
        server = support.Workload([*self.python.command, SERVER, "serve", "--items", "2000"])
        self.addCleanup(server.kill)
        port = server.read_line().split()[1]
        load = support.Workload([*self.python.command, SERVER, "load", port, "--connections",
                                 "16"])
        self.addCleanup(load.kill)
        looks = [()] + LOOKS  # record_test does not run this workload
        for look, result, context in self.verdicts(server.pid, "json_server", looks):
            self.assertEqual(result["verdict"], expected, context)
            self.assertIn("contended", result["verdict_reason"], context)
        self.assertTrue(server.alive() and load.alive(), "server or load generator died")


globals().update(pythons.test_classes("VerdictStability_", VerdictChecks))


def tearDownModule():
    sys.stderr.write("\n")
    pythons.print_covered("verdict_test", sorted(covered, key=lambda p: (p.version_info, p.path)))


if __name__ == "__main__":
    shards.main()
