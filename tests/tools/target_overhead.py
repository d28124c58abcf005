#!/usr/bin/env python3
"""Target overhead of `gilscope record`: the throughput the profiled program loses while it is
recorded, and how much of the time gilscope keeps its threads stopped.

Starts a workload that reports its own progress ("COUNT TIME" for every "?" line on its stdin),
then, for each gilscope setting, runs --pairs pairs of windows, --window seconds each, taking
turns so that drift in the machine's speed cancels out: an unrecorded window (the workload left
alone), then a recorded one (`gilscope record --pid PID -d WINDOW --baseline 0 -o TMP.svg
--summary TMP.json SETTING`, from its start to its exit). The throughput of a window is
delta COUNT / delta TIME between its first and last reading. Per setting it reports:

  loss %          1 - recorded / unrecorded throughput, per pair: the median, then min..max.
  stopped %       the share of the recorded time the target's threads were stopped, from the
                  "... X% of the time (Y us per sample)" line gilscope prints on stderr when it
                  pauses the target (median over the pairs; "-" when it does not pause).
  us/sample       Y of that line: microseconds stopped per sample (median).
  samples/s       "samples" / "duration_s" of the summary JSON: the rate achieved (median).
  unrecorded/s, recorded/s   the median throughputs themselves.

Scenarios (--scenario):
  threads  tests/workloads/throughput_target.py 1 9: one thread counting in a pure-Python
           loop and nine blocked ones; throughput = its count per second.
  http     tests/workloads/http_target.py, a ThreadingHTTPServer (the profiled process), loaded
           by `http_target.py load PORT 16` in a second, unprofiled process of the same
           interpreter; throughput = requests per second the load generator completed.

Each scenario has its default list of settings; --settings replaces it (';' between settings,
each split like a shell command line). The machine's load average is printed before and after:
other work on the CPUs skews both kinds of window, but not always equally. Exits 1 when a
workload fails or a gilscope run fails (the table then says why), 0 otherwise.

  scripts/target_overhead.sh
  scripts/target_overhead.sh --scenario http --pairs 5 --window 5
  scripts/target_overhead.sh --settings "-r 100; -r 100 --nonblocking" --json
"""
import argparse
import contextlib
import dataclasses
import json
import os
import re
import select
import shlex
import statistics
import subprocess
import sys
import tempfile
import time

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
WORKLOADS = os.path.join(REPO, "tests", "workloads")
PYENV_PYTHON = "/root/.pyenv/versions/3.12.1/bin/python3"
SCENARIOS = {
    "threads": ["-r 100", "-r 100 --nonblocking", "-r 1000", "-r 1000 --nonblocking"],
    "http": ["-r 100", "-r 100 --native", "-r 100 --nonblocking"],
}
HTTP_CONNECTIONS = 16
STOPPED = re.compile(r"([0-9.]+)% of the time \(([0-9.]+) us per sample\)")
READ_TIMEOUT_S = 10.0  # for a workload's answer; it only needs the GIL to give one
GILSCOPE_GRACE_S = 30.0  # beyond --window, for gilscope to attach, finish and write


@dataclasses.dataclass
class Pair:
    """One unrecorded window and the recorded window after it."""
    unrecorded: float  # throughput, per second
    recorded: float = 0.0
    stopped_pct: float = None  # None: gilscope did not say (it did not pause the target)
    us_per_sample: float = None
    samples: int = 0
    sampling_s: float = 0.0  # the summary's duration_s
    recorded_wall_s: float = 0.0  # gilscope's whole run, attach to exit
    failure: str = ""

    @property
    def loss_pct(self):
        return 100.0 * (1.0 - self.recorded / self.unrecorded) if self.unrecorded else None

    @property
    def samples_per_s(self):
        return self.samples / self.sampling_s if self.sampling_s else None

    def as_dict(self):
        fields = dataclasses.asdict(self)
        fields.update(loss_pct=self.loss_pct, samples_per_s=self.samples_per_s)
        return fields


