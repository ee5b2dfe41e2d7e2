#include "config.h"

#include "tool/report/stacks_render.h"

#include "tool/util/escape.h"
#include "tool/report/roles.h"

#include <inttypes.h>
#include <string.h>

static double total_seconds(const struct py_profile *p, bool summary)
{
	double s = 0;

	for (size_t i = 0; i < p->n; i++)
		s += py_profile_seconds(&p->entries[i], summary, false);
	return s;
}

/* Appends to buf what fits (snprintf's rule: always terminated). */
static size_t append(char *buf, size_t size, size_t at, const char *text)
{
	int n = snprintf(buf + at, at < size ? size - at : 0, "%s", text);

	if (n < 0)
		return at;
	return at + (size_t)n < size ? at + (size_t)n : size - 1;
}

static void stack_line(const struct py_profile_group *g, double share, char *buf, size_t size)
{
	const struct py_profile_entry *e = g->stack;
	char name[512], escaped[2048];
	size_t at;

	snprintf(buf, size, "%6.1f%%  ", 100.0 * share);
	at = strlen(buf);
	if (!e->depth)
		at = append(buf, size, at, "(no Python frame)");
	for (uint32_t f = 0; f < e->depth && f < STACKS_TEXT_FRAMES; f++) {
		py_profile_frame_short_name(&e->frames[f], name, sizeof name);
		escape_text(escaped, sizeof escaped, name);
		at = append(buf, size, at, f ? " <- " : "");
		at = append(buf, size, at, escaped);
	}
	if (e->depth > STACKS_TEXT_FRAMES || e->truncated)
		at = append(buf, size, at, " <- ...");
	if (g->nthreads > 1) {
		snprintf(name, sizeof name, "  [%zu threads]", g->nthreads);
		append(buf, size, at, name);
	}
}

static size_t profile_lines(const struct py_profile *p, bool summary, char *lines, size_t size, size_t max)
{
	struct py_profile_group top[STACKS_TEXT_TOP];
	double total;
	ssize_t n;

	if ((total = total_seconds(p, summary)) <= 0)
		return 0;
	if ((n = py_profile_top_stacks(p, summary, false, top, max < STACKS_TEXT_TOP ? max : STACKS_TEXT_TOP)) <= 0)
		return 0;
	for (ssize_t i = 0; i < n; i++)
		stack_line(&top[i], top[i].s / total, lines + (size_t)i * size, size);
	return (size_t)n;
}

size_t stacks_lines(const struct hold_state *h, bool summary, char *lines, size_t size, size_t max)
{
	return h->python_stacks ? profile_lines(&h->profile, summary, lines, size, max) : 0;
}

void stacks_wait_text(FILE *out, const struct hold_state *h, bool summary)
{
	char lines[STACKS_TEXT_TOP][2048];
	size_t n = h->python_stacks ? profile_lines(&h->waits, summary, &lines[0][0], sizeof lines[0], STACKS_TEXT_TOP) : 0;

	if (n)
		fputs("Waiting for the GIL in (share of the threads' time waiting, innermost frame first):\n", out);
	for (size_t i = 0; i < n; i++)
		fprintf(out, "%s\n", lines[i]);
}

void stacks_text(FILE *out, const struct hold_state *h, bool summary)
{
	char lines[STACKS_TEXT_TOP][2048];
	size_t n = stacks_lines(h, summary, &lines[0][0], sizeof lines[0], STACKS_TEXT_TOP);

	if (n)
		fputs("GIL held in (share of the time held, innermost frame first):\n", out);
	for (size_t i = 0; i < n; i++)
		fprintf(out, "%s\n", lines[i]);
}

static void json_frames(FILE *out, const struct py_profile_entry *e)
{
	char name[1024];

	fputc('[', out);
	for (uint32_t f = 0; f < e->depth; f++) {
		py_profile_frame_name(&e->frames[f], name, sizeof name);
		if (f)
			fputs(", ", out);
		json_write_string(out, name);
	}
	fputc(']', out);
}

void stacks_json(FILE *out, const struct hold_state *h, bool summary)
{
	const struct py_profile_entry *top[STACKS_JSON_TOP];
	const struct py_profile *p = &h->profile;
	size_t n;

	if (!h->python_stacks) {
		fputs(", \"gil_held_stacks\": null, \"torn_samples\": null", out);
		if (h->python_stacks_why[0]) {
			fputs(", \"python_stacks_error\": ", out);
			json_write_string(out, h->python_stacks_why);
		}
		return;
	}
	n = py_profile_top(p, 0, summary, false, top, STACKS_JSON_TOP);
	fputs(", \"gil_held_stacks\": [", out);
	for (size_t i = 0; i < n; i++) {
		fputs(i ? ", {\"stack\": " : "{\"stack\": ", out);
		json_frames(out, top[i]);
		fprintf(out, ", \"s\": %.6f, \"blocked_s\": %.6f, \"samples\": %" PRIu64 ", \"tid\": %d}",
			py_profile_seconds(top[i], summary, false), py_profile_seconds(top[i], summary, true),
			py_profile_entry_period_of(top[i], summary)->n, (int)top[i]->tid);
	}
	fprintf(out, "], \"torn_samples\": %" PRIu64, py_profile_period_of(p, summary)->torn);
}

