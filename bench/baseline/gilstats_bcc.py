#!/usr/bin/python3
"""THE COMPARISON, NOT PART OF GILSTATS: the seed's method in Python bcc
(Debian python3-bpfcc), with its probe at the right address. A uprobe and
a uretprobe on pthread_cond_timedwait (at the file offset of the default
symbol version, which the benchmark passes in) time every wait per (thread,
condvar); every interval the waits on the GIL's condvar are printed.

    gilstats_bcc.py PID LIBC_PATH OFFSET GIL_COND_ADDRESS INTERVAL COUNT

Prints "attached <seconds since start>" once the probes are in, then one
line per interval: the GIL wait of all threads in seconds."""
import os
import sys
import time

START = time.monotonic()

from bcc import BPF  # noqa: E402  (the import is part of the start-up measured)

PROGRAM = r"""
#include <uapi/linux/ptrace.h>
struct key_t { u64 cond; u32 tid; u32 pad; };
struct start_t { u64 ts; u64 cond; };
BPF_HASH(start, u32, struct start_t);
BPF_HASH(waits, struct key_t, u64);
int enter(struct pt_regs *ctx) {
    u64 id = bpf_get_current_pid_tgid();
    if ((id >> 32) != TGID) return 0;
    u32 tid = id;
    struct start_t s = { bpf_ktime_get_ns(), PT_REGS_PARM1(ctx) };
    start.update(&tid, &s);
    return 0;
}
int leave(struct pt_regs *ctx) {
    u32 tid = bpf_get_current_pid_tgid();
    struct start_t *s = start.lookup(&tid);
    if (!s) return 0;
    struct key_t k = { s->cond, tid, 0 };
    u64 d = bpf_ktime_get_ns() - s->ts, zero = 0;
    start.delete(&tid);
    u64 *v = waits.lookup_or_try_init(&k, &zero);
    if (v) __sync_fetch_and_add(v, d);
    return 0;
}
"""


def main():
    pid, libc, offset, cond = int(sys.argv[1]), sys.argv[2], int(sys.argv[3], 0), int(sys.argv[4], 0)
    interval, count = float(sys.argv[5]), int(sys.argv[6])
    cflags = os.environ.get("GILSTATS_BENCH_CFLAGS", "").split()  # kernel headers, as gilstats finds them
    b = BPF(text=PROGRAM.replace("TGID", str(pid)), cflags=cflags)
    b.attach_uprobe(name=libc, addr=offset, fn_name="enter", pid=pid)
    b.attach_uretprobe(name=libc, addr=offset, fn_name="leave", pid=pid)
    print("attached %.3f" % (time.monotonic() - START), flush=True)
    last = 0
    for _ in range(count):
        time.sleep(interval)
        total = sum(v.value for k, v in b["waits"].items() if k.cond == cond)
        print("gil_wait_s %.6f" % ((total - last) / 1e9), flush=True)
        last = total
    os._exit(0)  # the probes go with the process; bcc's atexit cleanup wants tracefs


if __name__ == "__main__":
    main()
