#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "suites.h"
#include "tool/report/render.h"
#include "tool/report/roles.h"

static void role_is(const char *name, const char *role)
{
	char out[32];

	roles_name(name, out, sizeof out);
	ck_assert_str_eq(out, role);
}

START_TEST(role_names)
{
	role_is("Thread-12 (handler)", "Thread-* (handler)");
	role_is("ThreadPoolExecutor-0_7", "ThreadPoolExecutor-*_*");
	role_is("worker #3", "worker #*");
	role_is("pool 12 x", "pool * x");
	/* Digits not after a separator are part of the name. */
	role_is("python3.11", "python3.11");
	role_is("gunicorn: worker", "gunicorn: worker");
	role_is("h2-", "h2-");
	role_is("", "");
	/* Cut to the buffer, always terminated. */
	char small[6];
	roles_name("Thread-123456", small, sizeof small);
	ck_assert_str_eq(small, "Threa");
}
END_TEST

START_TEST(when_grouped)
{
	ck_assert(!roles_grouped(40, 0, false));
	ck_assert(roles_grouped(41, 0, false));
	ck_assert(roles_grouped(3, 0, true));
	ck_assert(roles_grouped(12, 10, false));
	ck_assert(!roles_grouped(10, 10, false));
}
END_TEST

static struct thread_stats thread(pid_t tid, const char *name, uint64_t wait_ms, uint64_t cpu_ms, uint64_t alive_ms,
				  bool spanned)
{
	struct thread_stats t;

	memset(&t, 0, sizeof t);
	t.tid = tid;
	snprintf(t.name, sizeof t.name, "%s", name);
	t.alive = spanned;
	t.spanned = spanned;
	t.ended_now = !spanned;
	t.interval.gil.ns = wait_ms * 1000000;
	t.interval.gil.count = wait_ms;
	t.interval.gil.max_ns = wait_ms * 100000;
	t.interval.cpu_ns = cpu_ms * 1000000;
	t.interval.alive_ns = alive_ms * 1000000;
	return t;
}

/* Grouped: one row per role; a group sums its threads, and its shares
 * are over the thread-seconds they were alive. */
START_TEST(grouped_rows_sum_figures)
{
	struct thread_stats v[] = { thread(1, "MainThread", 10, 900, 1000, true),
				    thread(2, "Thread-1 (handler)", 60, 40, 100, false),
				    thread(3, "Thread-2 (handler)", 30, 20, 100, false),
				    thread(4, "Thread-3 (handler)", 90, 60, 200, false) };
	struct table_entry order[] = { { .thread = &v[0] }, { .thread = &v[1] }, { .thread = &v[2] },
				       { .thread = &v[3] } };
	struct roles_request req = { false, true, 0.5, SORT_GIL_WAIT };
	struct roles r = { 0 };
	struct row_figures f;

	ck_assert_int_eq(roles_build(&r, order, 4, &req), 0);
	ck_assert_uint_eq(r.n, 2);
	/* Most GIL wait first: the handlers. */
	ck_assert_str_eq(r.rows[0].role, "Thread-* (handler)");
	ck_assert_ptr_null(r.rows[0].thread);
	ck_assert_uint_eq(r.rows[0].threads, 3);
	ck_assert_uint_eq(r.rows[0].alive, 0);
	ck_assert_uint_eq(r.rows[0].fig.gil.ns, 180000000);
	ck_assert_uint_eq(r.rows[0].fig.gil.max_ns, 9000000);
	roles_row_figures(&r.rows[0], 1.0, &f);
	/* 180 ms of 400 ms alive: 45%; 120 ms of CPU: 30%. */
	ck_assert_double_eq_tol(f.wait_pct, 45.0, 1e-9);
	ck_assert_double_eq_tol(f.cpu_pct, 30.0, 1e-9);
	ck_assert_str_eq(r.rows[1].role, "MainThread");
	ck_assert_uint_eq(r.rows[1].threads, 1);
	/* A grouped role of one thread is still a group (the role, its count). */
	ck_assert_ptr_null(r.rows[1].thread);
	roles_free(&r);
}
END_TEST

/* Not grouped: long-lived threads keep their rows; those alive less than
 * half an interval fold into one row per role, unless alone in it. */
