/* Prometheus metrics: the text exposition format (0.0.4) of every traced
 * process's figures since it was first traced. Counters only grow: ended
 * threads are folded into their process's totals, never dropped. Pure
 * formatting. */
#ifndef GILSTATS_METRICS_H
#define GILSTATS_METRICS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

#include "tool/figures/hold.h"
#include "tool/report/render.h"
#include "tool/figures/stats.h"
#include "tool/figures/verdict.h"

struct metrics_process {
	const struct report_target *target;
	const struct stats *stats;
	const struct hold_state *hold; /* NULL: holding not measured */
	bool verdict_known;            /* an interval was decided */
	enum verdict_kind verdict;     /* the last interval's kind */
	const struct report_counts *counts; /* its BPF counters; NULL: none read */
};

/* Writes the exposition of n processes; per_thread adds the live threads'
 * own series (labels tid and thread). */
void metrics_write(FILE *out, const struct metrics_process *procs, size_t n, bool per_thread);

#endif
