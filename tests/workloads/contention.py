"""Contending threads for gilstats: the demo workload and the tests' target.

CPU-bound threads fight for the GIL; I/O threads sleep briefly and then need
the GIL again (each wake-up waits behind the CPU threads); an optional native
decoy thread waits on its own condvar far more often than anyone waits for
the GIL, and must not be counted as GIL waiting.

With --report, one JSON line describing the threads (kernel thread ids and
roles) is written to stdout once they all run. Runs for --seconds, or until
killed. Works on Python 2.7 and 3.6+.
"""
import argparse
import binascii
import ctypes
import json
import os
import platform
import signal
import sys
import threading
import time

LIBC = ctypes.CDLL(None, use_errno=True)
PR_SET_NAME = 15
SYS_GETTID = {"x86_64": 186, "aarch64": 178}.get(platform.machine(), 186)


def kernel_tid():
    return LIBC.syscall(SYS_GETTID)


def pin_to_cpu(index):
    """Keep this thread on CPU index % ncpus (the scheduler then cannot stack
    two CPU-bound threads on one core while another idles)."""
    ncpus = os.sysconf("SC_NPROCESSORS_ONLN")
    mask = ctypes.c_ulong(1 << (index % ncpus))
    LIBC.sched_setaffinity(0, ctypes.sizeof(mask), ctypes.byref(mask))


def set_thread_name(name):
    """Name the kernel thread, so top -H and gilstats show it; bytes are
    taken as they are (any process can name its threads so)."""
    raw = name if isinstance(name, bytes) else name.encode()
    LIBC.prctl(PR_SET_NAME, ctypes.c_char_p(raw), 0, 0, 0)


def cpu_bound(name, tids, ready, stop, pin, named=None):
    set_thread_name(name)
    if pin is not None:
        pin_to_cpu(pin)
    tids.append(kernel_tid())
    if named is not None:
        named[str(tids[-1])] = binascii.hexlify(name).decode()
    ready.release()
    n = 0
    while not stop.is_set():
        for i in range(1000):
            n += i * i


# Set by SIGUSR1 with --hold-on-signal: the holders start once the test
# knows gilstats is attached, however long attaching took.
hold_go = threading.Event()


def holder(name, tids, ready, stop, args, held):
    """Keeps the GIL while it sleeps in C: ctypes.PyDLL calls do not release
    it. Measures the time it spent so, the ground truth for gilstats: in C
    with --native-lib (libdecoy.so's hold_sleep), else around the call."""
    set_thread_name(name)
    tids.append(kernel_tid())
    if args.native_lib:
        sleep_ns = ctypes.PyDLL(args.native_lib).hold_sleep
        sleep_ns.restype = ctypes.c_longlong
    else:
        usleep = ctypes.PyDLL(None).usleep
        def sleep_ns(us):
            start = time.time()
            usleep(us)
            return (time.time() - start) * 1e9
    ready.release()
    if args.hold_on_signal:
        hold_go.wait()
    else:
        time.sleep(args.hold_delay)
    end, total = time.time() + args.hold_for, 0.0
    while not stop.is_set() and time.time() < end:
        total += sleep_ns(ctypes.c_uint(args.hold_us)) / 1e9
    held[str(tids[-1])] = total


def io_bound(name, tids, ready, stop, nap):
    set_thread_name(name)
    tids.append(kernel_tid())
    ready.release()
    while not stop.is_set():
        time.sleep(nap)
        sum(range(100))


def lock_bound(name, tids, ready, stop, lock, nap):
    """Queues for a threading.Lock held while sleeping: its waits are futex
    waits on the lock's own word, with the GIL released, not GIL waits."""
    set_thread_name(name)
    tids.append(kernel_tid())
    ready.release()
    while not stop.is_set():
        with lock:
            time.sleep(nap)


SUBINTERPRETER_CODE = """
import os, threading
ready = []
def spin():
    ready.append(threading.get_native_id())
    n = 0
    while True:
        n += 1
threads = [threading.Thread(target=spin) for _ in range(%d)]
for t in threads:
    t.start()
while len(ready) < len(threads):
    pass
fd = os.open(%r, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
os.write(fd, " ".join(map(str, ready)).encode())
os.close(fd)
for t in threads:
    t.join()
"""


def start_subinterpreter(nthreads):
    """CPU-bound threads in a sub-interpreter with its own GIL (3.12+)."""
    try:
        import _interpreters as interpreters
        create = lambda: interpreters.create("isolated")
    except ImportError:
        import _xxsubinterpreters as interpreters
        create = lambda: interpreters.create(isolated=True)
    path = "/tmp/gilstats-sub-%d" % os.getpid()
    interp = create()
    host = threading.Thread(target=interpreters.run_string,
                            args=(interp, SUBINTERPRETER_CODE % (nthreads, path)))
    host.daemon = True
    host.start()
    while not os.path.exists(path) or not open(path).read():
        time.sleep(0.01)
    tids = [int(t) for t in open(path).read().split()]
    os.unlink(path)
    return tids


