"""Threads in known functions at known lines, for the "stacks" suite
(Python 2.7 to 3.15): a spinner, a two-level call sleeping in a method, a
recursion deeper than gilstats reads, a generator, a key function called
from C (sorted), and the main thread sleeping.

Once every thread is in place it prints one JSON line:
{"pid": ..., "python_version": "...", "threads": [{"name": ..., "frames":
[{"function": ..., "file": ..., "line": ...}, ...]}]}, each thread's own
frames innermost first, as gilstats must read them (functions by
co_qualname from 3.11, else co_name). The lines are those of the "# @"
markers below.
"""
import json
import os
import platform
import sys
import threading
import time

STATE = {"stop": False}
DEPTH = 100


def marker_lines():
    lines = {}
    with open(__file__) as f:
        for number, text in enumerate(f, 1):
            code, mark, name = text.rstrip().rpartition("  # @")
            if mark and code.strip() and name.replace("_", "").isalnum():
                lines[name] = number
    return lines


def name_of(func, qualified):
    code = func.__code__
    if sys.version_info >= (3, 11):
        return code.co_qualname
    return qualified.split(".")[-1] if qualified else code.co_name


def spin_alpha(ready):
    ready.set()
    n = 0
    while not STATE["stop"]: n += 1  # @alpha


class Worker(object):
    def inner_gamma(self, ready):
        ready.set()
        time.sleep(3600)  # @gamma

    def outer_beta(self, ready):
        self.inner_gamma(ready)  # @beta


def recurse_delta(n, ready):
    if n > 0:
        return recurse_delta(n - 1, ready)  # @delta_call
    ready.set()
    time.sleep(3600)  # @delta


def gen_epsilon(ready):
    ready.set()
    time.sleep(3600)  # @epsilon
    yield 1


def drive_epsilon(ready):
    for _ in gen_epsilon(ready):  # @epsilon_call
        pass


def key_zeta(ready):
    ready.set()
    time.sleep(3600)  # @zeta
    return 0


def sort_zeta(ready):
    sorted([ready], key=key_zeta)  # @zeta_call


def start(target, *args):
    ready = threading.Event()
    t = threading.Thread(target=target, args=args + (ready,))
    t.daemon = True
    t.start()
    ready.wait()


def frame(func, qualified, line):
    return {"function": name_of(func, qualified), "file": func.__code__.co_filename, "line": line}


def main():
    lines = marker_lines()
    start(spin_alpha)
    start(Worker().outer_beta)
    start(recurse_delta, DEPTH)
    start(drive_epsilon)
    start(sort_zeta)
    threads = [
        {"name": "alpha", "frames": [frame(spin_alpha, None, lines["alpha"])]},
        {"name": "beta", "frames": [frame(Worker.inner_gamma, "Worker.inner_gamma", lines["gamma"]),
                                    frame(Worker.outer_beta, "Worker.outer_beta", lines["beta"])]},
        {"name": "delta", "frames": [frame(recurse_delta, None, lines["delta"])] +
                                    [frame(recurse_delta, None, lines["delta_call"])] * DEPTH},
        {"name": "epsilon", "frames": [frame(gen_epsilon, None, lines["epsilon"]),
                                       frame(drive_epsilon, None, lines["epsilon_call"])]},
        {"name": "zeta", "frames": [frame(key_zeta, None, lines["zeta"]),
                                    frame(sort_zeta, None, lines["zeta_call"])]},
        {"name": "main", "frames": [frame(main, None, lines["main"])]},
    ]
    time.sleep(0.2)  # the spinner in its loop, the others asleep
    print(json.dumps({"pid": os.getpid(), "python_version": platform.python_version(), "threads": threads}))
    sys.stdout.flush()
    time.sleep(3600)  # @main


if __name__ == "__main__":
    main()
