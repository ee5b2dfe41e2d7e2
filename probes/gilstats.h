/* Structures shared by the BPF program (probes/gilstats.bpf.c) and the tool.
 *
 * Both sides see exactly these bytes: every key is laid out without padding
 * holes because BPF hash maps hash keys byte for byte. */
#ifndef GILSTATS_SHARED_H
#define GILSTATS_SHARED_H

#ifndef GILSTATS_EMBEDDED
#include <linux/types.h>
#endif

/* Map sizes (the man page's MANY PROCESSES says what they cost). A thread
 * owns one in-flight slot and one row per lock kind it waits on; 10,000
 * threads coming and going are evicted by the tool. */
#define GS_MAX_TARGETS 1024 /* processes traced at once (--all on a host of gunicorn workers) */
#define GS_MAX_WATCHED 1024 /* every 4-byte word of each GIL's condvars and mutexes, per process */
/* One GIL's words are 44 (3.12: two condvars, two mutexes): 64 a process
 * on average leaves room for sub-interpreters with GILs of their own. */
#define GS_MAX_WATCHED_ALL (GS_MAX_TARGETS * 64)
#define GS_MAX_THREADS 16384
#define GS_MAX_WAIT_ROWS 32768

/* What a watched address is. Anything not watched is GS_KIND_OTHER and is
 * recorded only while the tool still has to guess the GIL (heuristic). */
enum gs_wait_kind {
	GS_KIND_OTHER = 0,
	GS_KIND_GIL_COND = 1,     /* take_gil: the GIL's condvar (or 2.7 semaphore) */
	GS_KIND_GIL_MUTEX = 2,    /* the GIL's mutex */
	GS_KIND_SWITCH_COND = 3,  /* drop_gil: FORCE_SWITCHING's switch_cond */
	GS_KIND_SWITCH_MUTEX = 4, /* its mutex */
};

/* A watched address of one process: processes side by side may map their
 * GIL at the same address (a non-PIE python), so the key names both. */
struct gs_watch_key {
	__u64 addr;
	__u32 tgid;
	__u32 pad;
};

/* A watched address: a word inside one of the GIL's objects (the uprobe
 * back end sees an object's start, the futex back end the futex word). */
struct gs_watch {
	__u64 base; /* the object's start: what the wait is recorded as */
	__u32 kind; /* enum gs_wait_kind */
	__u32 pad;
};

/* Settings written by the tool; index 0 of the "settings" array. */
struct gs_settings {
	__u64 epoch;            /* bumped by the tool at every interval */
	__u32 record_unwatched; /* 1 while the GIL address is not known exactly */
	__u32 histogram;        /* GS_HIST_*: log2 histogram of GIL waits */
	__u32 task_pid_off;     /* in struct task_struct, from the kernel's BTF; */
	__u32 task_tgid_off;    /* 0: on-CPU time is not accounted in the kernel */
	__u32 attach_blocked;   /* 1: attach_blocked has a holder blocked at attach */
	__u32 runq;             /* 1: sched_switch and sched_wakeup are attached: a
				 * wait counts from its block to its wake-up */
	__u32 task_runtime_off; /* se.sum_exec_runtime in struct task_struct; 0:
				 * slices are timed by the clock at the switches */
	__u32 task_start_off;   /* start_time (CLOCK_MONOTONIC ns) in struct
				 * task_struct; 0: a thread's birth is not known */
	__u32 targets_gen;      /* bumped by the tool when it adds a target */
	__u32 task_cfs_rq_off;  /* se.cfs_rq in struct task_struct; 0: steal is not known */
	__u32 cfs_rq_rq_off;    /* rq in struct cfs_rq */
	__u32 rq_clock_off;     /* clock and clock_task in struct rq */
	__u32 rq_clock_task_off;
	__u32 follow_execs;     /* 1 (--all): every exec on the host enters the
				 * family map, for the tool to look at */
};

enum gs_histogram { GS_HIST_OFF = 0, GS_HIST_PROCESS = 1, GS_HIST_PER_THREAD = 2 };

/* A wait that has started and not ended yet, keyed by thread id. */
struct gs_inflight {
	__u64 start_ns;  /* blocked since (the switch off the CPU; the call
			  * until it blocks); 0: woken, running in the call */
	__u64 addr;
	__u32 kind;      /* enum gs_wait_kind */
	__u32 tgid;      /* so the tool splits a process's waits in progress */
	__u64 waited_ns; /* its blocked pieces so far (a call may block,
			  * wake and block again: sem_wait, a condvar's mutex) */
};

/* Log2 histogram of GIL wait durations in microseconds, like bcc's
 * runqlat: slot s > 0 counts waits of 2^(s-1) to 2^s - 1 us, slot 0 those
 * under 1 us. tid is 0 for the process-wide histogram. */
#define GS_HIST_SLOTS 27
#define GS_MAX_HIST_ROWS 16384
struct gs_hist_key {
	__u32 tgid;
	__u32 tid;
	__u32 slot;
	__u32 pad;
};

struct gs_wait_key {
	__u64 addr;  /* the condvar / semaphore waited on */
	__u32 tgid;
	__u32 tid;
};

/* Two epoch slots (epoch & 1): while waits of the new epoch land in one,
 * the tool reads the finished epoch's maximum from the other. */
struct gs_wait_stats {
	__u64 total_ns;
	__u64 count;
	__u64 max_ns;          /* longest wait since the row was created */
	__u64 epoch_max_ns[2]; /* longest wait that ended in epoch[i] */
	__u64 epoch[2];
	__u64 last_start_ns;   /* start of the last piece added to total_ns: the
				* tool tells a piece it saw in flight from one
				* already here */
};

/* Who holds the GIL, for the sched_switch program: where the target keeps
 * it and how a PyThreadState names its thread. Keyed by tgid. */
