# A workload whose GIL truth is known by construction, for the truth harness
# (tests/tools/truth_harness.py). Runs on Python 2.7 and 3.6+.
#
#   spinner-1..N (--spinners N, default 2): pure-Python loops: always holding or waiting for the GIL
#   hasher:   hashing (OpenSSL's sha256, or zlib where hashlib has no OpenSSL) a large buffer:
#             never idle (on 3.x it runs mostly without the GIL)
#   sleeper:  time.sleep: always idle
#   blocked:  threading.Event().wait(): always idle
#   reader:   recv on a socket nobody writes to: always idle
#   main:     time.sleep: always idle
#
# Prints "ready" once every thread is inside its function, then runs until killed.
import socket
import sys
import threading
import time
import zlib

try:
    import _hashlib  # noqa: F401  (OpenSSL-backed hashlib releases the GIL on large buffers)
    import hashlib

    def crunch(data):
        return hashlib.sha256(data).digest()
except ImportError:
    def crunch(data):
        return zlib.compress(data, 1)

started = threading.Semaphore(0)


def spin_forever():
    started.release()
    n = 0
    while True:
        n += 1


def hash_forever():
    data = b"x" * (32 << 20)
    started.release()
    while True:
        crunch(data)


def sleep_forever():
    started.release()
    while True:
        time.sleep(3600)


def block_forever():
    started.release()
    threading.Event().wait()


def read_forever(sock):
    started.release()
    sock.recv(1)


def main():
    spinners = 2
    if "--spinners" in sys.argv:
        spinners = int(sys.argv[sys.argv.index("--spinners") + 1])
    quiet, _ = socket.socketpair()
    plan = [("spinner-%d" % n, spin_forever, ()) for n in range(1, spinners + 1)]
    plan += [("hasher", hash_forever, ()), ("sleeper", sleep_forever, ()),
             ("blocked", block_forever, ()), ("reader", read_forever, (quiet,))]
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
    while True:
        time.sleep(3600)


if __name__ == "__main__":
    main()
