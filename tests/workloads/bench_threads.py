# The target of gilscope's sample-cost benchmark (tests/bench/sample_cost.cc). Runs on Python
# 2.7 and 3.6+.
#
#   usage: bench_threads.py [THREADS] [DEPTH]      (defaults: 10 threads, 15 frames deep)
#
# THREADS Python threads in all, the main thread included. Each recurses DEPTH frames deep
# through a few distinct functions (as real call stacks go through several), then works there:
# threads 0, 2, 4, ... (the main thread first) spin in pure Python, calling a small function
# again and again so the innermost frame comes and goes; the others alternate between sleeping
# in time.sleep and blocking on a threading.Event that is never set. Prints "ready" once every
# thread is at its working depth, then runs until killed.
import sys
import threading
import time

started = threading.Semaphore(0)
never = threading.Event()


def leaf(n):
    return n + 1


def spin():
    n = 0
    while True:
        n = leaf(n)


def sleep():
    while True:
        time.sleep(3600)


def block():
    while True:
        never.wait()  # no timeout: 2.7 polls when given one


# Four frame functions taking turns, one frame each, so a stack holds several code objects.
def level_a(depth, work, arrived):
    if depth <= 1:
        arrived()
        return work()
    return level_b(depth - 1, work, arrived)


def level_b(depth, work, arrived):
    if depth <= 1:
        arrived()
        return work()
    return level_c(depth - 1, work, arrived)


def level_c(depth, work, arrived):
    if depth <= 1:
        arrived()
        return work()
    return level_d(depth - 1, work, arrived)


def level_d(depth, work, arrived):
    if depth <= 1:
        arrived()
        return work()
    return level_a(depth - 1, work, arrived)


def role(index):
    if index % 2 == 0:
        return spin
    return sleep if (index // 2) % 2 == 0 else block


def main():
    threads = int(sys.argv[1]) if len(sys.argv) > 1 else 10
    depth = int(sys.argv[2]) if len(sys.argv) > 2 else 15
    if threads < 1 or depth < 1:
        sys.stderr.write("usage: bench_threads.py [THREADS>=1] [DEPTH>=1]\n")
        sys.exit(2)
    threading.stack_size(1 << 20)
    workers = []
    for index in range(1, threads):
        worker = threading.Thread(target=level_a, name="bench-%d" % index,
                                  args=(depth, role(index), started.release))
        worker.daemon = True
        worker.start()
        workers.append(worker)
    for _ in workers:
        started.acquire()

    def announce():
        sys.stdout.write("ready\n")
        sys.stdout.flush()

    level_a(depth, role(0), announce)


if __name__ == "__main__":
    main()
