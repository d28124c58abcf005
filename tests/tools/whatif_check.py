#!/usr/bin/env python3
"""Checks gilscope's "would it be faster without the GIL" estimate against a free-threaded
CPython, which can run the same program with its GIL on (PYTHON_GIL=1) and off (PYTHON_GIL=0).

For each reference workload of tests/workloads/throughput_shapes.py (2 and 4 spinners,
spinners and hashers, native_hold, io):
  predicted  without_gil.speedup from `gilscope record --summary` of the workload run with
             PYTHON_GIL=1 (the upper bound on the throughput gain: the model assumes every
             thread that wants a CPU gets one, up to the target's CPUs, at full speed)
  measured   throughput with PYTHON_GIL=0 over throughput with PYTHON_GIL=1, each the median
             of a few runs of a few seconds
  ceiling    what two threads of pure C arithmetic gain over one on this machine:
             2 * t_alone / t_pair (a tiny C program compiled here with gcc). On a machine
             shared with other work, or with two hyperthreads of one core, it is well
             under 2, and no program can gain more from a second CPU than this. Measured
             beside each workload's throughput runs (each repeat runs the C program, then
             the workload with and without the GIL): other work on the machine comes and
             goes, and the ceiling with it.

The bounded prediction scales the predicted gain by what an extra CPU really delivers here:
    bounded = 1 + (predicted - 1) * (ceiling - 1) / (cpus - 1)       (cpus > 1; else 1)
predicted - 1 is the average number of extra CPUs the work would occupy without the GIL (at
most cpus - 1); the ceiling says an extra CPU delivers (ceiling - 1) / (cpus - 1) of a CPU's
work on this machine (with cpus = 2, measured directly). So a workload predicted to use both
CPUs all the time (predicted 2) gets the ceiling, one predicted no gain stays at 1, and one
predicted to use the second CPU a third of the time gets a third of the ceiling's gain. (The
simpler min(predicted, ceiling) would credit a partial gain at full CPU speed, which this
machine cannot deliver.)

What the estimate leaves out is measured last, on spinners: one alone with the GIL on and off,
and two with it on. Two spinners taking turns do less together than one alone (the hand-offs
cost the holder time that samples count as work), and a free-threaded build may run one thread
at a different speed with its GIL off: both push the measured gain past the bound.

The last column, measured / bounded, is 1 where the estimate is exact after accounting for
the machine; the issue asks for 0.75..1.1 (whatif_test checks that when a free-threaded build
is given in GILSCOPE_TEST_PYTHONS).

Units of work (throughput_shapes.py) cost about the same CPU time whatever the thread kind,
so a mixed workload's total is comparable between runs; its JSON line also gives them by kind.

Environment: GILSCOPE_FREE_THREADED_PYTHON (e.g. /work/pythons/3.14.7t/bin/python3.14t),
GILSCOPE_BIN (the gilscope binary). Prints the machine's load average before and after.
A measurement tool, not a test: exits 0 whatever it measures.

Run: GILSCOPE_BIN=build/src/gilscope \
     GILSCOPE_FREE_THREADED_PYTHON=/work/pythons/3.14.7t/bin/python3.14t \
     python3 tests/tools/whatif_check.py [--repeats 3] [--seconds 3]
"""

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
WORKLOAD = os.path.realpath(os.path.join(HERE, "..", "workloads", "throughput_shapes.py"))
REFERENCE = [("2 spinners", ["spinners", "2"]), ("4 spinners", ["spinners", "4"]),
             ("spinners+hashers", ["spinners_hashers"]), ("native_hold", ["native_hold"]),
             ("io", ["io"])]
RECORD_SECONDS = 3
WARMUP_SECONDS = 0.5

