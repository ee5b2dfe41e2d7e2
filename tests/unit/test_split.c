/* Interval-exact accounting (tool/split.h): periods in progress at a
 * boundary count up to it there and the rest in the next interval. */
#include "config.h"

#include <stdlib.h>
#include <string.h>

#include "suites.h"
#include "tool/figures/cpu_time.h"
#include "tool/figures/split.h"
#include "tool/figures/stats.h"

#define TGID 100
#define GIL 0x1020
#define SEC 1000000000ull

static enum gs_wait_kind classify(uint64_t addr, const void *ctx, uint64_t *gil)
{
	(void)ctx;
	*gil = GIL;
	return addr == GIL ? GS_KIND_GIL_COND : GS_KIND_OTHER;
}

/* One boundary of the tool's update: the map's ended waits (total, count,
 * last start) and the wait in progress (start, 0: none), split at now. */
static struct thread_stats *boundary(struct stats *st, uint64_t total, uint64_t count, uint64_t last_start,
				     uint64_t inflight_start, uint64_t now)
{
	pid_t live[] = { 101 };
	struct wait_rows rows = { calloc(1, sizeof(struct wait_row)), 0, 1 };
	struct inflight_row in = { .tid = 101, .wait = { .start_ns = inflight_start, .addr = GIL, .kind = GS_KIND_GIL_COND,
						      .tgid = TGID } };

	ck_assert_ptr_nonnull(rows.v);
	if (count) {
		rows.v[0].key = (struct gs_wait_key){ .addr = GIL, .tgid = TGID, .tid = 101 };
		rows.v[0].stats.total_ns = total;
		rows.v[0].stats.count = count;
		rows.v[0].stats.last_start_ns = last_start;
		rows.n = 1;
	}
	ck_assert_int_eq(split_waits(&rows, &in, inflight_start ? 1 : 0, TGID, live, 1, now), 0);
	ck_assert_int_eq(stats_update(st, &rows, 0, live, 1, classify, NULL), 0);
	free(rows.v);
	return stats_find(st, 101);
}

START_TEST(part_before_now)
{
	ck_assert_uint_eq(split_part(0, 100), 0);   /* nothing in progress */
	ck_assert_uint_eq(split_part(100, 100), 0);
	ck_assert_uint_eq(split_part(150, 100), 0); /* begun after the boundary */
	ck_assert_uint_eq(split_part(40, 100), 60);
}
END_TEST

/* A wait of 2.75 s (a target stopped mid-wait) across 1 s intervals, begun
 * 0.5 s before the baseline: each interval gets its part, never more than
 * its length, and nothing from before the baseline counts. */
START_TEST(long_wait_split_at_boundaries)
{
	struct stats st = { 0 };
	uint64_t start = 10 * SEC - SEC / 2;
	struct thread_stats *t = boundary(&st, 0, 0, 0, start, 10 * SEC); /* the baseline */

	stats_zero(&st);
	t = boundary(&st, 0, 0, 0, start, 11 * SEC);
	ck_assert_uint_eq(t->interval.gil.ns, SEC);
	/* Still waiting: the interval's longest wait is this one's part. */
	ck_assert_uint_eq(t->interval.gil.max_ns, SEC);
	ck_assert_uint_eq(t->run.gil.max_ns, SEC + SEC / 2);
	t = boundary(&st, 0, 0, 0, start, 12 * SEC);
	ck_assert_uint_eq(t->interval.gil.ns, SEC);
	ck_assert_uint_eq(t->interval.gil.count, 0);
	/* It ends at 12.25 s, 2.75 s long. */
	t = boundary(&st, 2 * SEC + 3 * SEC / 4, 1, start, 0, 13 * SEC);
	ck_assert_uint_eq(t->interval.gil.ns, SEC / 4);
	ck_assert_uint_eq(t->interval.gil.count, 1);
	ck_assert_uint_le(t->interval.gil.max_ns, t->interval.gil.ns);
	ck_assert_uint_eq(t->run.gil.ns, 2 * SEC + SEC / 4); /* from the baseline on */
	stats_free(&st);
}
END_TEST

/* A wait seen in progress that ended between the two reads is in the
 * total, which names its start: counted once. */
