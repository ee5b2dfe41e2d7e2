/* Loading and attaching the BPF program: the one narrow interface every
 * back end implements. The only place that compiles or attaches BPF. */
#ifndef GILSTATS_LOADER_H
#define GILSTATS_LOADER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "probes/gilstats.h"
#include "tool/bpf/bpf_cost.h"
#include "tool/util/error.h"
#include "tool/bpf/kernel_btf.h"
#include "tool/bpf/kernel_headers.h"
#include "tool/bpf/probe_backend.h"

#define PROBE_MAX_POINTS 16

/* A function to time (uprobe back end): every call is one wait. */
struct probe_point {
	int fd;            /* the mapped file, opened by the caller */
	uint64_t offset;   /* file offset of the function's first instruction */
	char what[128];    /* "pthread_cond_timedwait@@GLIBC_2.3.2 in libc.so.6" */
};

struct watched_address {
	uint64_t addr; /* a word a wait may name */
	uint64_t base; /* the object it belongs to, which the wait counts for */
	enum gs_wait_kind kind;
};

struct probe_plan {
	enum probe_backend backend;
	pid_t tgid;
	struct probe_point points[PROBE_MAX_POINTS];
	size_t npoints;
	struct watched_address watch[GS_MAX_WATCHED];
	size_t nwatch;
	bool record_unwatched; /* heuristic: record every address waited on */
	enum gs_histogram histogram;
	const char *cache_dir; /* compiled programs cached here; NULL: none */
	bool cache_refresh;    /* compile anew and replace the cached copy */
	bool track_holder;     /* holder is known: time holding the GIL while blocked */
	struct gs_holder holder;
	/* Kernel offsets: the threads' on-CPU time is accounted at
	 * sched_switch; tgid_off 0: read from /proc instead. */
	struct task_layout task;
	const struct kernel_headers *headers;
};

struct loader;

/* Compiles, loads and attaches. On failure nothing stays attached. */
struct loader *loader_attach(const struct probe_plan *plan, struct gs_error *err);

/* Detaches everything and frees p (NULL is fine). */
void loader_detach(struct loader *p);

/* Whether the kernel keeps run-time statistics of the programs for us
 * (BPF_ENABLE_STATS, held from before the first program was loaded);
 * else *why is the errno (EPERM without CAP_SYS_ADMIN, EINVAL before
 * Linux 5.8). */
bool loader_cost_known(const struct loader *p, int *why);
/* Each program slot's run count and run time so far, in out[0..max);
 * returns the slots filled, or -1 (errno) when they cannot be read. */
int loader_costs(const struct loader *p, struct bpf_prog_stat *out, size_t max);

/* Watches more addresses of a target (a GIL that appeared after attaching). */
int loader_watch(struct loader *p, pid_t tgid, const struct watched_address *watch, size_t n);

/* Another process traced by the same program, and one no longer traced
 * (its addresses and holder forgotten). */
int loader_add_target(struct loader *p, pid_t tgid, const struct watched_address *watch, size_t n);
void loader_remove_target(struct loader *p, pid_t tgid, const struct watched_address *watch, size_t n);
/* The process is no longer traced at all: removed, and its counters
 * (kept by loader_remove_target: an exec re-adds the same process). */
void loader_drop_target(struct loader *p, pid_t tgid, const struct watched_address *watch, size_t n);

/* Whether waits on addresses not watched are recorded too. */
int loader_record_unwatched(struct loader *p, bool on);

/* Starts a new epoch; *ended is the epoch that just ended (the one whose
 * per-interval maxima are now complete). */
int loader_next_epoch(struct loader *p, uint64_t *ended);

/* The maps user space reads or fills, by what they hold. Their fds are
 * resolved once, when the program is loaded. */
enum loader_map {
	LOADER_WAITS, LOADER_COUNTERS, LOADER_HIST, LOADER_INFLIGHT, LOADER_HELD, LOADER_STACKS,
	LOADER_BLOCKED, LOADER_ONCPU, LOADER_RUNNING, LOADER_SCHED, LOADER_ATTACH_BLOCKED, LOADER_TARGETS,
	LOADER_WATCHED, LOADER_SETTINGS, /* the above are in every back end's program */
	LOADER_OPEN_PERIODS, LOADER_HOLDERS, LOADER_FAMILY, LOADER_FAMILY_COUNTS,
	LOADER_MAPS /* how many */
};

/* The map's file descriptor; -1 where the program has none. */
int loader_map_fd(const struct loader *p, enum loader_map m);

/* A holder found blocked at attach: its period from period->start_ns
 * until it runs again (the sched_switch program ends it). start_ns 0
 * removes tid's. Returns 0 or -1. */
int loader_attach_blocked(struct loader *p, const struct gs_blocked *period);

/* Whether forks and execs of the processes in the "family" map are seen
 * in the kernel (lineage.bpf.h), and that map's fd (-1: not seen). */
bool loader_lineage(const struct loader *p);
int loader_family_fd(const struct loader *p);
/* --all: every exec on the host enters the family map (false: it cannot,
 * the tool reads /proc instead). */
bool loader_follow_execs(struct loader *p);
/* The family map's counts (enum gs_family_count): execs lost so far
 * because it was full, and its changes so far. */
uint64_t loader_family_count(const struct loader *p, enum gs_family_count which);

/* Whether the threads' on-CPU time is accounted in the kernel. */
bool loader_accounting_cpu(const struct loader *p);
/* Whether run-queue (CPU wait) and blocked time are (sched_wakeup too). */
bool loader_accounting_runq(const struct loader *p);

/* Whether a slice's time the CPU lost (steal: the hypervisor ran something
 * else) is measured apart from its run time (kernel_btf.h's clocks). */
bool loader_accounting_steal(const struct loader *p);

/* Times the target's threads holding the GIL while blocked (sched_switch;
 * Linux 5.18+). Returns whether that is measured now. */
bool loader_track_holder(struct loader *p, pid_t tgid, const struct gs_holder *holder);
bool loader_holding(const struct loader *p);

#endif
