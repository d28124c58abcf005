# A workload of known shape for gilscope's integration tests. Runs on Python 2.7 and 3.6+.
#
#   spinner-1, spinner-2: pure-Python loops in spin_forever (they take turns on the GIL)
#   sleeper:              time.sleep in sleep_forever
#   blocked:              threading.Event().wait() in block_forever
#   hasher:               native code over a large buffer in hash_forever, releasing the GIL:
#                         OpenSSL's sha256 where hashlib has it; zlib.compress otherwise (2.7
#                         and 3.6 built without OpenSSL fall back to a sha256 that keeps the GIL)
#
# Prints "ready" once every thread is inside its function, then runs until killed.
# Line markers ("# line: NAME") let tests find expected line numbers without hard-coding them.
import hashlib
import sys
import threading
import time
import zlib

try:
    import _hashlib  # noqa: F401  (OpenSSL-backed hashlib releases the GIL on large buffers)

    def crunch(data):
        return hashlib.sha256(data).digest()
except ImportError:
    def crunch(data):
        return zlib.compress(data, 1)

started = threading.Semaphore(0)


def spin_forever():
    started.release()
    n = 0
    while True:  # line: spin-loop
        n += 1  # line: spin-body


def sleep_forever():
    started.release()
    while True:
        time.sleep(3600)  # line: sleep


def block_forever():
    started.release()
    threading.Event().wait()  # line: block


def hash_forever():
    data = b"x" * (32 << 20)
    started.release()
    while True:
        crunch(data)  # line: hash


def start_all(plan):
    """Starts a daemon thread per (name, target, args) of plan, waits until each is inside its
    function and settled, then prints "ready"."""
    threads = [threading.Thread(target=target, name=name, args=args)
               for name, target, args in plan]
    for thread in threads:
        thread.daemon = True
        thread.start()
    for _ in threads:
        started.acquire()
    time.sleep(0.2)  # let every thread reach its steady state
    sys.stdout.write("ready\n")
    sys.stdout.flush()


def main():
    plan = [("spinner-1", spin_forever, ()), ("spinner-2", spin_forever, ()),
            ("sleeper", sleep_forever, ()), ("blocked", block_forever, ()),
            ("hasher", hash_forever, ())]
    if "--no-hasher" in sys.argv:
        plan = plan[:-1]
    start_all(plan)
    while True:
        time.sleep(3600)  # line: main


if __name__ == "__main__":
    main()
