"""Realistic programs for gilstats' tests, written as users write them.

  pool-hash     a ThreadPoolExecutor(8) hashing 100-byte buffers with hashlib
                (hashlib keeps the GIL for buffers this small: a saturated GIL)
  cpu-loop      a pure-Python CPU loop in 4 threads
  numpy-matmul  numpy matrix products in 4 threads (numpy releases the GIL)
  http-server   a ThreadingHTTPServer whose handler is CPU-heavy (JSON work)
  http-load     a loopback load generator for it, in another process
  wsgi_app      the same endpoint for gunicorn (realistic:wsgi_app)

Each command writes one JSON line once it is running (http-load: once as
many responses as it has clients came back), with its pid (and the server
its port), then runs for --seconds or until killed.
http-load sends requests to 127.0.0.1 only, from --concurrency threads,
for --seconds, and stops by itself. Python 3.6+.
"""
import argparse
import hashlib
import json
import os
import sys
import threading
import time


def announce(**extra):
    report = {"pid": os.getpid()}
    report.update(extra)
    sys.stdout.write(json.dumps(report) + "\n")
    sys.stdout.flush()


def pool_hash(args):
    from concurrent.futures import ThreadPoolExecutor

    buf = os.urandom(100)
    deadline = time.monotonic() + args.seconds

    def task(_):
        h = None
        for _ in range(2000):
            h = hashlib.sha256(buf).digest()
        return h

    with ThreadPoolExecutor(8) as pool:
        announced = False
        while time.monotonic() < deadline:
            list(pool.map(task, range(64)))
            if not announced:
                announce()
                announced = True


def spin(stop):
    n = 0
    while not stop.is_set():
        for i in range(1000):
            n += i * i


def cpu_loop(args):
    run_threads(spin, args)


def matmul(stop):
    import numpy

    a = numpy.random.rand(300, 300)
    while not stop.is_set():
        a = numpy.dot(a, a)
        a /= numpy.abs(a).max() or 1.0


def numpy_matmul(args):
    import numpy  # noqa: F401  (fails early when it is not installed)

    run_threads(matmul, args)


def run_threads(target, args):
    stop = threading.Event()
    threads = [threading.Thread(target=target, args=(stop,), name="worker-%d" % i) for i in range(4)]
    for t in threads:
        t.start()
    announce()
    time.sleep(args.seconds)
    stop.set()
    for t in threads:
        t.join()


def cpu_heavy_response():
    """What a CPU-bound endpoint does: build and encode JSON, in Python."""
    doc = {"items": [{"id": i, "name": "item %d" % i, "tags": ["a", "b", i]} for i in range(300)]}
    body = b""
    for _ in range(40):
        body = json.dumps(doc).encode()
        json.loads(body)
    return body[:64]


def wsgi_app(environ, start_response):
    """The same endpoint for a WSGI server (gunicorn realistic:wsgi_app)."""
    body = cpu_heavy_response()
    start_response("200 OK", [("Content-Type", "application/json"), ("Content-Length", str(len(body)))])
    return [body]


def http_server(args):
    from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self):
            body = cpu_heavy_response()
            self.send_response(200)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *a):
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    announce(port=server.server_address[1])
    threading.Timer(args.seconds, server.shutdown).start()
    server.serve_forever()


def http_load(args):
    import http.client

    deadline = time.monotonic() + args.seconds
    done = [0]
    first = threading.Lock()

    def client():
        while time.monotonic() < deadline:
            try:
                conn = http.client.HTTPConnection("127.0.0.1", args.port, timeout=5)
                conn.request("GET", "/")
                conn.getresponse().read()
                conn.close()
                with first:
                    done[0] += 1
                    if done[0] == args.concurrency:
                        announce(loaded=True)  # every client has had a response
            except OSError:
                time.sleep(0.01)

    threads = [threading.Thread(target=client) for _ in range(args.concurrency)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("command", choices=["pool-hash", "cpu-loop", "numpy-matmul", "http-server", "http-load"])
    parser.add_argument("--seconds", type=float, default=30.0)
    parser.add_argument("--port", type=int, default=0)
    parser.add_argument("--concurrency", type=int, default=16)
    args = parser.parse_args()
    {"pool-hash": pool_hash, "cpu-loop": cpu_loop, "numpy-matmul": numpy_matmul, "http-server": http_server,
     "http-load": http_load}[args.command](args)


if __name__ == "__main__":
    main()
