#!/usr/bin/env python3
"""Profiler CPU cost per sample: gilscope next to CPython 3.15's own sampler (Tachyon).

Starts one CPython 3.15 target, tests/workloads/bench_threads.py THREADS DEPTH, waits for it to
print "ready", then for each rate attaches Tachyon (`python3.15 -m profiling.sampling attach
-a`, its default non-blocking wall mode, collapsed output) and gilscope (`gilscope record
--pid`, once per --modes entry), one after the other, each for --seconds. For every run it
measures:

  samples      samples that yielded stacks. Tachyon: the N of its closing "Captured N samples
               in S seconds" line, less the failed ones its "Error rate: E" line (percent of
               N) accounts for. gilscope: "samples" of its --summary JSON.
  samples/s    samples / the seconds the profiler says it sampled for (Tachyon: S above;
               gilscope: "duration_s"): the rate it achieved.
  CPU us/sample  the profiler's whole-process user+sys time (os.wait4) / samples.
  CPU %        the profiler's CPU time / its wall time, in percent of one core. Both count
               the whole process, startup and output writing included.
  target CPU   the target's own user+sys time over the run / wall time (from /proc/PID/stat),
               next to the same figure over an unprofiled window first: a cheap stand-in for
               the target's throughput, which pausing and CPU contention lower.

and prints a table plus gilscope/Tachyon CPU-per-sample ratios at each rate and at the rate
where each achieved the most samples/s. --json prints the same as one JSON document.

The interpreter comes from GILSCOPE_TACHYON_PYTHON; when unset or unusable the script prints
one line saying so and exits 0. gilscope comes from GILSCOPE_BIN (default build/src/gilscope).

  GILSCOPE_TACHYON_PYTHON=/path/to/python3.15 scripts/cost_vs_tachyon.sh --seconds 3
  ... tests/tools/cost_vs_tachyon.py --rates 1000,10000 --modes nonblocking,pausing --json
"""
import argparse
import dataclasses
import json
import os
import re
import subprocess
import sys
import tempfile
import time

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
WORKLOAD = os.path.join(REPO, "tests", "workloads", "bench_threads.py")
GILSCOPE_MODES = ("nonblocking", "pausing")
CAPTURED = re.compile(r"^Captured ([\d,. ]+) samples? in ([\d,.]+) seconds", re.MULTILINE)
ERROR_RATE = re.compile(r"^Error rate: ([\d.]+)", re.MULTILINE)


@dataclasses.dataclass
class Run:
    rate: int
    profiler: str
    mode: str
    samples: int = 0
    errors: int = 0
    sampling_s: float = 0.0
    wall_s: float = 0.0
    cpu_s: float = 0.0
    target_cpu_s: float = 0.0
    failure: str = ""

    @property
    def samples_per_s(self):
        return self.samples / self.sampling_s if self.sampling_s else 0.0

    @property
    def cpu_us_per_sample(self):
        return self.cpu_s * 1e6 / self.samples if self.samples else None

    @property
    def cpu_pct(self):
        return 100.0 * self.cpu_s / self.wall_s if self.wall_s else 0.0

    @property
    def target_cpu_pct(self):
        return 100.0 * self.target_cpu_s / self.wall_s if self.wall_s else 0.0

    def as_dict(self):
        fields = dataclasses.asdict(self)
        for name in ("samples_per_s", "cpu_us_per_sample", "cpu_pct", "target_cpu_pct"):
            fields[name] = getattr(self, name)
        return fields


def parse_args(argv):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--threads", type=int, default=5)
    parser.add_argument("--depth", type=int, default=15)
    parser.add_argument("--seconds", type=int, default=5, help="per run (whole seconds)")
    parser.add_argument("--rates", default="1000,10000,100000", help="comma-separated Hz")
    parser.add_argument("--modes", default="nonblocking",
                        help="gilscope modes, comma-separated: nonblocking, pausing")
    parser.add_argument("--json", action="store_true", help="print JSON instead of a table")
    args = parser.parse_args(argv)
    args.rates = [int(rate) for rate in args.rates.split(",")]
    args.modes = args.modes.split(",")
    for mode in args.modes:
        if mode not in GILSCOPE_MODES:
            parser.error("unknown mode %r (choose from %s)" % (mode, ", ".join(GILSCOPE_MODES)))
    if args.seconds < 1 or args.threads < 1 or args.depth < 1 or min(args.rates) < 1:
        parser.error("--seconds, --threads, --depth and --rates must be positive")
    return args