class Workload:
    """A child process spoken to line by line over its stdin and stdout."""

    def __init__(self, argv):
        self.process = subprocess.Popen(argv, cwd=REPO, stdin=subprocess.PIPE,
                                        stdout=subprocess.PIPE, bufsize=0)

    def kill(self):
        self.process.kill()
        self.process.wait()

    def read_line(self):
        """The next line it prints (unbuffered reads: nothing hides from select)."""
        ready, _, _ = select.select([self.process.stdout], [], [], READ_TIMEOUT_S)
        if not ready:
            raise RuntimeError("%s did not answer within %g s" % (self.name(), READ_TIMEOUT_S))
        line = self.process.stdout.readline().decode(errors="replace")
        if not line:
            raise self.exited()
        return line.strip()

    def expect(self, prefix):
        line = self.read_line()
        if not line.startswith(prefix):
            raise RuntimeError("%s printed %r, not %r" % (self.name(), line, prefix))
        return line

    def progress(self):
        """(COUNT, TIME) as it answers "?"."""
        try:
            self.process.stdin.write(b"?\n")
        except BrokenPipeError:
            raise self.exited() from None
        count, stamp = self.read_line().split()
        return int(count), float(stamp)

    def exited(self):
        return RuntimeError("%s exited (status %s)" % (self.name(), self.process.wait()))

    def name(self):
        return " ".join(os.path.basename(arg) for arg in self.process.args[1:])


def parse_args(argv):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scenario", choices=sorted(SCENARIOS), default="threads")
    parser.add_argument("--python", help="the workloads' interpreter (default %s if present, "
                        "else /usr/bin/python3)" % PYENV_PYTHON)
    parser.add_argument("--gilscope", default=os.path.join(
        REPO, os.environ.get("GILSCOPE_BIN", "build/src/gilscope")),
        help="default: $GILSCOPE_BIN, else build/src/gilscope")
    parser.add_argument("--pairs", type=int, default=3, help="unrecorded+recorded window pairs")
    parser.add_argument("--window", type=float, default=3.0, help="seconds per window")
    parser.add_argument("--settings", help="';'-separated gilscope settings (default: the "
                        "scenario's); write --settings=... for one like --native")
    parser.add_argument("--json", action="store_true", help="print JSON instead of a table")
    args = parser.parse_args(argv)
    if args.pairs < 1 or args.window <= 0:
        parser.error("--pairs and --window must be positive")
    if args.python is None:
        args.python = PYENV_PYTHON if os.access(PYENV_PYTHON, os.X_OK) else "/usr/bin/python3"
    settings = args.settings.split(";") if args.settings else SCENARIOS[args.scenario]
    args.settings = [setting.strip() for setting in settings if setting.strip()]
    if not args.settings:
        parser.error("--settings names no setting")
    return args


def start_workloads(args, children):
    """(the process to record, the workload whose progress counts); children kills them all."""
    def start(script, *script_args):
        workload = Workload([args.python, os.path.join(WORKLOADS, script)] + list(script_args))
        children.callback(workload.kill)
        return workload

    if args.scenario == "threads":
        target = start("throughput_target.py", "1", "9")
        target.expect("ready")
        return target, target
    server = start("http_target.py")
    port = server.expect("port ").split()[1]
    load = start("http_target.py", "load", port, str(HTTP_CONNECTIONS))
    load.expect("ready")
    return server, load


def throughput(before, after):
    (count_before, time_before), (count_after, time_after) = before, after
    return (count_after - count_before) / (time_after - time_before)


def unrecorded_window(counter, window):
    before = counter.progress()
    time.sleep(window)
    return throughput(before, counter.progress())


def record(args, pid, setting, workdir):
    """Runs gilscope over one window: (exit status, its stderr, summary path)."""
    summary = os.path.join(workdir, "summary.json")
    with contextlib.suppress(FileNotFoundError):
        os.remove(summary)
    cmd = ([args.gilscope, "record", "--pid", str(pid), "-d", "%g" % args.window,
            "--baseline", "0", "-o", os.path.join(workdir, "flame.svg"), "--summary", summary]
           + shlex.split(setting))
    # run() kills gilscope on any exception, KeyboardInterrupt and the timeout included.
    done = subprocess.run(cmd, cwd=REPO, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                          timeout=args.window + GILSCOPE_GRACE_S)
    return done.returncode, done.stderr.decode(errors="replace"), summary


def recorded_window(args, pair, target, counter, setting, workdir):
    """Fills pair's recorded figures from one gilscope run over target."""
    before = counter.progress()
    start = time.monotonic()
    status, stderr, summary = record(args, target.process.pid, setting, workdir)
    pair.recorded_wall_s = time.monotonic() - start
    pair.recorded = throughput(before, counter.progress())
    if status != 0 or not os.path.exists(summary):
        lines = stderr.strip().splitlines()
        pair.failure = "exit %d: %s" % (status, lines[-1] if lines else "no output")
        return
    stopped = STOPPED.search(stderr)
    if stopped:
        pair.stopped_pct, pair.us_per_sample = float(stopped.group(1)), float(stopped.group(2))
    with open(summary) as summary_file:
        figures = json.load(summary_file)
    pair.samples, pair.sampling_s = figures["samples"], figures["duration_s"]


