# A WSGI application of known shape for gilscope's gunicorn test (plain WSGI, no framework):
#   GET /cpu    counts to SPINS in pure Python (about 5-20 ms, holding the GIL all along: no call
#               into C in the loop, not even to read a clock), answers "done PID N"
#   GET /       answers "ok" at once (readiness)
# Served by `gunicorn --chdir tests/workloads gunicorn_app:application` with gthread workers:
# requests handled at the same time by one worker's threads queue for that worker's GIL.
import os

SPINS = 200000


def burn_cpu(spins):
    n = 0
    for i in range(spins):  # line: burn-loop
        n += i
    return n


def application(environ, start_response):
    if environ.get("PATH_INFO") == "/cpu":
        body = ("done %d %d\n" % (os.getpid(), burn_cpu(SPINS))).encode()
    else:
        body = b"ok\n"
    start_response("200 OK", [("Content-Type", "text/plain"),
                              ("Content-Length", str(len(body)))])
    return [body]
