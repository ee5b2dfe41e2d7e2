"""Throughput workload for the overhead benchmark: N CPU-bound threads count
loop iterations for D seconds. It prints its pid, waits for a line on stdin
(so the runner can attach gilstats, or not, first), runs, and prints the
total iterations per second."""
import sys
import threading
import time


def worker(counts, index, go, stop):
    go.wait()  # start together: threads starting among spinning ones take ages
    while not stop.is_set():
        for _ in range(1000):
            pass
        counts[index] += 1000


def main():
    threads, seconds = int(sys.argv[1]), float(sys.argv[2])
    counts = [0] * threads
    go, stop = threading.Event(), threading.Event()
    workers = [threading.Thread(target=worker, args=(counts, i, go, stop)) for i in range(threads)]
    print("pid", threading.get_native_id() if hasattr(threading, "get_native_id") else 0, flush=True)
    sys.stdin.readline()
    for t in workers:
        t.start()
    go.set()
    # Every thread must win the GIL once to leave go.wait(): let them all spin first.
    time.sleep(min(3.0, 0.5 + threads * 0.01))
    before, start = sum(counts), time.perf_counter()
    time.sleep(seconds)
    done, end = sum(counts), time.perf_counter()
    stop.set()
    for t in workers:
        t.join()
    print("rate %.1f" % ((done - before) / (end - start)), flush=True)


if __name__ == "__main__":
    main()
