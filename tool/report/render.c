#include "config.h"

#include "tool/report/render.h"
#include "tool/report/stacks_render.h"
#include "tool/figures/verdict.h"

#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#define NS_PER_S 1e9

/* The GIL model of the report's period (the same for an interval and
 * the summary). */
static void report_model(const struct report *r, struct gil_model_input *in, struct gil_model *m)
{
	*in = (struct gil_model_input){ r->threads, r->nthreads, r->summary, r->interval_s, r->target->gil_enabled,
					report_held_pct(r), r->summary ? r->folded : NULL, r->hold,
					r->target->cpu_wait_known };
	gil_model_compute(in, m);
}

#define COUNTER(which) (1u << (which))
#define LOST_WAITS (COUNTER(GS_COUNT_ROWS_FULL) | COUNTER(GS_COUNT_INFLIGHT_FULL))

const struct report_counter report_counters[] = {
	{ "probe_hits", COUNTER(GS_COUNT_ENTRY_HITS) },
	{ "return_hits", COUNTER(GS_COUNT_RETURN_HITS) },
	{ "switch_hits", COUNTER(GS_COUNT_SWITCH_HITS) },
	{ "lost_waits", LOST_WAITS },
	{ "lost_waits_rows_full", COUNTER(GS_COUNT_ROWS_FULL) },
	{ "lost_waits_inflight_full", COUNTER(GS_COUNT_INFLIGHT_FULL) },
	{ "lost_held_periods", COUNTER(GS_COUNT_HELD_FULL) },
	{ "lost_cpu_slices", COUNTER(GS_COUNT_CPU_FULL) },
	{ "lost_runq_periods", COUNTER(GS_COUNT_SCHED_FULL) },
};
const size_t report_ncounters = sizeof report_counters / sizeof report_counters[0];

bool report_counter_value(const struct report_counts *c, const struct report_counter *k, bool period,
			  uint64_t *value)
{
	*value = 0;
	if (k->mask & ~c->counted)
		return false;
	for (int i = 0; i < GS_COUNTERS; i++)
		if (k->mask & COUNTER(i))
			*value += period ? c->period[i] : c->total[i];
	return true;
}

/* One warning line for whatever the period lost, or "". */
static void lost_line(const struct report_counts *c, char *buf, size_t size)
{
	static const struct {
		unsigned mask;
		const char *what;
	} kinds[] = {
		{ LOST_WAITS, "waits (map full)" },
		{ COUNTER(GS_COUNT_HELD_FULL), "held-while-blocked periods" },
		{ COUNTER(GS_COUNT_CPU_FULL), "CPU slices" },
		{ COUNTER(GS_COUNT_SCHED_FULL), "run-queue periods" },
	};
	size_t used = 0;

	buf[0] = '\0';
	for (size_t i = 0; i < sizeof kinds / sizeof kinds[0]; i++) {
		struct report_counter k = { NULL, kinds[i].mask };
		uint64_t n;
		if (!report_counter_value(c, &k, true, &n) || !n || used >= size)
			continue;
		used += (size_t)snprintf(buf + used, size - used, "%s%" PRIu64 " %s", used ? ", " : "warning: lost: ",
					 n, kinds[i].what);
	}
}

static void compute_lines(struct report *r)
{
	struct report_lines *lines = &r->lines;
	const struct report_target *tg = r->target;
	struct gil_model_input in;
	struct gil_model *m = &lines->model;
	char when[48] = "", gil[32] = "unknown yet", held[48], comm[64], version[64];
	struct tm tm;

	if (r->summary)
		snprintf(when, sizeof when, "Summary over %.2f s", r->elapsed_s);
	else if (localtime_r(&r->wall_clock, &tm))
		strftime(when, sizeof when, "%H:%M:%S", &tm);
	if (tg->gil_address)
		snprintf(gil, sizeof gil, "0x%" PRIx64, tg->gil_address);
	report_model(r, &in, m);
	escape_text(comm, sizeof comm, tg->comm);
	escape_text(version, sizeof version, tg->python_version);
	snprintf(lines->target, sizeof lines->target, "pid %d (%s)  Python %s  GIL %s (%s, %s probe)", (int)tg->pid,
		 comm, version, gil, tg->gil_method, tg->probe);
	snprintf(held, sizeof held, "  GIL held %.0f%% of the time", 100.0 * m->held);
	/* Alive now, and every thread that lived in the period. */
	snprintf(lines->totals, sizeof lines->totals,
		 "%s  elapsed %.0f s  threads %zu alive / %zu seen  waiting for the GIL: %.2f threads' worth (%.1f%%)%s",
		 when, r->elapsed_s, m->threads_alive, m->threads_seen, m->queue, 100.0 * m->wait_share,
		 m->held >= 0 ? held : "");
	lines->kind = verdict_line(m, &in, lines->verdict, sizeof lines->verdict);
	lost_line(&r->counts, lines->lost, sizeof lines->lost);
}

