/* The threads' names and CPU time at every interval: from the kernel's
 * accounting at sched_switch when the probes have it, else from
 * /proc/PID/task/TID/stat (a read per thread and interval). */
#ifndef GILSTATS_THREAD_TIMES_H
#define GILSTATS_THREAD_TIMES_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

#include "tool/figures/cpu_time.h"
#include "tool/bpf/loader.h"
#include "tool/figures/split.h"
#include "tool/figures/stats.h"

struct thread_times {
	pid_t pid;
	bool in_kernel;
	bool runq;       /* run-queue and blocked time are accounted too */
	bool steal;      /* and the CPU's time lost in a slice, apart */
	int oncpu_fd, running_fd, sched_fd;
	struct cpu_update cpu;
	struct gs_running *slots;
	size_t nslots;
	struct sched_row *sched; /* the sched map's rows at the last read */
	uint64_t sched_now_ns;   /* the boundary they are split at */
	size_t nsched, sched_cap;
	uint32_t *sched_forget;
	size_t sched_forget_cap;
};

void thread_times_start(struct thread_times *tt, pid_t pid, const struct loader *p);

/* The threads running at attach: /proc's CPU time is their baseline. */
void thread_times_baseline(struct thread_times *tt, struct stats *st);

/* Reads the kernel's maps: the slices in progress, and later (split.h)
 * the totals and the sched rows; the caller reads the boundary's time
 * right after. 0 or -1. */
int thread_times_read_running(struct thread_times *tt);
int thread_times_read_totals(struct thread_times *tt);

/* The target's threads at the boundary now_ns into *tids (sorted,
 * reallocated), which held those of the last update: from the kernel's
 * rows of born and ended threads when it accounts, else listed from
 * /proc/PID/task. Returns the count or -1. */
int thread_times_live(struct thread_times *tt, uint64_t now_ns, pid_t **tids, size_t *ntids, size_t *cap);

/* Before stats_update: a thread whose run-queue row names another birth
 * than its entry is a new thread with an old one's tid; the old entry is
 * retired (stats_retire). */
void thread_times_renew(struct thread_times *tt, struct stats *st);

/* After stats_update: the interval's CPU time and the names. 0 or -1. */
int thread_times_update(struct thread_times *tt, struct stats *st);

void thread_times_free(struct thread_times *tt);

#endif