START_TEST(ended_between_reads_counted_once)
{
	struct stats st = { 0 };
	struct thread_stats *t = boundary(&st, 0, 0, 0, 0, SEC);

	stats_zero(&st);
	t = boundary(&st, 0, 0, 0, SEC + 100, 2 * SEC);
	ck_assert_uint_eq(t->interval.gil.ns, SEC - 100);
	/* In flight still at the first read, in the total at the second. */
	t = boundary(&st, SEC + 500, 1, SEC + 100, SEC + 100, 3 * SEC);
	ck_assert_uint_eq(t->interval.gil.ns, 600);
	ck_assert_uint_eq(t->run.gil.ns, SEC + 500);
	stats_free(&st);
}
END_TEST

/* Credited a moment past its end: the next interval takes it back. */
START_TEST(over_credit_taken_back)
{
	struct stats st = { 0 };
	struct thread_stats *t = boundary(&st, 0, 0, 0, 0, SEC);

	stats_zero(&st);
	t = boundary(&st, 0, 0, 0, SEC, 2 * SEC); /* it really ended at 2 s - 10 */
	ck_assert_uint_eq(t->interval.gil.ns, SEC);
	t = boundary(&st, SEC - 10, 1, SEC, 0, 3 * SEC);
	ck_assert_uint_eq(t->interval.gil.ns, 0);
	t = boundary(&st, SEC - 10 + 50, 2, 2 * SEC, 0, 4 * SEC);
	ck_assert_uint_eq(t->interval.gil.ns, 40);
	ck_assert_uint_eq(t->run.gil.ns, SEC + 40);
	stats_free(&st);
}
END_TEST

/* A wait in progress of a thread no longer listed (its row outlived it):
 * nothing, at any boundary; counted, it had no baseline and added its
 * whole length again at each one (28 s of wait in a 7 s run). */
START_TEST(unlisted_thread_wait_not_credited)
{
	pid_t live[] = { 102, 103 };
	struct wait_rows rows = { NULL, 0, 0 };
	struct inflight_row in = { .tid = 101, .wait = { .start_ns = SEC / 2, .addr = GIL, .kind = GS_KIND_GIL_COND,
						      .tgid = TGID } };

	for (uint64_t now = SEC; now <= 4 * SEC; now += SEC) {
		ck_assert_int_eq(split_waits(&rows, &in, 1, TGID, live, 2, now), 0);
		ck_assert_uint_eq(rows.n, 0);
	}
	live[0] = 101;
	ck_assert_int_eq(split_waits(&rows, &in, 1, TGID, live, 2, 5 * SEC), 0);
	ck_assert_uint_eq(rows.n, 1);
	ck_assert_uint_eq(rows.v[0].stats.total_ns, 5 * SEC - SEC / 2);
	free(rows.v);
}
END_TEST

START_TEST(held_split_and_other_processes)
{
	struct held_row *rows = NULL;
	size_t n = 0, cap = 0;
	struct blocked_row blocked[] = {
		{ 1, { .start_ns = 400, .tgid = TGID, .tid = 7, .stackid = 3, .kstackid = 4 } },
		{ 2, { .start_ns = 100, .tgid = 999, .tid = 8, .stackid = 3, .kstackid = 4 } },
		{ 3, { .start_ns = 700, .tgid = TGID, .tid = 9, .stackid = -1, .kstackid = -1 } },
	};

	ck_assert_int_eq(split_held(&rows, &n, &cap, blocked, 3, TGID, 1000), 0);
	ck_assert_uint_eq(n, 2);
	ck_assert_uint_eq(rows[0].key.tid, 7);
	ck_assert_uint_eq(rows[0].stats.total_ns, 600);
	ck_assert_uint_eq(rows[0].stats.count, 0);
	ck_assert_uint_eq(rows[1].stats.total_ns, 300);
	/* The same period, ended between the reads: already in the row. */
	rows[0].stats = (struct gs_held_stats){ .total_ns = 5000, .count = 2, .last_start_ns = 400 };
	n = 1;
	ck_assert_int_eq(split_held(&rows, &n, &cap, blocked, 1, TGID, 1000), 0);
	ck_assert_uint_eq(rows[0].stats.total_ns, 5000);
	/* Ended, and another one after it too. */
	rows[0].stats.last_start_ns = 450;
	ck_assert_int_eq(split_held(&rows, &n, &cap, blocked, 1, TGID, 1000), 0);
	ck_assert_uint_eq(rows[0].stats.total_ns, 5000);
	free(rows);
}
END_TEST

