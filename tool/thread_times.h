/* The threads' names and CPU time at every interval: from the kernel's
 * accounting at sched_switch when the probes have it, else from
 * /proc/PID/task/TID/stat (a read per thread and interval). */
#ifndef GILSTATS_THREAD_TIMES_H
#define GILSTATS_THREAD_TIMES_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

#include "cpu_time.h"
#include "probes.h"
#include "stats.h"

struct thread_times {
	pid_t pid;
	bool in_kernel;
	int oncpu_fd, running_fd;
	struct cpu_update cpu;
	struct gs_running *slots;
	size_t nslots;
};

void thread_times_start(struct thread_times *tt, pid_t pid, const struct probes *p);

/* The threads running at attach: /proc's CPU time is their baseline. */
void thread_times_baseline(struct thread_times *tt, struct stats *st);

/* The target's threads now into *tids (sorted, reallocated), which held
 * those of the last update: from the kernel's rows of born and ended
 * threads when it accounts, else listed from /proc/PID/task. Returns the
 * count or -1. */
int thread_times_live(struct thread_times *tt, pid_t **tids, size_t *ntids, size_t *cap);

/* After stats_update: the interval's CPU time and the names. 0 or -1. */
int thread_times_update(struct thread_times *tt, struct stats *st);

void thread_times_free(struct thread_times *tt);

#endif
