#include "config.h"

#include <stdio.h>
#include <string.h>

#include "suites.h"
#include "tool/figures/stats.h"

#define GIL_COND 0x1020
#define SWITCH_COND 0x1078
#define OTHER 0x9999

static enum gs_wait_kind classify(uint64_t addr, const void *ctx, uint64_t *gil)
{
	(void)ctx;
	if (addr == GIL_COND || addr == SWITCH_COND)
		*gil = GIL_COND;
	if (addr == GIL_COND)
		return GS_KIND_GIL_COND;
	if (addr == SWITCH_COND)
		return GS_KIND_SWITCH_COND;
	return GS_KIND_OTHER;
}

static struct wait_row row(uint32_t tid, uint64_t addr, uint64_t total_ns, uint64_t count, uint64_t max_ns,
			   uint64_t epoch, uint64_t epoch_max)
{
	struct wait_row r;

	memset(&r, 0, sizeof r);
	r.key = (struct gs_wait_key){ .addr = addr, .tgid = 100, .tid = tid };
	r.stats.total_ns = total_ns;
	r.stats.count = count;
	r.stats.max_ns = max_ns;
	r.stats.epoch[epoch & 1] = epoch;
	r.stats.epoch_max_ns[epoch & 1] = epoch_max;
	return r;
}

START_TEST(interval_deltas_and_run_totals)
{
	struct stats st = { 0 };
	pid_t live[] = { 100, 101, 102 };
	struct wait_row first[] = {
		row(101, GIL_COND, 700, 7, 150, 0, 150),
		row(101, SWITCH_COND, 30, 3, 20, 0, 20),
		row(102, OTHER, 5000, 500, 10, 0, 10),
	};
	struct wait_rows rows = { first, 3, 3 };
	struct thread_stats *t;

	ck_assert_int_eq(stats_update(&st, &rows, 0, live, 3, classify, NULL), 0);
	ck_assert_uint_eq(st.nthreads, 3);
	t = stats_find(&st, 101);
	ck_assert_uint_eq(t->interval.gil.ns, 700);
	ck_assert_uint_eq(t->interval.gil.count, 7);
	ck_assert_uint_eq(t->interval.gil.max_ns, 150);
	ck_assert_uint_eq(t->interval.sw.ns, 30);
	ck_assert_uint_eq(t->gil_address, GIL_COND);
	/* Waits on anything but the GIL count nowhere. */
	t = stats_find(&st, 102);
	ck_assert_uint_eq(t->interval.gil.count + t->interval.sw.count, 0);
	ck_assert(stats_find(&st, 100)->alive);

	/* Next interval: the row grew by 300 ns in 2 waits, longest 200. */
	struct wait_row second[] = {
		row(101, GIL_COND, 1000, 9, 200, 1, 200),
		row(101, SWITCH_COND, 30, 3, 20, 0, 20), /* nothing new: epoch 0 is stale */
	};
	rows = (struct wait_rows){ second, 2, 2 };
	ck_assert_int_eq(stats_update(&st, &rows, 1, live, 3, classify, NULL), 0);
	t = stats_find(&st, 101);
	ck_assert_uint_eq(t->interval.gil.ns, 300);
	ck_assert_uint_eq(t->interval.gil.count, 2);
	ck_assert_uint_eq(t->interval.gil.max_ns, 200);
	ck_assert_uint_eq(t->interval.sw.ns, 0);
	ck_assert_uint_eq(t->interval.sw.max_ns, 0);
	ck_assert_uint_eq(t->run.gil.ns, 1000);
	ck_assert_uint_eq(t->run.gil.count, 9);
	ck_assert_uint_eq(t->run.gil.max_ns, 200);
	ck_assert_uint_eq(t->run.sw.ns, 30);
	stats_free(&st);
}
END_TEST

START_TEST(maximum_of_a_finished_epoch_survives_the_next)
{
	struct stats st = { 0 };
	pid_t live[] = { 101 };
	/* Epoch 4 ended with a 900 ns wait; epoch 5 already saw a 100 ns one. */
	struct wait_row r = row(101, GIL_COND, 1000, 2, 900, 4, 900);
	struct wait_rows rows = { &r, 1, 1 };

	r.stats.epoch[1] = 5;
	r.stats.epoch_max_ns[1] = 100;
	ck_assert_int_eq(stats_update(&st, &rows, 4, live, 1, classify, NULL), 0);
	ck_assert_uint_eq(stats_find(&st, 101)->interval.gil.max_ns, 900);
	stats_free(&st);
}
END_TEST

