#include "config.h"

#include "render.h"

#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#define NS_PER_S 1e9

static const struct wait_figures *gil_of(const struct thread_stats *t, bool summary)
{
	return summary ? &t->gil_run : &t->gil;
}

static const struct wait_figures *switch_of(const struct thread_stats *t, bool summary)
{
	return summary ? &t->sw_run : &t->sw;
}

static int compare_for_interval(const void *a, const void *b)
{
	const struct thread_stats *x = *(const struct thread_stats *const *)a;
	const struct thread_stats *y = *(const struct thread_stats *const *)b;
	int c = wait_figures_compare(&y->gil, &x->gil);

	return c ? c : (x->tid > y->tid) - (x->tid < y->tid);
}

static int compare_for_summary(const void *a, const void *b)
{
	const struct thread_stats *x = *(const struct thread_stats *const *)a;
	const struct thread_stats *y = *(const struct thread_stats *const *)b;
	int c = wait_figures_compare(&y->gil_run, &x->gil_run);

	return c ? c : (x->tid > y->tid) - (x->tid < y->tid);
}

size_t report_select(struct stats *st, bool summary, struct thread_stats **threads)
{
	size_t n = 0;

	for (size_t i = 0; i < st->nthreads; i++) {
		struct thread_stats *t = &st->threads[i];
		if (summary || t->alive || t->ended_now)
			threads[n++] = t;
	}
	qsort(threads, n, sizeof *threads, summary ? compare_for_summary : compare_for_interval);
	return n;
}

void format_duration(uint64_t ns, char *buf, size_t len)
{
	if (ns < 1000000) /* under 1 ms: microseconds */
		snprintf(buf, len, "%" PRIu64 "us", (ns + 500) / 1000);
	else if (ns < 10000000)
		snprintf(buf, len, "%.2fms", (double)ns / 1e6);
	else if (ns < 1000000000)
		snprintf(buf, len, "%.1fms", (double)ns / 1e6);
	else if (ns < 100 * (uint64_t)1000000000)
		snprintf(buf, len, "%.2fs", (double)ns / NS_PER_S);
	else
		snprintf(buf, len, "%.0fs", (double)ns / NS_PER_S);
}

/* Length of the valid UTF-8 sequence at s, or 0. */
static size_t utf8_sequence(const unsigned char *s)
{
	size_t n;
	uint32_t cp;

	if (s[0] < 0x80)
		return 1;
	if ((s[0] & 0xe0) == 0xc0)
		n = 2, cp = s[0] & 0x1f;
	else if ((s[0] & 0xf0) == 0xe0)
		n = 3, cp = s[0] & 0x0f;
	else if ((s[0] & 0xf8) == 0xf0)
		n = 4, cp = s[0] & 0x07;
	else
		return 0;
	for (size_t i = 1; i < n; i++) {
		if ((s[i] & 0xc0) != 0x80)
			return 0;
		cp = (cp << 6) | (s[i] & 0x3f);
	}
	/* Overlong forms, surrogates and beyond U+10FFFF are not UTF-8. */
	if ((n == 2 && cp < 0x80) || (n == 3 && cp < 0x800) || (n == 4 && cp < 0x10000) ||
	    (cp >= 0xd800 && cp <= 0xdfff) || cp > 0x10ffff)
		return 0;
	return n;
}

void json_write_string(FILE *out, const char *s)
{
	const unsigned char *p = (const unsigned char *)s;

	fputc('"', out);
	while (*p) {
		size_t n = utf8_sequence(p);
		if (n == 0) {
			fputs("\\ufffd", out);
			p++;
		} else if (*p == '"' || *p == '\\') {
			fprintf(out, "\\%c", *p++);
		} else if (*p < 0x20 || *p == 0x7f) {
			fprintf(out, "\\u%04x", *p++);
		} else {
			fwrite(p, 1, n, out);
			p += n;
		}
	}
	fputc('"', out);
}

static double seconds(uint64_t ns)
{
	return (double)ns / NS_PER_S;
}