int report_rows(const struct report *r, int screen_rows, struct roles *rows)
{
	struct roles_request req = { r->summary, roles_grouped(r->nthreads, screen_rows, r->group), r->short_s,
				     r->sort };

	return roles_build(rows, r->entries, r->nthreads, &req);
}

void report_role_row(const struct report *r, const struct role_row *row, char *buf, size_t len, int width)
{
	struct row_figures f;

	if (row->thread) {
		table_row(buf, len, row->thread, &row->first->fig, width);
		return;
	}
	roles_row_figures(row, r->interval_s, &f);
	f.hold_known = r->hold && hold_time_known(r->hold) && r->target->gil_enabled;
	f.blocked_known = r->hold && hold_blocked_known(r->hold) && r->target->gil_enabled;
	f.cpu_wait_known = r->target->cpu_wait_known;
	table_group_row(buf, len, row->threads, row->alive > 0, row->role, &f, width);
}

static double seconds(uint64_t ns)
{
	return (double)ns / NS_PER_S;
}

static void json_histogram(FILE *out, const struct histograms *hist, pid_t tid, bool summary)
{
	const struct hist_series *s = histograms_find(hist, tid);
	struct histogram none = { { 0 } };

	fputs(", \"histogram\": ", out);
	histogram_json(out, s ? histogram_of(s, summary) : &none);
}

/* Holding is read from the main interpreter's GIL: a thread that waits on
 * a sub-interpreter's own GIL (PEP 684) has no figure, not a zero; nor
 * has anyone while a free-threaded build runs without its GIL. */
static bool on_main_gil(const struct report *r, const struct thread_stats *t)
{
	return r->target->gil_enabled &&
	       (!r->target->several_gils || !t->gil_address || t->gil_address == r->target->gil_address);
}

/* A table row's figures, with what is known of holding the GIL. */
static void row_figures_of(const struct report *r, const struct thread_stats *t, struct row_figures *f)
{
	row_figures(t, r->summary, r->interval_s, f);
	f->hold_known = r->hold && hold_time_known(r->hold) && on_main_gil(r, t);
	f->blocked_known = r->hold && hold_blocked_known(r->hold) && on_main_gil(r, t);
	f->cpu_wait_known = r->target->cpu_wait_known;
}

void report_select(struct report *r, struct stats *st, bool all)
{
	struct table_order order = { r->sort, r->summary };
	size_t n = 0;

	for (size_t i = 0; i < st->nthreads; i++) {
		struct thread_stats *t = &st->threads[i];
		if (!all && !r->summary && !t->alive && !t->ended_now)
			continue;
		r->entries[n].thread = t;
		row_figures_of(r, t, &r->entries[n++].fig);
	}
	table_sort(r->entries, n, &order);
	for (size_t i = 0; i < n; i++)
		r->threads[i] = r->entries[i].thread;
	r->nthreads = n;
	compute_lines(r);
}

void report_compute(struct report *r)
{
	for (size_t i = 0; i < r->nthreads; i++) {
		r->entries[i].thread = r->threads[i];
		row_figures_of(r, r->threads[i], &r->entries[i].fig);
	}
	compute_lines(r);
}

double report_held_pct(const struct report *r)
{
	const struct hold_period *p;

	if (!r->hold || !r->hold->sampling || !r->target->gil_enabled)
		return -1;
	p = hold_period_of(r->hold, r->summary);
	return p->samples ? 100.0 * (double)p->held / (double)p->samples : -1;
}

long long report_hold_samples(const struct report *r)
{
	const struct hold_state *h = r->hold;

	if (!h || !h->sampling || !r->target->gil_enabled)
		return -1;
	return (long long)hold_period_of(h, r->summary)->samples;
}

static void json_seconds_or_null(FILE *out, const char *name, bool known, uint64_t ns)
{
	if (known)
		fprintf(out, ", \"%s\": %.6f", name, seconds(ns));
	else
		fprintf(out, ", \"%s\": null", name);
}

/* Every counter since attach, the process's own; null where the back end
 * does not count it. */
