#include "config.h"

#include <stdlib.h>
#include <string.h>

#include "suites.h"
#include "tool/figures/waiters.h"

/* A GIL whose condvar is 0x1000, its mutex 0x2000, the switch's 0x3000. */
static enum gs_wait_kind fake_classify(uint64_t addr, const void *ctx, uint64_t *gil)
{
	(void)ctx;
	*gil = 0x1000;
	return addr == 0x1000 ? GS_KIND_GIL_COND
	       : addr == 0x2000 ? GS_KIND_GIL_MUTEX
	       : addr == 0x3000 ? GS_KIND_SWITCH_COND
				: GS_KIND_OTHER;
}

static struct inflight_row row(uint32_t tid, uint32_t tgid, uint64_t addr, uint64_t start)
{
	return (struct inflight_row){ .tid = tid, .wait = { .start_ns = start, .addr = addr, .tgid = tgid } };
}

/* Blocked on the GIL's condvar or mutex, of this process: sorted. */
START_TEST(collect_keeps_the_process_blocked_on_the_gil)
{
	struct inflight_row rows[] = {
		row(30, 10, 0x1000, 5), row(12, 10, 0x2000, 5), /* waiters */
		row(20, 10, 0x1000, 0),                         /* woken: in a run queue */
		row(21, 10, 0x3000, 5),                         /* waits for the switch */
		row(22, 10, 0x4000, 5),                         /* another lock */
		row(23, 11, 0x1000, 5),                         /* another process */
		row(11, 10, 0x1000, 9),
	};
	pid_t out[8];

	ck_assert_uint_eq(waiters_collect(rows, 7, 10, fake_classify, NULL, out), 3);
	ck_assert_int_eq(out[0], 11);
	ck_assert_int_eq(out[1], 12);
	ck_assert_int_eq(out[2], 30);
	ck_assert_uint_eq(waiters_collect(rows, 0, 10, fake_classify, NULL, out), 0);
}
END_TEST

/* Fewer than max: every one, every time. */
START_TEST(pick_takes_all_when_few)
{
	pid_t waiters[] = { 3, 5, 9 }, out[4], cursor = 7;

	ck_assert_uint_eq(waiters_pick(waiters, 3, &cursor, out, 4), 3);
	ck_assert_int_eq(out[0] + out[1] + out[2], 17);
	ck_assert(out[0] != out[1] && out[1] != out[2] && out[0] != out[2]);
	ck_assert_uint_eq(waiters_pick(waiters, 0, &cursor, out, 4), 0);
}
END_TEST

/* Many: max at a time, in turn, wrapping; every waiter as often as the
 * others over whole rounds, however the set changes between. */
START_TEST(pick_is_round_robin)
{
	pid_t waiters[10], out[4], cursor = 0;
	unsigned times[10] = { 0 };

	for (int i = 0; i < 10; i++)
		waiters[i] = 100 + 2 * i;
	for (int round = 0; round < 20; round++) {
		size_t m = waiters_pick(waiters, 10, &cursor, out, 4);
		ck_assert_uint_eq(m, 4);
		for (size_t i = 0; i < m; i++)
			times[(out[i] - 100) / 2]++;
	}
	/* 80 picks over 10 waiters: 8 each. */
	for (int i = 0; i < 10; i++)
		ck_assert_uint_eq(times[i], 8);
	/* The cursor between two tids: from the next one. */
	cursor = 105;
	waiters_pick(waiters, 10, &cursor, out, 4);
	ck_assert_int_eq(out[0], 106);
	ck_assert_int_eq(cursor, 113);
	/* Past the last: wraps to the first. */
	cursor = 500;
	waiters_pick(waiters, 10, &cursor, out, 4);
	ck_assert_int_eq(out[0], 100);
	cursor = 117;
	waiters_pick(waiters, 10, &cursor, out, 4);
	ck_assert_int_eq(out[0], 118);
	ck_assert_int_eq(out[1], 100);
	ck_assert_int_eq(out[3], 104);
}
END_TEST

Suite *waiters_suite(void)
{
	Suite *s = suite_create("waiters");
	TCase *tc = tcase_create("core");

	tcase_add_test(tc, collect_keeps_the_process_blocked_on_the_gil);
	tcase_add_test(tc, pick_takes_all_when_few);
	tcase_add_test(tc, pick_is_round_robin);
	suite_add_tcase(s, tc);
	return s;
}
