/* Python thread names read out of a live process (py_threads.c), on every
 * interpreter of the machine: named_threads.py starts threads with known
 * names (ASCII, non-ASCII, too long, renamed, a dummy thread) and reports
 * them with their tids; tests/pythreads_dump must read each name at its
 * tid, no more and no less. */
#include "config.h"

#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "suites.h"

#define MAX_PYTHONS 32
#define NAME_MAX_BYTES 63 /* PY_THREAD_NAME_MAX - 1 */

static struct interpreter pythons[MAX_PYTHONS];
static size_t npythons;

/* What the reader keeps of a name: its longest prefix that fits and ends
 * where a UTF-8 character does. */
static void expected_name(const char *name, char *out, size_t size)
{
	size_t len = strlen(name);

	if (len > NAME_MAX_BYTES) {
		len = NAME_MAX_BYTES;
		while (len > 0 && ((unsigned char)name[len] & 0xc0) == 0x80)
			len--;
	}
	snprintf(out, size, "%.*s", (int)len, name);
}

/* The name the dump printed for tid ("TID NAME" lines); NULL if none. */
static const char *dumped_name(char *dump, int tid, char *out, size_t size)
{
	char prefix[32];
	size_t plen = (size_t)snprintf(prefix, sizeof prefix, "\n%d ", tid);
	const char *line = strstr(dump, prefix);

	if (!line)
		return NULL;
	line += plen;
	snprintf(out, size, "%.*s", (int)strcspn(line, "\n"), line);
	return out;
}

START_TEST(every_thread_named)
{
	const struct interpreter *py = &pythons[_i];
	/* A free-threaded build with its GIL: the dump takes a thread state
	 * from the GIL's last holder. */
	const char *env[] = { "PYTHON_GIL=1", NULL };
	struct workload_options o = { .script = "named_threads.py", .env = py->free_threaded ? env : NULL };
	struct workload w;
	char cmd[1200], want[256], got[256];
	const char *builddir = getenv("GILSTATS_BUILDDIR") ? getenv("GILSTATS_BUILDDIR") : ".";

	workload_start(&w, py, &o);
	json_object *threads = json_object_object_get(w.report, "threads");
	snprintf(cmd, sizeof cmd, "%s/tests/pythreads_dump %d 2>&1", builddir, (int)w.pid);
	char *dump = shell(cmd);
	fprintf(stderr, "%s: %s", py->label, dump);
	size_t n = json_object_array_length(threads);
	snprintf(want, sizeof want, "\nnames %zu\n", n);
	ck_assert_msg(strstr(dump, want), "%s: not %zu names: %s", py->label, n, dump);
	for (size_t i = 0; i < n; i++) {
		json_object *t = json_object_array_get_idx(threads, i);
		int tid = (int)field_double(t, "tid");
		expected_name(field_string(t, "name"), want, sizeof want);
		ck_assert_msg(dumped_name(dump, tid, got, sizeof got), "%s: no name for thread %d (%s)", py->label, tid,
			      want);
		ck_assert_msg(strcmp(got, want) == 0, "%s: thread %d named '%s', not '%s'", py->label, tid, got, want);
	}
	free(dump);
	workload_stop(&w);
}
END_TEST

Suite *names_suite(void)
{
	Suite *s = suite_create("names");
	TCase *tc = tcase_create("names");

	npythons = discover_interpreters(pythons, MAX_PYTHONS);
	tcase_set_timeout(tc, 60);
	tcase_add_loop_test(tc, every_thread_named, 0, (int)npythons);
	suite_add_tcase(s, tc);
	return s;
}