static void json_counters(FILE *out, const struct report_counts *c)
{
	for (size_t i = 0; i < report_ncounters; i++) {
		uint64_t n;
		if (report_counter_value(c, &report_counters[i], false, &n))
			fprintf(out, ", \"%s\": %" PRIu64, report_counters[i].name, n);
		else
			fprintf(out, ", \"%s\": null", report_counters[i].name);
	}
}

/* The stacks a thread blocked with while holding the GIL, most time first. */
static void json_held_stacks(FILE *out, const struct report *r, const struct thread_stats *t)
{
	const struct hold_stack *top[HOLD_TOP_STACKS];
	size_t n = hold_top_stacks(r->hold, t->tid, r->summary, top, HOLD_TOP_STACKS);

	fputs(", \"held_blocked_stacks\": [", out);
	for (size_t i = 0; i < n; i++) {
		fprintf(out, "%s{\"stack\": [", i ? ", " : "");
		for (size_t f = 0; f < top[i]->nframes; f++) {
			if (f)
				fputs(", ", out);
			json_write_string(out, top[i]->frames[f]);
		}
		fputc(']', out);
		if (top[i]->syscall) {
			fputs(", \"syscall\": ", out);
			json_write_string(out, top[i]->syscall);
		}
		fprintf(out, ", \"s\": %.6f}", seconds(hold_stack_period_of(top[i], r->summary)->ns));
	}
	fputc(']', out);
}

static void json_thread_holding(FILE *out, const struct report *r, const struct thread_stats *t)
{
	bool hold = r->hold && hold_time_known(r->hold) && on_main_gil(r, t);
	bool blocked = r->hold && hold_blocked_known(r->hold) && on_main_gil(r, t);
	const struct thread_figures *fig = thread_figures_of(t, r->summary);
	uint64_t blocked_ns = fig->blocked_ns;

	json_seconds_or_null(out, "gil_hold_s", hold, fig->hold_ns);
	json_seconds_or_null(out, "gil_held_blocked_s", blocked, blocked_ns);
	if (blocked && blocked_ns)
		json_held_stacks(out, r, t);
}

static void json_thread(FILE *out, const struct report *r, const struct thread_stats *t,
			const struct histograms *hist)
{
	bool summary = r->summary;
	const struct thread_figures *fig = thread_figures_of(t, summary);
	const struct wait_figures *g = &fig->gil, *s = &fig->sw;

	fprintf(out, "{\"tid\": %d, \"pid\": %d", (int)t->tid, (int)r->target->pid);
	if (t->ns_tid && t->ns_tid != t->tid)
		fprintf(out, ", \"ns_tid\": %d", (int)t->ns_tid);
	fputs(", \"name\": ", out);
	json_write_string(out, t->name);
	if (t->python_name[0]) {
		fputs(", \"python_name\": ", out);
		json_write_string(out, t->python_name);
	}
	if (r->target->several_gils && t->gil_address)
		fprintf(out, ", \"gil_address\": \"0x%" PRIx64 "\"", t->gil_address);
	fprintf(out,
		", \"gil_wait_s\": %.6f, \"gil_waits\": %" PRIu64 ", \"gil_wait_max_s\": %.6f"
		", \"switch_wait_s\": %.6f, \"switch_waits\": %" PRIu64 ", \"cpu_s\": %.6f, \"alive\": %s",
		seconds(g->ns), g->count, seconds(g->max_ns), seconds(s->ns), s->count,
		seconds(fig->cpu_ns), t->alive ? "true" : "false");
	json_seconds_or_null(out, "cpu_wait_s", r->target->cpu_wait_known, fig->cpu_wait_ns);
	json_seconds_or_null(out, "steal_s", r->target->steal_known, fig->steal_ns);
	fprintf(out, ", \"alive_s\": %.6f, \"blocked_other_s\": %.6f", seconds(fig->alive_ns),
		seconds(gil_model_blocked_other_ns(fig, r->target->cpu_wait_known)));
	json_thread_holding(out, r, t);
	if (hist)
		json_histogram(out, hist, t->tid, summary);
	fputc('}', out);
}

/* The ended threads folded into one total: their run's figures, as a
 * thread's, so the summary's threads and these add up to the process. */
