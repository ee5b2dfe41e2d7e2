#include "config.h"

#include "verdict.h"

#include "escape.h"

#include <stdint.h>
#include <stdio.h>

void verdict_totals(const struct verdict_input *in, double *threads_worth, double *pct)
{
	double worth = 0;

	for (size_t i = 0; i < in->nthreads; i++) {
		struct row_figures f;
		row_figures(in->threads[i], in->summary, in->seconds, &f);
		worth += f.wait_pct / 100.0;
	}
	size_t threads = in->nthreads;

	if (in->folded && in->seconds > 0) {
		worth += (double)in->folded->run.gil.ns / 1e9 / in->seconds;
		threads += in->folded->threads;
	}
	/* The share of the reported threads' time (those alive in the period). */
	*threads_worth = worth;
	*pct = threads ? 100.0 * worth / (double)threads : 0.0;
}

/* Threads waiting most of the time: GIL-bound. */
static size_t bound_threads(const struct verdict_input *in, double *mean_wait_pct)
{
	double sum = 0;
	size_t n = 0;

	for (size_t i = 0; i < in->nthreads; i++) {
		struct row_figures f;
		row_figures(in->threads[i], in->summary, in->seconds, &f);
		if (f.wait_pct >= VERDICT_BOUND_WAIT_PCT) {
			sum += f.wait_pct;
			n++;
		}
	}
	*mean_wait_pct = n ? sum / (double)n : 0;
	return n;
}

/* Threads mostly off the CPU that still wait for the GIL at every wake-up,
 * about a switch interval each time: the convoy effect. */
static size_t convoy_threads(const struct verdict_input *in, double *avg_wait_ms)
{
	double sum = 0;
	size_t n = 0;

	for (size_t i = 0; i < in->nthreads; i++) {
		struct row_figures f;
		row_figures(in->threads[i], in->summary, in->seconds, &f);
		/* A thread that ended mid-interval has no last CPU sample, and
		 * one that lived between two samples none at all. */
		bool cpu_known = in->threads[i]->cpu_sampled && (in->summary || in->threads[i]->alive);
		if (cpu_known && f.cpu_pct < VERDICT_IO_CPU_PCT && f.wait_pct >= VERDICT_IO_WAIT_PCT &&
		    f.avg_ns >= VERDICT_IO_AVG_WAIT_NS) {
			sum += (double)f.avg_ns / 1e6;
			n++;
		}
	}
	*avg_wait_ms = n ? sum / (double)n : 0;
	return n;
}

/* The thread that held the GIL longest while blocked, if that stalled the
 * others for a noticeable share of the period. */
static const struct thread_stats *culprit(const struct verdict_input *in, uint64_t *ns)
{
	const struct thread_stats *worst = NULL;

	*ns = 0;
	if (!in->hold || !hold_blocked_known(in->hold))
		return NULL;
	for (size_t i = 0; i < in->nthreads; i++) {
		uint64_t b = thread_figures_of(in->threads[i], in->summary)->blocked_ns;
		if (b > *ns) {
			*ns = b;
			worst = in->threads[i];
		}
	}
	if (!worst || in->seconds <= 0 || 100.0 * (double)*ns / 1e9 / in->seconds < VERDICT_CULPRIT_PCT)
		return NULL;
	return worst;
}

static bool culprit_line(const struct verdict_input *in, char *buf, size_t len)
{
	const struct hold_stack *top[1];
	const struct thread_stats *t;
	char name[4 * sizeof t->name], where[256];
	uint64_t ns;

	if (!(t = culprit(in, &ns)))
		return false;
	/* The verdict is read on terminals: the target's names escaped. */
	escape_text(name, sizeof name, t->name);
	/* The system call says more than a wrapper frame (glibc 2.41+ blocks
	 * in __syscall_cancel_arch whatever the call). */
	if (hold_top_stacks(in->hold, t->tid, in->summary, top, 1) && (top[0]->syscall || top[0]->nframes)) {
		escape_text(where, sizeof where, top[0]->syscall ? top[0]->syscall : top[0]->frames[0]);
		snprintf(buf, len, "thread %d (%s) held the GIL for %.2f s while blocked in %s: every other thread stalled",
			 (int)t->tid, name, (double)ns / 1e9, where);
	} else {
		snprintf(buf, len, "thread %d (%s) held the GIL for %.2f s while blocked: every other thread stalled",
			 (int)t->tid, name, (double)ns / 1e9);
	}
	return true;
}

void verdict_line(const struct verdict_input *in, char *buf, size_t len)
{
	double worth, pct, bound_pct, convoy_ms;
	size_t bound, convoy;
	int n;

	if (!in->gil_enabled) {
		snprintf(buf, len, "free-threaded build: the GIL is disabled");
		return;
	}
	verdict_totals(in, &worth, &pct);
	if (worth < VERDICT_IDLE_THREADS) {
		snprintf(buf, len, "GIL is not slowing this process down (%.1f%% waiting)", pct);
		return;
	}
	if (culprit_line(in, buf, len))
		return;
	bound = bound_threads(in, &bound_pct);
	convoy = convoy_threads(in, &convoy_ms);
	if (bound >= VERDICT_BOUND_THREADS)
		n = snprintf(buf, len, "GIL is the bottleneck: %zu threads spent %.0f%% of their time waiting for it",
			     bound, bound_pct);
	else if (convoy)
		n = snprintf(buf, len, "I/O threads wait ~%.1f ms per wake-up behind CPU-bound threads (convoy effect)",
			     convoy_ms);
	else
		n = snprintf(buf, len, "GIL contention is moderate: %.2f threads' worth waiting (%.1f%%)", worth, pct);
	/* Both at once: the convoy is worth a clause. */
	if (bound >= VERDICT_BOUND_THREADS && convoy && n > 0 && (size_t)n < len)
		snprintf(buf + n, len - (size_t)n, "; %zu I/O thread%s ~%.1f ms per wake-up", convoy,
			 convoy == 1 ? " waits" : "s wait", convoy_ms);
}
