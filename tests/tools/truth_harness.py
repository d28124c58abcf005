#!/usr/bin/env python3
"""How often gilscope files a thread as something it cannot be, on workloads whose truth is
known by construction (tests/workloads/truth_shapes.py):

    spinner-N   pure Python: always holding or waiting for the GIL   error = running + idle
    hasher      hashing a large buffer: never idle                   error = idle
    holder      a C call keeping the GIL (ctypes): holds or waits    error = running + idle
    sleeper, blocked, reader, MainThread: always idle                error = 1 - idle

For every interpreter (tests/integration/pythons.py: those found and GILSCOPE_TEST_PYTHONS),
spinner count, rate, mode (pausing or --nonblocking) and load (idle, or one pure-Python hog per
core competing with the target), it records the workload and prints one row: samples, the GIL's
contention (truth: 1.00 with two or more spinners), the largest error of each role (samples filed
in a state the thread cannot be in), the largest share of a thread's samples filed as unknown
(gilscope could not tell; honest, so not counted as an error), and the largest error of the row. Free-threaded builds
with the GIL off are left out (no GIL to be true about).

Run: scripts/truth.sh [--rates 100,1000] [--modes pausing,nonblocking] [--loads idle,hog]
     [--spinners 2,4] [--seconds 3] [--pythons 3.12.1,3.11.2]
"""

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "integration"))

import pythons  # noqa: E402
import support  # noqa: E402

WORKLOAD = support.workload("truth_shapes.py")
IDLE_ROLES = ("sleeper", "blocked", "reader", "MainThread")
HOG = "while True: pass"


def errors_of(summary):
    """{role: largest share of a thread's samples filed in a state it cannot be in}, and the
    largest share of any thread's samples filed as unknown (honest, so not an error)."""
    errors = {"spinner": 0.0, "hasher": 0.0, "holder": 0.0, "idle": 0.0}
    unknown = 0.0
    for thread in summary["threads"]:
        name = thread.get("name") or ""
        unknown = max(unknown, thread.get("unknown", 0.0))  # builds before the unknown state
        if name.startswith("spinner-"):
            role, error = "spinner", thread["running_without_gil"] + thread["idle"]
        elif name == "hasher":
            role, error = "hasher", thread["idle"]
        elif name == "holder":
            role, error = "holder", thread["running_without_gil"] + thread["idle"]
        elif name in IDLE_ROLES:
            role, error = "idle", 1.0 - thread["idle"]
        else:
            continue
        errors[role] = max(errors[role], error)
    return errors, unknown


def record(gilscope, python, spinners, rate, mode, load, seconds, folder):
    workload = support.Workload([*python.command, WORKLOAD, "--spinners", str(spinners)])
    hogs = []
    try:
        workload.wait_ready()
        time.sleep(0.3)
        if load == "hog":
            hogs = [subprocess.Popen([sys.executable, "-c", HOG])
                    for _ in range(os.cpu_count() or 1)]
        summary_path = os.path.join(folder, "summary.json")
        args = ["record", "--pid", str(workload.pid), "-d", str(seconds), "-r", str(rate),
                "-o", os.path.join(folder, "profile.svg"), "--summary", summary_path]
        if mode == "nonblocking":
            args.append("--nonblocking")
        code, _, err = support.run_gilscope(args, timeout=seconds + 60, binary=gilscope)
        if code != 0:
            raise RuntimeError("gilscope %s: exit %d: %s" % (" ".join(args), code, err))
        with open(summary_path) as source:
            return json.load(source)
    finally:
        for hog in hogs:
            hog.kill()
            hog.wait()
        workload.kill()


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--gilscope", default=os.path.join(HERE, "..", "..", "build", "src",
                                                           "gilscope"))
    parser.add_argument("--pythons", default="", help="labels to keep, e.g. 3.12.1,2.7.18")
    parser.add_argument("--rates", default="100,1000")
    parser.add_argument("--modes", default="pausing,nonblocking")
    parser.add_argument("--loads", default="idle,hog")
    parser.add_argument("--spinners", default="2,4")
    parser.add_argument("--seconds", type=int, default=3)
    options = parser.parse_args()
    gilscope = os.path.realpath(options.gilscope)
    wanted = set(filter(None, options.pythons.split(",")))
    interpreters = [python for python in pythons.interpreters()
                    if not python.gil_disabled and (not wanted or python.label in wanted)]
    print("%-11s %3s %5s %-11s %-4s %7s %6s %8s %7s %7s %6s %8s %7s" % (
        "python", "spn", "rate", "mode", "load", "samples", "contnd", "spinner", "hasher",
        "holder", "idle", "unknown", "largest"))
    worst = 0.0
    folder = tempfile.mkdtemp(prefix="gilscope-truth-")
    try:
        for python in interpreters:
            for spinners in [int(n) for n in options.spinners.split(",")]:
                for rate in [int(r) for r in options.rates.split(",")]:
                    for mode in options.modes.split(","):
                        for load in options.loads.split(","):
                            summary = record(gilscope, python, spinners, rate, mode, load,
                                             options.seconds, folder)
                            errors, unknown = errors_of(summary)
                            largest = max(errors.values())
                            worst = max(worst, largest)
                            print("%-11s %3d %5d %-11s %-4s %7d %6.2f %7.1f%% %6.1f%% %6.1f%% "
                                  "%5.1f%% %7.1f%% %6.1f%%" % (
                                      python.label, spinners, rate, mode, load,
                                      summary["samples"], summary["contention"],
                                      100 * errors["spinner"], 100 * errors["hasher"],
                                      100 * errors["holder"], 100 * errors["idle"],
                                      100 * unknown, 100 * largest))
                            sys.stdout.flush()
    finally:
        shutil.rmtree(folder)
    print("largest error: %.1f%%" % (100 * worst))


if __name__ == "__main__":
    main()
