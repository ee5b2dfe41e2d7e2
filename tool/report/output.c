#include "config.h"

#include "tool/report/output.h"

#include "tool/util/escape.h"

#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "tool/report/flamegraph.h"
#include "tool/report/stacks_render.h"
#include "tool/report/svg.h"

struct output {
	const struct options *opt;
	FILE *file;            /* text or JSON destination */
	bool own_file;         /* -o FILE */
	struct screen *screen; /* the live view, or NULL */
	enum sort_key sort;
	struct history history; /* for --svg */
	FILE *folded, *flames; /* every process's stacks so far: by thread (--folded), by role (--flamegraph) */
	char *folded_text, *flames_text;
	size_t folded_len, flames_len;
	FILE *folded_waits;     /* the waiters' stacks, for --folded-waits */
	char *folded_waits_text;
	size_t folded_waits_len;
	int write_errno;        /* why writing failed, 0 while it works */
};

bool output_is_live(const struct options *opt)
{
	return !opt->output && !opt->json && !opt->no_clear && screen_possible();
}

/* A file the user named for the output, checked the way it is written
 * later (created, never followed if a link). */
static int check_writable(const char *path, const char *what, struct gs_error *err)
{
	struct stat st;
	int fd;

	/* A FIFO or a device is opened once, when written: opening a FIFO
	 * here would block, or end its reader. */
	if (lstat(path, &st) == 0 && !S_ISREG(st.st_mode) && !S_ISLNK(st.st_mode))
		return 0;
	fd = open(path, O_WRONLY | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0644);
	if (fd < 0)
		return gs_fail(err, GS_EXIT_USAGE, "cannot write %s %s: %s", what, path, strerror(errno));
	close(fd);
	return 0;
}

int output_check_paths(const struct options *opt, struct gs_error *err)
{
	if (opt->output && check_writable(opt->output, "the output to", err) != 0)
		return -1;
	if (opt->svg && check_writable(opt->svg, "the chart to", err) != 0)
		return -1;
	if (opt->folded && check_writable(opt->folded, "the folded stacks to", err) != 0)
		return -1;
	if (opt->flamegraph && check_writable(opt->flamegraph, "the flame graph to", err) != 0)
		return -1;
	if (opt->folded_waits && check_writable(opt->folded_waits, "the waiters' folded stacks to", err) != 0)
		return -1;
	return 0;
}

struct output *output_open(const struct options *opt, struct gs_error *err)
{
	struct output *out = calloc(1, sizeof *out);

	if (!out) {
		gs_fail(err, GS_EXIT_FAILURE, "out of memory");
		return NULL;
	}
	out->opt = opt;
	out->file = stdout;
	if ((opt->folded && !(out->folded = open_memstream(&out->folded_text, &out->folded_len))) ||
	    (opt->flamegraph && !(out->flames = open_memstream(&out->flames_text, &out->flames_len))) ||
	    (opt->folded_waits &&
	     !(out->folded_waits = open_memstream(&out->folded_waits_text, &out->folded_waits_len)))) {
		gs_fail(err, GS_EXIT_FAILURE, "out of memory");
		output_close(out);
		return NULL;
	}
	if (opt->output) {
		/* The user's own file: created private to them, never followed if a link. */
		int fd = open(opt->output, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, 0644);
		if (fd < 0 || !(out->file = fdopen(fd, "w"))) {
			gs_fail(err, GS_EXIT_USAGE, "cannot write %s: %s", opt->output, strerror(errno));
			if (fd >= 0)
				close(fd);
			free(out);
			return NULL;
		}
		out->own_file = true;
	} else if (!opt->json && !opt->no_clear) {
		out->screen = screen_open(opt->histogram);
	}
	return out;
}

/* Each thread's GIL wait % this interval (r is an interval's), for the chart. */
static void remember(struct output *out, const struct report *r)
{
	pid_t *tids = calloc(r->nthreads + 1, sizeof *tids);
	char(*names)[64] = calloc(r->nthreads + 1, sizeof *names);
	double *values = calloc(r->nthreads + 1, sizeof *values);

	for (size_t i = 0; tids && names && values && i < r->nthreads; i++) {
		tids[i] = r->threads[i]->tid;
		snprintf(names[i], sizeof names[i], "%s", thread_name(r->threads[i]));
		values[i] = r->entries[i].fig.wait_pct;
	}
	if (tids && names && values)
		history_add(&out->history, r->elapsed_s, tids, names, values, r->nthreads);
	free(tids);
	free(names);
	free(values);
}

static void text_histograms(struct output *out, const struct report *r, const struct histograms *h)
{
	const struct hist_series *process = h ? histograms_find(h, 0) : NULL;
	char title[320], name[4 * sizeof r->threads[0]->python_name];

	if (!process)
		return;
	histogram_render(out->file, histogram_of(process, r->summary),
			 r->summary ? "GIL waits over the whole run:" : "GIL waits this interval:", 40);
	for (size_t i = 0; out->opt->per_thread && i < r->nthreads; i++) {
		const struct hist_series *s = histograms_find(h, r->threads[i]->tid);
		if (!s || !histogram_total(histogram_of(s, r->summary)))
			continue;
		escape_text(name, sizeof name, thread_name(r->threads[i]));
		snprintf(title, sizeof title, "thread %d (%s):", (int)r->threads[i]->tid, name);
		histogram_render(out->file, histogram_of(s, r->summary), title, 40);
	}
	fputc('\n', out->file);
	fflush(out->file);
}