START_TEST(ended_threads_are_kept_and_their_rows_forgotten)
{
	struct stats st = { 0 };
	pid_t both[] = { 101, 102 }, one[] = { 101 };
	struct wait_row v[] = { row(101, GIL_COND, 100, 1, 100, 0, 100), row(102, GIL_COND, 200, 2, 150, 0, 150) };
	struct wait_rows rows = { v, 2, 2 };
	const struct gs_wait_key *keys;
	size_t n;

	ck_assert_int_eq(stats_update(&st, &rows, 0, both, 2, classify, NULL), 0);
	stats_rows_to_forget(&st, &n);
	ck_assert_uint_eq(n, 0);
	/* 102 exits after one more wait. */
	v[1] = row(102, GIL_COND, 260, 3, 150, 1, 60);
	ck_assert_int_eq(stats_update(&st, &rows, 1, one, 1, classify, NULL), 0);
	struct thread_stats *t = stats_find(&st, 102);
	ck_assert(!t->alive);
	ck_assert(t->ended_now);
	ck_assert_uint_eq(t->interval.gil.ns, 60);
	ck_assert_uint_eq(t->run.gil.ns, 260);
	keys = stats_rows_to_forget(&st, &n);
	ck_assert_uint_eq(n, 1);
	ck_assert_uint_eq(keys[0].tid, 102);
	ck_assert_uint_eq(keys[0].addr, GIL_COND);
	/* Deleted from the map, it stays in the summary, no longer "now". */
	rows.n = 1;
	ck_assert_int_eq(stats_update(&st, &rows, 2, one, 1, classify, NULL), 0);
	t = stats_find(&st, 102);
	ck_assert(!t->ended_now);
	ck_assert_uint_eq(t->run.gil.ns, 260);
	stats_rows_to_forget(&st, &n);
	ck_assert_uint_eq(n, 0);
	stats_free(&st);
}
END_TEST

START_TEST(recreated_row_restarts_from_zero)
{
	struct stats st = { 0 };
	pid_t live[] = { 101 };
	struct wait_row r = row(101, GIL_COND, 1000, 10, 100, 0, 100);
	struct wait_rows rows = { &r, 1, 1 };

	ck_assert_int_eq(stats_update(&st, &rows, 0, live, 1, classify, NULL), 0);
	r = row(101, GIL_COND, 50, 1, 50, 1, 50);
	ck_assert_int_eq(stats_update(&st, &rows, 1, live, 1, classify, NULL), 0);
	ck_assert_uint_eq(stats_find(&st, 101)->interval.gil.ns, 50);
	ck_assert_uint_eq(stats_find(&st, 101)->run.gil.ns, 1050);
	stats_free(&st);
}
END_TEST

#define S 1000000000ull

/* Alive time without the kernel's dates: the whole interval for a thread
 * there at both ends; for one born or ended in it, what it was seen
 * running or waiting; the run sums. */
START_TEST(alive_time_per_interval)
{
	struct stats st = { 0 };
	struct wait_rows rows = { 0 };
	pid_t live1[] = { 10, 11 }, live2[] = { 10, 12 };
	struct thread_stats *t;

	ck_assert_int_eq(stats_update(&st, &rows, 0, live1, 2, classify, NULL), 0);
	stats_close_interval(&st, 10 * S, S);
	/* Listed for the first time at this update: born in the interval. */
	ck_assert_uint_eq(stats_find(&st, 10)->interval.alive_ns, 0);
	ck_assert_int_eq(stats_update(&st, &rows, 1, live2, 2, classify, NULL), 0);
	stats_find(&st, 12)->interval.cpu_ns = 300000000;
	stats_find(&st, 11)->interval.cpu_ns = 200000000;
	stats_find(&st, 11)->interval.gil.ns = 100000000;
	stats_close_interval(&st, 11 * S, S);
	ck_assert_uint_eq(stats_find(&st, 10)->interval.alive_ns, 1000000000);
	t = stats_find(&st, 11); /* ended in it */
	ck_assert(t->ended_now);
	ck_assert_uint_eq(t->interval.alive_ns, 300000000);
	ck_assert_uint_eq(stats_find(&st, 12)->interval.alive_ns, 300000000);
	/* Never more than the interval. */
	ck_assert_int_eq(stats_update(&st, &rows, 2, live2, 2, classify, NULL), 0);
	stats_find(&st, 12)->interval.cpu_ns = 900000000;
	stats_close_interval(&st, 11 * S + S / 2, S / 2);
	ck_assert_uint_eq(stats_find(&st, 12)->interval.alive_ns, 500000000);
	ck_assert_uint_eq(stats_find(&st, 12)->run.alive_ns, 800000000);
	ck_assert_uint_eq(stats_find(&st, 10)->run.alive_ns, 1500000000);
	stats_free(&st);
}
END_TEST

