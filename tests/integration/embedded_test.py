"""gilscope finds an interpreter embedded in a program that is not Python: gdb links libpython."""
import json
import os
import shutil
import subprocess
import time
import unittest

import shards

GILSCOPE = os.environ.get("GILSCOPE_BIN")


class EmbeddedInterpreterTest(unittest.TestCase):
    def setUp(self):
        if not GILSCOPE:
            self.fail("GILSCOPE_BIN is not set")
        if shutil.which("gdb") is None:
            self.fail("gdb is missing (scripts/setup.sh installs it)")

    def test_dump_finds_python_inside_gdb(self):
        script = "python\nimport time\ndef waiting_in_gdb():\n    time.sleep(30)\nwaiting_in_gdb()\nend\n"
        command_file = "/tmp/gilscope-embedded-%d.gdb" % os.getpid()
        with open(command_file, "w") as handle:
            handle.write(script)
        gdb = subprocess.Popen(["gdb", "-nx", "-batch", "-x", command_file],
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        try:
            deadline = time.time() + 20
            while True:
                result = subprocess.run([GILSCOPE, "dump", "--pid", str(gdb.pid), "--json"],
                                        capture_output=True, text=True, timeout=30)
                if result.returncode == 0:
                    dump = json.loads(result.stdout)
                    functions = [f["function"] for t in dump["threads"] for f in t["frames"]]
                    if "waiting_in_gdb" in functions:
                        break
                if time.time() > deadline:
                    self.fail("gdb's embedded Python never showed waiting_in_gdb: %s %s"
                              % (result.returncode, result.stdout[-2000:] + result.stderr))
                time.sleep(0.2)
            self.assertIn("libpython", dump["python_binary"])
            self.assertTrue(dump["executable"].endswith("gdb"), dump["executable"])
            main = [t for t in dump["threads"] if t["main"]][0]
            self.assertEqual(main["frames"][0]["function"], "waiting_in_gdb")
            self.assertEqual(main["frames"][0]["line"], 3)  # line 3 of the python...end block
            self.assertEqual(main["state"], "idle")
            print("embedded_test: covered gdb with Python %s (%s)" % (dump["version"], dump["python_binary"]))
        finally:
            gdb.kill()
            gdb.wait()
            os.unlink(command_file)


if __name__ == "__main__":
    shards.main()
