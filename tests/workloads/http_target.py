# A stdlib thread-per-request HTTP server and the load generator that measures its throughput,
# for tests/tools/target_overhead.py. Needs Python 3.7+ (http.server.ThreadingHTTPServer); on
# older ones it prints a line saying so and exits 2.
#
#   usage: http_target.py                            prints "port N", then serves until killed
#          http_target.py load PORT CONNECTIONS
#
# The server answers every GET with json.dumps of a ~200-item dict. The load generator runs
# CONNECTIONS client threads, each sending GET requests one after the other on a new connection
# per request (as HTTP/1.0 does); it prints "ready" once they are started, then, for every "?"
# line it reads on stdin, prints "COUNT TIME": the requests completed so far and a monotonic
# timestamp in seconds. It exits when stdin closes. Run it in its own process, so its threads
# do not share the server's GIL.
import sys
import threading
import time

if sys.version_info < (3, 7):
    sys.stdout.write("http_target.py needs Python 3.7+ (http.server.ThreadingHTTPServer)\n")
    sys.exit(2)

from http.client import HTTPConnection, HTTPException  # noqa: E402 (after the version check)
from http.server import ThreadingHTTPServer  # noqa: E402

import json_server  # noqa: E402


class Server(ThreadingHTTPServer):
    # socketserver's default listen backlog is 5: with more connections than that arriving
    # while the accepting thread waits for the GIL, the kernel would drop SYNs and the clients
    # would wait a second to retry, whether or not the server is profiled.
    request_queue_size = 128


def serve():
    # verdict_test's server's handler and document (json_server.py, next to this file).
    json_server.DOCUMENT.update(
        ("key %d" % i, {"id": i, "price": i * 1.25, "ok": i % 2 == 0}) for i in range(200))
    server = Server(("127.0.0.1", 0), json_server.Handler)
    sys.stdout.write("port %d\n" % server.server_address[1])
    sys.stdout.flush()
    server.serve_forever()


def client(port, completed):
    while True:
        connection = HTTPConnection("127.0.0.1", port)
        try:
            connection.request("GET", "/")
            connection.getresponse().read()
            completed[0] += 1
        except (OSError, HTTPException) as error:
            sys.stderr.write("http_target.py load: %s\n" % error)
            time.sleep(0.1)  # a server gone away must not turn this into a busy loop
        finally:
            connection.close()


def load(port, connections):
    counters = [[0] for _ in range(connections)]
    for completed in counters:
        thread = threading.Thread(target=client, args=(port, completed))
        thread.daemon = True
        thread.start()
    sys.stdout.write("ready\n")
    sys.stdout.flush()
    for line in sys.stdin:
        if line.strip() == "?":
            sys.stdout.write("%d %.6f\n" % (sum(completed[0] for completed in counters),
                                            time.monotonic()))
            sys.stdout.flush()


if __name__ == "__main__":
    if len(sys.argv) > 1 and sys.argv[1] == "load":
        load(int(sys.argv[2]), int(sys.argv[3]))
    else:
        serve()
