/* The BPF maps' rows as user space copies them (snapshot.c reads them,
 * figures/ computes from them): a key and the value of probes/gilstats.h,
 * laid out as the map's batch reads return them. */
#ifndef GILSTATS_ROWS_H
#define GILSTATS_ROWS_H

#include <stddef.h>
#include <stdint.h>

#include "probes/gilstats.h"

/* A row of the waits map, and the rows of one read. */
struct wait_row {
	struct gs_wait_key key;
	struct gs_wait_stats stats;
	uint64_t inflight_ns; /* the row's wait in progress at the read, so far (split.c); 0: none */
};

struct wait_rows {
	struct wait_row *v;
	size_t n, cap;
};

/* A row of the hist map. */
struct hist_row {
	struct gs_hist_key key;
	uint64_t count;
};

/* A row of the held map. */
struct held_row {
	struct gs_held_key key;
	struct gs_held_stats stats;
};

/* A row of the oncpu map. */
struct cpu_row {
	uint32_t tid;
	uint32_t pad;
	struct gs_cpu_time time;
};

/* A row of the inflight map (keyed by tid). */
struct inflight_row {
	uint32_t tid;
	uint32_t pad;
	struct gs_inflight wait;
};

/* A row of the family map (lineage.bpf.h): a followed process, keyed by tgid. */
struct family_row {
	uint32_t pid;
	uint32_t pad;
	struct gs_family family;
};

/* A row of the blocked map (keyed by the task's address) or of
 * attach_blocked (keyed by tid). */
struct blocked_row {
	uint64_t key;
	struct gs_blocked period;
};

/* A row of the sched map. */
struct sched_row {
	uint32_t tid;
	uint32_t pad;
	struct gs_sched sched;
};

#endif
