# A target that changes while gilscope samples it. Runs on Python 2.7 and 3.6+.
#
#   usage: changing_target.py MODE
#     churn  threads start and end all the time (each lives for a few ms), one spinner stays
#     fork   forks a child every 50 ms (the child spins for 20 ms and exits), one spinner stays
#     exec   spins for 1.5 s, then execs /bin/sleep 30: no longer Python, same pid
#
# Prints "ready" once it runs, then runs until killed (exec: until sleep ends).
import os
import sys
import threading
import time


def spin():
    n = 0
    while True:
        n += 1


def short_life():
    end = time.time() + 0.003
    while time.time() < end:
        pass


def churn():
    while True:
        batch = [threading.Thread(target=short_life) for _ in range(8)]
        for thread in batch:
            thread.start()
        for thread in batch:
            thread.join()


def fork_often():
    while True:
        pid = os.fork()
        if pid == 0:
            end = time.time() + 0.02
            while time.time() < end:
                pass
            os._exit(0)
        os.waitpid(pid, 0)
        time.sleep(0.05)


def main():
    mode = sys.argv[1]
    spinner = threading.Thread(target=spin, name="spinner")
    spinner.daemon = True
    spinner.start()
    sys.stdout.write("ready\n")
    sys.stdout.flush()
    if mode == "churn":
        churn()
    elif mode == "fork":
        fork_often()
    elif mode == "exec":
        time.sleep(1.5)
        os.execv("/bin/sleep", ["sleep", "30"])
    else:
        raise SystemExit("unknown mode " + mode)


if __name__ == "__main__":
    main()
