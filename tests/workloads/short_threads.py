# A workload of known shape for gilscope's integration tests: a thread-per-request server's
# shape without the network. The main thread starts short-lived threads with threading's
# default names ("Thread-12 (handle_request)" on 3.10+, "Thread-12" before), each running a
# pure-Python loop for about 20 ms, four at a time, until killed; two named spinners run
# alongside and stay two rows. Runs on Python 2.7 and 3.6+. Prints "ready" once the first
# batch has started.
import sys
import threading
import time


def handle_request():
    deadline = time.time() + 0.02
    n = 0
    while time.time() < deadline:
        n += 1


def spin():
    n = 0
    while True:
        n += 1


def main():
    for name in ("spinner-1", "spinner-2"):
        spinner = threading.Thread(target=spin, name=name)
        spinner.daemon = True
        spinner.start()
    ready = False
    while True:
        batch = [threading.Thread(target=handle_request) for _ in range(4)]
        for thread in batch:
            thread.start()
        if not ready:
            sys.stdout.write("ready\n")
            sys.stdout.flush()
            ready = True
        for thread in batch:
            thread.join()


main()
