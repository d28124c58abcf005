# A thread-per-request HTTP server whose every response is json.dumps of a large document, and
# the load generator that keeps it busy. Runs on Python 2.7 and 3.6+.
#
#   usage: json_server.py serve [--seconds S]      prints "port N", then serves until killed
#          json_server.py load PORT [--connections C] [--seconds S]
#
# Served, each request's thread spends nearly all its time in the C encoder of json.dumps,
# which keeps the GIL: the requests queue behind one another on the GIL, and native code
# holding it is what makes them wait. The load generator runs in its own process, so its
# threads do not share the server's GIL.
import json
import sys
import threading
import time

try:
    from http.client import HTTPConnection
    from http.server import BaseHTTPRequestHandler, HTTPServer
    from socketserver import ThreadingMixIn
except ImportError:  # 2.7
    from BaseHTTPServer import BaseHTTPRequestHandler, HTTPServer
    from httplib import HTTPConnection
    from SocketServer import ThreadingMixIn


class ThreadingServer(ThreadingMixIn, HTTPServer):  # http.server.ThreadingHTTPServer, on 2.7 too
    daemon_threads = True


DOCUMENT = {}  # filled by serve()


class Handler(BaseHTTPRequestHandler):
    def do_GET(self):
        body = json.dumps(DOCUMENT).encode("ascii")
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args):
        pass


def option(name, default):
    return float(sys.argv[sys.argv.index(name) + 1]) if name in sys.argv else default


def serve():
    items = int(option("--items", 20000))
    DOCUMENT["items"] = [
        {"id": i, "name": "item %d" % i, "price": i * 1.25, "tags": ["a", "b", "c"], "ok": True}
        for i in range(items)
    ]
    server = ThreadingServer(("127.0.0.1", 0), Handler)
    sys.stdout.write("port %d\n" % server.server_address[1])
    sys.stdout.flush()
    seconds = option("--seconds", 0)
    if seconds:
        threading.Timer(seconds, server.shutdown).start()
    server.serve_forever()


def load(port):
    deadline = time.time() + option("--seconds", 1e9)

    def client():
        while time.time() < deadline:  # HTTP/1.0: a connection, so a server thread, per request
            connection = HTTPConnection("127.0.0.1", port)
            connection.request("GET", "/")
            connection.getresponse().read()
            connection.close()

    threads = [threading.Thread(target=client) for _ in range(int(option("--connections", 16)))]
    for thread in threads:
        thread.daemon = True
        thread.start()
    for thread in threads:
        thread.join()


if __name__ == "__main__":
    if sys.argv[1] == "serve":
        serve()
    else:
        load(int(sys.argv[2]))
