#!/usr/bin/env python3
"""`gilscope record --subprocesses` on a real service: Debian's gunicorn (on its own
/usr/bin/python3) serving tests/workloads/gunicorn_app.py with 2 gthread workers of 4 threads.
Skipped, with the reason, when gunicorn is not installed (scripts/setup.sh installs it).

  test_attach  8 client threads here request /cpu (5-20 ms of pure Python holding the GIL) in a
               loop, so each worker runs about 4 requests at once; once every worker has its 4
               pool threads, `record --pid MASTER --subprocesses -d 3 --mode wall -f collapsed
               --summary S`: exit 0; the summary lists the master and both workers (command
               lines naming gunicorn, workers' parent the master), each worker with every one of
               its threads; some worker holds its GIL most of the time with threads queueing
               for it; the master is idle (verdict idle or io_bound,
               GIL held < 5%); the top-level verdict is a worker's. Every collapsed
               stack has one "pid N: " root, each worker roots some, and burn_cpu runs under a
               worker's root. Afterwards every process runs untraced, the service still answers,
               and the master shuts down cleanly on SIGTERM (exit 0).
  test_launch  `record --subprocesses -d 3 ... -- gunicorn ...`: the launched master and both
               its workers are recorded; gilscope then waits for the service, and Ctrl-C
               (SIGINT, passed on to gunicorn) ends both, gilscope with exit 0.

Environment: GILSCOPE_BIN (required).
Run: GILSCOPE_BIN=build/src/gilscope python3 tests/integration/gunicorn_test.py -v
"""

import http.client
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import support  # noqa: E402

GUNICORN = shutil.which("gunicorn") or "/usr/bin/gunicorn"
WORKERS = 2
THREADS = 4
CLIENTS = 8
READY_SECONDS = 30
STOP_SECONDS = 15
LISTENING = re.compile(r"Listening at: http://127\.0\.0\.1:(\d+) \((\d+)\)")
BOOTING = re.compile(r"Booting worker with pid: (\d+)")


def gunicorn_argv(log):
    """gunicorn on a port the kernel picks (the log names it), logging to `log`."""
    return [GUNICORN, "--worker-class", "gthread", "--workers", str(WORKERS), "--threads",
            str(THREADS), "--bind", "127.0.0.1:0", "--chdir", support.WORKLOADS,
            "--graceful-timeout", "3", "--error-logfile", log, "gunicorn_app:application"]


def parent_of(pid):
    with open("/proc/%d/stat" % pid) as stat:
        return int(stat.read().rsplit(")", 1)[1].split()[1])


def wait_for(what, check, timeout=READY_SECONDS):
    """check()'s first true answer, polled; AssertionError naming `what` after timeout."""
    deadline = time.monotonic() + timeout
    while True:
        answer = check()
        if answer:
            return answer
        if time.monotonic() > deadline:
            raise AssertionError("%s: not within %g s" % (what, timeout))
        time.sleep(0.05)


def read_service(log, process):
    """(port, master pid, worker pids) once the log names the port and every worker booted;
    AssertionError if `process` (gunicorn, or gilscope running it) exits first."""
    def parse():
        with open(log) as source:
            text = source.read()
        if process.poll() is not None:
            raise AssertionError("exited (status %s) before serving; log:\n%s"
                                 % (process.returncode, text[-3000:]))
        listening = LISTENING.search(text)
        workers = sorted(set(int(pid) for pid in BOOTING.findall(text)))
        if listening and len(workers) >= WORKERS:
            return int(listening.group(1)), int(listening.group(2)), workers
        return None
    return wait_for("gunicorn's log %s names its port and %d workers" % (log, WORKERS), parse)


def get(port, path, timeout=10):
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout)
    try:
        connection.request("GET", path)
        response = connection.getresponse()
        return response.status, response.read().decode()
    finally:
        connection.close()


def answers(port):
    try:
        return get(port, "/", timeout=2) == (200, "ok\n")
    except OSError:
        return False


