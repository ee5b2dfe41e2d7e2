#include "config.h"

#include <stdio.h>
#include <string.h>

#include "suites.h"
#include "tool/verdict.h"

/* A thread that waited wait_pct and ran cpu_pct of one second, in waits
 * of avg_ms each. */
static struct thread_stats thread(pid_t tid, double wait_pct, double cpu_pct, double avg_ms)
{
	struct thread_stats t;
	uint64_t ns = (uint64_t)(wait_pct * 1e7);

	memset(&t, 0, sizeof t);
	t.tid = tid;
	t.alive = true;
	t.cpu_sampled = true;
	t.interval.gil.ns = ns;
	t.interval.gil.count = avg_ms > 0 ? (uint64_t)((double)ns / (avg_ms * 1e6)) : 0;
	t.interval.cpu_ns = (uint64_t)(cpu_pct * 1e7); /* in a 1 s interval */
	return t;
}

static void verdict_of(struct thread_stats *v, size_t n, bool gil_enabled, char *buf, size_t len)
{
	struct thread_stats *ptrs[8];
	struct verdict_input in = { ptrs, n, false, 1.0, gil_enabled, NULL, NULL };

	for (size_t i = 0; i < n; i++)
		ptrs[i] = &v[i];
	verdict_line(&in, buf, len);
}

START_TEST(bottleneck)
{
	struct thread_stats v[] = { thread(1, 91, 9, 4.5), thread(2, 92, 8, 4.5), thread(3, 90, 10, 4.5),
				    thread(4, 0, 100, 0) };
	char buf[256];
	double worth, pct;
	struct thread_stats *ptrs[] = { &v[0], &v[1], &v[2], &v[3] };
	struct verdict_input in = { ptrs, 4, false, 1.0, true, NULL, NULL };

	verdict_of(v, 4, true, buf, sizeof buf);
	ck_assert_str_eq(buf, "GIL is the bottleneck: 3 threads spent 91% of their time waiting for it");
	verdict_totals(&in, &worth, &pct);
	ck_assert_double_eq_tol(worth, 2.73, 1e-6);
	ck_assert_double_eq_tol(pct, 68.25, 1e-6);
}
END_TEST

/* A thread blocked holding the GIL 40% of the time: the culprit, named
 * with the call it blocked in, before any other verdict. */
START_TEST(culprit_held_the_gil_while_blocked)
{
	struct thread_stats v[] = { thread(7, 0, 1, 0), thread(8, 45, 50, 5) };
	char *frames[] = { "clock_nanosleep" };
	struct hold_stack stack = { .tid = 7, .stackid = 1, .interval_ns = 400000000, .frames = frames, .nframes = 1 };
	struct hold_state hold = { .blocked_available = true, .confirmed = true, .stacks = &stack, .nstacks = 1 };
	struct thread_stats *ptrs[] = { &v[0], &v[1] };
	struct verdict_input in = { ptrs, 2, false, 1.0, true, NULL, &hold };
	char buf[256];

	snprintf(v[0].name, sizeof v[0].name, "db-writer");
	v[0].interval.blocked_ns = 400000000;
	verdict_line(&in, buf, sizeof buf);
	ck_assert_str_eq(buf, "thread 7 (db-writer) held the GIL for 0.40 s while blocked in clock_nanosleep: "
			      "every other thread stalled");
	/* Under 5% of the period: not the story. */
	v[0].interval.blocked_ns = stack.interval_ns = 40000000;
	verdict_line(&in, buf, sizeof buf);
	ck_assert_ptr_null(strstr(buf, "held the GIL"));
	/* Unknown (a kernel without the program): never a culprit. */
	v[0].interval.blocked_ns = stack.interval_ns = 400000000;
	hold.blocked_available = false;
	verdict_line(&in, buf, sizeof buf);
	ck_assert_ptr_null(strstr(buf, "held the GIL"));
}
END_TEST

START_TEST(not_slowed_down)
{
	struct thread_stats v[] = { thread(1, 0.3, 40, 0.1), thread(2, 0.9, 30, 0.2) };
	char buf[256];

	verdict_of(v, 2, true, buf, sizeof buf);
	ck_assert_str_eq(buf, "GIL is not slowing this process down (0.6% waiting)");
}
END_TEST

START_TEST(convoy)
{
	/* One CPU-bound thread holds the GIL; an I/O thread waits ~5 ms per wake-up. */
	struct thread_stats v[] = { thread(1, 1, 97, 0.5), thread(2, 30, 1, 5.0) };
	char buf[256];

	verdict_of(v, 2, true, buf, sizeof buf);
	ck_assert_str_eq(buf, "I/O threads wait ~5.0 ms per wake-up behind CPU-bound threads (convoy effect)");
	/* With a bottleneck the convoy is a clause. */
	struct thread_stats w[] = { thread(1, 60, 40, 4), thread(2, 60, 40, 4), thread(3, 30, 1, 5.0) };
	verdict_of(w, 3, true, buf, sizeof buf);
	ck_assert_str_eq(buf, "GIL is the bottleneck: 2 threads spent 60% of their time waiting for it; "
			      "1 I/O thread waits ~5.0 ms per wake-up");
}
END_TEST

START_TEST(moderate_and_disabled)
{
	struct thread_stats v[] = { thread(1, 30, 60, 0.5), thread(2, 10, 80, 0.5) };
	char buf[256];

	verdict_of(v, 2, true, buf, sizeof buf);
	ck_assert_str_eq(buf, "GIL contention is moderate: 0.40 threads' worth waiting (20.0%)");
	verdict_of(v, 2, false, buf, sizeof buf);
	ck_assert_str_eq(buf, "free-threaded build: the GIL is disabled");
	/* An I/O-looking thread whose CPU time is unknown is not a convoy. */
	struct thread_stats u[] = { thread(1, 30, 0, 5.0) };
	u[0].cpu_sampled = false;
	verdict_of(u, 1, true, buf, sizeof buf);
	ck_assert_ptr_nonnull(strstr(buf, "moderate"));
}
END_TEST

Suite *verdict_suite(void)
{
	Suite *s = suite_create("verdict");
	TCase *tc = tcase_create("verdict");

	tcase_add_test(tc, bottleneck);
	tcase_add_test(tc, culprit_held_the_gil_while_blocked);
	tcase_add_test(tc, not_slowed_down);
	tcase_add_test(tc, convoy);
	tcase_add_test(tc, moderate_and_disabled);
	suite_add_tcase(s, tc);
	return s;
}