# Two threads of pure arithmetic, no memory traffic: "ceiling THREADS ITERATIONS" prints the
# seconds the slowest thread took.
CEILING_SOURCE = r"""
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>
static long iterations;
static double seconds[8];
static volatile unsigned long sink;
static double Now(void) {
  struct timespec t;
  clock_gettime(CLOCK_MONOTONIC, &t);
  return t.tv_sec + t.tv_nsec / 1e9;
}
static void* Work(void* slot) {
  double begun = Now();
  unsigned long x = 88172645463325252UL;
  for (long i = 0; i < iterations; ++i) {
    x ^= x << 13;
    x ^= x >> 7;
    x ^= x << 17;
  }
  sink = x;
  *(double*)slot = Now() - begun;
  return NULL;
}
int main(int argc, char** argv) {
  int threads = atoi(argv[1]);
  iterations = atol(argv[2]);
  pthread_t ids[8];
  for (int i = 0; i < threads; ++i) pthread_create(&ids[i], NULL, Work, &seconds[i]);
  double slowest = 0;
  for (int i = 0; i < threads; ++i) {
    pthread_join(ids[i], NULL);
    if (seconds[i] > slowest) slowest = seconds[i];
  }
  printf("%f\n", slowest);
  return 0;
}
"""
CEILING_ITERATIONS = 200000000  # about half a second alone


def load_text():
    one, five, fifteen = os.getloadavg()
    return "load average %.2f %.2f %.2f on %d CPUs" % (one, five, fifteen, os.cpu_count())


class Ceiling(object):
    """The C program, compiled once; run() times it with 1 and then 2 threads."""

    def __init__(self):
        self.folder = tempfile.mkdtemp(prefix="gilscope-ceiling-")
        source = os.path.join(self.folder, "ceiling.c")
        self.binary = os.path.join(self.folder, "ceiling")
        with open(source, "w") as stream:
            stream.write(CEILING_SOURCE)
        subprocess.run(["gcc", "-O2", "-pthread", "-o", self.binary, source], check=True)

    def time(self, threads):
        out = subprocess.run([self.binary, str(threads), str(CEILING_ITERATIONS)], check=True,
                             capture_output=True, text=True).stdout
        return float(out)

    def run(self):
        """(t_alone, t_pair) in seconds."""
        return self.time(1), self.time(2)

    def close(self):
        shutil.rmtree(self.folder)


def measure(python, shape, repeats=3, seconds=3):
    """{"gain", "on", "off", "ceiling"}: the medians, over repeats, of the throughput with the
    GIL (on) and without (off), gain = off / on, and the machine's ceiling from the medians of
    the C program's times. Each repeat runs the C program, then the workload with GIL=1, then
    GIL=0, so that load from other work on the machine, which comes and goes, weighs on the
    ceiling and on both throughputs alike."""
    ceiling = Ceiling()
    try:
        alone, pair, with_gil, without = [], [], [], []
        for _ in range(repeats):
            t_alone, t_pair = ceiling.run()
            alone.append(t_alone)
            pair.append(t_pair)
            with_gil.append(throughput(python, shape, 1, seconds))
            without.append(throughput(python, shape, 0, seconds))
    finally:
        ceiling.close()
    on, off = statistics.median(with_gil), statistics.median(without)
    return {"gain": off / on, "on": on, "off": off,
            "ceiling": 2 * statistics.median(alone) / statistics.median(pair)}


def gil_costs(python, repeats, seconds):
    """What the samples cannot see, from the medians of `repeats` runs: one spinner's throughput
    with the GIL on and off, and two spinners' total with it on."""
    runs = {"one_on": [], "one_off": [], "two_on": []}
    for _ in range(repeats):
        runs["one_on"].append(throughput(python, ["spinners", "1"], 1, seconds))
        runs["one_off"].append(throughput(python, ["spinners", "1"], 0, seconds))
        runs["two_on"].append(throughput(python, ["spinners", "2"], 1, seconds))
    return dict((key, statistics.median(values)) for key, values in runs.items())


def environment(gil):
    env = dict(os.environ)
    env["PYTHON_GIL"] = str(gil)
    return env


def throughput(python, shape, gil, seconds):
    """Units per second of one run of shape (argv after the workload) under PYTHON_GIL=gil."""
    argv = [python, WORKLOAD] + list(shape) + ["--seconds", str(seconds),
                                               "--warmup", str(WARMUP_SECONDS)]
    out = subprocess.run(argv, env=environment(gil), check=True, capture_output=True,
                         text=True, timeout=seconds + 60).stdout
    return json.loads(out.splitlines()[-1])["per_second"]


