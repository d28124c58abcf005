# A workload whose throughput can be read while it runs, for tests/tools/target_overhead.py.
# Runs on Python 2.7 and 3.6+.
#
#   usage: throughput_target.py SPINNERS SLEEPERS
#
# SPINNERS threads each add one to their own counter in a tight pure-Python loop; SLEEPERS
# threads stay blocked, half in time.sleep loops, half on a threading.Event that is never set.
# Prints "ready" once every thread is inside its function; then, for every "?" line it reads
# on stdin, prints "COUNT TIME": the sum of the spinners' counters and a monotonic timestamp in
# seconds. The main thread blocks reading stdin between requests; it exits when stdin closes.
import sys
import threading
import time

now = getattr(time, "monotonic", time.time)  # 2.7 has no monotonic clock
started = threading.Semaphore(0)
never = threading.Event()


def spin(counter):
    started.release()
    while True:
        counter[0] += 1


def sleep():
    started.release()
    while True:
        time.sleep(3600)


def wait():
    started.release()
    never.wait()


def start(target, args=()):
    thread = threading.Thread(target=target, args=args)
    thread.daemon = True
    thread.start()


def main():
    spinners, sleepers = int(sys.argv[1]), int(sys.argv[2])
    counters = [[0] for _ in range(spinners)]
    for counter in counters:
        start(spin, (counter,))
    for index in range(sleepers):
        start(sleep if index % 2 == 0 else wait)
    for _ in range(spinners + sleepers):
        started.acquire()
    sys.stdout.write("ready\n")
    sys.stdout.flush()
    while True:
        line = sys.stdin.readline()  # not "for line in sys.stdin": 2.7 would read ahead
        if not line:
            return
        if line.strip() == "?":
            sys.stdout.write("%d %.6f\n" % (sum(counter[0] for counter in counters), now()))
            sys.stdout.flush()


main()
