"""Where the GIL goes, with its own ground truth (Python 2.7 to 3.15): a
thread "hogs" spending CPU time in hog_a three times as long as in hog_b,
and a thread "blocker" that calls flush(), which blocks in C holding the
GIL (ctypes.PyDLL keeps it across usleep), half of the time. Its clock
counts the GIL's hand-off to hogs after usleep returns too (the switch
interval, set to 1 ms for that: 0.5% of a flush).

Its first line on stdout:
{"pid": ..., "python_version": "...", "hogs": tid, "blocker": tid,
 "lines": {"hog_a": [...], "hog_b": [...], "flush": [...]}}
(the lines of the "# @" markers), then at its start, before and after every flush a line
{"t": monotonic seconds, "hog_a": s, "hog_b": s, "flush": s}: the CPU
time hogs spent in each hog (it holds the GIL while it runs Python) and
the wall time flush held the GIL blocked, cumulative.

It runs at nice -20 (as root; the threads inherit it): the subject is
which code holds the GIL, and on a busy host a thread preempted while it
holds the GIL would hold it in long lumps at one line, and wake late from
its sleeps, so that neither its CPU clock nor its wall clock would be the
time it held the GIL.
"""
import ctypes
import json
import os
import platform
import re
import sys
import threading
import time


class Timespec(ctypes.Structure):
    _fields_ = [("sec", ctypes.c_long), ("nsec", ctypes.c_long)]


# PyDLL: calls that keep the GIL, so timing a hog never hands it over.
LIBC = ctypes.PyDLL(None)
CLOCK_MONOTONIC, CLOCK_THREAD_CPUTIME_ID = 1, 3
SYS_GETTID = 186  # x86_64


def clock(which):
    ts = Timespec()
    LIBC.clock_gettime(which, ctypes.byref(ts))
    return ts.sec + ts.nsec * 1e-9


def marker_lines():
    lines = {}
    with open(__file__) as f:
        for number, text in enumerate(f, 1):
            found = re.search(r"# @(\w+)$", text.rstrip())
            if found:
                lines.setdefault(found.group(1), []).append(number)
    return lines


TIMES = {"hog_a": 0.0, "hog_b": 0.0, "flush": 0.0}
LOCK = threading.Lock()
TIDS = {}
REPORTED = threading.Event()  # the first line is the report


# A hog's lines include its def line: a frame sampled at its first
# instruction (RESUME on 3.11+) is there.
def hog_a(seconds):  # @hog_a
    # The clock read in the hog's own frame: its innermost Python frame.
    ts = Timespec()  # @hog_a
    now = ctypes.byref(ts)  # @hog_a
    LIBC.clock_gettime(CLOCK_THREAD_CPUTIME_ID, now)  # @hog_a
    end = ts.sec + ts.nsec * 1e-9 + seconds  # @hog_a
    while ts.sec + ts.nsec * 1e-9 < end:  # @hog_a
        LIBC.clock_gettime(CLOCK_THREAD_CPUTIME_ID, now)  # @hog_a


def hog_b(seconds):  # @hog_b
    ts = Timespec()  # @hog_b
    now = ctypes.byref(ts)  # @hog_b
    LIBC.clock_gettime(CLOCK_THREAD_CPUTIME_ID, now)  # @hog_b
    end = ts.sec + ts.nsec * 1e-9 + seconds  # @hog_b
    while ts.sec + ts.nsec * 1e-9 < end:  # @hog_b
        LIBC.clock_gettime(CLOCK_THREAD_CPUTIME_ID, now)  # @hog_b


def hogs():
    TIDS["hogs"] = LIBC.syscall(SYS_GETTID)
    while True:
        t0 = clock(CLOCK_THREAD_CPUTIME_ID)
        hog_a(0.03)
        t1 = clock(CLOCK_THREAD_CPUTIME_ID)
        hog_b(0.01)
        t2 = clock(CLOCK_THREAD_CPUTIME_ID)
        with LOCK:
            TIMES["hog_a"] += t1 - t0
            TIMES["hog_b"] += t2 - t1


def flush():
    LIBC.usleep(ctypes.c_uint(200000))  # @flush


def report_times(t):
    with LOCK:
        line = dict(TIMES, t=t)
    sys.stdout.write(json.dumps(line) + "\n")
    sys.stdout.flush()


def blocker():
    TIDS["blocker"] = LIBC.syscall(SYS_GETTID)
    REPORTED.wait()
    report_times(clock(CLOCK_MONOTONIC))
    while True:
        time.sleep(0.2)
        t0 = clock(CLOCK_MONOTONIC)
        # A point at each end of a flush: between them its time grows
        # linearly, so the test's interpolation at a window's edge is exact.
        report_times(t0)
        flush()
        t1 = clock(CLOCK_MONOTONIC)
        with LOCK:
            TIMES["flush"] += t1 - t0
        report_times(t1)


def main():
    try:
        os.nice(-20)
    except OSError:
        pass
    if hasattr(sys, "setswitchinterval"):
        sys.setswitchinterval(0.001)
    threads = [threading.Thread(target=hogs, name="hogs"), threading.Thread(target=blocker, name="blocker")]
    for t in threads:
        t.daemon = True
    threads[0].start()
    while "hogs" not in TIDS:
        time.sleep(0.01)
    report = {"pid": os.getpid(), "python_version": platform.python_version(), "hogs": TIDS["hogs"],
              "lines": marker_lines()}
    threads[1].start()
    while "blocker" not in TIDS:
        time.sleep(0.01)
    report["blocker"] = TIDS["blocker"]
    sys.stdout.write(json.dumps(report) + "\n")
    sys.stdout.flush()
    REPORTED.set()
    while True:
        time.sleep(3600)


if __name__ == "__main__":
    main()
