# A workload of known shape for gilscope's integration tests: one thread, the main one, running
# a pure-Python loop, and no other thread ever started (so 2.7 and 3.6 never create their GIL).
# Runs on Python 2.7 and 3.6+. Prints "ready", then spins until killed.
import sys


def spin():
    sys.stdout.write("ready\n")
    sys.stdout.flush()
    n = 0
    while True:  # line: lone-spin
        n += 1


spin()