/* With the kernel's dates, alive time is the part of the interval between
 * birth and death, however little of it the thread ran: a request thread
 * queued for a CPU most of its life is alive all that time (issue 12). */
START_TEST(alive_time_from_birth_and_death)
{
	struct stats st = { 0 };
	struct wait_rows rows = { 0 };
	pid_t live0[] = { 10, 11 }, live1[] = { 10, 12, 15 };
	struct thread_stats *t;

	ck_assert_int_eq(stats_update(&st, &rows, 0, live0, 2, classify, NULL), 0);
	stats_close_interval(&st, 10 * S, S);
	ck_assert_int_eq(stats_update(&st, &rows, 1, live1, 3, classify, NULL), 0);
	/* 11 was there at the start, died 0.7 s in; 12 born 0.4 s in; 13 born
	 * 0.1 s in, died 0.3 s in (never listed: seen through its rows). */
	stats_find(&st, 11)->died_ns = 10 * S + 7 * S / 10;
	t = stats_find(&st, 12);
	t->born_ns = 10 * S + 4 * S / 10;
	t->interval.cpu_ns = S / 100;
	t->interval.cpu_wait_ns = S / 2; /* the queue alone exceeds the old estimate */
	t = stats_thread(&st, 13);
	t->ended_now = true;
	t->born_ns = 10 * S + S / 10;
	t->died_ns = 10 * S + 3 * S / 10;
	/* 15 was queued for its first CPU at the last boundary (born before). */
	stats_find(&st, 15)->born_ns = 9 * S;
	stats_close_interval(&st, 11 * S, S);
	ck_assert_uint_eq(stats_find(&st, 10)->interval.alive_ns, S);
	ck_assert_uint_eq(stats_find(&st, 11)->interval.alive_ns, 7 * S / 10);
	ck_assert_uint_eq(stats_find(&st, 12)->interval.alive_ns, 6 * S / 10);
	ck_assert_uint_eq(stats_find(&st, 13)->interval.alive_ns, 2 * S / 10);
	ck_assert_uint_eq(stats_find(&st, 15)->interval.alive_ns, S);
	/* Born during the last boundary's reads: listed there, yet alive
	 * only from its birth. */
	ck_assert_int_eq(stats_update(&st, &rows, 2, (pid_t[]){ 10, 12, 16 }, 3, classify, NULL), 0);
	ck_assert_int_eq(stats_update(&st, &rows, 2, (pid_t[]){ 10, 12, 16 }, 3, classify, NULL), 0);
	stats_find(&st, 16)->born_ns = 11 * S + S / 50;
	stats_close_interval(&st, 12 * S, S);
	ck_assert(stats_find(&st, 16)->spanned);
	ck_assert_uint_eq(stats_find(&st, 16)->interval.alive_ns, S - S / 50);
	stats_find(&st, 12)->run.alive_ns -= S; /* that interval was a test's aside */
	/* Died after the boundary (between the maps' reads): up to it. */
	ck_assert_int_eq(stats_update(&st, &rows, 2, (pid_t[]){ 10 }, 1, classify, NULL), 0);
	stats_find(&st, 12)->died_ns = 12 * S + 1000;
	stats_close_interval(&st, 12 * S, S);
	ck_assert(stats_find(&st, 12)->ended_now);
	ck_assert_uint_eq(stats_find(&st, 12)->interval.alive_ns, S);
	ck_assert_uint_eq(stats_find(&st, 12)->run.alive_ns, 16 * S / 10);
	stats_free(&st);
}
END_TEST

/* Undated, a thread born or ended in the interval lived at least its time
 * in each state: on a CPU, queued, waiting for the GIL, blocked. */
