"""Accuracy workload: a holder thread keeps the GIL while it sleeps in C
(ctypes.PyDLL calls keep the GIL), then releases it; a waiter thread spins
and measures, with perf_counter, every gap in its own progress longer than
1 ms: the time it stalled waiting for the GIL. With libdecoy.so (argv[3])
the holder times its sleeps in C: the time it held the GIL while blocked.
It prints the threads' kernel ids, runs for the given seconds once a line
arrives on stdin, and prints the stall and the held time it measured."""
import ctypes
import sys
import threading
import time

LIBC = ctypes.PyDLL(None)  # PyDLL: the call keeps the GIL
GETTID = ctypes.CDLL(None).syscall


def holder(stop, hold_us, lib, result):
    result["holder"] = GETTID(186)
    held = 0.0
    if lib:
        hold_sleep = ctypes.PyDLL(lib).hold_sleep
        hold_sleep.restype = ctypes.c_longlong
    while not stop.is_set():
        if lib:
            held += hold_sleep(ctypes.c_uint(hold_us)) / 1e9  # blocked in C, the GIL held
        else:
            LIBC.usleep(hold_us)
        time.sleep(hold_us / 1e6)  # the GIL released
    result["held"] = held


def waiter(stop, result, ready):
    result["tid"] = GETTID(186)
    ready.set()
    stalled = 0.0
    last = time.perf_counter()
    while not stop.is_set():
        now = time.perf_counter()
        if now - last > 0.001:
            stalled += now - last
        last = now
    result["stalled"] = stalled


def main():
    seconds, hold_us = float(sys.argv[1]), int(sys.argv[2]) if len(sys.argv) > 2 else 50000
    lib = sys.argv[3] if len(sys.argv) > 3 else None
    stop, ready, result = threading.Event(), threading.Event(), {}
    w = threading.Thread(target=waiter, args=(stop, result, ready))
    w.start()
    ready.wait()
    print("tid", result["tid"], flush=True)
    sys.stdin.readline()
    h = threading.Thread(target=holder, args=(stop, hold_us, lib, result))
    h.start()
    time.sleep(seconds)
    stop.set()
    h.join()
    w.join()
    print("stalled %.6f holder %d held %.6f" % (result["stalled"], result["holder"], result["held"]), flush=True)


if __name__ == "__main__":
    main()
