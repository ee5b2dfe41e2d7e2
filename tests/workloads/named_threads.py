# -*- coding: utf-8 -*-
"""Threads with known names, for reading their names out of the process
(Python 2.7 and 3.6+): an ASCII one, a non-ASCII one, long ones (one cut
inside a character), one renamed once started, one whose attributes were
turned into a dict (vars()), a dummy thread (started by _thread, named by
threading) and one that spins so the GIL always has a recent holder.

Prints one JSON line once all are running:
{"pid": ..., "python_version": "...", "threads": [{"tid": tid, "name": "..."}]}
and then waits until killed.
"""
import json
import os
import platform
import sys
import threading
import time

try:
    import _thread as thread_module
except ImportError:  # 2.7
    import thread as thread_module

SYS_GETTID = 186  # x86_64

if sys.version_info[0] == 2:
    # 2.7's Thread keeps str(name): bytes, here UTF-8.
    def name_of(text):
        return text.encode("utf-8")
else:
    def name_of(text):
        return text

def thread_id_function():
    """The calling thread's tid: threading.get_native_id (3.8+), else
    gettid through ctypes (a build without ctypes is 3.8+)."""
    if hasattr(threading, "get_native_id"):
        return threading.get_native_id
    import ctypes
    libc = ctypes.CDLL(None, use_errno=True)
    return lambda: libc.syscall(SYS_GETTID)


NAMES = [
    u"worker-1",
    u"\u00fcn\u00efcode-2",
    u"long-" + u"x" * 80 + u"-3",
    u"\u00e9" * 40,
]


def main():
    gettid = thread_id_function()
    lock = threading.Lock()
    tids = {}
    stop = threading.Event()
    started = []

    def record():
        tid = gettid()
        with lock:
            tids[threading.current_thread()] = tid

    def idle():
        record()
        stop.wait(3600)

    def spin():
        record()
        while not stop.is_set():
            pass

    def dummy():
        threading.current_thread()  # registers a _DummyThread in threading._active
        record()
        stop.wait(3600)

    threads = [threading.Thread(name=name_of(n), target=idle) for n in NAMES]
    threads.append(threading.Thread(name="before-rename", target=idle))
    threads.append(threading.Thread(name="dict-6", target=idle))
    threads.append(threading.Thread(name="spinner-7", target=spin))
    for t in threads:
        t.daemon = True
        t.start()
    threads[4].name = "renamed-5"
    vars(threads[5])  # 3.11+: the attributes move from values to a dict
    thread_module.start_new_thread(dummy, ())
    record()  # the main thread
    while True:
        with lock:
            if len(tids) == len(threads) + 2:
                break
        time.sleep(0.01)
    with lock:
        listed = [{"tid": tid, "name": t.name} for t, tid in tids.items()]
    report = {"pid": os.getpid(), "python_version": platform.python_version(), "threads": listed}
    print(json.dumps(report))
    sys.stdout.flush()
    while True:
        time.sleep(3600)


if __name__ == "__main__":
    main()