/* Run-queue and blocked time: the totals plus the period in progress;
 * blocked other than waiting for the GIL is the rest. */
START_TEST(sched_values_and_blocked_other)
{
	struct gs_sched s = { .runq_since = 900, .cpu_wait_ns = 50, .blocked_ns = 2000, .cpu_waits = 3, .tgid = TGID };
	struct stats st = { 0 };
	struct thread_stats *t = stats_thread(&st, 101);

	ck_assert_uint_eq(split_cpu_wait(&s, 1000), 150);
	ck_assert_uint_eq(split_blocked(&s, 1000), 2000);
	s.sleep_since = 1000;
	s.runq_since = 0;
	ck_assert_uint_eq(split_cpu_wait(&s, 1500), 50);
	ck_assert_uint_eq(split_blocked(&s, 1500), 2500);
	ck_assert_ptr_nonnull(t);
	stats_sched_sample(t, 100, 1, 1000); /* the baseline */
	stats_zero(&st);
	t->interval.gil.ns = 300;
	t->interval.sw.ns = 100;
	stats_sched_sample(t, 400, 4, 2000);
	ck_assert_uint_eq(t->interval.cpu_wait_ns, 300);
	ck_assert_uint_eq(t->interval.cpu_waits, 3);
	ck_assert_uint_eq(t->interval.blocked_other_ns, 600);
	/* A value a moment below the last (credited past its end) counts
	 * nothing, and the next growth is from the larger. */
	stats_sched_sample(t, 390, 4, 2000);
	ck_assert_uint_eq(t->interval.cpu_wait_ns, 0);
	stats_sched_sample(t, 450, 5, 2000);
	ck_assert_uint_eq(t->interval.cpu_wait_ns, 50);
	ck_assert_uint_eq(t->run.cpu_wait_ns, 350);
	/* Steal, the finished slices' total, the same way. */
	stats_steal_sample(t, 70); /* the baseline */
	stats_zero(&st);
	stats_steal_sample(t, 100);
	ck_assert_uint_eq(t->interval.steal_ns, 30);
	stats_steal_sample(t, 100);
	ck_assert_uint_eq(t->interval.steal_ns, 0);
	ck_assert_uint_eq(t->run.steal_ns, 30);
	stats_free(&st);
}
END_TEST

/* A slice in a CPU's slot that ended between the reads is in its row,
 * which names its start: not added again. */
START_TEST(cpu_slice_ended_between_reads)
{
	struct cpu_row rows[1] = { { .tid = 101, .time = { .cpu_ns = 500, .last_since_ns = 900, .tgid = TGID } } };
	struct gs_running slots[2] = { { .since_ns = 900, .tid = 101, .tgid = TGID },
				       { .since_ns = 950, .tid = 102, .tgid = TGID } };
	struct cpu_update u = { .nrows = 1, .cap = 1, .slots = slots, .nslots = 2, .tgid = TGID, .now_ns = 1000 };

	u.rows = malloc(sizeof rows);
	ck_assert_ptr_nonnull(u.rows);
	memcpy(u.rows, rows, sizeof rows);
	ck_assert_int_eq(cpu_time_prepare(&u), 0);
	ck_assert_uint_eq(u.nrows, 2);
	ck_assert_uint_eq(u.rows[0].time.cpu_ns, 500);
	ck_assert_uint_eq(u.rows[1].time.cpu_ns, 50);
	free(u.rows);
}
END_TEST

Suite *split_suite(void)
{
	Suite *s = suite_create("split");
	TCase *tc = tcase_create("boundaries");

	tcase_add_test(tc, part_before_now);
	tcase_add_test(tc, long_wait_split_at_boundaries);
	tcase_add_test(tc, ended_between_reads_counted_once);
	tcase_add_test(tc, over_credit_taken_back);
	tcase_add_test(tc, unlisted_thread_wait_not_credited);
	tcase_add_test(tc, held_split_and_other_processes);
	tcase_add_test(tc, sched_values_and_blocked_other);
	tcase_add_test(tc, cpu_slice_ended_between_reads);
	suite_add_tcase(s, tc);
	return s;
}