START_TEST(short_lived_threads_fold)
{
	struct thread_stats v[] = { thread(1, "MainThread", 10, 900, 1000, true),
				    thread(2, "Thread-1 (handler)", 60, 40, 100, false),
				    thread(3, "Thread-2 (handler)", 30, 20, 100, false),
				    thread(4, "Thread-3 (handler)", 90, 60, 600, false),
				    thread(5, "Thread-4 (handler)", 5, 60, 1000, true),
				    thread(6, "reaper-1", 1, 1, 10, false) };
	struct table_entry order[] = { { .thread = &v[0] }, { .thread = &v[1] }, { .thread = &v[2] },
				       { .thread = &v[3] }, { .thread = &v[4] }, { .thread = &v[5] } };
	struct roles_request req = { false, false, 0.5, SORT_TID };
	struct roles r = { 0 };
	char buf[256];

	ck_assert_int_eq(roles_build(&r, order, 6, &req), 0);
	ck_assert_uint_eq(r.n, 5);
	/* By TID: a group where its first thread would be. */
	ck_assert_ptr_eq(r.rows[0].thread, &v[0]);
	ck_assert_ptr_null(r.rows[1].thread);
	ck_assert_str_eq(r.rows[1].role, "Thread-* (handler)");
	ck_assert_uint_eq(r.rows[1].threads, 2);
	ck_assert_ptr_eq(r.rows[2].thread, &v[3]); /* 0.6 s: not short */
	ck_assert_ptr_eq(r.rows[3].thread, &v[4]);
	ck_assert_ptr_eq(r.rows[4].thread, &v[5]); /* alone in its role */
	ck_assert_str_eq(r.rows[4].role, "reaper-1");
	/* The group's row counts its threads where a tid would be. */
	struct row_figures f;
	roles_row_figures(&r.rows[1], 1.0, &f);
	table_group_row(buf, sizeof buf, r.rows[1].threads, r.rows[1].alive > 0, r.rows[1].role, &f, 0);
	ck_assert_msg(strncmp(buf, "  2 thr Thread-* (handl", 23) == 0, "%s", buf);
	ck_assert_ptr_nonnull(strstr(buf, "(ended)"));
	roles_free(&r);
}
END_TEST

/* A text report of a thread pool above 40 rows: grouped, --top cuts. */
START_TEST(text_report_groups_a_pool)
{
	struct thread_stats v[50], *order[50];
	struct table_entry entries[50];
	struct report_target target = { .pid = 7, .comm = "python3", .python_version = "3.12.3", .gil_method = "exact",
					.probe = "futex", .gil_enabled = true };
	struct report r = { .target = &target, .interval_s = 1.0, .elapsed_s = 1.0, .threads = order,
			    .entries = entries, .nthreads = 50, .short_s = 0.5 };
	char *text = NULL;
	size_t len = 0;
	FILE *f;

	for (int i = 0; i < 50; i++) {
		char name[32];
		snprintf(name, sizeof name, "ThreadPoolExecutor-0_%d", i);
		v[i] = thread(100 + i, name, 400, 100, 1000, true);
		order[i] = &v[i];
	}
	v[0] = thread(99, "MainThread", 0, 1, 1000, true);
	report_compute(&r);
	f = open_memstream(&text, &len);
	render_text(f, &r);
	fclose(f);
	ck_assert_msg(strstr(text, " 49 thr ThreadPoolExecu ") != NULL, "%s", text);
	ck_assert_ptr_nonnull(strstr(text, "threads 50 alive / 50 seen"));
	ck_assert_ptr_null(strstr(text, "    100 "));
	free(text);
	r.top = 1;
	text = NULL;
	f = open_memstream(&text, &len);
	render_text(f, &r);
	fclose(f);
	ck_assert_msg(strstr(text, "...and 1 more rows (--top 1)\n") != NULL, "%s", text);
	free(text);
}
END_TEST

Suite *roles_suite(void)
{
	Suite *s = suite_create("roles");
	TCase *tc = tcase_create("roles");

	tcase_add_test(tc, role_names);
	tcase_add_test(tc, when_grouped);
	tcase_add_test(tc, grouped_rows_sum_figures);
	tcase_add_test(tc, short_lived_threads_fold);
	tcase_add_test(tc, text_report_groups_a_pool);
	suite_add_tcase(s, tc);
	return s;
}