def measure_setting(args, target, counter, setting, workdir, log):
    pairs = []
    for index in range(args.pairs):
        log("%s: pair %d/%d" % (setting, index + 1, args.pairs))
        pair = Pair(unrecorded=unrecorded_window(counter, args.window))
        recorded_window(args, pair, target, counter, setting, workdir)
        pairs.append(pair)
    return pairs


def median(values):
    values = [value for value in values if value is not None]
    return statistics.median(values) if values else None


def summarize(setting, pairs):
    good = [pair for pair in pairs if not pair.failure]
    losses = [pair.loss_pct for pair in good if pair.loss_pct is not None]
    return {
        "setting": setting,
        "loss_pct": median(losses),
        "loss_min_pct": min(losses) if losses else None,
        "loss_max_pct": max(losses) if losses else None,
        "stopped_pct": median(pair.stopped_pct for pair in good),
        "us_per_sample": median(pair.us_per_sample for pair in good),
        "samples_per_s": median(pair.samples_per_s for pair in good),
        "unrecorded_per_s": median(pair.unrecorded for pair in good),
        "recorded_per_s": median(pair.recorded for pair in good),
        "failures": [pair.failure for pair in pairs if pair.failure],
        "pairs": [pair.as_dict() for pair in pairs],
    }


def measure_all(args, log):
    with contextlib.ExitStack() as children:
        target, counter = start_workloads(args, children)
        log("recording pid %d (%s)" % (target.process.pid, target.name()))
        with tempfile.TemporaryDirectory(prefix="target_overhead.") as workdir:
            return [summarize(setting, measure_setting(args, target, counter, setting,
                                                       workdir, log))
                    for setting in args.settings]


def number(value, form):
    return "-" if value is None else form % value


def print_table(header, results):
    print("scenario %s on %s; pairs %d, windows of %g s; load average %.2f before, %.2f "
          "after, on %d CPUs" % (header["scenario"], header["python"], header["pairs"], header["window_s"],
                       header["load_before"], header["load_after"], header["cpus"]))
    columns = ("setting", "loss %", "loss min..max", "stopped %", "us/sample", "samples/s",
               "unrecorded/s", "recorded/s")
    rows = [columns]
    for result in results:
        rows.append((result["setting"], number(result["loss_pct"], "%.1f"),
                     "%s..%s" % (number(result["loss_min_pct"], "%.1f"),
                                 number(result["loss_max_pct"], "%.1f")),
                     number(result["stopped_pct"], "%.2f"),
                     number(result["us_per_sample"], "%.0f"),
                     number(result["samples_per_s"], "%.0f"),
                     number(result["unrecorded_per_s"], "%.0f"),
                     number(result["recorded_per_s"], "%.0f")))
    widths = [max(len(row[column]) for row in rows) for column in range(len(columns))]
    for row in rows:
        print("  ".join([row[0].ljust(widths[0])] +
                        [cell.rjust(width) for cell, width in zip(row[1:], widths[1:])]))
    for result in results:
        for failure in result["failures"]:
            print("%s: gilscope failed: %s" % (result["setting"], failure))


def main(argv):
    args = parse_args(argv)
    if not os.access(args.gilscope, os.X_OK):
        sys.stderr.write("target_overhead: no gilscope binary at %s\n" % args.gilscope)
        return 1

    def log(message):
        sys.stderr.write("target_overhead: %s\n" % message)

    load_before = os.getloadavg()[0]
    results = measure_all(args, log)
    header = {"scenario": args.scenario, "python": args.python, "gilscope": args.gilscope,
              "pairs": args.pairs, "window_s": args.window, "load_before": load_before,
              "load_after": os.getloadavg()[0], "cpus": os.cpu_count()}
    if args.json:
        json.dump(dict(header, results=results), sys.stdout, indent=2)
        print()
    else:
        print_table(header, results)
    return 1 if any(result["failures"] for result in results) else 0


if __name__ == "__main__":
    try:
        sys.exit(main(sys.argv[1:]))
    except RuntimeError as error:  # a workload that failed to start or to answer
        sys.stderr.write("target_overhead: %s\n" % error)
        sys.exit(1)
    except KeyboardInterrupt:
        sys.exit(130)