void stacks_wait_json(FILE *out, const struct hold_state *h, bool summary)
{
	const struct py_profile_entry *top[STACKS_JSON_TOP];
	const struct py_profile *p = &h->waits;
	const struct hold_period *period = hold_period_of(h, summary);
	uint64_t samples = period->wait_samples, seen = period->waiters_seen;
	size_t n;

	if (!h->python_stacks) {
		fputs(", \"gil_wait_stacks\": null, \"wait_samples\": null, \"wait_torn_samples\": null", out);
		return;
	}
	n = py_profile_top(p, 0, summary, false, top, STACKS_JSON_TOP);
	fputs(", \"gil_wait_stacks\": [", out);
	for (size_t i = 0; i < n; i++) {
		fputs(i ? ", {\"stack\": " : "{\"stack\": ", out);
		json_frames(out, top[i]);
		fprintf(out, ", \"s\": %.6f, \"samples\": %" PRIu64 ", \"tid\": %d}",
			py_profile_seconds(top[i], summary, false), py_profile_entry_period_of(top[i], summary)->n,
			(int)top[i]->tid);
	}
	fprintf(out, "], \"wait_samples\": %" PRIu64 ", \"waiters_mean\": %.3f, \"wait_torn_samples\": %" PRIu64,
		samples, samples ? (double)seen / (double)samples : 0.0, py_profile_period_of(p, summary)->torn);
}

void stacks_folded_frame(char *buf, size_t size, const char *name)
{
	size_t n = 0;

	for (const unsigned char *c = (const unsigned char *)name; *c && n + 1 < size; c++)
		buf[n++] = *c == ';' ? ':' : *c < 0x20 || *c == 0x7f ? '?' : (char)*c;
	if (size)
		buf[n] = '\0';
}

/* "name (tid)" (by_role: the name's role): the thread's Python name, else
 * its comm; an entry of ended threads (tid 0) is "ended threads". */
static void folded_thread(char *buf, size_t size, struct thread_stats *const *threads, size_t nthreads, pid_t tid,
			  bool by_role)
{
	const struct thread_stats *t = NULL;
	char name[128];

	for (size_t i = 0; tid && !t && i < nthreads; i++)
		if (threads[i]->tid == tid)
			t = threads[i];
	if (!tid) {
		snprintf(buf, size, "ended threads");
		return;
	}
	if (by_role) {
		char role[sizeof name];
		roles_name(t ? thread_name(t) : "?", role, sizeof role);
		stacks_folded_frame(buf, size, role);
		return;
	}
	stacks_folded_frame(name, sizeof name, t ? thread_name(t) : "?");
	snprintf(buf, size, "%s (%d)", name, (int)tid);
}

static void folded_lines(FILE *out, const struct py_profile *p, pid_t pid, struct thread_stats *const *threads,
			 size_t nthreads, bool by_role, bool weighted)
{
	char thread[192], name[1024], frame[1024];

	for (size_t i = 0; i < p->n; i++) {
		const struct py_profile_entry *e = &p->entries[i];
		/* A waiter sample stands for several waiters: its weight, to
		 * the nearest sample. */
		uint64_t count = weighted ? (uint64_t)(e->run.w + 0.5) : e->run.n;
		if (!count)
			continue;
		folded_thread(thread, sizeof thread, threads, nthreads, e->tid, by_role);
		fprintf(out, "%d;%s", (int)pid, thread);
		if (e->truncated)
			fputs(";...", out);
		/* Outermost first. */
		for (uint32_t f = e->depth; f-- > 0;) {
			py_profile_frame_name(&e->frames[f], name, sizeof name);
			stacks_folded_frame(frame, sizeof frame, name);
			fprintf(out, ";%s", frame);
		}
		fprintf(out, " %" PRIu64 "\n", count);
	}
}

int stacks_write_folded(FILE *out, const struct hold_state *h, pid_t pid, struct thread_stats *const *threads,
			size_t nthreads, bool by_role)
{
	folded_lines(out, &h->profile, pid, threads, nthreads, by_role, false);
	return ferror(out) ? -1 : 0;
}

int stacks_write_folded_waits(FILE *out, const struct hold_state *h, pid_t pid, struct thread_stats *const *threads,
			      size_t nthreads)
{
	folded_lines(out, &h->waits, pid, threads, nthreads, false, true);
	return ferror(out) ? -1 : 0;
}
