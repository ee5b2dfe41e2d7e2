/* Each thread's time on a CPU, from the kernel's accounting at the
 * scheduler's switches (probes/oncpu.bpf.h): no /proc read per thread and
 * interval. Pure logic. */
#ifndef GILSTATS_CPU_TIME_H
#define GILSTATS_CPU_TIME_H

#include <stddef.h>
#include <stdint.h>

#include "probes/gilstats.h"
#include "tool/bpf/rows.h"
#include "tool/figures/split.h"
#include "tool/figures/stats.h"

struct cpu_update {
	struct cpu_row *rows; /* the map's rows; sorted and extended in place */
	size_t nrows, cap;
	const struct gs_running *slots; /* one per CPU */
	size_t nslots;
	uint32_t tgid;   /* the target's rows only */
	uint64_t now_ns; /* CLOCK_MONOTONIC, read after the slots, then the rows */
	const struct sched_row *sched; /* the target's run-queue rows, sorted by tid */
	size_t nsched;
	uint32_t *forget; /* out: tids whose rows the caller deletes */
	size_t nforget, forget_cap;
};

/* Sorts the run-queue rows by tid, as struct cpu_update wants them. */
void cpu_time_sort_sched(struct sched_row *rows, size_t n);

/* Once the rows and slots are read: adds the slices running now to their
 * threads' rows (a thread on a CPU since its first switch has none yet)
 * and sorts the rows by tid. Returns 0 or -1 (no memory). */
int cpu_time_prepare(struct cpu_update *u);

/* Adds each row's total to its thread (stats_cpu_sample), names the
 * threads after their last switch, and lists the rows of threads that
 * ended. Call after stats_update. Returns 0 or -1 (no memory). */
int cpu_time_update(struct stats *st, struct cpu_update *u);

/* The target's threads now: those alive at the last update, with the
 * ones the rows show born and without the ones they show ended. A thread
 * born and queued for its first CPU has a run-queue row only: it is alive
 * too (its life and its wait count from its birth). prev is sorted;
 * *live (reallocated) comes out sorted. Returns the count or -1. */
int cpu_time_live(const struct cpu_update *u, const pid_t *prev, size_t nprev, pid_t **live, size_t *cap);

#endif
