# Two subinterpreters with their own GIL (CPython 3.12+), each running two threads that spin in
# pure Python: gilscope must see two GIL holders at once, one per subinterpreter, and contention
# on each subinterpreter's GIL. The main interpreter's thread that runs each subinterpreter waits
# there (the subinterpreter's own main thread joins its spinners).
#
#   python subinterpreter_shapes.py       prints "ready" once all four spinners run, then waits
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


def isolated_interpreter_runner():
    """A function that creates an interpreter with its own GIL and returns a callable running
    code in it (blocking), for this version's API."""
    if sys.version_info >= (3, 13):
        import _interpreters
        def make():
            interp = _interpreters.create("isolated")
            return lambda code: _interpreters.exec(interp, code)
    else:
        import _xxsubinterpreters
        def make():
            interp = _xxsubinterpreters.create(isolated=True)
            return lambda code: _xxsubinterpreters.run_string(interp, code)
    return make


def main():
    make = isolated_interpreter_runner()
    runners = [make() for _ in range(2)]
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
