#include "config.h"

#include <stdio.h>
#include <string.h>

#include "suites.h"
#include "tool/report/table.h"

static struct thread_stats thread(pid_t tid, const char *name, uint64_t wait_ns, uint64_t cpu_cs)
{
	struct thread_stats t;

	memset(&t, 0, sizeof t);
	t.tid = tid;
	t.alive = true;
	snprintf(t.name, sizeof t.name, "%s", name);
	t.interval.gil = (struct wait_figures){ wait_ns, 10, wait_ns / 5 };
	t.interval.cpu_ns = cpu_cs * 10000000; /* hundredths of a second */
	return t;
}

START_TEST(figures_of_a_row)
{
	struct thread_stats t = thread(7, "w", 500000000, 50);
	struct row_figures f;

	t.interval.sw = (struct wait_figures){ 20000000, 2, 0 };
	row_figures(&t, false, 2.0, &f);
	ck_assert_double_eq_tol(f.cpu_pct, 25.0, 1e-9);
	ck_assert_double_eq_tol(f.wait_pct, 25.0, 1e-9);
	ck_assert_double_eq_tol(f.waits_per_s, 5.0, 1e-9);
	ck_assert_double_eq_tol(f.switch_pct, 1.0, 1e-9);
	ck_assert_uint_eq(f.avg_ns, 50000000);
	ck_assert_uint_eq(f.max_ns, 100000000);
	row_figures(&t, false, 0.0, &f); /* no time: no division by zero */
	ck_assert_double_eq(f.cpu_pct, 0.0);
	ck_assert_double_eq(f.waits_per_s, 0.0);
}
END_TEST

START_TEST(widths_and_truncation)
{
	struct thread_stats t = thread(4242, "a-thread-with-a-long-name", 100000000, 10);
	struct row_figures f;
	char header[256], row[256];

	row_figures(&t, false, 1.0, &f);
	/* Natural width: TID first, NAME truncated to 15. */
	table_header(header, sizeof header, 0);
	table_row(row, sizeof row, &t, &f, 0);
	ck_assert_int_eq(strncmp(header, "    TID NAME", 12), 0);
	ck_assert_int_eq(strncmp(row, "   4242 a-thread-with-a ", 24), 0);
	ck_assert_uint_eq(strlen(row), strlen(header));
	/* A wide terminal gives NAME the room, up to 32 columns. */
	table_row(row, sizeof row, &t, &f, 200);
	ck_assert_ptr_nonnull(strstr(row, "a-thread-with-a-long-name "));
	table_header(header, sizeof header, 200);
	ck_assert_uint_eq(strlen(row), strlen(header));
	ck_assert_uint_le(strlen(row), 200);
	/* A narrow one cuts the line at its width. */
	ck_assert_uint_eq(table_row(row, sizeof row, &t, &f, 40), 40);
	ck_assert_uint_eq(strlen(row), 40);
	ck_assert_uint_eq(table_header(header, sizeof header, 40), 40);
	ck_assert_int_eq(strncmp(row, "   4242 a-thread", 16), 0);
}
END_TEST

START_TEST(sort_keys)
{
	struct thread_stats a = thread(1, "a", 100, 90), b = thread(2, "b", 900, 10), c = thread(3, "c", 900, 10);
	struct table_entry rows[] = { { .thread = &a }, { .thread = &c }, { .thread = &b } };
	struct table_order o = { SORT_GIL_WAIT, false };

	b.interval.gil.count = 20;
	for (size_t i = 0; i < 3; i++)
		row_figures(rows[i].thread, false, 1.0, &rows[i].fig);
	table_sort(rows, 3, &o);
	/* Most GIL wait first; equal wait: more waits; then TID. */
	ck_assert_int_eq(rows[0].thread->tid, 2);
	ck_assert_int_eq(rows[1].thread->tid, 3);
	ck_assert_int_eq(rows[2].thread->tid, 1);
	o.key = SORT_CPU;
	table_sort(rows, 3, &o);
	ck_assert_int_eq(rows[0].thread->tid, 1);
	ck_assert_int_eq(rows[1].thread->tid, 2); /* ties by TID */
	/* The figures move with their threads. */
	ck_assert_double_eq_tol(rows[0].fig.cpu_pct, 90.0, 1e-9);
	o.key = SORT_TID;
	table_sort(rows, 3, &o);
	ck_assert_int_eq(rows[0].thread->tid, 1);
	ck_assert_int_eq(rows[2].thread->tid, 3);
	ck_assert_str_eq(sort_key_name(SORT_CPU), "CPU%");
	ck_assert_str_eq(sort_key_name(SORT_GIL_WAIT), "GIL WAIT%");
}
END_TEST

Suite *table_suite(void)
{
	Suite *s = suite_create("table");
	TCase *tc = tcase_create("layout");

	tcase_add_test(tc, figures_of_a_row);
	tcase_add_test(tc, widths_and_truncation);
	tcase_add_test(tc, sort_keys);
	suite_add_tcase(s, tc);
	return s;
}
