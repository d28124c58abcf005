# A workload of known shape for the process cap of `--subprocesses` (256 processes of a tree,
# the root included): the main process starts one Python child that spins in pure Python and
# SLEEPERS children that are not Python (/bin/sleep), the spinner first by default (so it
# likely has the lowest pid of them, within the cap) or last with --spinner-last (likely beyond
# it). Prints "ready SPINNER_PID" once every child is started, then sleeps; the spinner (this
# script run with --spin) prints "spinning PID" as it starts spinning, so the two lines come in
# either order. The test kills the whole process group; a spinner whose parent has gone stops.
# Runs on Python 3.
import os
import subprocess
import sys
import time

SLEEPERS = 300


def spin(parent):
    sys.stdout.write("spinning %d\n" % os.getpid())
    sys.stdout.flush()
    n = 0
    while True:  # line: wide-spin
        n += 1
        if n % 1000000 == 0 and os.getppid() != parent:
            return n


def main():
    if sys.argv[1:2] == ["--spin"]:
        spin(int(sys.argv[2]))
        return
    spinner_last = "--spinner-last" in sys.argv[1:]
    spinner_argv = [sys.executable, os.path.abspath(__file__), "--spin", str(os.getpid())]
    children = []
    if not spinner_last:
        children.append(subprocess.Popen(spinner_argv))
    for _ in range(SLEEPERS):
        children.append(subprocess.Popen(["sleep", "600"], stdin=subprocess.DEVNULL))
    if spinner_last:
        children.append(subprocess.Popen(spinner_argv))
    spinner = children[-1 if spinner_last else 0]
    sys.stdout.write("ready %d\n" % spinner.pid)
    sys.stdout.flush()
    while True:
        time.sleep(3600)  # line: wide-wait


if __name__ == "__main__":
    main()