def predict(gilscope, python, shape, seconds=RECORD_SECONDS, prefix=()):
    """The summary JSON's "without_gil" for shape run with PYTHON_GIL=1 (None when gilscope's
    summary has none), and the summary."""
    folder = tempfile.mkdtemp(prefix="gilscope-whatif-")
    workload = subprocess.Popen(list(prefix) + [python, WORKLOAD] + list(shape),
                                env=environment(1), stdout=subprocess.PIPE,
                                stdin=subprocess.DEVNULL, text=True, start_new_session=True)
    try:
        line = workload.stdout.readline().strip()
        if line != "ready":
            raise RuntimeError("%s %s printed %r instead of 'ready'" % (python, shape, line))
        time.sleep(WARMUP_SECONDS)
        summary = os.path.join(folder, "s.json")
        subprocess.run([gilscope, "record", "--pid", str(workload.pid), "-d", str(seconds),
                        "--summary", summary, "-o", os.path.join(folder, "p.txt"),
                        "-f", "collapsed"],
                       check=True, capture_output=True, timeout=seconds + 60)
        with open(summary) as stream:
            result = json.load(stream)
        return result.get("without_gil"), result
    finally:
        workload.kill()
        workload.wait()
        workload.stdout.close()
        shutil.rmtree(folder)


def bounded(predicted, cpus, ceiling):
    """The prediction scaled by what an extra CPU delivers on this machine (module docstring)."""
    if cpus <= 1:
        return 1.0
    return 1 + (predicted - 1) * (ceiling - 1) / (cpus - 1)


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--seconds", type=float, default=3)
    args = parser.parse_args()
    python = os.environ.get("GILSCOPE_FREE_THREADED_PYTHON")
    gilscope = os.environ.get("GILSCOPE_BIN")
    if not python or not gilscope:
        sys.exit("set GILSCOPE_FREE_THREADED_PYTHON and GILSCOPE_BIN (see the docstring)")
    print("before: " + load_text(), flush=True)
    header = ("workload", "kind", "cpus", "predicted", "ceiling", "bounded", "tp GIL=1",
              "tp GIL=0", "measured", "meas/bound")
    rows = []
    for name, shape in REFERENCE:
        estimate, _ = predict(gilscope, python, shape)
        got = measure(python, shape, args.repeats, args.seconds)
        figures = ["%.2f" % got["ceiling"], "-", "%.1f" % got["on"], "%.1f" % got["off"],
                   "%.2f" % got["gain"], "-"]
        if estimate is None:
            rows.append((name, "-", "-", "-") + tuple(figures))
        else:
            limit = bounded(estimate["speedup"], estimate["cpus"], got["ceiling"])
            figures[1], figures[5] = "%.2f" % limit, "%.2f" % (got["gain"] / limit)
            rows.append((name, estimate["kind"], "%g" % estimate["cpus"],
                         "%.2f" % estimate["speedup"]) + tuple(figures))
        print("  " + "  ".join(rows[-1]), flush=True)
    widths = [max(len(row[i]) for row in rows + [header]) for i in range(len(header))]
    for row in [header] + rows:
        print("  ".join(cell.ljust(width) for cell, width in zip(row, widths)))
    if any(row[1] == "-" for row in rows):
        print("(no without_gil in this gilscope's summary: measured throughputs only)")
    costs = gil_costs(python, args.repeats, args.seconds)
    print("outside the estimate: one spinner %.1f units/s with the GIL on, %.1f off (x%.2f); two "
          "spinners taking turns %.1f together: the hand-offs cost %.0f%% of the holder's time"
          % (costs["one_on"], costs["one_off"], costs["one_off"] / costs["one_on"],
             costs["two_on"], 100 * (1 - costs["two_on"] / costs["one_on"])))
    print("after: " + load_text())
    return 0


if __name__ == "__main__":
    sys.exit(main())
