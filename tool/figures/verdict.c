#include "config.h"

#include "tool/figures/verdict.h"

#include "tool/util/escape.h"

#include <stdint.h>
#include <stdio.h>

const char *verdict_kind_name(enum verdict_kind kind)
{
	static const char *const names[VERDICT_KINDS] = { "holder_blocked", "bottleneck", "cpu_starved",
							  "convoy",	    "moderate",	  "none" };

	return kind < VERDICT_KINDS ? names[kind] : "none";
}

/* Held most of the time with a queue: per process, so thread pools and
 * thread-per-request servers qualify however short each thread's life.
 * Without utilisation (--hold-rate 0, no holder layout) a full thread's
 * worth waiting all the time says the same, less surely. */
static bool saturated(const struct gil_model *m)
{
	if (m->held >= 0)
		return m->held >= VERDICT_SATURATED_HELD && m->queue >= VERDICT_SATURATED_QUEUE;
	return m->queue >= VERDICT_SATURATED_QUEUE_BLIND;
}

/* Threads wait for CPUs more than for the GIL: the host, not the GIL.
 * Only when the CPU wait is measured. */
static bool cpu_starved(const struct gil_model *m)
{
	return m->cpu_queue >= VERDICT_IDLE_QUEUE && m->cpu_queue > m->queue;
}

enum verdict_kind verdict_decide(const struct gil_model *m, bool gil_enabled)
{
	bool waited = m->queue >= VERDICT_IDLE_QUEUE;

	if (!gil_enabled)
		return VERDICT_NONE;
	if (m->culprit && waited)
		return VERDICT_HOLDER_BLOCKED;
	if (saturated(m))
		return VERDICT_BOTTLENECK;
	if (cpu_starved(m))
		return VERDICT_CPU_STARVED;
	if (m->convoy && waited)
		return VERDICT_CONVOY;
	return waited ? VERDICT_MODERATE : VERDICT_NONE;
}

/* ", called from flush (app/db.py:42)": the innermost Python frame the
 * sampler saw the thread in while it was blocked holding the GIL. */
static int python_caller(const struct gil_model_input *in, pid_t tid, char *buf, size_t len)
{
	const struct py_profile_entry *top[1];
	char name[512], escaped[1024];

	if (!in->hold || !in->hold->python_stacks ||
	    py_profile_top(&in->hold->profile, tid, in->summary, true, top, 1) != 1 || !top[0]->depth)
		return 0;
	py_profile_frame_short_name(&top[0]->frames[0], name, sizeof name);
	escape_text(escaped, sizeof escaped, name);
	return snprintf(buf, len, ", called from %s", escaped);
}

/* "thread 7 (db-writer) held the GIL for 0.40 s while blocked in
 * clock_nanosleep, called from flush (app/db.py:42)" */
static int culprit_clause(const struct gil_model *m, const struct gil_model_input *in, char *buf, size_t len)
{
	const struct hold_stack *top[1];
	const struct thread_stats *t = m->culprit;
	char name[4 * sizeof t->python_name], where[256] = "";
	int n;

	/* The verdict is read on terminals: the target's names escaped. */
	escape_text(name, sizeof name, thread_name(t));
	n = snprintf(buf, len, "thread %d (%s) held the GIL for %.2f s while blocked", (int)t->tid, name,
		     (double)m->culprit_ns / 1e9);
	/* The system call says more than a wrapper frame (glibc 2.41+ blocks
	 * in __syscall_cancel_arch whatever the call). */
	if (in->hold && hold_top_stacks(in->hold, t->tid, in->summary, top, 1) && (top[0]->syscall || top[0]->nframes))
		escape_text(where, sizeof where, top[0]->syscall ? top[0]->syscall : top[0]->frames[0]);
	if (where[0] && n > 0 && (size_t)n < len)
		n += snprintf(buf + n, len - (size_t)n, " in %s", where);
	if (n > 0 && (size_t)n < len)
		n += python_caller(in, t->tid, buf + n, len - (size_t)n);
	return n;
}

static void held_clause(const struct gil_model *m, char *buf, size_t len)
{
	if (m->held >= 0)
		snprintf(buf, len, "held %.0f%% of the time, ", 100.0 * m->held);
	else
		buf[0] = '\0';
}

enum verdict_kind verdict_line(const struct gil_model *m, const struct gil_model_input *in, char *buf, size_t len)
{
	enum verdict_kind kind = verdict_decide(m, in->gil_enabled);
	char held[64];
	int n;

	held_clause(m, held, sizeof held);
	switch (kind) {
	case VERDICT_HOLDER_BLOCKED:
		n = culprit_clause(m, in, buf, len);
		if (n > 0 && (size_t)n < len)
			snprintf(buf + n, len - (size_t)n, ": every other thread stalled");
		break;
	case VERDICT_BOTTLENECK:
		snprintf(buf, len, "GIL is the bottleneck: %s%.2f threads' worth waiting for it", held, m->queue);
		break;
	case VERDICT_CPU_STARVED:
		snprintf(buf, len, "threads wait for a CPU more than for the GIL: %.2f threads' worth runnable, %.2f "
			 "waiting for the GIL (the host is short of CPUs)", m->cpu_queue, m->queue);
		break;
	case VERDICT_CONVOY:
		snprintf(buf, len, "%zu thread%s mostly blocked on I/O or locks wait%s ~%.1f ms for the GIL per wake-up "
			 "(convoy effect)", m->convoy, m->convoy == 1 ? "" : "s", m->convoy == 1 ? "s" : "",
			 m->convoy_avg_ms);
		break;
	case VERDICT_MODERATE:
		snprintf(buf, len, "GIL contention is moderate: %s%.2f threads' worth waiting (%.1f%%)", held, m->queue,
			 100.0 * m->wait_share);
		break;
	default:
		if (!in->gil_enabled) {
			snprintf(buf, len, "free-threaded build: the GIL is disabled");
			break;
		}
		n = snprintf(buf, len, "GIL is not slowing this process down (%.1f%% waiting)", 100.0 * m->wait_share);
		/* No one waited, but a holder blocked: worth knowing before load comes. */
		if (m->culprit && n > 0 && (size_t)n + 20 < len) {
			n += snprintf(buf + n, len - (size_t)n, "; no one waited, but ");
			culprit_clause(m, in, buf + n, len - (size_t)n);
		}
		break;
	}
	return kind;
}
