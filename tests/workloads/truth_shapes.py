# A workload whose GIL truth is known by construction, for the truth harness
# (tests/tools/truth_harness.py). Runs on Python 2.7 and 3.6+. gil_shapes.py's threads, with
# the spinners counted and a socket reader added:
#
#   spinner-1..N (--spinners N, default 2): pure-Python loops: always holding or waiting for the GIL
#   hasher:   hashing a large buffer: never idle (on 3.x mostly running without the GIL)
#   holder:   (where ctypes works) libc's usleep(200) called through ctypes.PyDLL, which keeps
#             the GIL, in a loop: always holding (in native code) or waiting for the GIL
#   sleeper:  time.sleep: always idle
#   blocked:  threading.Event().wait(): always idle
#   reader:   recv on a socket nobody writes to: always idle
#   main:     time.sleep: always idle
#
# Prints "ready" once every thread is inside its function, then runs until killed.
import socket
import sys
import time

import gil_shapes as shapes  # beside this file, so on sys.path when run as a script


def read_forever(sock):
    shapes.started.release()
    sock.recv(1)


def hold_forever():
    import ctypes
    usleep = ctypes.PyDLL(None).usleep  # PyDLL: the GIL stays held during the call
    shapes.started.release()
    while True:
        usleep(200)


def can_hold():
    try:
        import ctypes
        ctypes.PyDLL(None).usleep
        return True
    except (ImportError, OSError, AttributeError):
        return False


def main():
    spinners = 2
    if "--spinners" in sys.argv:
        spinners = int(sys.argv[sys.argv.index("--spinners") + 1])
    quiet, _ = socket.socketpair()
    plan = [("spinner-%d" % n, shapes.spin_forever, ()) for n in range(1, spinners + 1)]
    plan += [("hasher", shapes.hash_forever, ()), ("sleeper", shapes.sleep_forever, ()),
             ("blocked", shapes.block_forever, ()), ("reader", read_forever, (quiet,))]
    if can_hold():
        plan.append(("holder", hold_forever, ()))
    shapes.start_all(plan)
    while True:
        time.sleep(3600)


if __name__ == "__main__":
    main()
