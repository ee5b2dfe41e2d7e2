#include "config.h"

#include "stacks_render.h"

#include "escape.h"

#include <inttypes.h>
#include <string.h>

/* The last two parts of a path: "app/db.py" of "/srv/app/db.py". */
static const char *short_path(const char *path)
{
	const char *last = strrchr(path, '/'), *before = last;

	if (!last)
		return path;
	while (before > path && before[-1] != '/')
		before--;
	return before > path ? before : path;
}

void stacks_frame_short_name(const struct py_profile_frame *f, char *buf, size_t size)
{
	const char *function = f->code && f->code->function ? f->code->function : "?";
	const char *file = f->code && f->code->file ? short_path(f->code->file) : "?";

	if (f->line > 0)
		snprintf(buf, size, "%s (%s:%d)", function, file, f->line);
	else
		snprintf(buf, size, "%s (%s)", function, file);
}

static double total_seconds(const struct py_profile *p, bool summary)
{
	double s = 0;

	for (size_t i = 0; i < p->n; i++)
		s += py_profile_seconds(&p->entries[i], summary, false);
	return s;
}

static void text_stack_line(FILE *out, const struct py_profile_group *g, double share)
{
	const struct py_profile_entry *e = g->stack;
	char name[512], escaped[2048];

	fprintf(out, "%6.1f%%  ", 100.0 * share);
	if (!e->depth)
		fputs("(no Python frame)", out);
	for (uint32_t f = 0; f < e->depth && f < STACKS_TEXT_FRAMES; f++) {
		stacks_frame_short_name(&e->frames[f], name, sizeof name);
		escape_text(escaped, sizeof escaped, name);
		fprintf(out, "%s%s", f ? " <- " : "", escaped);
	}
	if (e->depth > STACKS_TEXT_FRAMES || e->truncated)
		fputs(" <- ...", out);
	if (g->nthreads > 1)
		fprintf(out, "  [%zu threads]", g->nthreads);
	fputc('\n', out);
}

static void profile_text(FILE *out, const struct py_profile *p, bool summary, const char *title)
{
	struct py_profile_group top[STACKS_TEXT_TOP];
	double total;
	ssize_t n;

	if ((total = total_seconds(p, summary)) <= 0 ||
	    (n = py_profile_top_stacks(p, summary, false, top, STACKS_TEXT_TOP)) <= 0)
		return;
	fputs(title, out);
	for (ssize_t i = 0; i < n; i++)
		text_stack_line(out, &top[i], top[i].s / total);
}

void stacks_text(FILE *out, const struct hold_state *h, bool summary)
{
	if (h->python_stacks)
		profile_text(out, &h->profile, summary, "GIL held in (share of the time held, innermost frame first):\n");
}

void stacks_wait_text(FILE *out, const struct hold_state *h, bool summary)
{
	if (h->python_stacks)
		profile_text(out, &h->waits, summary,
			     "Waiting for the GIL in (share of the threads' time waiting, innermost frame first):\n");
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
			summary ? top[i]->run_n : top[i]->last_n, (int)top[i]->tid);
	}
	fprintf(out, "], \"torn_samples\": %" PRIu64, summary ? p->run_torn : p->last_torn);
}

void stacks_wait_json(FILE *out, const struct hold_state *h, bool summary)
{
	const struct py_profile_entry *top[STACKS_JSON_TOP];
	const struct py_profile *p = &h->waits;
	uint64_t samples = summary ? h->wait_samples_run : h->last_wait_samples;
	uint64_t seen = summary ? h->waiters_seen_run : h->last_waiters_seen;
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
			py_profile_seconds(top[i], summary, false), summary ? top[i]->run_n : top[i]->last_n,
			(int)top[i]->tid);
	}
	fprintf(out, "], \"wait_samples\": %" PRIu64 ", \"waiters_mean\": %.3f, \"wait_torn_samples\": %" PRIu64,
		samples, samples ? (double)seen / (double)samples : 0.0, summary ? p->run_torn : p->last_torn);
}

void stacks_folded_frame(char *buf, size_t size, const char *name)
{
	size_t n = 0;

	for (const unsigned char *c = (const unsigned char *)name; *c && n + 1 < size; c++)
		buf[n++] = *c == ';' ? ':' : *c < 0x20 || *c == 0x7f ? '?' : (char)*c;
	if (size)
		buf[n] = '\0';
}

/* "name (tid)": the thread's name (comm until Python names are read); an
 * entry of ended threads (tid 0) is "ended threads". */
static void folded_thread(char *buf, size_t size, struct thread_stats *const *threads, size_t nthreads, pid_t tid)
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
	stacks_folded_frame(name, sizeof name, t ? thread_name(t) : "?");
	snprintf(buf, size, "%s (%d)", name, (int)tid);
}

static void folded_lines(FILE *out, const struct py_profile *p, pid_t pid, struct thread_stats *const *threads,
			 size_t nthreads, bool blocked, bool weighted)
{
	char thread[192], name[1024], frame[1024];

	for (size_t i = 0; i < p->n; i++) {
		const struct py_profile_entry *e = &p->entries[i];
		/* Waiter samples stand for several waiters each: their weight,
		 * to the nearest sample. */
		uint64_t count = weighted ? (uint64_t)(e->run_w + 0.5) : blocked ? e->run_blocked_n : e->run_n;
		if (!count)
			continue;
		folded_thread(thread, sizeof thread, threads, nthreads, e->tid);
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
			size_t nthreads, bool blocked)
{
	folded_lines(out, &h->profile, pid, threads, nthreads, blocked, false);
	return ferror(out) ? -1 : 0;
}

int stacks_write_folded_waits(FILE *out, const struct hold_state *h, pid_t pid, struct thread_stats *const *threads,
			      size_t nthreads)
{
	folded_lines(out, &h->waits, pid, threads, nthreads, false, true);
	return ferror(out) ? -1 : 0;
}
