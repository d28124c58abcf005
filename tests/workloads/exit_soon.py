# A workload that exits on its own while gilscope may be reading it. Runs on Python 2.7 and 3.6+.
#
#   usage: exit_soon.py MODE      MODE: "os_exit"  (os._exit: no interpreter shutdown)
#                                       "finalize" (main returns: interpreter shutdown runs,
#                                                   with daemon threads still spinning/sleeping)
#
# Starts 2 spinning and 20 sleeping daemon threads, prints "ready", then reads one line from stdin:
# a delay in seconds. It sleeps that long and exits in the chosen way.
import os
import sys
import threading
import time

started = threading.Semaphore(0)


def spin_forever():
    started.release()
    n = 0
    while True:
        n += 1


def sleep_forever():
    started.release()
    while True:
        time.sleep(3600)


def main():
    mode = sys.argv[1]
    if mode not in ("os_exit", "finalize"):
        sys.exit("unknown mode %r" % mode)
    plan = [spin_forever] * 2 + [sleep_forever] * 20
    for target in plan:
        thread = threading.Thread(target=target)
        thread.daemon = True
        thread.start()
    for _ in plan:
        started.acquire()
    sys.stdout.write("ready\n")
    sys.stdout.flush()
    delay = float(sys.stdin.readline())
    time.sleep(delay)
    if mode == "os_exit":
        os._exit(0)


if __name__ == "__main__":
    main()