START_TEST(alive_time_undated_counts_every_state)
{
	struct stats st = { 0 };
	struct wait_rows rows = { 0 };
	pid_t live[] = { 20 };
	struct thread_stats *t;

	ck_assert_int_eq(stats_update(&st, &rows, 0, live, 1, classify, NULL), 0);
	t = stats_find(&st, 20);
	t->interval.cpu_ns = S / 10;
	t->interval.cpu_wait_ns = 3 * S / 10;
	t->interval.gil.ns = S / 10;
	t->interval.blocked_other_ns = 2 * S / 10;
	t->interval.blocked_ns = S / 10; /* held the GIL blocked: part of the blocked time */
	stats_close_interval(&st, 10 * S, S);
	ck_assert_uint_eq(t->interval.alive_ns, 7 * S / 10);
	stats_free(&st);
}
END_TEST

/* A tid the kernel gave to a new thread: the old entry's run goes to the
 * folded threads, and the new one starts from nothing (its first CPU
 * sample counts whole instead of being eaten by the old baseline). */
START_TEST(retired_tid_starts_afresh)
{
	struct stats st = { 0 };
	struct wait_rows rows = { 0 };
	struct thread_stats *t;

	ck_assert_int_eq(stats_update(&st, &rows, 0, (pid_t[]){ 30 }, 1, classify, NULL), 0);
	t = stats_find(&st, 30);
	stats_cpu_sample(t, 5 * S, false);
	stats_sched_sample(t, 2 * S, 7, S);
	t->born_ns = 3 * S;
	snprintf(t->python_name, sizeof t->python_name, "old");
	ck_assert_int_eq(stats_update(&st, &rows, 1, NULL, 0, classify, NULL), 0);
	ck_assert(stats_find(&st, 30)->ended_now);
	ck_assert_int_eq(stats_update(&st, &rows, 2, NULL, 0, classify, NULL), 0);
	t = stats_find(&st, 30);
	stats_retire(&st, t);
	ck_assert_uint_eq(st.folded.threads, 1);
	ck_assert_uint_eq(st.folded.run.cpu_ns, 5 * S);
	ck_assert_uint_eq(st.folded.run.cpu_wait_ns, 2 * S);
	ck_assert_int_eq(t->tid, 30);
	ck_assert_str_eq(t->python_name, "");
	ck_assert_uint_eq(t->born_ns, 0);
	ck_assert_int_eq(stats_update(&st, &rows, 3, (pid_t[]){ 30 }, 1, classify, NULL), 0);
	t = stats_find(&st, 30);
	stats_cpu_sample(t, S / 10, false);
	stats_sched_sample(t, S / 20, 1, 0);
	ck_assert_uint_eq(t->interval.cpu_ns, S / 10);
	ck_assert_uint_eq(t->interval.cpu_wait_ns, S / 20);
	ck_assert(!t->spanned);
	stats_free(&st);
}
END_TEST

START_TEST(figures_compare_three_way)
{
	struct wait_figures a = { .ns = 5, .count = 1 }, b = { .ns = 5, .count = 2 }, c = { .ns = UINT64_MAX };

	ck_assert_int_lt(wait_figures_compare(&a, &b), 0);
	ck_assert_int_gt(wait_figures_compare(&b, &a), 0);
	ck_assert_int_eq(wait_figures_compare(&a, &a), 0);
	/* No subtraction: extreme values still order correctly. */
	ck_assert_int_gt(wait_figures_compare(&c, &a), 0);
	ck_assert_int_lt(wait_figures_compare(&a, &c), 0);
}
END_TEST

Suite *stats_suite(void)
{
	Suite *s = suite_create("stats");
	TCase *tc = tcase_create("intervals");

	tcase_add_test(tc, interval_deltas_and_run_totals);
	tcase_add_test(tc, maximum_of_a_finished_epoch_survives_the_next);
	tcase_add_test(tc, ended_threads_are_kept_and_their_rows_forgotten);
	tcase_add_test(tc, recreated_row_restarts_from_zero);
	tcase_add_test(tc, figures_compare_three_way);
	tcase_add_test(tc, alive_time_per_interval);
	tcase_add_test(tc, alive_time_from_birth_and_death);
	tcase_add_test(tc, alive_time_undated_counts_every_state);
	tcase_add_test(tc, retired_tid_starts_afresh);
	suite_add_tcase(s, tc);
	return s;
}