struct gs_holder {
	__u64 locked_addr;     /* int, non-zero while held; 0: held while *holder_addr != 0 (2.7) */
	__u64 holder_addr;     /* PyThreadState* of the holder (last_holder, or the current tstate) */
	__u32 tstate_tid_off;  /* in PyThreadState: native_thread_id, or pthread_t thread_id */
	__u32 pthread_tid_off; /* in glibc's struct pthread: the tid; 0 when the field above is the tid */
	/* The target's PID namespace (nsfs device and inode) when it is not
	 * the host's: the tid it keeps is its namespace's. 0: the host's. */
	__u64 pidns_dev;
	__u64 pidns_ino;
};

/* A thread that went off-CPU, not preempted, while holding the GIL; keyed
 * by its task_struct address, which the switch back in names. */
struct gs_blocked {
	__u64 start_ns;
	__u32 tgid;
	__u32 tid;
	__s64 stackid;  /* user stack when it blocked; < 0: none */
	__s64 kstackid; /* kernel stack: names the system call it blocked in */
};

#define GS_MAX_HELD_ROWS 16384
#define GS_MAX_STACKS 4096

struct gs_held_key {
	__u32 tgid;
	__u32 tid;
	__s64 stackid;
	__s64 kstackid;
};

struct gs_held_stats {
	__u64 total_ns;
	__u64 count;
	__u64 last_start_ns; /* start of the last period added */
};

/* On-CPU time. Per CPU: the target thread running there since since_ns
 * (tid 0: none), so the tool can add the slice in progress, and its
 * se.sum_exec_runtime then, which the slice's end subtracts. */
struct gs_running {
	__u64 since_ns;
	__u32 tid;
	__u32 tgid;
	__u64 runtime_ns;
	__u32 known;   /* targets_gen + 1 when the running task was checked at
			* its switch in: tid 0 then says it is no target */
	__u32 pad;
	__u64 lost_ns; /* the CPU's time lost to its tasks at the switch in (oncpu.bpf.h) */
};

/* Per thread, keyed by tid: its finished slices on a CPU, and its name at
 * the last one (threads rename themselves). A thread's last switch says
 * it ended, so the tool need not list /proc/PID/task at every interval. */
struct gs_cpu_time {
	__u64 cpu_ns;
	__u64 last_since_ns; /* start of the last slice added */
	__u64 steal_ns;      /* on a CPU the hypervisor (or interrupts) took meanwhile */
	__u32 tgid;
	__u32 ended;
	char comm[16];
};

/* Per thread, keyed by tid (probes/runq.bpf.h): time runnable in a run
 * queue (what schedstat's run_delay counts) and time blocked off the CPU,
 * finished periods in the totals and the period in progress by its start,
 * in one value so the tool reads both at once. */
struct gs_sched {
	__u64 runq_since;  /* runnable, not running, since (0: no) */
	__u64 sleep_since; /* blocked since (0: no) */
	__u64 cpu_wait_ns; /* finished run-queue periods */
	__u64 blocked_ns;  /* finished blocked periods */
	__u64 cpu_waits;
	__u64 queued_ns;   /* the run-queue period before its slice on a CPU */
	__u64 born_ns;     /* the task's start_time (0: unknown): alive_s starts
			    * there, and a tid reused by a new thread shows */
	__u64 died_ns;     /* its last switch, dead (0: alive) */
	__u32 tgid;
	__u32 on_cpu;      /* 1 between its switch on and off a CPU */
};

/* A process whose forks and execs are followed (lineage.bpf.h), keyed by
 * tgid: the tool adds the ones it traces, the kernel their new children. */
#define GS_MAX_FAMILY 4096
struct gs_family {
	__u32 parent; /* the followed process it was forked from; 0: added by the tool */
	__u32 follow; /* 1: its children are followed too (--children) */
	__u64 execs;  /* execs since it was added */
	__u64 exec_ns; /* its last exec, or its fork (CLOCK_MONOTONIC); 0: none seen */
	__u32 origin;  /* enum gs_family_origin */
	__u32 looked;  /* the tool had a first look at it (set by the tool) */
};

/* The family_counts map's slots. */
enum gs_family_count { GS_FAMILY_LOST = 0, GS_FAMILY_CHANGES = 1, GS_FAMILY_COUNTS = 2 };

enum gs_family_origin {
	GS_FAMILY_TOOL = 0, /* added by the tool */
	GS_FAMILY_FORK = 1, /* forked by a followed process */
	GS_FAMILY_EXEC = 2, /* an exec of a process not followed (follow_execs) */
};

/* Events counted per traced process, so the cost of tracing and what was
 * lost can be reported for each one (struct gs_counts, keyed by tgid). */
enum gs_counter {
	GS_COUNT_ENTRY_HITS = 0,  /* waits started in the target (calls or futex waits) */
	GS_COUNT_RETURN_HITS = 1, /* waits that ended */
	GS_COUNT_ROWS_FULL = 2,     /* waits lost: the rows map was full */
	GS_COUNT_INFLIGHT_FULL = 3, /* waits lost: the in-flight map was full */
	GS_COUNT_SWITCH_HITS = 4,   /* target threads switched off-CPU while blocking */
	GS_COUNT_HELD_FULL = 5,     /* held-while-blocked periods lost: a map was full */
	GS_COUNT_CPU_FULL = 6,      /* on-CPU slices lost: the oncpu map was full */
	GS_COUNT_SCHED_FULL = 7,    /* run-queue periods lost: the sched map was full */
	GS_COUNTERS = 8,
};

/* One process's counters: a row of the per-CPU hash "counters". */
struct gs_counts {
	__u64 n[GS_COUNTERS];
};

#endif