static void json_folded(FILE *out, const struct report *r)
{
	const struct thread_figures *f = &r->folded->run;
	bool known = r->target->cpu_wait_known;

	fprintf(out,
		", \"folded_threads\": {\"threads\": %" PRIu64 ", \"gil_wait_s\": %.6f, \"gil_waits\": %" PRIu64
		", \"switch_wait_s\": %.6f, \"gil_hold_s\": %.6f, \"gil_held_blocked_s\": %.6f, \"cpu_s\": %.6f",
		r->folded->threads, seconds(f->gil.ns), f->gil.count, seconds(f->sw.ns), seconds(f->hold_ns),
		seconds(f->blocked_ns), seconds(f->cpu_ns));
	json_seconds_or_null(out, "cpu_wait_s", known, f->cpu_wait_ns);
	json_seconds_or_null(out, "steal_s", r->target->steal_known, f->steal_ns);
	fprintf(out, ", \"alive_s\": %.6f, \"blocked_other_s\": %.6f}", seconds(f->alive_ns),
		seconds(gil_model_blocked_other_ns(f, known)));
}

/* --group: one object per role instead of the threads. */
static void json_roles(FILE *out, const struct report *r)
{
	struct roles rows = { 0 };
	bool hold = r->hold && hold_time_known(r->hold) && r->target->gil_enabled;
	bool blocked = r->hold && hold_blocked_known(r->hold) && r->target->gil_enabled;

	fputs(", \"roles\": [", out);
	if (report_rows(r, 0, &rows) == 0)
		for (size_t i = 0; i < rows.n; i++) {
			const struct thread_figures *f = &rows.rows[i].fig;
			fputs(i ? ", {\"role\": " : "{\"role\": ", out);
			json_write_string(out, rows.rows[i].role);
			fprintf(out,
				", \"threads\": %zu, \"alive\": %zu, \"gil_wait_s\": %.6f, \"gil_waits\": %" PRIu64
				", \"gil_wait_max_s\": %.6f, \"switch_wait_s\": %.6f, \"cpu_s\": %.6f, \"alive_s\": %.6f"
				", \"blocked_other_s\": %.6f",
				rows.rows[i].threads, rows.rows[i].alive, seconds(f->gil.ns), f->gil.count,
				seconds(f->gil.max_ns), seconds(f->sw.ns), seconds(f->cpu_ns), seconds(f->alive_ns),
				seconds(gil_model_blocked_other_ns(f, r->target->cpu_wait_known)));
			json_seconds_or_null(out, "cpu_wait_s", r->target->cpu_wait_known, f->cpu_wait_ns);
			json_seconds_or_null(out, "steal_s", r->target->steal_known, f->steal_ns);
			json_seconds_or_null(out, "gil_hold_s", hold, f->hold_ns);
			json_seconds_or_null(out, "gil_held_blocked_s", blocked, f->blocked_ns);
			fputc('}', out);
		}
	fputc(']', out);
	roles_free(&rows);
}

void render_json(FILE *out, const struct report *r, const struct histograms *hist, bool per_thread)
{
	const struct report_target *tg = r->target;
	const struct report_lines *lines = &r->lines;

	fprintf(out, "{\"schema_version\": %d, \"pid\": %d, \"comm\": ", RENDER_SCHEMA_VERSION, (int)tg->pid);
	json_write_string(out, tg->comm);
	fputs(", \"python_version\": ", out);
	json_write_string(out, tg->python_version);
	if (tg->gil_address)
		fprintf(out, ", \"gil_address\": \"0x%" PRIx64 "\"", tg->gil_address);
	else
		fputs(", \"gil_address\": null", out);
	fprintf(out, ", \"gil_method\": \"%s\", \"gil_enabled\": %s, \"probe\": \"%s\", \"probe_reason\": ", tg->gil_method,
		tg->gil_enabled ? "true" : "false", tg->probe);
	json_write_string(out, tg->probe_reason ? tg->probe_reason : "");
	fprintf(out, ", \"interval_s\": %.6f, \"elapsed_s\": %.6f, \"monotonic_s\": %.6f, \"read_s\": %.6f, \"summary\": %s",
		r->interval_s, r->elapsed_s, r->monotonic_s, r->read_s, r->summary ? "true" : "false");
	fprintf(out, ", \"attach_s\": %.6f", tg->attach_s);
	json_counters(out, &r->counts);
	if (r->bpf)
		bpf_cost_json(out, r->bpf, r->summary);
	if (report_held_pct(r) >= 0)
		fprintf(out, ", \"gil_held_pct\": %.2f", report_held_pct(r));
	else
		fputs(", \"gil_held_pct\": null", out);
	/* How many samples the hold figures rest on: a starved sampler (a busy
	 * host) gives fewer than the rate asks, and coarser shares. */
	if (report_hold_samples(r) >= 0)
		fprintf(out, ", \"gil_hold_samples\": %lld", report_hold_samples(r));
	else
		fputs(", \"gil_hold_samples\": null", out);
	if (r->hold) {
		stacks_json(out, r->hold, r->summary);
		stacks_wait_json(out, r->hold, r->summary);
	} else {
		fputs(", \"gil_held_stacks\": null, \"torn_samples\": null", out);
		fputs(", \"gil_wait_stacks\": null, \"wait_samples\": null, \"wait_torn_samples\": null", out);
	}
	fputs(", \"verdict\": ", out);
	json_write_string(out, lines->verdict);
	fprintf(out, ", \"verdict_kind\": \"%s\", \"gil_queue\": %.6f, \"threads_alive\": %zu, \"threads_seen\": %zu",
		verdict_kind_name(lines->kind), lines->model.queue, lines->model.threads_alive, lines->model.threads_seen);
	if (hist)
		json_histogram(out, hist, 0, r->summary);
	if (r->summary && r->folded && r->folded->threads)
		json_folded(out, r);
	if (r->group) {
		json_roles(out, r);
	} else {
		fputs(", \"threads\": [", out);
		for (size_t i = 0; i < r->nthreads; i++) {
			if (i)
				fputs(", ", out);
			json_thread(out, r, r->threads[i], per_thread ? hist : NULL);
		}
		fputc(']', out);
	}
	fputs("}\n", out);
	fflush(out);
}

