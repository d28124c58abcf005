# A large target for gilscope's load tests. Runs on Python 2.7 and 3.6+.
#
#   usage: load_shapes.py THREADS DEPTH
#
# THREADS threads sleep, each DEPTH // 10 calls deep (so stacks differ in depth), and the main
# thread recurses DEPTH calls deep (recurse) and spins at the bottom (bottom). Prints "ready"
# once every thread is in place, then runs until killed.
import sys
import threading
import time

started = threading.Semaphore(0)


def bottom():
    sys.stdout.write("ready\n")  # every thread is in place: the main one DEPTH calls deep
    sys.stdout.flush()
    n = 0
    while True:
        n += 1


def recurse(depth, leaf):
    if depth <= 1:
        return leaf()
    return recurse(depth - 1, leaf)


def nap():
    started.release()
    while True:
        time.sleep(3600)


def main():
    threads, depth = int(sys.argv[1]), int(sys.argv[2])
    sys.setrecursionlimit(depth + 1000)
    threading.stack_size(512 << 10)
    workers = [threading.Thread(target=recurse, args=(depth // 10, nap)) for _ in range(threads)]
    for worker in workers:
        worker.daemon = True
        worker.start()
    for _ in workers:
        started.acquire()
    recurse(depth - 1, bottom)  # main() is the outermost of the DEPTH frames below <module>


if __name__ == "__main__":
    main()
