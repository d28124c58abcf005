# Workloads of known shape for gilscope's record tests. Runs on Python 2.7 and 3.6+.
#
#   usage: record_shapes.py SHAPE [--seconds S]
#
#   spin         two threads in spin(), a pure-Python loop: they take turns on the GIL
#   hash         two threads in hash_buffer(), native code on a large buffer that releases the
#                GIL (OpenSSL's sha256, or zlib.compress where hashlib lacks OpenSSL)
#   io           two thread pairs passing messages over socket pairs, two threads sleeping
#   native_hold  one thread in hold_in_c(): libc's usleep called through ctypes.PyDLL, which
#                keeps the GIL; two threads in spin() queue behind it
#
# The main thread waits idle: it prints "ready", lets the threads start work, and never takes
# the GIL again (after a write it could queue for it behind the spinners). Prints "ready" once every thread is inside its function, then
# runs until killed, or for S seconds and exits with status 0.
import hashlib
import os
import socket
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
go = threading.Event()  # set once "ready" is printed: the main thread is idle by the time work starts


def enter():
    started.release()
    go.wait()


def spin():
    enter()
    n = 0
    while True:
        n += 1


def hash_buffer():
    data = b"x" * (8 << 20)
    enter()
    while True:
        crunch(data)


def ping(sock):
    enter()
    while True:
        sock.sendall(b"ping")
        sock.recv(16)
        time.sleep(0.005)


def pong(sock):
    enter()
    while True:
        message = sock.recv(16)
        sock.sendall(message.upper())


def sleep_forever():
    enter()
    while True:
        time.sleep(0.01)


def hold_in_c():
    import ctypes
    usleep = ctypes.PyDLL(None).usleep  # PyDLL: the GIL stays held during the call
    enter()
    while True:
        usleep(50000)


def plan(shape):
    if shape == "spin":
        return [(spin, ()), (spin, ())]
    if shape == "hash":
        return [(hash_buffer, ()), (hash_buffer, ())]
    if shape == "io":
        threads = [(sleep_forever, ()), (sleep_forever, ())]
        for _ in range(2):
            a, b = socket.socketpair()
            threads += [(ping, (a,)), (pong, (b,))]
        return threads
    if shape == "native_hold":
        return [(hold_in_c, ()), (spin, ()), (spin, ())]
    raise SystemExit("unknown shape %r" % shape)


def main():
    seconds = None
    if "--seconds" in sys.argv:
        seconds = float(sys.argv[sys.argv.index("--seconds") + 1])
    threads = [threading.Thread(target=target, args=args) for target, args in plan(sys.argv[1])]
    for thread in threads:
        thread.daemon = True
        thread.start()
    for _ in threads:
        started.acquire()
    sys.stdout.write("ready\n")
    sys.stdout.flush()
    go.set()
    if seconds is None:
        threading.Event().wait()  # idle for good: never takes the GIL again
    time.sleep(seconds)
    sys.stdout.flush()
    os._exit(0)  # no interpreter teardown under running daemon threads (2.7 prints their errors)


if __name__ == "__main__":
    main()
