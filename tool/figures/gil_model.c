#include "config.h"

#include "tool/figures/gil_model.h"

#define NS_PER_S 1e9

bool gil_model_cpu_wait(const struct thread_figures *f, bool known, uint64_t *ns)
{
	*ns = known ? f->cpu_wait_ns : 0;
	return known;
}

uint64_t gil_model_blocked_other_ns(const struct thread_figures *f, bool cpu_wait_known)
{
	uint64_t accounted;

	if (cpu_wait_known)
		return f->blocked_other_ns;
	accounted = f->cpu_ns + f->steal_ns + f->gil.ns + f->sw.ns;
	return f->alive_ns > accounted ? f->alive_ns - accounted : 0;
}

/* Mostly blocked on other things, yet a GIL wait of a switch interval or
 * so at each wake-up: classified by the blocked-elsewhere time, never by
 * a low CPU share (a GIL-starved CPU-bound thread has one too). */
static bool in_convoy(const struct thread_figures *f, bool cpu_wait_known)
{
	double alive = (double)f->alive_ns;

	return f->alive_ns && f->gil.count &&
	       (double)gil_model_blocked_other_ns(f, cpu_wait_known) >= MODEL_CONVOY_BLOCKED_SHARE * alive &&
	       (double)f->gil.ns >= MODEL_CONVOY_WAIT_SHARE * alive && f->gil.ns / f->gil.count >= MODEL_CONVOY_AVG_WAIT_NS;
}

static void add_thread(struct gil_model *m, const struct thread_stats *t, const struct thread_figures *f,
		       bool *cpu_wait_known, double *cpu_wait_ns, double *convoy_ms)
{
	bool measured = *cpu_wait_known;
	uint64_t cpu_wait;

	m->queue += (double)f->gil.ns;
	m->thread_s += (double)f->alive_ns;
	m->threads_alive += t->alive;
	m->threads_seen++; /* the report lists those alive in the period */
	if (gil_model_cpu_wait(f, measured, &cpu_wait))
		*cpu_wait_ns += (double)cpu_wait;
	if (in_convoy(f, measured)) {
		m->convoy++;
		*convoy_ms += (double)(f->gil.ns / f->gil.count) / 1e6;
	}
	if (m->culprit_known && f->blocked_ns > m->culprit_ns) {
		m->culprit_ns = f->blocked_ns;
		m->culprit = t;
	}
}

void gil_model_compute(const struct gil_model_input *in, struct gil_model *m)
{
	bool cpu_wait_known = in->cpu_wait_known;
	double cpu_wait_ns = 0, convoy_ms = 0;

	*m = (struct gil_model){ .seconds = in->seconds, .held = in->held_pct >= 0 ? in->held_pct / 100.0 : -1 };
	m->culprit_known = in->hold && hold_blocked_known(in->hold) && in->gil_enabled;
	for (size_t i = 0; i < in->nthreads; i++)
		add_thread(m, in->threads[i], thread_figures_of(in->threads[i], in->summary), &cpu_wait_known,
			   &cpu_wait_ns, &convoy_ms);
	if (in->folded && in->folded->threads) {
		const struct thread_figures *f = &in->folded->run;
		m->queue += (double)f->gil.ns;
		m->thread_s += (double)f->alive_ns;
		m->threads_seen += in->folded->threads;
		cpu_wait_ns += cpu_wait_known ? (double)f->cpu_wait_ns : 0;
	}
	m->wait_share = m->thread_s > 0 ? m->queue / m->thread_s : 0;
	m->thread_s /= NS_PER_S;
	/* Divided by the period, not by every thread ever listed. */
	m->queue = in->seconds > 0 ? m->queue / NS_PER_S / in->seconds : 0;
	m->cpu_queue = cpu_wait_known && in->seconds > 0 ? cpu_wait_ns / NS_PER_S / in->seconds : -1;
	m->convoy_avg_ms = m->convoy ? convoy_ms / (double)m->convoy : 0;
	if (!m->culprit || in->seconds <= 0 ||
	    (double)m->culprit_ns / NS_PER_S < MODEL_CULPRIT_SHARE * in->seconds) {
		m->culprit = NULL;
		m->culprit_ns = 0;
	}
}
