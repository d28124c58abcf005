"""Two pure-Python spinners on a free-threaded build, optionally after importing an extension
module that does not declare free-threading support (which turns the GIL back on).

    python3.14t free_threaded_gil.py [EXT_DIR EXT_NAME]

Prints "ready GIL_ON" once both spin, GIL_ON being what the interpreter itself says
(sys._is_gil_enabled()): the ground truth gilscope's report is checked against.
"""

import sys
import threading
import warnings


def spin():
    while True:  # line: spin-loop
        pass


def main():
    if len(sys.argv) == 3:
        sys.path.insert(0, sys.argv[1])
        with warnings.catch_warnings():  # the RuntimeWarning that names the module
            warnings.simplefilter("ignore", RuntimeWarning)
            __import__(sys.argv[2])
    started = threading.Barrier(3)

    def run():
        started.wait()
        spin()

    for _ in range(2):
        threading.Thread(target=run, daemon=True).start()
    started.wait()
    print("ready", sys._is_gil_enabled(), flush=True)
    threading.Event().wait()


main()