class Load(object):
    """CLIENTS threads requesting /cpu back to back until stop(); counts answers per worker."""

    def __init__(self, port):
        self.port = port
        self.served = {}
        self.errors = []
        self.lock = threading.Lock()
        self.stopping = threading.Event()
        self.threads = [threading.Thread(target=self.run, daemon=True) for _ in range(CLIENTS)]
        for thread in self.threads:
            thread.start()

    def run(self):
        while not self.stopping.is_set():
            try:
                status, body = get(self.port, "/cpu")
                pid = int(body.split()[1]) if status == 200 else None
            except (OSError, ValueError, IndexError, http.client.HTTPException) as error:
                status, pid, body = None, None, repr(error)
            with self.lock:
                if pid is None:
                    self.errors.append("%s %s" % (status, body))
                else:
                    self.served[pid] = self.served.get(pid, 0) + 1

    def stop(self):
        self.stopping.set()
        for thread in self.threads:
            thread.join(30)


@unittest.skipUnless(os.access(GUNICORN, os.X_OK),
                     "gunicorn is not installed (Debian: apt-get install gunicorn, or "
                     "bash scripts/setup.sh --install-only)")
class Gunicorn(unittest.TestCase):
    def setUp(self):
        self.directory = tempfile.mkdtemp(prefix="gilscope-gunicorn-")
        self.addCleanup(shutil.rmtree, self.directory)

    def path(self, name):
        return os.path.join(self.directory, name)

    def log_tail(self):
        with open(self.path("gunicorn.log")) as source:
            return source.read()[-3000:]

    def summary(self):
        with open(self.path("s.json")) as source:
            summary = json.load(source)
        return summary, dict((process["pid"], process) for process in summary["processes"])

    def check_processes(self, by_pid, master, workers):
        for pid in [master] + workers:
            self.assertIn(pid, by_pid, "pids recorded: %s" % sorted(by_pid))
            self.assertIn("gunicorn", by_pid[pid]["command_line"])
            self.assertGreater(by_pid[pid]["samples"], 0, "process %d" % pid)
        for worker in workers:
            self.assertEqual(by_pid[worker]["parent_pid"], master)

    def test_attach(self):
        open(self.path("gunicorn.log"), "w").close()
        service = subprocess.Popen(gunicorn_argv(self.path("gunicorn.log")),
                                   stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                                   stderr=subprocess.DEVNULL, start_new_session=True)
        self.addCleanup(stop_service, service)
        port, master, workers = read_service(self.path("gunicorn.log"), service)
        self.assertEqual(master, service.pid, "gunicorn daemonized?")
        wait_for("gunicorn answers on port %d" % port, lambda: answers(port))
        load = Load(port)
        self.addCleanup(load.stop)
        # A gthread pool starts a thread only when none is idle: with 4 requests at once in
        # each worker every one soon has its main thread and 4 pool threads.
        wait_for("every worker runs %d threads (load so far: %s)" % (THREADS + 1, load.served),
                 lambda: all(len(support.task_status(worker)) >= THREADS + 1
                             for worker in workers), timeout=15)
        threads = dict((worker, len(support.task_status(worker))) for worker in workers)
        code, out, err = support.run_gilscope(
            ["record", "--pid", str(master), "--subprocesses", "-d", "3", "--mode", "wall",
             "-f", "collapsed", "-o", self.path("c.txt"), "--summary", self.path("s.json")])
        served_while_recorded = dict(load.served)
        self.assertEqual(code, 0, err)
        self.assertTrue(answers(port), "the service stopped answering after the recording")
        load.stop()
        self.assertEqual(load.errors, [], "requests failed; gunicorn log:\n%s" % self.log_tail())
        for pid in [master] + workers:
            self.assertEqual(support.running_problems(pid), [], "process %d" % pid)

        summary, by_pid = self.summary()
        context = "stderr:\n%s\nrequests served by worker: %s" % (err, served_while_recorded)
        self.check_processes(by_pid, master, workers)
        for worker in workers:
            self.assertEqual(len(by_pid[worker]["threads"]), threads[worker],
                             "worker %d: %s" % (worker, context))
        contended = [worker for worker in workers if by_pid[worker]["gil_held"] > 0.5 and
                     by_pid[worker]["contention"] > 0.2 and by_pid[worker]["mean_waiters"] > 0]
        self.assertTrue(contended, "no worker holds its GIL with threads waiting: %s" % context)
        self.assertIn(by_pid[master]["verdict"], ("idle", "io_bound"), context)
        self.assertLess(by_pid[master]["gil_held"], 0.05, context)
        self.assertIn(summary["pid"], workers, context)
        self.assertEqual(summary["verdict"], "python_cpu_bound", context)
        if os.environ.get("GILSCOPE_TEST_SHOW"):
            sys.stderr.write("\n" + context + "\n")
        self.assertIn("Verdict: pid %d: " % summary["pid"], err)
        for pid in [master] + workers:
            self.assertIn("  pid %d: " % pid, err)

        roots = {}
        for frames, weight in support.read_collapsed(self.path("c.txt")):
            self.assertRegex(frames[0], r"^pid \d+: ")
            self.assertEqual([frame for frame in frames if frame.startswith("pid ")],
                             [frames[0]])
            pid = int(frames[0].split()[1].rstrip(":"))
            roots.setdefault(pid, []).append(frames)
        for worker in workers:
            self.assertIn(worker, roots, "roots: %s" % sorted(roots))
        burning = [pid for pid in workers if any(
            any(frame.startswith("burn_cpu ") for frame in frames) for frames in roots[pid])]
        self.assertTrue(burning, "burn_cpu under no worker's root")

        service.send_signal(signal.SIGTERM)
        self.assertEqual(service.wait(STOP_SECONDS), 0, self.log_tail())

    def test_launch(self):
        log = self.path("gunicorn.log")
        open(log, "w").close()
        with open(self.path("gilscope.err"), "w") as gilscope_err:
            recording = subprocess.Popen(
                [support.gilscope_bin(), "record", "--subprocesses", "-d", "3", "-f",
                 "collapsed", "-o", self.path("c.txt"), "--summary", self.path("s.json"),
                 "--"] + gunicorn_argv(log), stdin=subprocess.DEVNULL,
                stdout=subprocess.DEVNULL, stderr=gilscope_err, start_new_session=True)
        self.addCleanup(stop_service, recording)
        port, master, workers = read_service(log, recording)
        self.assertEqual(parent_of(master), recording.pid)

        def err():
            with open(self.path("gilscope.err")) as source:
                return source.read()
        wait_for("the recording ends and gilscope waits for gunicorn",
                 lambda: "recording done; waiting for the program" in err())
        self.assertTrue(answers(port), "the service does not answer after the recording")
        recording.send_signal(signal.SIGINT)  # Ctrl-C: gilscope passes it on to gunicorn
        self.assertEqual(recording.wait(STOP_SECONDS), 0, err())
        self.assertFalse(os.path.exists("/proc/%d" % master), "gunicorn still runs")

        summary, by_pid = self.summary()
        self.check_processes(by_pid, master, workers)
        self.assertEqual(summary["processes"][0]["pid"], master)
        self.assertEqual(by_pid[master]["parent_pid"], recording.pid)
        roots = set(int(frames[0].split()[1].rstrip(":"))
                    for frames, _ in support.read_collapsed(self.path("c.txt")))
        self.assertTrue(roots <= set(by_pid), "roots %s, recorded %s" % (roots, sorted(by_pid)))


def stop_service(process):
    """SIGTERM to the process (gunicorn's master, or gilscope with it), then SIGKILL to its whole
    session if it has not exited in time. Idempotent."""
    if process.poll() is None:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(STOP_SECONDS)
        except subprocess.TimeoutExpired:
            pass
    try:
        os.killpg(process.pid, signal.SIGKILL)
    except (ProcessLookupError, PermissionError):
        pass
    process.wait()


if __name__ == "__main__":
    unittest.main()
