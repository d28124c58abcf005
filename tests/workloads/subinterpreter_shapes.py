# Subinterpreters (CPython 3.12+), each running two threads that spin in pure Python.
#
#   python subinterpreter_shapes.py [isolated]   two subinterpreters with their own GIL: two
#                                                GIL holders at once, contention on each GIL
#   python subinterpreter_shapes.py legacy       one legacy subinterpreter, sharing the main
#                                                interpreter's GIL: one holder at a time
#
# Prints "ready" once the spinners run, then waits.
#
# Each subinterpreter is run by a thread of the main interpreter that calls its exec (blocking);
# the code run there starts the two spinners with the subinterpreter's own threading module and
# joins them. Starting the spinners from the main interpreter instead (two main threads calling
# exec on the same subinterpreter) is not safe on 3.12: its run_string runs every caller on the
# subinterpreter's one initial thread state (CPython gh-109860).
import sys
import threading
import time

SPINNERS = """
import threading
def spin_in_subinterpreter():
    n = 0
    while True:  # line: sub-spin
        n += 1
threads = [threading.Thread(target=spin_in_subinterpreter) for _ in range(2)]
for thread in threads:
    thread.start()
for thread in threads:
    thread.join()
"""


def interpreter_maker(isolated):
    """A function that creates a subinterpreter (with its own GIL when `isolated`, else sharing
    the main one's) and returns a callable running code in it, blocking, for this version's API."""
    if sys.version_info >= (3, 14):
        import _interpreters
        from concurrent import interpreters

        def make():
            if isolated:
                interp = interpreters.create()  # the "isolated" config: a GIL of its own
                return interp.exec
            # The public API makes isolated interpreters only.
            interp = _interpreters.create("legacy")
            return lambda code: _interpreters.exec(interp, code)
    elif sys.version_info >= (3, 13):
        import _interpreters

        def make():
            interp = _interpreters.create("isolated" if isolated else "legacy")
            return lambda code: _interpreters.exec(interp, code)
    else:
        import _xxsubinterpreters

        def make():
            interp = _xxsubinterpreters.create(isolated=isolated)
            return lambda code: _xxsubinterpreters.run_string(interp, code)
    return make


def main():
    shape = sys.argv[1] if len(sys.argv) > 1 else "isolated"
    if shape not in ("isolated", "legacy"):
        sys.exit("unknown shape %r (isolated or legacy)" % shape)
    make = interpreter_maker(shape == "isolated")
    runners = [make() for _ in range(2 if shape == "isolated" else 1)]
    threads = [threading.Thread(target=run, args=(SPINNERS,), daemon=True) for run in runners]
    for thread in threads:
        thread.start()
    time.sleep(1.0)  # the spinners start inside the subinterpreters
    sys.stdout.write("ready\n")
    sys.stdout.flush()
    while True:
        time.sleep(3600)


if __name__ == "__main__":
    main()
