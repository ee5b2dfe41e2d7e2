/* The verdict: one line that answers "is the GIL slowing this process
 * down?" from the measured figures. The thresholds are documented in
 * gilstats(8). Pure logic. */
#ifndef GILSTATS_VERDICT_H
#define GILSTATS_VERDICT_H

#include <stdbool.h>
#include <stddef.h>

#include "hold.h"
#include "table.h"

/* Thresholds (see gilstats.8, VERDICT). */
#define VERDICT_IDLE_THREADS 0.05      /* below: "not slowing this process down" */
#define VERDICT_BOUND_WAIT_PCT 50.0    /* a thread waiting this much is GIL-bound */
#define VERDICT_BOUND_THREADS 2        /* this many GIL-bound threads: the bottleneck */
#define VERDICT_IO_CPU_PCT 5.0         /* below: an I/O thread, mostly off the CPU */
#define VERDICT_IO_WAIT_PCT 5.0        /* an I/O thread waiting this much for the GIL... */
#define VERDICT_IO_AVG_WAIT_NS 1000000 /* ...about this long per wake-up: a convoy */
#define VERDICT_CULPRIT_PCT 5.0        /* held the GIL while blocked this much: the culprit */

struct verdict_input {
	struct thread_stats *const *threads; /* the threads of the report */
	size_t nthreads;
	bool summary;
	double seconds;
	bool gil_enabled;
	const struct folded_threads *folded; /* counted in the totals; may be NULL */
	const struct hold_state *hold;       /* held-while-blocked figures; may be NULL */
};

/* The process's total GIL wait: threads' worth (2.7 = on average 2.7
 * threads were waiting) and as a share of its live threads' time. */
void verdict_totals(const struct verdict_input *in, double *threads_worth, double *pct);

void verdict_line(const struct verdict_input *in, char *buf, size_t len);

#endif