static void write_report(struct output *out, struct report *r, const struct histograms *h)
{
	if (out->opt->json) {
		render_json(out->file, r, out->opt->histogram ? h : NULL, out->opt->per_thread);
	} else {
		render_text(out->file, r);
		if (out->opt->histogram)
			text_histograms(out, r, h);
	}
	if ((fflush(out->file) != 0 || ferror(out->file)) && !out->write_errno)
		out->write_errno = errno ? errno : EIO;
}

void output_frame_begin(struct output *out, size_t nprocesses)
{
	if (out->screen)
		screen_frame_begin(out->screen, out->sort, nprocesses);
}

void output_frame_end(struct output *out)
{
	if (out->screen)
		screen_frame_end(out->screen);
}

void output_attached(struct output *out, const struct report_target *const *targets, size_t n, double first_in_s)
{
	if (out->screen)
		screen_attached(out->screen, targets, n, first_in_s);
}

void output_interval(struct output *out, struct report *r, const struct histograms *h)
{
	r->sort = out->sort;
	if (out->opt->svg)
		remember(out, r);
	if (out->screen) {
		const struct hist_series *process = h ? histograms_find(h, 0) : NULL;
		screen_draw(out->screen, r, process ? &process->interval : NULL);
		return;
	}
	write_report(out, r, h);
}

/* A file written at the end, whole: created, never followed if a link. */
static FILE *open_result(const char *path, struct gs_error *err)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, 0644);
	FILE *f = fd >= 0 ? fdopen(fd, "w") : NULL;

	if (!f) {
		if (fd >= 0)
			close(fd);
		gs_fail(err, GS_EXIT_FAILURE, "cannot write %s: %s", path, strerror(errno));
	}
	return f;
}

static int close_result(FILE *f, const char *path, struct gs_error *err)
{
	if (ferror(f) | fclose(f))
		return gs_fail(err, GS_EXIT_FAILURE, "cannot write %s: %s", path, strerror(errno ? errno : EIO));
	return 0;
}

static int write_svg(struct output *out, const char *title, struct gs_error *err)
{
	FILE *f = open_result(out->opt->svg, err);

	if (!f)
		return -1;
	svg_write(f, &out->history, title);
	return close_result(f, out->opt->svg, err);
}

/* The waiters' stacks of every process summarised so far. */
static int write_wait_stacks(struct output *out, const struct report *r, struct gs_error *err)
{
	FILE *f;

	if (!out->folded_waits)
		return 0;
	if (r->hold && r->hold->python_stacks)
		stacks_write_folded_waits(out->folded_waits, r->hold, r->target->pid, r->threads, r->nthreads);
	if (fflush(out->folded_waits) != 0)
		return gs_fail(err, GS_EXIT_FAILURE, "out of memory");
	if (!(f = open_result(out->opt->folded_waits, err)))
		return -1;
	fwrite(out->folded_waits_text, 1, out->folded_waits_len, f);
	return close_result(f, out->opt->folded_waits, err);
}

/* The stacks of every process summarised so far: with several processes
 * the last summary writes them all. */
static int write_stacks(struct output *out, const struct report *r, struct gs_error *err)
{
	bool stacks = r->hold && r->hold->python_stacks;
	FILE *f;

	if (write_wait_stacks(out, r, err) != 0)
		return -1;

	if (out->folded && stacks)
		stacks_write_folded(out->folded, r->hold, r->target->pid, r->threads, r->nthreads, false);
	/* A thread per request would make as many towers: the graph's threads
	 * are their roles. */
	if (out->flames && stacks)
		stacks_write_folded(out->flames, r->hold, r->target->pid, r->threads, r->nthreads, true);
	if ((out->folded && fflush(out->folded) != 0) || (out->flames && fflush(out->flames) != 0))
		return gs_fail(err, GS_EXIT_FAILURE, "out of memory");
	if (out->opt->folded) {
		if (!(f = open_result(out->opt->folded, err)))
			return -1;
		fwrite(out->folded_text, 1, out->folded_len, f);
		if (close_result(f, out->opt->folded, err) != 0)
			return -1;
	}
	if (out->opt->flamegraph) {
		if (!(f = open_result(out->opt->flamegraph, err)))
			return -1;
		flamegraph_write(f, out->flames_text, out->flames_len, "Where the GIL goes: its holders' Python stacks");
		if (close_result(f, out->opt->flamegraph, err) != 0)
			return -1;
	}
	return 0;
}

int output_summary(struct output *out, struct report *r, const struct histograms *h, struct gs_error *err)
{
	r->sort = out->sort;
	if (out->screen) {
		screen_close(out->screen);
		out->screen = NULL;
	}
	write_report(out, r, h);
	if (write_stacks(out, r, err) != 0)
		return -1;
	if (!out->opt->svg)
		return 0;
	return write_svg(out, r->lines.verdict, err);
}

int output_input_fd(const struct output *out)
{
	return out->screen ? STDIN_FILENO : -1;
}

enum screen_action output_keys(struct output *out)
{
	return out->screen ? screen_keys(out->screen, &out->sort) : SCREEN_NONE;
}

enum sort_key output_sort(const struct output *out)
{
	return out->sort;
}

int output_error(const struct output *out)
{
	return out->write_errno;
}

void output_close(struct output *out)
{
	if (!out)
		return;
	screen_close(out->screen);
	if (out->own_file)
		fclose(out->file);
	history_free(&out->history);
	if (out->folded)
		fclose(out->folded);
	if (out->flames)
		fclose(out->flames);
	free(out->folded_text);
	free(out->flames_text);
	if (out->folded_waits)
		fclose(out->folded_waits);
	free(out->folded_waits_text);
	free(out);
}
