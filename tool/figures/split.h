/* Interval-exact accounting: every duration (a GIL wait, a switch wait, a
 * slice on a CPU, a held-while-blocked period, a run-queue or blocked
 * period) counts in each interval for the part of it inside the interval.
 * Pure logic.
 *
 * How. The BPF maps hold, per thread and kind, the total of the periods
 * that ended (with the start of the last one added), and the period in
 * progress with its start. At each boundary the tool takes T =
 * CLOCK_MONOTONIC (the clock of bpf_ktime_get_ns), then reads the periods
 * in progress, then the totals, and forms for each thread the value
 *
 *     V(T) = ended periods' total + sum over periods in progress (T - start)
 *
 * (a period in progress begun after T adds nothing).
 * A period in progress that ended between the two reads is in the totals
 * already: the total's last start is its start, or a later one's (more
 * periods of the row ended since), and it is skipped.
 * The interval's figure is V(T_k) - V(T_k-1). A period [s, e] adds
 * min(T, e) - s to V(T) for T >= s, so it adds to interval k exactly
 * |[s, e] ∩ [T_k-1, T_k]|: what is in progress at a boundary counts up to
 * it there and the rest in the next interval, whatever the length of the
 * period (a target stopped for seconds, a holder blocked for minutes),
 * and the first baseline V(T_0), taken once the probes are attached,
 * takes out whatever came before it. What happens during the reads can
 * only add to V(T): a period that ends, or begins and ends, between T and
 * the totals' read is in the totals whole. So a figure can exceed its
 * interval by at most the reads' time (read_s), which the next boundary
 * takes back, and the next interval is never above its own: were T taken
 * after the reads, a period begun during them would be missed there and
 * counted whole in the next interval, from before that interval began. */
#ifndef GILSTATS_SPLIT_H
#define GILSTATS_SPLIT_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "probes/gilstats.h"
#include "tool/bpf/rows.h"
#include "tool/figures/hold.h"
#include "tool/bpf/snapshot.h"

/* The part of a period begun at start that lies before now (0 if none). */
uint64_t split_part(uint64_t start, uint64_t now);

/* Adds to rows the waits of process tgid in progress at now (the rows'
 * totals become V(now)); a row is added for a thread without one (count
 * 0). Only threads in live (sorted, nlive) count: a thread not listed has
 * no baseline, and its wait in progress would count whole, from its start,
 * at every boundary (issue 12: 28 s of GIL wait in a 7 s run). Returns 0
 * or -1 (no memory). */
int split_waits(struct wait_rows *rows, const struct inflight_row *inflight, size_t n, uint32_t tgid,
		const pid_t *live, size_t nlive, uint64_t now);

/* The same for the held-while-blocked rows (*rows has *cap slots,
 * reallocated); *nrows is updated. */
int split_held(struct held_row **rows, size_t *nrows, size_t *cap, const struct blocked_row *blocked, size_t n,
	       uint32_t tgid, uint64_t now);

/* A thread's CPU wait and blocked time V(now). */
uint64_t split_cpu_wait(const struct gs_sched *s, uint64_t now);
uint64_t split_blocked(const struct gs_sched *s, uint64_t now);

#endif
