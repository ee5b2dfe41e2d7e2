#include "config.h"

#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "suites.h"
#include "tool/figures/cpu_time.h"

#define TGID 100

static struct cpu_row row(uint32_t tid, uint32_t tgid, uint64_t ns, bool ended, const char *comm)
{
	struct cpu_row r = { .tid = tid, .time = { .cpu_ns = ns, .tgid = tgid, .ended = ended } };

	snprintf(r.time.comm, sizeof r.time.comm, "%s", comm);
	return r;
}

static struct cpu_update update_of(const struct cpu_row *rows, size_t n, const struct gs_running *slots,
				   size_t nslots, uint64_t now)
{
	struct cpu_update u = { .nrows = n, .cap = n, .slots = slots, .nslots = nslots, .tgid = TGID, .now_ns = now };

	u.rows = malloc((n ? n : 1) * sizeof *u.rows);
	ck_assert_ptr_nonnull(u.rows);
	memcpy(u.rows, rows, n * sizeof *rows);
	return u;
}

/* Finished slices plus the one running now; other processes' rows and
 * slots are not the target's. */
START_TEST(rows_and_running_slices)
{
	struct cpu_row rows[] = { row(102, TGID, 3000, false, "worker"), row(101, TGID, 1000, false, "main"),
				  row(555, 7, 9999, false, "other") };
	struct gs_running slots[] = { { .since_ns = 900, .tid = 101, .tgid = TGID },
				      { .since_ns = 950, .tid = 103, .tgid = TGID },
				      { .since_ns = 10, .tid = 556, .tgid = 7 } };
	struct cpu_update u = update_of(rows, 3, slots, 3, 1000);
	struct stats st = { 0 };

	ck_assert_int_eq(cpu_time_prepare(&u), 0);
	ck_assert_uint_eq(u.nrows, 4); /* 103 runs since its first switch */
	ck_assert_int_eq(cpu_time_update(&st, &u), 0);
	struct thread_stats *main_thread = stats_find(&st, 101), *born = stats_find(&st, 103);
	ck_assert_ptr_nonnull(main_thread);
	ck_assert_uint_eq(main_thread->interval.cpu_ns, 1100);
	ck_assert_str_eq(main_thread->name, "main");
	ck_assert_uint_eq(stats_find(&st, 102)->interval.cpu_ns, 3000);
	ck_assert_ptr_nonnull(born);
	ck_assert_uint_eq(born->interval.cpu_ns, 50);
	ck_assert_ptr_null(stats_find(&st, 555));
	ck_assert_ptr_null(stats_find(&st, 556));
	free(u.rows);
	free(u.forget);
	stats_free(&st);
}
END_TEST

/* Births and deaths come from the rows; the list stays sorted. */
START_TEST(live_threads_from_rows)
{
	struct cpu_row rows[] = { row(10, TGID, 5, true, "gone"), row(30, TGID, 5, false, "new"),
				  row(20, TGID, 5, false, "kept"), row(40, 7, 5, false, "other") };
	struct cpu_update u = update_of(rows, 4, NULL, 0, 0);
	size_t cap = 3;
	pid_t *live = malloc(cap * sizeof *live);
	int n;

	ck_assert_ptr_nonnull(live);
	live[0] = 10;
	live[1] = 20;
	live[2] = 25; /* no row: did not run this interval */
	ck_assert_int_eq(cpu_time_prepare(&u), 0);
	n = cpu_time_live(&u, live, 3, &live, &cap);
	ck_assert_int_eq(n, 3);
	ck_assert_int_eq(live[0], 20);
	ck_assert_int_eq(live[1], 25);
	ck_assert_int_eq(live[2], 30);
	free(live);
	free(u.rows);
}
END_TEST

/* A thread born and queued for its first CPU has a run-queue row only:
 * alive. A run-queue row that saw the last switch ends its thread even
 * when the slices' row does not say so yet (read before it). */
