"""Throughput workload for the overhead benchmark: N CPU-bound threads count
loop iterations for D seconds. It prints its pid, waits for a line on stdin
(so the runner can attach gilstats, or not, first), runs, and prints the
total iterations per second."""
import sys
import threading
import time


def worker(counts, index, stop):
    n = 0
    while not stop.is_set():
        for _ in range(1000):
            pass
        n += 1000
    counts[index] = n


def main():
    threads, seconds = int(sys.argv[1]), float(sys.argv[2])
    counts = [0] * threads
    stop = threading.Event()
    workers = [threading.Thread(target=worker, args=(counts, i, stop)) for i in range(threads)]
    print("pid", threading.get_native_id() if hasattr(threading, "get_native_id") else 0, flush=True)
    sys.stdin.readline()
    for t in workers:
        t.start()
    start = time.perf_counter()
    time.sleep(seconds)
    stop.set()
    for t in workers:
        t.join()
    print("rate %.1f" % (sum(counts) / (time.perf_counter() - start)), flush=True)


if __name__ == "__main__":
    main()