def tachyon_python():
    """The 3.15 interpreter, or None and why not."""
    python = os.environ.get("GILSCOPE_TACHYON_PYTHON")
    if not python:
        return None, "GILSCOPE_TACHYON_PYTHON is not set"
    if not os.access(python, os.X_OK):
        return None, "GILSCOPE_TACHYON_PYTHON=%s is not an executable" % python
    probe = subprocess.run([python, "-c", "import profiling.sampling"],
                           stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    if probe.returncode != 0:
        return None, "%s has no profiling.sampling module" % python
    return python, ""


def process_cpu_s(pid):
    """User+sys seconds of every thread of a running process so far."""
    with open("/proc/%d/stat" % pid) as stat:
        fields = stat.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def start_target(python, threads, depth):
    target = subprocess.Popen([python, WORKLOAD, str(threads), str(depth)], cwd=REPO,
                              stdout=subprocess.PIPE, universal_newlines=True)
    try:
        if target.stdout.readline().strip() != "ready":
            raise RuntimeError("the target exited before it was ready")
    except BaseException:
        target.kill()
        target.wait()
        raise
    return target


def measure(cmd, target_pid, env=None):
    """Runs cmd to its end: (wall s, its CPU s, target CPU s, exit code, stdout, stderr)."""
    with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err:
        target_before = process_cpu_s(target_pid)
        start = time.monotonic()
        profiler = subprocess.Popen(cmd, cwd=REPO, env=env, stdout=out, stderr=err)
        try:
            _, status, usage = os.wait4(profiler.pid, 0)
        except BaseException:
            profiler.kill()
            profiler.wait()
            raise
        wall = time.monotonic() - start
        target_cpu = process_cpu_s(target_pid) - target_before
        profiler.returncode = os.waitstatus_to_exitcode(status)
        out.seek(0)
        err.seek(0)
        return (wall, usage.ru_utime + usage.ru_stime, target_cpu, profiler.returncode,
                out.read().decode(errors="replace"), err.read().decode(errors="replace"))


def failure_text(code, stdout, stderr):
    lines = (stderr or stdout).strip().splitlines()
    return "exit %d: %s" % (code, lines[-1] if lines else "no output")


def run_tachyon(python, pid, rate, seconds, workdir):
    run = Run(rate, "tachyon", "nonblocking")
    cmd = [python, "-m", "profiling.sampling", "attach", "-a", "-r", str(rate), "-d",
           str(seconds), "--collapsed", "-o", os.path.join(workdir, "tachyon.txt"), str(pid)]
    # Its statistics follow the locale (digit grouping); C keeps them plain.
    env = dict(os.environ, LC_ALL="C")
    run.wall_s, run.cpu_s, run.target_cpu_s, code, stdout, stderr = measure(cmd, pid, env)
    captured = CAPTURED.search(stdout)
    error_rate = ERROR_RATE.search(stdout)
    if code != 0 or not captured or not error_rate:
        run.failure = failure_text(code, stdout, stderr)
        return run
    attempts = int(re.sub(r"\D", "", captured.group(1)))
    run.errors = round(attempts * float(error_rate.group(1)) / 100)
    run.samples = attempts - run.errors
    run.sampling_s = float(captured.group(2).replace(",", ""))
    return run


def run_gilscope(gilscope, pid, rate, seconds, mode, workdir):
    run = Run(rate, "gilscope", mode)
    summary = os.path.join(workdir, "gilscope.json")
    cmd = [gilscope, "record", "--pid", str(pid), "-r", str(rate), "-d", str(seconds),
           "-o", os.path.join(workdir, "gilscope.svg"), "--summary", summary, "--baseline", "0"]
    if mode == "nonblocking":
        cmd.append("--nonblocking")
    run.wall_s, run.cpu_s, run.target_cpu_s, code, stdout, stderr = measure(cmd, pid)
    if code != 0:
        run.failure = failure_text(code, stdout, stderr)
        return run
    with open(summary) as summary_file:
        figures = json.load(summary_file)
    run.samples = figures["samples"]
    run.errors = figures["errors"]
    run.sampling_s = figures["duration_s"]
    return run


def ratio(gilscope_run, tachyon_run):
    if gilscope_run.cpu_us_per_sample is None or tachyon_run.cpu_us_per_sample is None:
        return None
    return gilscope_run.cpu_us_per_sample / tachyon_run.cpu_us_per_sample


def best(runs):
    """The run with the most samples/s: the highest rate the profiler sustained."""
    return max(runs, key=lambda run: run.samples_per_s)


def ratios(runs, modes):
    """gilscope/Tachyon CPU per sample, per mode: at each rate and at each one's best rate."""
    tachyon = [run for run in runs if run.profiler == "tachyon"]
    result = []
    for mode in modes:
        gilscope = [run for run in runs if run.profiler == "gilscope" and run.mode == mode]
        per_rate = {g.rate: ratio(g, t) for g, t in zip(gilscope, tachyon)}
        gilscope_best, tachyon_best = best(gilscope), best(tachyon)
        result.append({"mode": mode, "per_rate": per_rate,
                       "at_best": ratio(gilscope_best, tachyon_best),
                       "gilscope_best_rate": gilscope_best.rate,
                       "tachyon_best_rate": tachyon_best.rate})
    return result


def measure_all(args, python, gilscope, log):
    """(unprofiled target CPU % of a core, [Run]) over one target process."""
    target = start_target(python, args.threads, args.depth)
    try:
        with tempfile.TemporaryDirectory(prefix="cost_vs_tachyon.") as workdir:
            log("target pid %d ready; %d s unprofiled" % (target.pid, args.seconds))
            before = process_cpu_s(target.pid)
            time.sleep(args.seconds)
            unprofiled_pct = 100.0 * (process_cpu_s(target.pid) - before) / args.seconds
            runs = []
            for rate in args.rates:
                log("%d Hz: tachyon" % rate)
                runs.append(run_tachyon(python, target.pid, rate, args.seconds, workdir))
                for mode in args.modes:
                    log("%d Hz: gilscope %s" % (rate, mode))
                    runs.append(run_gilscope(gilscope, target.pid, rate, args.seconds, mode,
                                             workdir))
                if target.poll() is not None:
                    raise RuntimeError("the target exited during the runs")
            return unprofiled_pct, runs
    finally:
        target.kill()
        target.wait()


def number(value, form):
    return "-" if value is None else form % value


def print_table(args, unprofiled_pct, runs, summary):
    print("target: bench_threads.py %d %d; %d s per run; target CPU unprofiled: %.0f%% of a core"
          % (args.threads, args.depth, args.seconds, unprofiled_pct))
    header = ("rate", "profiler", "mode", "samples", "errors", "samples/s", "CPU us/sample",
              "CPU %", "target CPU %")
    rows = [header]
    for run in runs:
        rows.append((str(run.rate), run.profiler, run.mode, str(run.samples), str(run.errors),
                     "%.0f" % run.samples_per_s, number(run.cpu_us_per_sample, "%.1f"),
                     "%.0f" % run.cpu_pct, "%.0f" % run.target_cpu_pct))
    widths = [max(len(row[column]) for row in rows) for column in range(len(header))]
    for row in rows:
        print("  ".join(cell.rjust(width) for cell, width in zip(row, widths)))
    for run in runs:
        if run.failure:
            print("%s %s at %d Hz failed: %s" % (run.profiler, run.mode, run.rate, run.failure))
    for entry in summary:
        per_rate = ", ".join("%d Hz %s" % (rate, number(value, "%.2fx"))
                             for rate, value in entry["per_rate"].items())
        print("gilscope %s / tachyon CPU per sample: %s; at each one's most samples/s "
              "(gilscope %d Hz, tachyon %d Hz): %s"
              % (entry["mode"], per_rate, entry["gilscope_best_rate"],
                 entry["tachyon_best_rate"], number(entry["at_best"], "%.2fx")))


def main(argv):
    args = parse_args(argv)
    python, why_not = tachyon_python()
    if python is None:
        print(json.dumps({"skipped": why_not}) if args.json else "skipped: " + why_not)
        return 0
    gilscope = os.path.join(REPO, os.environ.get("GILSCOPE_BIN", "build/src/gilscope"))
    if not os.access(gilscope, os.X_OK):
        sys.stderr.write("cost_vs_tachyon: no gilscope binary at %s\n" % gilscope)
        return 1

    def log(message):
        sys.stderr.write("cost_vs_tachyon: %s\n" % message)

    load_average = os.getloadavg()[0]
    log("load average %.2f on %d CPUs" % (load_average, os.cpu_count()))
    unprofiled_pct, runs = measure_all(args, python, gilscope, log)
    summary = ratios(runs, args.modes)
    if args.json:
        json.dump({"threads": args.threads, "depth": args.depth, "seconds": args.seconds,
                   "load_average": load_average, "cpus": os.cpu_count(),
                   "target_unprofiled_cpu_pct": unprofiled_pct,
                   "runs": [run.as_dict() for run in runs], "ratios": summary},
                  sys.stdout, indent=2)
        print()
    else:
        print_table(args, unprofiled_pct, runs, summary)
    return 0


if __name__ == "__main__":
    try:
        sys.exit(main(sys.argv[1:]))
    except KeyboardInterrupt:
        sys.exit(130)