/* The summary's stacks of the threads that held the GIL while blocked. */
static void text_held_stacks(FILE *out, const struct report *r)
{
	char name[4 * sizeof r->threads[0]->python_name], frame[1024];
	bool title = false;

	if (!r->summary || !r->hold || !hold_blocked_known(r->hold))
		return;
	for (size_t i = 0; i < r->nthreads; i++) {
		const struct thread_stats *t = r->threads[i];
		const struct hold_stack *top[HOLD_TOP_STACKS];
		size_t n = t->run.blocked_ns ? hold_top_stacks(r->hold, t->tid, true, top, HOLD_TOP_STACKS) : 0;
		for (size_t k = 0; k < n && top[k]->run.ns >= 1000000; k++) { /* what a person can see */
			if (!title)
				fputs("\nheld the GIL while blocked (innermost frame first):\n", out);
			title = true;
			escape_text_cell(name, sizeof name, thread_name(t), 15);
			escape_text(frame, sizeof frame, top[k]->syscall);
			fprintf(out, "%7d %s %8.3f s  %s%s%s", (int)t->tid, name, seconds(top[k]->run.ns),
				top[k]->syscall ? "[" : "", frame, top[k]->syscall ? "]" : "");
			for (size_t f = 0; f < top[k]->nframes; f++) {
				escape_text(frame, sizeof frame, top[k]->frames[f]);
				fprintf(out, "%s%s", f || top[k]->syscall ? " <- " : "", frame);
			}
			if (!top[k]->nframes && !top[k]->syscall)
				fputs("(no stack)", out);
			fputc('\n', out);
		}
	}
}

void render_text(FILE *out, const struct report *r)
{
	const struct report_lines *lines = &r->lines;
	struct roles rows = { 0 };
	char row[256];

	/* Each block starts with the process it is about. */
	fprintf(out, "%s%s\n%s\n%s\n", r->summary ? "\n" : "", lines->target, lines->totals, lines->verdict);
	if (r->bpf) {
		bpf_cost_text(row, sizeof row, r->bpf, r->summary);
		fprintf(out, "%s\n", row);
	}
	if (r->target->gil_enabled && report_rows(r, 0, &rows) == 0) {
		size_t shown = r->top > 0 && (size_t)r->top < rows.n ? (size_t)r->top : rows.n;
		table_header(row, sizeof row, 0);
		fprintf(out, "%s\n", row);
		for (size_t i = 0; i < shown; i++) {
			report_role_row(r, &rows.rows[i], row, sizeof row, 0);
			fprintf(out, "%s\n", row);
		}
		if (shown < rows.n)
			fprintf(out, "...and %zu more rows (--top %ld)\n", rows.n - shown, r->top);
	}
	roles_free(&rows);
	if (r->summary && r->folded && r->folded->threads)
		fprintf(out, "...and %" PRIu64 " more ended threads, %.3f s waiting for the GIL in all\n", r->folded->threads,
			seconds(r->folded->run.gil.ns));
	text_held_stacks(out, r);
	if (r->summary && r->hold && r->target->gil_enabled) {
		stacks_text(out, r->hold, true);
		stacks_wait_text(out, r->hold, true);
	}
	if (lines->lost[0])
		fprintf(out, "%s\n", lines->lost);
	fputc('\n', out);
	fflush(out);
}
