/* Snapshot of the BPF maps: the wait rows and the probe counters, copied to
 * user space once per interval. */
#ifndef GILSTATS_SNAPSHOT_H
#define GILSTATS_SNAPSHOT_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "probes/gilstats.h"
#include "tool/bpf/rows.h"

/* A shared window: from begin to end each map is read from the kernel
 * once, by its first reader, and every later read gets the same rows (a
 * fleet's processes share the maps: each takes its own rows out of one
 * read, not one read each). Reads must not follow the reader's own
 * deletes inside a window. */
void snapshot_share_begin(void);
void snapshot_share_end(void);
/* In a window: the process whose reads follow (its rows only are copied
 * out of the shared read; 0: every row). */
void snapshot_share_owner(uint32_t tgid);

/* Replaces rows->v with every row of the map (batched where the kernel
 * can). Returns 0 or -1 (errno set). */
int snapshot_rows(int map_fd, struct wait_rows *rows);
void wait_rows_free(struct wait_rows *rows);

/* Deletes the rows of threads that ended (their figures are final). */
int snapshot_forget(int map_fd, const struct gs_wait_key *keys, size_t n);

/* Every row of the histogram map; *rows is reallocated, n returned (or -1). */
int snapshot_histogram(int map_fd, struct hist_row **rows, size_t *cap);

/* Deletes an ended thread's histogram rows. */
void snapshot_forget_histogram(int map_fd, uint32_t tgid, uint32_t tid);

/* Deletes an ended thread's wait in flight (killed while it waited). */
void snapshot_forget_inflight(int map_fd, uint32_t tid);

/* Every row of the held-while-blocked map (struct held_row, hold.h);
 * *rows is reallocated, n returned (or -1). */
int snapshot_held(int map_fd, struct held_row **rows, size_t *cap);
void snapshot_forget_held(int map_fd, const struct gs_held_key *keys, size_t n);
/* Deletes an ended thread's periods in progress, counted as closed in
 * the open_periods map (open_fd; -1: none); returns how many. */
size_t snapshot_forget_blocked(int map_fd, int open_fd, uint32_t tid);

/* Held-while-blocked periods open on the host now (the kernel's count
 * less the tool's deletions); -1 when it cannot be read. */
int64_t snapshot_open_periods(int open_fd);

/* The user stack stackid names, innermost first; returns the depth. */
#define SNAPSHOT_STACK_DEPTH 127 /* PERF_MAX_STACK_DEPTH */
size_t snapshot_stack(int map_fd, int64_t stackid, uint64_t *ips, size_t max);

/* Every row of the oncpu map (struct cpu_row, cpu_time.h); *rows is
 * reallocated, n returned (or -1). */
int snapshot_cpu(int map_fd, struct cpu_row **rows, size_t *cap);
void snapshot_forget_cpu(int map_fd, const uint32_t *tids, size_t n);

/* Every row of the sched map (struct sched_row, split.h), of the inflight
 * map (struct inflight_row) and of the blocked or attach_blocked map
 * (struct blocked_row, key_size 8 or 4); *rows is reallocated, n
 * returned (or -1). */
int snapshot_sched(int map_fd, struct sched_row **rows, size_t *cap);
int snapshot_inflight(int map_fd, struct inflight_row **rows, size_t *cap);
/* The family map's rows (lineage.bpf.h), in batches: one read for a fleet. */
int snapshot_family(int map_fd, struct family_row **rows, size_t *cap);
/* The in-flight rows of these threads only, one lookup each: cheaper than
 * reading the map (sized for every thread of every process) for a process
 * of a few threads. Returns how many, or -1. */
int snapshot_inflight_of(int map_fd, const pid_t *tids, size_t n, struct inflight_row **rows, size_t *cap);
int snapshot_blocked(int map_fd, size_t key_size, struct blocked_row **rows, size_t *cap);

/* The running map's slot of every possible CPU into *slots (reallocated,
 * *n set). Returns 0 or -1. */
int snapshot_running(int map_fd, struct gs_running **slots, size_t *n);

/* Keeps the n rows (row_size bytes each, the tgid at tgid_offset) of one
 * process, in order; returns how many. The maps hold every traced one's. */
size_t snapshot_keep_tgid(void *rows, size_t n, size_t row_size, size_t tgid_offset, uint32_t tgid);

/* A traced process's row of the per-CPU counters (keyed by tgid): added
 * with the process (kept if there), removed with it. */
int snapshot_counters_add(int map_fd, uint32_t tgid);
void snapshot_counters_remove(int map_fd, uint32_t tgid);
/* Sums one process's per-CPU counters into out[GS_COUNTERS]; -1: no row. */
int snapshot_counters(int map_fd, uint32_t tgid, uint64_t out[GS_COUNTERS]);

#endif
