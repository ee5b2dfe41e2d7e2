"""A thread that blocks in C holding the GIL (ctypes.PyDLL keeps the GIL
across the call) for --hold seconds, and threads that spin in Python and
so wait for the GIL all that time.

The holder prints one JSON line just before it blocks:
{"pid": ..., "python_version": "...", "holder": tid, "spinners": [tids]}
"""
import argparse
import ctypes
import json
import os
import platform
import sys
import threading
import time


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--spinners", type=int, default=2)
    ap.add_argument("--hold", type=float, default=30.0, help="seconds the holder sleeps holding the GIL")
    args = ap.parse_args()

    libc = ctypes.PyDLL(None)  # the process's own symbols, libc's usleep among them
    spinners = []
    lock = threading.Lock()
    ready = threading.Barrier(args.spinners + 1)

    def spin():
        with lock:
            spinners.append(threading.get_native_id())
        ready.wait()
        while True:
            pass

    def hold():
        ready.wait()
        report = {"pid": os.getpid(), "python_version": platform.python_version(),
                  "holder": threading.get_native_id(), "spinners": sorted(spinners)}
        print(json.dumps(report))
        sys.stdout.flush()
        # usleep takes at most about 4294 s; the GIL stays held throughout.
        libc.usleep(ctypes.c_uint(int(args.hold * 1e6)))

    for _ in range(args.spinners):
        threading.Thread(target=spin, daemon=True).start()
    holder = threading.Thread(target=hold)
    holder.start()
    holder.join()
    time.sleep(0.5)


if __name__ == "__main__":
    main()
