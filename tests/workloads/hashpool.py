"""A thread pool hashing buffers: hashlib releases the GIL for large ones.

Prints one JSON line once every worker runs:
{"pid": ..., "python_version": "...", "pool": [tids]}
and hashes until killed (or --seconds).
"""
import argparse
import concurrent.futures
import hashlib
import json
import os
import platform
import sys
import threading
import time


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--threads", type=int, default=4)
    ap.add_argument("--size", type=int, default=1 << 20, help="bytes per buffer")
    ap.add_argument("--seconds", type=float, default=0, help="0: until killed")
    args = ap.parse_args()

    data = os.urandom(args.size)
    tids = []
    lock = threading.Lock()
    started = threading.Barrier(args.threads + 1)
    stop = threading.Event()

    def work():
        with lock:
            tids.append(threading.get_native_id())
        started.wait()
        while not stop.is_set():
            hashlib.sha256(data).digest()

    pool = concurrent.futures.ThreadPoolExecutor(max_workers=args.threads)
    futures = [pool.submit(work) for _ in range(args.threads)]
    started.wait()
    print(json.dumps({"pid": os.getpid(), "python_version": platform.python_version(), "pool": sorted(tids)}))
    sys.stdout.flush()
    end = time.monotonic() + args.seconds if args.seconds else None
    while end is None or time.monotonic() < end:
        time.sleep(0.1)
    stop.set()
    for f in futures:
        f.result()
    pool.shutdown()


if __name__ == "__main__":
    main()
