#include "config.h"

#include "tool/report/table.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tool/util/escape.h"
#include "tool/report/format.h"

#define NAME_MIN 8
#define NAME_NATURAL 15
#define NAME_MAX_WIDTH 32
/* TID, then the figures after NAME: " CPU% GIL WAIT% CPU WAIT% WAITS/s AVG WAIT MAX WAIT
 * SWITCH% HOLD% BLOCKED-HOLDING%". */
#define TID_WIDTH 7
#define FIGURES_WIDTH 89
#define ENDED_MARK "  (ended)"

static double pct(double part, double whole)
{
	return whole > 0 ? 100.0 * part / whole : 0.0;
}

void row_figures_from(const struct thread_figures *fig, double seconds, struct row_figures *out)
{
	const struct wait_figures *g = &fig->gil, *s = &fig->sw;

	out->cpu_pct = pct((double)fig->cpu_ns / 1e9, seconds);
	out->wait_pct = pct((double)g->ns / 1e9, seconds);
	out->cpu_wait_pct = pct((double)fig->cpu_wait_ns / 1e9, seconds);
	out->waits_per_s = seconds > 0 ? (double)g->count / seconds : 0.0;
	out->switch_pct = pct((double)s->ns / 1e9, seconds);
	out->avg_ns = g->count ? g->ns / g->count : 0;
	out->max_ns = g->max_ns;
	out->hold_pct = pct((double)fig->hold_ns / 1e9, seconds);
	out->blocked_pct = pct((double)fig->blocked_ns / 1e9, seconds);
	out->hold_known = out->blocked_known = out->cpu_wait_known = false;
}

void row_figures(const struct thread_stats *t, bool summary, double seconds, struct row_figures *out)
{
	row_figures_from(thread_figures_of(t, summary), seconds, out);
}

const char *sort_key_name(enum sort_key key)
{
	static const char *const names[SORT_KEYS] = { "GIL WAIT%", "CPU%", "WAITS/s", "MAX WAIT", "TID" };

	return key < SORT_KEYS ? names[key] : "?";
}

static int compare_doubles(double a, double b)
{
	return (a > b) - (a < b);
}

static int compare_u64(uint64_t a, uint64_t b)
{
	return (a > b) - (a < b);
}

static int compare_rows(const void *pa, const void *pb, void *ctx)
{
	const struct table_entry *a = pa, *b = pb;
	const struct table_order *o = ctx;
	int c = 0;

	switch (o->key) {
	case SORT_GIL_WAIT:
		c = wait_figures_compare(&thread_figures_of(b->thread, o->summary)->gil,
					 &thread_figures_of(a->thread, o->summary)->gil);
		break;
	case SORT_CPU:
		c = compare_doubles(b->fig.cpu_pct, a->fig.cpu_pct);
		break;
	case SORT_WAITS:
		c = compare_doubles(b->fig.waits_per_s, a->fig.waits_per_s);
		break;
	case SORT_MAX_WAIT:
		c = compare_u64(b->fig.max_ns, a->fig.max_ns);
		break;
	default:
		break;
	}
	return c ? c : (a->thread->tid > b->thread->tid) - (a->thread->tid < b->thread->tid);
}

void table_sort(struct table_entry *rows, size_t n, const struct table_order *order)
{
	/* qsort_r's context takes no const; compare_rows only reads it. */
	qsort_r(rows, n, sizeof *rows, compare_rows, (void *)(uintptr_t)order);
}

static int name_width(int width)
{
	int w = width > 0 ? width - TID_WIDTH - 1 - FIGURES_WIDTH - (int)strlen(ENDED_MARK) : NAME_NATURAL;

	if (w < NAME_MIN)
		return NAME_MIN;
	return w > NAME_MAX_WIDTH ? NAME_MAX_WIDTH : w;
}

/* Cuts the line at width columns (a name may hold UTF-8). */
static size_t fit(char *buf, int width)
{
	return width > 0 ? text_cut(buf, (size_t)width) : strlen(buf);
}

size_t table_header(char *buf, size_t len, int width)
{
	snprintf(buf, len, "%*s %-*s %6s %9s %9s %8s %9s %9s %8s %6s %16s", TID_WIDTH, "TID", name_width(width), "NAME",
		 "CPU%", "GIL WAIT%", "CPU WAIT%", "WAITS/s", "AVG WAIT", "MAX WAIT", "SWITCH%", "HOLD%", "BLOCKED-HOLDING%");
	return fit(buf, width);
}

static size_t format_row(char *buf, size_t len, const char *id, const char *raw_name, bool alive,
			 const struct row_figures *f, int width)
{
	char avg[16], max[16], hold[16] = "-", blocked[16] = "-", queued[16] = "-", name[4 * NAME_MAX_WIDTH + 1];
	int nw = name_width(width);

	format_duration(f->avg_ns, avg, sizeof avg);
	format_duration(f->max_ns, max, sizeof max);
	if (f->hold_known)
		snprintf(hold, sizeof hold, "%.1f", f->hold_pct);
	if (f->blocked_known)
		snprintf(blocked, sizeof blocked, "%.1f", f->blocked_pct);
	if (f->cpu_wait_known)
		snprintf(queued, sizeof queued, "%.1f", f->cpu_wait_pct);
	/* The name is the target's to choose: never raw on a terminal. */
	escape_text_cell(name, sizeof name, raw_name, nw);
	snprintf(buf, len, "%*s %s %6.1f %9.1f %9s %8.1f %9s %9s %8.1f %6s %16s%s", TID_WIDTH, id, name, f->cpu_pct,
		 f->wait_pct, queued, f->waits_per_s, avg, max, f->switch_pct, hold, blocked, alive ? "" : ENDED_MARK);
	return fit(buf, width);
}

size_t table_row(char *buf, size_t len, const struct thread_stats *t, const struct row_figures *f, int width)
{
	char id[16];

	snprintf(id, sizeof id, "%d", (int)t->tid);
	return format_row(buf, len, id, thread_name(t), t->alive, f, width);
}

size_t table_group_row(char *buf, size_t len, size_t threads, bool any_alive, const char *role,
		       const struct row_figures *f, int width)
{
	char id[24];

	/* The TID column counts the group's threads. */
	snprintf(id, sizeof id, "%zu thr", threads);
	return format_row(buf, len, id, role, any_alive, f, width);
}
