/* The GIL as a resource, per process and period (an interval or the whole
 * run): how much of the time it was held (utilisation), how many threads'
 * worth waited for it (the queue), how many waited for a CPU instead, and
 * per thread the time blocked on anything else (I/O, sleeps, locks). The
 * verdict (verdict.h) is decided from this model alone. Pure logic. */
#ifndef GILSTATS_GIL_MODEL_H
#define GILSTATS_GIL_MODEL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "tool/figures/hold.h"
#include "tool/figures/stats.h"

/* Thresholds (see gilstats.8, VERDICT). */
#define MODEL_CONVOY_BLOCKED_SHARE 0.5 /* blocked elsewhere this share of its life: a waiting-on-others thread */
#define MODEL_CONVOY_WAIT_SHARE 0.05   /* ...that waits this share for the GIL... */
#define MODEL_CONVOY_AVG_WAIT_NS 1000000 /* ...about this long per wake-up: in a convoy */
#define MODEL_CULPRIT_SHARE 0.05       /* held the GIL while blocked this share of the period */

/* What a period's figures are read from: the threads of the report, the
 * period's length, and what is known of holding. */
struct gil_model_input {
	struct thread_stats *const *threads;
	size_t nthreads;
	bool summary;                        /* the run's figures, not the last interval's */
	double seconds;                      /* the period's length */
	bool gil_enabled;                    /* false: a free-threaded build without its GIL */
	double held_pct;                     /* the GIL's utilisation (%), or < 0: unknown */
	const struct folded_threads *folded; /* summary: ended threads folded together; may be NULL */
	const struct hold_state *hold;       /* held-while-blocked figures; may be NULL */
	bool cpu_wait_known;                 /* run-queue time is measured (sched_wakeup) */
};

struct gil_model {
	double seconds;      /* the period */
	double held;         /* share of the period the GIL was held (0..1), or < 0: unknown */
	double queue;        /* threads' worth waiting for the GIL: GIL wait / the period */
	double cpu_queue;    /* threads' worth waiting for a CPU, or < 0: unknown */
	double thread_s;     /* thread-seconds alive in the period */
	double wait_share;   /* GIL wait as a share of thread_s */
	size_t threads_alive, threads_seen; /* alive at the end; alive in the period */
	size_t convoy;       /* threads mostly blocked elsewhere that pay a GIL wait per wake-up */
	double convoy_avg_ms; /* their mean wait per wake-up */
	const struct thread_stats *culprit; /* held the GIL longest while blocked; NULL: none */
	uint64_t culprit_ns;
	bool culprit_known;  /* held-while-blocked is measured */
};

/* A thread's CPU wait (runnable, not running) over the period: the one
 * place it is read. False when it is not measured (null in JSON). */
bool gil_model_cpu_wait(const struct thread_figures *f, bool known, uint64_t *ns);

/* Off the CPU and waiting neither for the GIL (nor its switch) nor for a
 * CPU: blocked on anything else. Measured in the kernel where CPU wait is
 * (its blocked time less the GIL's parts); else alive - cpu - GIL wait -
 * switch wait, never below 0. */
uint64_t gil_model_blocked_other_ns(const struct thread_figures *f, bool cpu_wait_known);

void gil_model_compute(const struct gil_model_input *in, struct gil_model *m);

#endif