START_TEST(live_threads_from_run_queue_rows)
{
	struct cpu_row rows[] = { row(20, TGID, 5, false, "kept") };
	struct sched_row sched[] = {
		{ .tid = 50, .sched = { .tgid = TGID, .born_ns = 900, .runq_since = 950 } },
		{ .tid = 20, .sched = { .tgid = TGID, .born_ns = 100 } },
		{ .tid = 25, .sched = { .tgid = TGID, .born_ns = 100, .died_ns = 990 } },
		{ .tid = 45, .sched = { .tgid = 7, .born_ns = 900 } },
	};
	struct cpu_update u = update_of(rows, 1, NULL, 0, 1000);
	size_t cap = 2;
	pid_t *live = malloc(cap * sizeof *live);
	int n;

	ck_assert_ptr_nonnull(live);
	live[0] = 20;
	live[1] = 25;
	cpu_time_sort_sched(sched, 4);
	u.sched = sched;
	u.nsched = 4;
	ck_assert_int_eq(cpu_time_prepare(&u), 0);
	n = cpu_time_live(&u, live, 2, &live, &cap);
	ck_assert_int_eq(n, 2);
	ck_assert_int_eq(live[0], 20);
	ck_assert_int_eq(live[1], 50);
	free(live);
	free(u.rows);
}
END_TEST

/* Intervals take differences; an ended thread's row is forgotten, and a
 * row recreated after that (its very last switch) is not counted again. */
START_TEST(intervals_and_ended_threads)
{
	struct cpu_row first[] = { row(1, TGID, 1000, false, "t") };
	struct cpu_row second[] = { row(1, TGID, 4000, true, "t") };
	struct cpu_row late[] = { row(1, TGID, 20, true, "t") };
	struct stats st = { 0 };
	pid_t tid = 1;
	struct cpu_update u = update_of(first, 1, NULL, 0, 0);

	ck_assert_int_eq(stats_update(&st, &(struct wait_rows){ 0 }, 0, &tid, 1, NULL, NULL), 0);
	ck_assert_int_eq(cpu_time_prepare(&u), 0);
	ck_assert_int_eq(cpu_time_update(&st, &u), 0);
	ck_assert_uint_eq(stats_find(&st, 1)->interval.cpu_ns, 1000);
	ck_assert_uint_eq(u.nforget, 0);

	memcpy(u.rows, second, sizeof second);
	ck_assert_int_eq(stats_update(&st, &(struct wait_rows){ 0 }, 0, NULL, 0, NULL, NULL), 0);
	ck_assert_int_eq(cpu_time_prepare(&u), 0);
	ck_assert_int_eq(cpu_time_update(&st, &u), 0);
	ck_assert_uint_eq(stats_find(&st, 1)->interval.cpu_ns, 3000);
	ck_assert_uint_eq(stats_find(&st, 1)->run.cpu_ns, 4000);
	ck_assert_uint_eq(u.nforget, 1);

	memcpy(u.rows, late, sizeof late);
	ck_assert_int_eq(stats_update(&st, &(struct wait_rows){ 0 }, 0, NULL, 0, NULL, NULL), 0);
	ck_assert_int_eq(cpu_time_prepare(&u), 0);
	ck_assert_int_eq(cpu_time_update(&st, &u), 0);
	ck_assert_uint_eq(stats_find(&st, 1)->run.cpu_ns, 4000);
	ck_assert_uint_eq(u.nforget, 1);
	free(u.rows);
	free(u.forget);
	stats_free(&st);
}
END_TEST

Suite *cpu_time_suite(void)
{
	Suite *s = suite_create("cpu_time");
	TCase *tc = tcase_create("cpu_time");

	tcase_add_test(tc, rows_and_running_slices);
	tcase_add_test(tc, live_threads_from_rows);
	tcase_add_test(tc, live_threads_from_run_queue_rows);
	tcase_add_test(tc, intervals_and_ended_threads);
	suite_add_tcase(s, tc);
	return s;
}
