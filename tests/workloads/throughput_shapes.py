# Workloads of known shape that count their own work, for gilscope's "would it be faster
# without the GIL" estimate (tests/integration/whatif_test.py, tests/tools/whatif_check.py).
# Runs on Python 2.7 and 3.6+.
#
#   usage: throughput_shapes.py SHAPE [N] [--seconds S] [--warmup W]
#
#   spinners N        N threads in spin(): pure-Python arithmetic, always holding or waiting
#                     for the GIL; a unit is SPIN_CHUNK loop iterations
#   spinners_hashers  2 threads in spin() and 2 in hash_buffer()
#   hashers           2 threads in hash_buffer(): OpenSSL's sha256 over a HASH_BYTES buffer,
#                     which releases the GIL (zlib.compress where hashlib lacks OpenSSL); a
#                     unit is one buffer (about as long as a spinner's unit)
#   native_hold       2 threads in backtrack(): a regular expression with catastrophic
#                     backtracking, matched by _sre in C holding the GIL; a unit is one match
#                     (of SUBJECT: the same in every run)
#   io                2 threads in sleep_work() (time.sleep, then a little Python) and a pair
#                     in ping()/pong() passing messages over a socket pair, the pinger sleeping
#                     between messages; a unit is one cycle of either
#
# Prints "ready" once every worker thread is inside its function. Without --seconds, runs until
# killed. With --seconds S: lets the threads work W seconds (--warmup, default 0.5) unmeasured,
# then S seconds measured, prints one JSON line {"shape", "threads", "units", "by_kind",
# "seconds", "per_second"} (units done by all threads in the measured interval, the same per
# kind of thread, e.g. {"spin": 900, "hash": 700}, and the interval's length in seconds)
# and exits with status 0. The main thread sleeps meanwhile and never competes for the GIL.
# Counters are per thread (a list each): no shared counter that threads fight over.
import json
import os
import re
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

now = getattr(time, "monotonic", time.time)  # 2.7 has no monotonic clock
# A spinner's unit and a hasher's take about the same CPU time (half a millisecond on 3.14t),
# so that spinners_hashers' total counts work of both kinds alike.
SPIN_CHUNK = 20000  # loop iterations per unit
HASH_BYTES = 1 << 20
# The same subject in every run, so that a unit (one match) costs the same whatever the run:
# about 10-25 ms here (each extra character roughly doubles the time).
SUBJECT = "a" * 17 + "b"
PATTERN = re.compile(r"(a+)+$")  # on "aaa...ab": exponential backtracking, all inside _sre
SLEEP_SECONDS = 0.005
started = threading.Semaphore(0)
go = threading.Event()  # set once "ready" is printed


def enter():
    started.release()
    go.wait()


def spin(counter):
    enter()
    while True:
        n = 0
        for _ in range(SPIN_CHUNK):
            n += 1
        counter[0] += 1


def hash_buffer(counter):
    data = b"x" * HASH_BYTES
    enter()
    while True:
        crunch(data)
        counter[0] += 1


def backtrack(counter, text):
    enter()
    while True:
        PATTERN.match(text)
        counter[0] += 1
        if sys.version_info[0] == 2:
            time.sleep(0.001)  # 2.7's GIL is not fair: let the other thread take a turn


def little_work():
    n = 0
    for _ in range(200):
        n += 1


def sleep_work(counter):
    enter()
    while True:
        time.sleep(SLEEP_SECONDS)
        little_work()
        counter[0] += 1


def ping(counter, sock):
    enter()
    while True:
        sock.sendall(b"ping")
        sock.recv(16)
        little_work()
        counter[0] += 1
        time.sleep(SLEEP_SECONDS)


def pong(counter, sock):
    enter()
    while True:
        message = sock.recv(16)
        sock.sendall(message.upper())
        counter[0] += 1


KINDS = {"spin": "spin", "hash_buffer": "hash", "backtrack": "match", "sleep_work": "sleep",
         "ping": "socket", "pong": "socket"}


def plan(shape, count):
    """[(function, extra args)] of the worker threads of shape."""
    if shape == "spinners":
        return [(spin, ())] * count
    if shape == "spinners_hashers":
        return [(spin, ())] * 2 + [(hash_buffer, ())] * 2
    if shape == "hashers":
        return [(hash_buffer, ())] * 2
    if shape == "native_hold":
        return [(backtrack, (SUBJECT,))] * 2
    if shape == "io":
        left, right = socket.socketpair()
        return [(sleep_work, ()), (sleep_work, ()), (ping, (left,)), (pong, (right,))]
    raise SystemExit("unknown shape %r" % shape)


def option(name, default):
    if name in sys.argv:
        return float(sys.argv[sys.argv.index(name) + 1])
    return default


def main():
    shape = sys.argv[1]
    count = 2
    if len(sys.argv) > 2 and sys.argv[2].isdigit():
        count = int(sys.argv[2])
    seconds = option("--seconds", None)
    warmup = option("--warmup", 0.5)
    counters = []  # (kind, counter)
    threads = []
    for target, args in plan(shape, count):
        counter = [0]
        counters.append((KINDS[target.__name__], counter))
        threads.append(threading.Thread(target=target, args=(counter,) + args))
    for thread in threads:
        thread.daemon = True
        thread.start()
    for _ in threads:
        started.acquire()
    sys.stdout.write("ready\n")
    sys.stdout.flush()
    go.set()
    if seconds is None:
        while True:
            time.sleep(3600)
    time.sleep(warmup)
    first, begun = [c[0] for _, c in counters], now()
    time.sleep(seconds)
    last, ended = [c[0] for _, c in counters], now()
    by_kind = {}
    for (kind, _), before, after in zip(counters, first, last):
        by_kind[kind] = by_kind.get(kind, 0) + after - before
    units, elapsed = sum(by_kind.values()), ended - begun
    sys.stdout.write(json.dumps({"shape": shape, "threads": len(threads), "units": units,
                                 "by_kind": by_kind, "seconds": elapsed,
                                 "per_second": units / elapsed}) + "\n")
    sys.stdout.flush()
    os._exit(0)  # no interpreter teardown under running daemon threads (2.7 prints their errors)


if __name__ == "__main__":
    main()