def churn_member(barrier, work):
    barrier.wait()  # the whole batch runs at once: each waits for the GIL
    sum(range(work))


def churn(total, work, batch=20):
    """Thread churn: threads that live a moment, batch after batch."""
    made = 0
    while made < total:
        n = min(batch, total - made)
        barrier = threading.Barrier(n)
        threads = [threading.Thread(target=churn_member, args=(barrier, work)) for _ in range(n)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        made += len(threads)


def forked_worker(parent):
    """A forked child: two CPU-bound threads of its own, until its parent ends."""
    stop = threading.Event()
    ready = threading.Semaphore(0)
    for i in range(2):
        threading.Thread(target=cpu_bound, args=("worker-%d" % (i + 1), [], ready, stop, None), daemon=True).start()
    while os.getppid() == parent:
        time.sleep(0.05)
    os._exit(0)


def fork_workers(args):
    """Like a pre-fork server: the workers start after the master, and their
    pids are reported on a line of their own."""
    time.sleep(args.fork_after)
    parent, children = os.getpid(), []
    for _ in range(args.fork):
        pid = os.fork()
        if pid == 0:
            forked_worker(parent)
        children.append(pid)
    sys.stdout.write(json.dumps({"children": children}) + "\n")
    sys.stdout.flush()


def exec_into(python):
    """os.execv into another interpreter (same pid, a new image) running this
    script again with the same arguments, but no further exec."""
    argv, skip = [], False
    for a in sys.argv[1:]:
        if skip:
            skip = False
        elif a == "--exec-on-usr1":
            skip = True
        else:
            argv.append(a)
    sys.stdout.flush()
    os.execv(python, [python, "-u", os.path.abspath(__file__)] + argv)


def daemonize():
    """Like a daemon: fork, the parent exits at once; the child runs two
    CPU-bound threads and reports them on a line of its own."""
    if os.fork() != 0:
        os._exit(0)
    stop = threading.Event()
    ready = threading.Semaphore(0)
    tids = []
    for i in range(2):
        threading.Thread(target=cpu_bound, args=("daemon-%d" % (i + 1), tids, ready, stop, None), daemon=True).start()
    for _ in range(2):
        ready.acquire()
    sys.stdout.write(json.dumps({"daemon": os.getpid(), "cpu": tids}) + "\n")
    sys.stdout.flush()
    while True:
        time.sleep(0.05)


def on_usr1(args):
    """The tests' trigger: exec into another python or into sleep(1), or
    daemonize."""
    if args.exec_on_usr1:
        exec_into(args.exec_on_usr1)
    if args.exec_sleep_on_usr1:
        sys.stdout.flush()
        os.execvp("sleep", ["sleep", "60"])
    if args.daemonize_on_usr1:
        daemonize()


def start_decoy(path, pairs):
    """Native threads that ping-pong on their own condvar, without the GIL."""
    lib = ctypes.CDLL(path)
    lib.decoy_start.restype = ctypes.c_int
    lib.decoy_tid.restype = ctypes.c_int
    if lib.decoy_start(pairs) != 0:
        raise SystemExit("decoy_start failed")
    return [lib.decoy_tid(i) for i in range(2 * pairs)]


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--cpu-threads", type=int, default=4)
    ap.add_argument("--io-threads", type=int, default=1)
    ap.add_argument("--pin", action="store_true", help="pin CPU thread i to CPU i %% ncpus")
    ap.add_argument("--check-interval", type=int, help="Python 2: sys.setcheckinterval (default 100 ticks)")
    ap.add_argument("--io-nap", type=float, default=0.01, help="seconds each I/O thread sleeps")
    ap.add_argument("--lock-threads", type=int, default=0,
                    help="threads queueing for one threading.Lock, each holding it --io-nap seconds (role lock)")
    ap.add_argument("--decoy", metavar="LIB", help="path of libdecoy.so")
    ap.add_argument("--decoy-pairs", type=int, default=1)
    ap.add_argument("--native-lib", metavar="LIB", help="path of libdecoy.so, for the holders' own timing")
    ap.add_argument("--sub-threads", type=int, default=0,
                    help="CPU-bound threads in a sub-interpreter with its own GIL (3.12+)")
    ap.add_argument("--churn", type=int, default=0,
                    help="create and end this many short-lived threads, 20 at a time, then exit")
    ap.add_argument("--churn-work", type=int, default=2000, help="sum(range(N)) in each churned thread")
    ap.add_argument("--holders", type=int, default=0,
                    help="threads that sleep in C holding the GIL (ctypes.PyDLL usleep)")
    ap.add_argument("--hold-us", type=int, default=20000, help="microseconds per usleep call")
    ap.add_argument("--hold-delay", type=float, default=0, help="seconds before the holders start")
    ap.add_argument("--hold-for", type=float, default=3600, help="seconds the holders keep at it")
    ap.add_argument("--hold-on-signal", action="store_true",
                    help="holders start at SIGUSR1 (not after --hold-delay); the workload ends 0.5 s after they do")
    ap.add_argument("--final-report", action="store_true",
                    help="at the end, one more JSON line: the time each holder spent sleeping holding the GIL")
    ap.add_argument("--fork", type=int, default=0,
                    help="fork N children (a pre-fork server's workers) --fork-after seconds after starting")
    ap.add_argument("--fork-after", type=float, default=1.0)
    ap.add_argument("--name-hex", action="append", default=[],
                    help="raw name (hex bytes) of the next CPU thread; the report maps tids to them as 'named'")
    ap.add_argument("--exec-on-usr1", metavar="PYTHON",
                    help="on SIGUSR1, os.execv into PYTHON running this script again (it reports again)")
    ap.add_argument("--exec-sleep-on-usr1", action="store_true",
                    help="on SIGUSR1, os.execvp into sleep 60 (no python any more)")
    ap.add_argument("--daemonize-on-usr1", action="store_true",
                    help="on SIGUSR1, fork a daemon with two CPU threads (reported as daemon) and exit")
    ap.add_argument("--seconds", type=float, default=0, help="0: until killed")
    ap.add_argument("--report", action="store_true", help="print the threads as JSON once running")
    args = ap.parse_args()
    usr1 = []
    signal.signal(signal.SIGUSR1, lambda signo, frame: usr1.append(signo))

    if args.check_interval and hasattr(sys, "setcheckinterval") and sys.version_info[0] == 2:
        sys.setcheckinterval(args.check_interval)
    if args.hold_on_signal:
        # Before the report: the test may signal as soon as it has read it.
        signal.signal(signal.SIGUSR1, lambda *_: hold_go.set())
    stop = threading.Event()
    ready = threading.Semaphore(0)
    roles = {"cpu": [], "io": [], "lock": [], "holders": [], "named": {}}
    shared_lock = threading.Lock()
    threads, holders, held = [], [], {}
    for i in range(args.cpu_threads):
        pin = i if args.pin else None
        if i < len(args.name_hex):
            name, named = binascii.unhexlify(args.name_hex[i]), roles["named"]
        else:
            name, named = "cpu-%d" % (i + 1), None
        threads.append(threading.Thread(target=cpu_bound, args=(name, roles["cpu"], ready, stop, pin, named)))
    for i in range(args.io_threads):
        threads.append(threading.Thread(target=io_bound,
                                        args=("io-%d" % (i + 1), roles["io"], ready, stop, args.io_nap)))
    for i in range(args.lock_threads):
        threads.append(threading.Thread(target=lock_bound, args=("lock-%d" % (i + 1), roles["lock"], ready, stop,
                                                                 shared_lock, args.io_nap)))
    for i in range(args.holders):
        holders.append(threading.Thread(target=holder, args=("hold-%d" % (i + 1), roles["holders"], ready, stop,
                                                             args, held)))
    threads += holders
    for t in threads:
        t.daemon = True
        t.start()
    for _ in threads:
        ready.acquire()
    roles["decoy"] = start_decoy(args.decoy, args.decoy_pairs) if args.decoy else []
    roles["sub"] = start_subinterpreter(args.sub_threads) if args.sub_threads else []
    if args.report:
        gil_enabled = getattr(sys, "_is_gil_enabled", lambda: True)()
        roles.update(pid=os.getpid(), main=kernel_tid(), python_version=platform.python_version(),
                     executable=sys.executable, gil_enabled=gil_enabled)
        sys.stdout.write(json.dumps(roles) + "\n")
        sys.stdout.flush()
    if args.churn:
        churn(args.churn, args.churn_work)
        stop.set()
        return
    if args.fork:
        fork_workers(args)
    deadline = time.time() + args.seconds if args.seconds > 0 else None
    try:
        while deadline is None or time.time() < deadline:
            time.sleep(0.05)
            if args.hold_on_signal and hold_go.is_set() and not any(t.is_alive() for t in holders):
                time.sleep(0.5)
                break
            if usr1:
                on_usr1(args)
    except KeyboardInterrupt:
        pass
    stop.set()
    if args.final_report:
        for t in holders:
            t.join()
        sys.stdout.write(json.dumps({"held_blocked_s": held}) + "\n")
        sys.stdout.flush()
    if roles["sub"]:
        os._exit(0)  # a sub-interpreter still running would abort finalization


if __name__ == "__main__":
    main()
