/* Python stacks read from a live process (py_layout_for, py_stack_read,
 * py_code_lookup_stack): on every interpreter of the machine, the threads
 * of tests/workloads/stacks.py are read with the functions, files and
 * lines the workload reports for itself, through tests/pystack_dump. */
#include "config.h"

#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "suites.h"

#define MAX_PYTHONS 32
#define MAX_DUMP_THREADS 16
#define MAX_DUMP_FRAMES 80
#define READ_MAX 64 /* PY_STACK_MAX: deeper stacks are cut there */

static struct interpreter pythons[MAX_PYTHONS];
static size_t npythons;

struct dumped_frame {
	char function[256], file[512];
	int line;
};

struct dumped_thread {
	struct dumped_frame frames[MAX_DUMP_FRAMES];
	size_t n;
	bool truncated, torn;
};

struct dump {
	char version[64];
	struct dumped_thread threads[MAX_DUMP_THREADS];
	size_t n;
	double cost_us, calls, frames;
};

/* "  function (file:line)": the file may hold anything but its line ends it. */
static bool parse_frame(const char *s, struct dumped_frame *f)
{
	const char *open = strstr(s, " ("), *colon = strrchr(s, ':');
	size_t len = strlen(s);

	if (!open || !colon || colon < open || len < 2 || s[len - 1] != ')')
		return false;
	snprintf(f->function, sizeof f->function, "%.*s", (int)(open - s), s);
	snprintf(f->file, sizeof f->file, "%.*s", (int)(colon - open - 2), open + 2);
	f->line = atoi(colon + 1);
	return true;
}

static void parse_line(struct dump *d, char *line)
{
	struct dumped_thread *t = d->n ? &d->threads[d->n - 1] : NULL;

	line[strcspn(line, "\n")] = '\0';
	if (sscanf(line, "python %63s", d->version) == 1)
		return;
	if (sscanf(line, "cost_us %lf frames %lf calls %lf", &d->cost_us, &d->frames, &d->calls) == 3)
		return;
	if (strncmp(line, "thread ", 7) == 0 && d->n < MAX_DUMP_THREADS) {
		memset(&d->threads[d->n++], 0, sizeof d->threads[0]);
		return;
	}
	if (!t || strncmp(line, "  ", 2) != 0)
		return;
	if (strcmp(line, "  ...") == 0)
		t->truncated = true;
	else if (strcmp(line, "  torn") == 0)
		t->torn = true;
	else if (t->n < MAX_DUMP_FRAMES)
		ck_assert_msg(parse_frame(line + 2, &t->frames[t->n++]), "unparsable frame: %s", line);
}

/* pystack_dump PID 20: every thread's stack, and the cost of reading one. */
static void dump_stacks(const struct interpreter *py, pid_t pid, struct dump *d)
{
	const char *dir = getenv("GILSTATS_BUILDDIR");
	char cmd[1024], line[2048];
	FILE *f;
	int status;

	memset(d, 0, sizeof *d);
	snprintf(cmd, sizeof cmd, "%s/tests/pystack_dump %d 20", dir ? dir : ".", (int)pid);
	ck_assert_ptr_nonnull(f = popen(cmd, "r"));
	while (fgets(line, sizeof line, f))
		parse_line(d, line);
	status = pclose(f);
	ck_assert_msg(status == 0, "%s: pystack_dump failed (%d)", py->label, status);
}

/* Whether the dumped thread starts with the expected frames (innermost
 * first), as far as the dump goes. */
static bool starts_with(const struct dumped_thread *t, json_object *frames)
{
	size_t n = json_object_array_length(frames);

	if (n > READ_MAX)
		n = READ_MAX;
	if (t->n < n)
		return false;
	for (size_t i = 0; i < n; i++) {
		json_object *e = json_object_array_get_idx(frames, i);
		if (strcmp(t->frames[i].function, field_string(e, "function")) != 0 ||
		    strcmp(t->frames[i].file, field_string(e, "file")) != 0 ||
		    t->frames[i].line != json_object_get_int(json_object_object_get(e, "line")))
			return false;
	}
	return true;
}

static void print_dump(const struct dump *d)
{
	for (size_t i = 0; i < d->n; i++) {
		fprintf(stderr, "  thread %zu%s%s:", i, d->threads[i].torn ? " torn" : "",
			d->threads[i].truncated ? " truncated" : "");
		for (size_t k = 0; k < d->threads[i].n && k < 4; k++)
			fprintf(stderr, " %s:%d", d->threads[i].frames[k].function, d->threads[i].frames[k].line);
		fprintf(stderr, "\n");
	}
}

START_TEST(every_thread_read)
{
	const struct interpreter *py = &pythons[_i];
	const char *env[] = { "PYTHON_GIL=1", NULL };
	struct workload_options o = { .script = "stacks.py", .env = py->free_threaded ? env : NULL };
	struct workload w;
	json_object *threads;
	struct dump d;

	workload_start(&w, py, &o);
	dump_stacks(py, w.pid, &d);
	threads = json_object_object_get(w.report, "threads");
	ck_assert_str_eq(d.version, field_string(w.report, "python_version"));
	for (size_t i = 0; i < json_object_array_length(threads); i++) {
		json_object *want = json_object_array_get_idx(threads, i);
		json_object *frames = json_object_object_get(want, "frames");
		bool found = false;
		for (size_t k = 0; k < d.n && !found; k++)
			found = starts_with(&d.threads[k], frames) &&
				d.threads[k].truncated == (json_object_array_length(frames) >= READ_MAX);
		if (!found)
			print_dump(&d);
		ck_assert_msg(found, "%s: no thread reads as %s", py->label, json_object_to_json_string(want));
	}
	/* Read again and again (the sampler's way): one read of the thread
	 * state, its frames' chunk (3.11+), last time's frames and its code
	 * objects' heads, whatever the depth. */
	fprintf(stderr, "%s: %.1f frames a stack read in %.1f us, %.1f system calls\n", py->label, d.frames, d.cost_us,
		d.calls);
	ck_assert_msg(d.calls <= 8, "%s: %.1f system calls for a stack of %.1f frames", py->label, d.calls, d.frames);
	workload_stop(&w);
}
END_TEST

Suite *stacks_suite(void)
{
	Suite *s = suite_create("stacks");
	TCase *tc = tcase_create("stacks");

	npythons = discover_interpreters(pythons, MAX_PYTHONS);
	tcase_set_timeout(tc, 60);
	tcase_add_loop_test(tc, every_thread_read, 0, (int)npythons);
	suite_add_tcase(s, tc);
	return s;
}
