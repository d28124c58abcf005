# Workloads of known shape for gilscope's --native tests. Runs on Python 2.7 and 3.6+.
#
#   usage: native_shapes.py SHAPE [--seconds S] [--lib PATH]
#
#   regex           two threads in backtrack(), matching a regular expression with
#                   catastrophic backtracking; _sre runs the match in C holding the GIL (about
#                   a second per match), so one thread holds the GIL in native code while the
#                   other waits for it
#   hash            two threads in hash_buffer(), hashing a 16 MB buffer in C with the GIL
#                   released (OpenSSL's sha256, or zlib.compress where hashlib lacks OpenSSL)
#   ctypes_hold     two threads in call_c_holding(): gilscope_busy_outer() of the test library
#                   (tests/support/gilscope_testlib.c, which spins in gilscope_busy_inner())
#                   called through ctypes.PyDLL, which keeps the GIL: one thread holds the GIL
#                   in native code, the other waits
#   ctypes_release  two threads in call_c_releasing(): the same function called through
#                   ctypes.CDLL, which releases the GIL: both run native code in parallel
#   copy            two threads in copy_bytes(), copying a 64 MB bytearray into new bytes
#                   objects: the time goes to libc's memory copy (memcpy/memmove, which
#                   Debian's libc only names in its separate debug file), with the GIL held
#
# The test library's path comes from --lib PATH or the GILSCOPE_TESTLIB environment variable
# (ctypes shapes only). The "# line: NAME" comments mark lines the tests look for.
#
# The main thread waits idle: it prints "ready" once every worker thread is inside its
# function, lets them start work, and never takes the GIL again. Runs until killed, or for S
# seconds and exits with status 0.
import os
import re
import sys
import threading
import time
import zlib

try:
    import _hashlib  # noqa: F401  (OpenSSL-backed hashlib releases the GIL on large buffers)
    import hashlib
    HASH_NAME = "sha256"
except ImportError:
    hashlib = None
    HASH_NAME = "zlib"

BUSY_SECONDS = 0.25  # length of one call into the test library
MATCH_SECONDS = 0.5  # a regex match must take at least this long
PATTERN = re.compile(r"(a+)+$")  # on "aaa...ab": exponential backtracking, all inside _sre
started = threading.Semaphore(0)
gates = []  # one held lock per worker, released once "ready" is printed


# 2.7's GIL is not fair: it is offered only every 100 "ticks" (many loop iterations here, each
# one long C call), and a thread that lets it go takes it back before the woken waiter runs. The
# threads that hold it in C sleep a millisecond after each call there, so that they take turns
# as with Python 3's GIL (which hands it over by itself).
TAKE_TURNS = sys.version_info[0] == 2


def enter(gate):
    started.release()
    gate.acquire()  # a plain lock: blocks in C, and the main thread goes idle in a few bytecodes


def subject(length):
    return "a" * length + "b"


def calibrate_subject():
    """A subject on which one match takes at least MATCH_SECONDS here (each extra character
    roughly doubles the time): grows it until a match takes a quarter of that, then adds 3."""
    length = 16
    while length < 34:
        begun = time.time()
        PATTERN.match(subject(length))
        if time.time() - begun >= MATCH_SECONDS / 4:
            break
        length += 1
    return subject(length + 3)


def backtrack(gate, text):
    enter(gate)
    while True:
        PATTERN.match(text)  # line: backtrack-match
        if TAKE_TURNS:
            time.sleep(0.001)


def hash_buffer(gate):
    data = b"x" * (16 << 20)
    enter(gate)
    while True:
        if hashlib is not None:
            hashlib.sha256(data).digest()  # line: hash-sha256
        else:
            zlib.compress(data, 1)  # line: hash-zlib


def call_c_holding(gate, busy):
    enter(gate)
    while True:
        busy(BUSY_SECONDS)  # line: call-holding
        if TAKE_TURNS:
            time.sleep(0.001)


def call_c_releasing(gate, busy):
    enter(gate)
    while True:
        busy(BUSY_SECONDS)  # line: call-releasing


def copy_bytes(gate):
    data = bytearray(64 << 20)
    enter(gate)
    while True:
        bytes(data)  # line: copy-bytes
        if TAKE_TURNS:
            time.sleep(0.001)


def library_path():
    if "--lib" in sys.argv:
        return sys.argv[sys.argv.index("--lib") + 1]
    path = os.environ.get("GILSCOPE_TESTLIB")
    if not path:
        raise SystemExit("native_shapes.py: give the test library with --lib PATH or "
                         "GILSCOPE_TESTLIB (the gilscope_testlib target)")
    return path


def busy_function(loader):
    """gilscope_busy_outer of the test library, loaded with ctypes.PyDLL or ctypes.CDLL."""
    import ctypes
    library = getattr(ctypes, loader)(library_path())
    busy = library.gilscope_busy_outer
    busy.argtypes = [ctypes.c_double]
    busy.restype = ctypes.c_double
    return busy


def plan(shape):
    if shape == "regex":
        text = calibrate_subject()
        return [(backtrack, (text,)), (backtrack, (text,))]
    if shape == "hash":
        return [(hash_buffer, ()), (hash_buffer, ())]
    if shape == "ctypes_hold":
        busy = busy_function("PyDLL")  # PyDLL: the GIL stays held during the call
        return [(call_c_holding, (busy,)), (call_c_holding, (busy,))]
    if shape == "ctypes_release":
        busy = busy_function("CDLL")  # CDLL: ctypes releases the GIL around the call
        return [(call_c_releasing, (busy,)), (call_c_releasing, (busy,))]
    if shape == "copy":
        return [(copy_bytes, ()), (copy_bytes, ())]
    raise SystemExit("unknown shape %r" % shape)


def main():
    seconds = None
    if "--seconds" in sys.argv:
        seconds = float(sys.argv[sys.argv.index("--seconds") + 1])
    threads = []
    for target, args in plan(sys.argv[1]):
        gate = threading.Lock()
        gate.acquire()
        gates.append(gate)
        threads.append(threading.Thread(target=target, args=(gate,) + args))
    for thread in threads:
        thread.daemon = True
        thread.start()
    for _ in threads:
        started.acquire()
    idle = threading.Lock()
    idle.acquire()
    sys.stdout.write("ready\n")
    sys.stdout.flush()
    for gate in gates:
        gate.release()
    if seconds is None:
        idle.acquire()  # idle for good: never takes the GIL again
    time.sleep(seconds)
    sys.stdout.flush()
    os._exit(0)  # no interpreter teardown under running daemon threads (2.7 prints their errors)


if __name__ == "__main__":
    main()
