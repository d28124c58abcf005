# A workload with many threads for gilscope's safety tests. Runs on Python 2.7 and 3.6+.
#
#   usage: many_threads.py [SLEEPERS] [SPINNERS]      (defaults: 200 sleepers, 2 spinners)
#
# SLEEPERS threads sit in time.sleep and SPINNERS threads run a pure-Python loop (so the process
# keeps using CPU while it runs, and stops using it while paused). Prints "ready" once every
# thread is inside its function, then runs until killed.
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
    sleepers = int(sys.argv[1]) if len(sys.argv) > 1 else 200
    spinners = int(sys.argv[2]) if len(sys.argv) > 2 else 2
    threading.stack_size(256 << 10)  # keep hundreds of threads cheap
    plan = [sleep_forever] * sleepers + [spin_forever] * spinners
    threads = [threading.Thread(target=target) for target in plan]
    for thread in threads:
        thread.daemon = True
        thread.start()
    for _ in threads:
        started.acquire()
    sys.stdout.write("ready\n")
    sys.stdout.flush()
    while True:
        time.sleep(3600)


if __name__ == "__main__":
    main()