static void json_thread(FILE *out, const struct report *r, const struct thread_stats *t)
{
	bool summary = r->summary;
	const struct wait_figures *g = gil_of(t, summary), *s = switch_of(t, summary);

	fprintf(out, "{\"tid\": %d", (int)t->tid);
	if (t->ns_tid && t->ns_tid != t->tid)
		fprintf(out, ", \"ns_tid\": %d", (int)t->ns_tid);
	fputs(", \"name\": ", out);
	json_write_string(out, t->name);
	if (r->target->several_gils && t->gil_address)
		fprintf(out, ", \"gil_address\": \"0x%" PRIx64 "\"", t->gil_address);
	fprintf(out,
		", \"gil_wait_s\": %.6f, \"gil_waits\": %" PRIu64 ", \"gil_wait_max_s\": %.6f"
		", \"switch_wait_s\": %.6f, \"switch_waits\": %" PRIu64 ", \"alive\": %s}",
		seconds(g->ns), g->count, seconds(g->max_ns), seconds(s->ns), s->count,
		t->alive ? "true" : "false");
}

void render_json(FILE *out, const struct report *r)
{
	const struct report_target *tg = r->target;

	fprintf(out, "{\"pid\": %d, \"comm\": ", (int)tg->pid);
	json_write_string(out, tg->comm);
	fputs(", \"python_version\": ", out);
	json_write_string(out, tg->python_version);
	if (tg->gil_address)
		fprintf(out, ", \"gil_address\": \"0x%" PRIx64 "\"", tg->gil_address);
	else
		fputs(", \"gil_address\": null", out);
	fprintf(out, ", \"gil_method\": \"%s\", \"gil_enabled\": %s, \"probe\": \"%s\"", tg->gil_method,
		tg->gil_enabled ? "true" : "false", tg->probe);
	fprintf(out, ", \"interval_s\": %.6f, \"elapsed_s\": %.6f, \"summary\": %s", r->interval_s, r->elapsed_s,
		r->summary ? "true" : "false");
	fprintf(out, ", \"attach_s\": %.6f, \"probe_hits\": %" PRIu64 ", \"lost_waits\": %" PRIu64,
		tg->attach_s, r->probe_hits, r->lost_waits);
	fputs(", \"threads\": [", out);
	for (size_t i = 0; i < r->nthreads; i++) {
		if (i)
			fputs(", ", out);
		json_thread(out, r, r->threads[i]);
	}
	fputs("]}\n", out);
	fflush(out);
}

static void text_row(FILE *out, const struct thread_stats *t, bool summary)
{
	const struct wait_figures *g = gil_of(t, summary), *s = switch_of(t, summary);
	char wait[16], max[16], avg[16], sw[16];

	format_duration(g->ns, wait, sizeof wait);
	format_duration(g->max_ns, max, sizeof max);
	format_duration(g->count ? g->ns / g->count : 0, avg, sizeof avg);
	format_duration(s->ns, sw, sizeof sw);
	fprintf(out, "%7d %-15.15s %9s %8" PRIu64 " %9s %9s %11s%s\n", (int)t->tid, t->name, wait, g->count,
		avg, max, sw, t->alive ? "" : "  (ended)");
}

void render_text(FILE *out, const struct report *r)
{
	const struct report_target *tg = r->target;
	char clock[16] = "", gil[32] = "unknown yet";
	uint64_t total = 0;
	struct tm tm;

	if (localtime_r(&r->wall_clock, &tm))
		strftime(clock, sizeof clock, "%H:%M:%S", &tm);
	if (tg->gil_address)
		snprintf(gil, sizeof gil, "0x%" PRIx64, tg->gil_address);
	for (size_t i = 0; i < r->nthreads; i++)
		total += gil_of(r->threads[i], r->summary)->ns;
	if (r->summary)
		fprintf(out, "\nSummary over %.2f s", r->elapsed_s);
	else
		fprintf(out, "%s  interval %.2f s", clock, r->interval_s);
	fprintf(out, "  pid %d (%s)  Python %s  GIL %s (%s)  waiting: %.2f threads' worth\n", (int)tg->pid,
		tg->comm, tg->python_version, gil, tg->gil_method,
		r->interval_s > 0 ? seconds(total) / r->interval_s : 0.0);
	if (!tg->gil_enabled) {
		fputs("free-threaded build: the GIL is disabled\n\n", out);
		fflush(out);
		return;
	}
	fprintf(out, "%7s %-15s %9s %8s %9s %9s %11s\n", "TID", "NAME", "GIL WAIT", "WAITS", "AVG WAIT",
		"MAX WAIT", "SWITCH WAIT");
	for (size_t i = 0; i < r->nthreads; i++)
		text_row(out, r->threads[i], r->summary);
	if (r->lost_waits)
		fprintf(out, "warning: %" PRIu64 " waits were lost because a bpf map was full\n", r->lost_waits);
	fputc('\n', out);
	fflush(out);
}
