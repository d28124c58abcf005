# A workload of known shape for `gilscope dump --subprocesses`: the main process starts a
# multiprocessing pool of 3 workers (forked where the platform offers it), gives each a task
# that spins in pure Python forever, and waits on the results. Each worker prints
# "worker PID" once it spins; the parent then prints "ready PID" and blocks in
# AsyncResult.get(). Runs on Python 2.7 and 3.6+.
# A worker whose parent has gone stops spinning, so a killed test leaves nothing behind.
# With --wait-for-go the parent first prints "ready PID" and starts the pool only once a line
# arrives on stdin (record --subprocesses: workers that start after the recording began).
# With --exit-after SECONDS the parent ends (os._exit) that long after starting the pool; its
# workers notice and return soon after.
# With --parent-spinners the parent also runs two threads spinning in pure Python
# ("parent-spinner-1" and "-2", started once the pool's workers are forked), so its own GIL is
# contended while each worker's is not.
import multiprocessing
import os
import sys
import threading

WORKERS = 3


def spin(parent):
    sys.stdout.write("worker %d\n" % os.getpid())
    sys.stdout.flush()
    n = 0
    while True:  # line: pool-spin
        n += 1
        if n % 1000000 == 0 and os.getppid() != parent:
            return n


def spin_in_parent():
    n = 0
    while True:  # line: parent-spin
        n += 1


def main():
    if "--wait-for-go" in sys.argv[1:]:
        sys.stdout.write("ready %d\n" % os.getpid())
        sys.stdout.flush()
        sys.stdin.readline()
    if hasattr(multiprocessing, "get_context"):
        methods = multiprocessing.get_all_start_methods()
        context = multiprocessing.get_context("fork" if "fork" in methods else None)
    else:
        context = multiprocessing  # 2.7: always forks
    pool = context.Pool(WORKERS)
    results = [pool.apply_async(spin, (os.getpid(),)) for _ in range(WORKERS)]
    if "--parent-spinners" in sys.argv[1:]:
        for index in (1, 2):
            spinner = threading.Thread(target=spin_in_parent, name="parent-spinner-%d" % index)
            spinner.daemon = True
            spinner.start()
    if "--exit-after" in sys.argv[1:]:
        seconds = float(sys.argv[sys.argv.index("--exit-after") + 1])
        try:
            results[0].get(seconds)
        except multiprocessing.TimeoutError:
            pass
        os._exit(0)
    for result in results:
        result.get()  # line: pool-wait


if __name__ == "__main__":
    main()
