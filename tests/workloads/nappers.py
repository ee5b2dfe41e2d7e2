"""Where threads wait for the GIL, with a known answer (Python 2.7 to
3.15): a thread "hog" runs Python without pause, and NAPPERS threads
"napper" loop on time.sleep(0.001) inside napper(): each wake-up finds
the GIL held by the hog, so the nappers wait for it returning from the
sleep, at the line of the "# @nap" marker.

Its first line on stdout:
{"pid": ..., "python_version": "...", "hog": tid, "nappers": [tids],
 "lines": {"nap": [...]}}
"""
import ctypes
import json
import os
import platform
import re
import sys
import threading
import time

NAPPERS = int(sys.argv[1]) if len(sys.argv) > 1 else 4
LIBC = ctypes.CDLL(None)
SYS_GETTID = 186  # x86_64
TIDS = {"nappers": []}
LOCK = threading.Lock()


def marker_lines():
    lines = {}
    with open(__file__) as f:
        for number, text in enumerate(f, 1):
            found = re.search(r"# @(\w+)$", text.rstrip())
            if found:
                lines.setdefault(found.group(1), []).append(number)
    return lines


def spin():
    x = 0
    while True:
        x += 1


def hog():
    TIDS["hog"] = LIBC.syscall(SYS_GETTID)
    spin()


def napper():
    with LOCK:
        TIDS["nappers"].append(LIBC.syscall(SYS_GETTID))
    while True:
        time.sleep(0.001)  # @nap


def main():
    if sys.version_info[0] == 2:
        # 2.7 offers the GIL every 100 bytecodes: a napper would hardly
        # wait, too rarely to be sampled. Every 10000, it waits for it
        # at each wake-up as on 3.x.
        sys.setcheckinterval(10000)
    threads = [threading.Thread(target=hog, name="hog")]
    threads += [threading.Thread(target=napper, name="napper-%d" % i) for i in range(NAPPERS)]
    for t in threads:
        t.daemon = True
        t.start()
    while "hog" not in TIDS or len(TIDS["nappers"]) < NAPPERS:
        time.sleep(0.01)
    report = {"pid": os.getpid(), "python_version": platform.python_version(), "hog": TIDS["hog"],
              "nappers": TIDS["nappers"], "lines": marker_lines()}
    sys.stdout.write(json.dumps(report) + "\n")
    sys.stdout.flush()
    while True:
        time.sleep(3600)


if __name__ == "__main__":
    main()
