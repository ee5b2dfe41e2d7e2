#include "config.h"

#include <stdio.h>
#include <string.h>

#include "suites.h"
#include "tool/figures/verdict.h"

/* A thread alive the whole 1 s interval that waited wait_pct for the
 * GIL, ran cpu_pct, in waits of avg_ms each; the rest is blocked on
 * other things. */
static struct thread_stats thread(pid_t tid, double wait_pct, double cpu_pct, double avg_ms)
{
	struct thread_stats t;
	uint64_t ns = (uint64_t)(wait_pct * 1e7);

	memset(&t, 0, sizeof t);
	t.tid = tid;
	t.alive = t.spanned = true;
	t.cpu_sampled = true;
	t.interval.gil.ns = ns;
	t.interval.gil.count = avg_ms > 0 ? (uint64_t)((double)ns / (avg_ms * 1e6)) : 0;
	t.interval.cpu_ns = (uint64_t)(cpu_pct * 1e7);
	t.interval.alive_ns = 1000000000;
	return t;
}

/* The model of n threads over one second, held_pct < 0: unknown. */
static enum verdict_kind decide(struct thread_stats *v, size_t n, double held_pct, const struct hold_state *hold,
				struct gil_model *m, char *buf, size_t len)
{
	struct thread_stats *ptrs[64];
	struct gil_model_input in = { .threads = ptrs, .nthreads = n, .seconds = 1.0, .gil_enabled = true,
				      .held_pct = held_pct, .hold = hold };

	for (size_t i = 0; i < n; i++)
		ptrs[i] = &v[i];
	gil_model_compute(&in, m);
	return verdict_line(m, &in, buf, len);
}

START_TEST(kind_names_are_stable)
{
	ck_assert_str_eq(verdict_kind_name(VERDICT_HOLDER_BLOCKED), "holder_blocked");
	ck_assert_str_eq(verdict_kind_name(VERDICT_BOTTLENECK), "bottleneck");
	ck_assert_str_eq(verdict_kind_name(VERDICT_CPU_STARVED), "cpu_starved");
	ck_assert_str_eq(verdict_kind_name(VERDICT_CONVOY), "convoy");
	ck_assert_str_eq(verdict_kind_name(VERDICT_MODERATE), "moderate");
	ck_assert_str_eq(verdict_kind_name(VERDICT_NONE), "none");
}
END_TEST

/* The queue is divided by the period, not by the threads listed; the
 * share of waiting is over the thread-seconds alive. */
START_TEST(model_queue_and_blocked_other)
{
	struct thread_stats v[] = { thread(1, 60, 30, 4), thread(2, 20, 10, 4) };
	struct gil_model m;
	char buf[256];

	decide(v, 2, -1, NULL, &m, buf, sizeof buf);
	ck_assert_double_eq_tol(m.queue, 0.8, 1e-9);
	ck_assert_double_eq_tol(m.thread_s, 2.0, 1e-9);
	ck_assert_double_eq_tol(m.wait_share, 0.4, 1e-9);
	ck_assert_double_lt(m.cpu_queue, 0); /* unknown: not measured */
	/* 1 s - 0.6 s waiting - 0.3 s running: 0.1 s blocked on other things. */
	ck_assert_uint_eq(gil_model_blocked_other_ns(&v[0].interval, false), 100000000);
	ck_assert_uint_eq(gil_model_blocked_other_ns(&v[1].interval, false), 700000000);
	/* Never below zero (clock granularity). */
	v[0].interval.cpu_ns = 500000000;
	ck_assert_uint_eq(gil_model_blocked_other_ns(&v[0].interval, false), 0);
	ck_assert_uint_eq(m.threads_alive, 2);
	ck_assert_uint_eq(m.threads_seen, 2);
}
END_TEST

/* A thread pool of 8 threads, each short of the GIL: no thread waits half
 * its time, each runs little, yet the GIL is saturated. */
START_TEST(bottleneck_per_process)
{
	struct thread_stats v[8];
	struct gil_model m;
	char buf[256];

	for (int i = 0; i < 8; i++)
		v[i] = thread(10 + i, 40, 11, 5);
	ck_assert_int_eq(decide(v, 8, 88, NULL, &m, buf, sizeof buf), VERDICT_BOTTLENECK);
	ck_assert_str_eq(buf, "GIL is the bottleneck: held 88% of the time, 3.20 threads' worth waiting for it");
	/* Held little: the queue is not for the GIL's sake (CPU wait inside it). */
	ck_assert_int_ne(decide(v, 8, 8, NULL, &m, buf, sizeof buf), VERDICT_BOTTLENECK);
	/* Utilisation unknown (--hold-rate 0): a thread's worth waiting suffices. */
	ck_assert_int_eq(decide(v, 8, -1, NULL, &m, buf, sizeof buf), VERDICT_BOTTLENECK);
	ck_assert_str_eq(buf, "GIL is the bottleneck: 3.20 threads' worth waiting for it");
	/* The thresholds: held 60% with half a thread's worth waiting. */
	struct gil_model edge = { .seconds = 1, .held = 0.6, .queue = 0.5, .cpu_queue = -1 };
	ck_assert_int_eq(verdict_decide(&edge, true), VERDICT_BOTTLENECK);
	edge.held = 0.59;
	ck_assert_int_eq(verdict_decide(&edge, true), VERDICT_MODERATE);
	edge.held = 0.9;
	edge.queue = 0.49;
	ck_assert_int_eq(verdict_decide(&edge, true), VERDICT_MODERATE);
	edge.held = -1; /* unknown: a whole thread's worth */
	edge.queue = 0.99;
	ck_assert_int_eq(verdict_decide(&edge, true), VERDICT_MODERATE);
	edge.queue = 1.0;
	ck_assert_int_eq(verdict_decide(&edge, true), VERDICT_BOTTLENECK);
	/* Held most of the time but no queue: a single busy thread. */
	struct thread_stats one[] = { thread(1, 0, 99, 0), thread(2, 10, 5, 0.5) };
	ck_assert_int_eq(decide(one, 2, 95, NULL, &m, buf, sizeof buf), VERDICT_MODERATE);
}
END_TEST

/* A thread-per-request server: short-lived threads, alive a fraction of
 * the interval each, share the GIL; the queue is over the interval. */
START_TEST(bottleneck_short_lived_threads)
{
	struct thread_stats v[40];
	struct gil_model m;
	char buf[256];

	for (int i = 0; i < 40; i++) {
		v[i] = thread(100 + i, 0, 0, 0);
		v[i].alive = v[i].spanned = false;
		v[i].ended_now = true;
		v[i].interval.gil.ns = 30000000; /* 30 ms waiting, 20 ms running, each */
		v[i].interval.gil.count = 6;
		v[i].interval.cpu_ns = 20000000;
		v[i].interval.alive_ns = 50000000;
	}
	ck_assert_int_eq(decide(v, 40, 75, NULL, &m, buf, sizeof buf), VERDICT_BOTTLENECK);
	ck_assert_double_eq_tol(m.queue, 1.2, 1e-9);
	ck_assert_double_eq_tol(m.wait_share, 0.6, 1e-9);
	ck_assert_uint_eq(m.threads_alive, 0);
	ck_assert_uint_eq(m.threads_seen, 40);
}
END_TEST

/* A thread held the GIL while blocked 40% of the period: the culprit,
 * named with its call, before any other kind, while others waited. */
START_TEST(holder_blocked_first)
{
	struct thread_stats v[] = { thread(7, 0, 1, 0), thread(8, 45, 50, 5), thread(9, 45, 50, 5) };
	char *frames[] = { "clock_nanosleep" };
	struct hold_stack stack = { .tid = 7, .stackid = 1, .interval = { 400000000 }, .frames = frames, .nframes = 1 };
	struct hold_state hold = { .blocked_available = true, .confirmed = true, .stacks = &stack, .nstacks = 1 };
	struct gil_model m;
	char buf[256];

	snprintf(v[0].name, sizeof v[0].name, "db-writer");
	v[0].interval.blocked_ns = 400000000;
	ck_assert_int_eq(decide(v, 3, 90, &hold, &m, buf, sizeof buf), VERDICT_HOLDER_BLOCKED);
	ck_assert_str_eq(buf, "thread 7 (db-writer) held the GIL for 0.40 s while blocked in clock_nanosleep: "
			      "every other thread stalled");
	/* Under 5% of the period: not the story (the GIL is saturated). */
	v[0].interval.blocked_ns = stack.interval.ns = 40000000;
	ck_assert_int_eq(decide(v, 3, 90, &hold, &m, buf, sizeof buf), VERDICT_BOTTLENECK);
	/* Unknown (a kernel without the program): never a culprit. */
	v[0].interval.blocked_ns = stack.interval.ns = 400000000;
	hold.blocked_available = false;
	ck_assert_int_eq(decide(v, 3, 90, &hold, &m, buf, sizeof buf), VERDICT_BOTTLENECK);
}
END_TEST

/* No one waited, but a thread held the GIL while blocked 78% of the
 * time: "none", with the hint. */
START_TEST(none_names_the_blocked_holder)
{
	struct thread_stats v[] = { thread(3, 0.2, 1, 0.1), thread(4, 0.3, 2, 0.1) };
	struct hold_stack stack = { .tid = 3, .stackid = 1, .interval = { 780000000 }, .syscall = "read" };
	struct hold_state hold = { .blocked_available = true, .confirmed = true, .stacks = &stack, .nstacks = 1 };
	struct gil_model m;
	char buf[256];

	snprintf(v[0].name, sizeof v[0].name, "poller");
	ck_assert_int_eq(decide(v, 2, 80, &hold, &m, buf, sizeof buf), VERDICT_NONE);
	ck_assert_str_eq(buf, "GIL is not slowing this process down (0.2% waiting)");
	v[0].interval.blocked_ns = 780000000;
	ck_assert_int_eq(decide(v, 2, 80, &hold, &m, buf, sizeof buf), VERDICT_NONE);
	ck_assert_str_eq(buf, "GIL is not slowing this process down (0.2% waiting); no one waited, but thread 3 "
			      "(poller) held the GIL for 0.78 s while blocked in read");
}
END_TEST

/* A convoy is told by the time blocked elsewhere, never by low CPU%: a
 * GIL-starved CPU-bound thread (little CPU, no time blocked on anything
 * else) is not one. */
START_TEST(convoy_by_blocked_elsewhere)
{
	/* An I/O thread: 1% CPU, 30% waiting ~5 ms a wake-up, 69% blocked in I/O. */
	struct thread_stats v[] = { thread(1, 1, 97, 0.5), thread(2, 30, 1, 5.0) };
	/* GIL-starved CPU-bound: 5% CPU, 95% waiting. */
	struct thread_stats w[] = { thread(1, 2, 95, 0.5), thread(2, 40, 5, 5.0), thread(3, 40, 5, 5.0) };
	struct gil_model m;
	char buf[256];

	ck_assert_int_eq(decide(v, 2, 60, NULL, &m, buf, sizeof buf), VERDICT_CONVOY);
	ck_assert_str_eq(buf, "1 thread mostly blocked on I/O or locks waits ~5.0 ms for the GIL per wake-up "
			      "(convoy effect)");
	ck_assert_uint_eq(m.convoy, 1);
	/* w's threads run 5% and wait 40%: 55% blocked elsewhere is a convoy... */
	ck_assert_int_eq(decide(w, 3, 50, NULL, &m, buf, sizeof buf), VERDICT_CONVOY);
	/* ...but waiting 95% and running 5%, they are blocked on nothing else. */
	w[1].interval.gil.ns = w[2].interval.gil.ns = 950000000;
	w[1].interval.gil.count = w[2].interval.gil.count = 190;
	ck_assert_int_eq(decide(w, 3, 80, NULL, &m, buf, sizeof buf), VERDICT_BOTTLENECK);
	ck_assert_uint_eq(m.convoy, 0);
	/* Short waits per wake-up: moderate, not a convoy. */
	struct thread_stats u[] = { thread(1, 1, 97, 0.5), thread(2, 30, 1, 0.2) };
	ck_assert_int_eq(decide(u, 2, 60, NULL, &m, buf, sizeof buf), VERDICT_MODERATE);
}
END_TEST

START_TEST(moderate_none_and_disabled)
{
	struct thread_stats v[] = { thread(1, 30, 60, 0.5), thread(2, 10, 80, 0.5) };
	struct thread_stats *ptrs[] = { &v[0], &v[1] };
	struct gil_model_input in = { .threads = ptrs, .nthreads = 2, .seconds = 1.0, .held_pct = -1 };
	struct gil_model m;
	char buf[256];

	ck_assert_int_eq(decide(v, 2, 50, NULL, &m, buf, sizeof buf), VERDICT_MODERATE);
	ck_assert_str_eq(buf, "GIL contention is moderate: held 50% of the time, 0.40 threads' worth waiting (20.0%)");
	ck_assert_int_eq(decide(v, 2, -1, NULL, &m, buf, sizeof buf), VERDICT_MODERATE);
	ck_assert_str_eq(buf, "GIL contention is moderate: 0.40 threads' worth waiting (20.0%)");
	struct thread_stats idle[] = { thread(1, 0.3, 40, 0.1), thread(2, 0.9, 30, 0.2) };
	ck_assert_int_eq(decide(idle, 2, 70, NULL, &m, buf, sizeof buf), VERDICT_NONE);
	ck_assert_str_eq(buf, "GIL is not slowing this process down (0.6% waiting)");
	gil_model_compute(&in, &m);
	ck_assert_int_eq(verdict_line(&m, &in, buf, sizeof buf), VERDICT_NONE);
	ck_assert_str_eq(buf, "free-threaded build: the GIL is disabled");
}
END_TEST

/* CPU wait is not measured yet: cpu_starved never fires on guesses; a
 * model with a CPU queue larger than the GIL's is cpu_starved. */
START_TEST(cpu_starved_only_when_known)
{
	struct gil_model m = { .seconds = 1, .held = 0.1, .queue = 0.3, .cpu_queue = -1 };

	ck_assert_int_eq(verdict_decide(&m, true), VERDICT_MODERATE);
	m.cpu_queue = 2.5;
	ck_assert_int_eq(verdict_decide(&m, true), VERDICT_CPU_STARVED);
	/* The GIL saturated comes first. */
	m.held = 0.9;
	m.queue = 2.0;
	ck_assert_int_eq(verdict_decide(&m, true), VERDICT_BOTTLENECK);
	/* Less CPU wait than GIL wait: not starved. */
	m.held = 0.3;
	m.queue = 0.6;
	m.cpu_queue = 0.5;
	ck_assert_int_eq(verdict_decide(&m, true), VERDICT_MODERATE);
	/* Unknown CPU wait per thread: unknown for the process. */
	struct thread_stats v[] = { thread(1, 30, 60, 0.5) };
	char buf[256];
	decide(v, 1, 50, NULL, &m, buf, sizeof buf);
	ck_assert_double_lt(m.cpu_queue, 0);
}
END_TEST

/* The summary applies the same rule to the run's figures, with the
 * folded ended threads in the totals. */
START_TEST(summary_same_rule)
{
	struct thread_stats v[] = { thread(1, 0, 0, 0), thread(2, 0, 0, 0) };
	struct thread_stats *ptrs[] = { &v[0], &v[1] };
	struct folded_threads folded = { .threads = 30 };
	struct gil_model_input in = { .threads = ptrs, .nthreads = 2, .summary = true, .seconds = 10.0,
				      .gil_enabled = true, .held_pct = 85, .folded = &folded };
	struct gil_model m;
	char buf[256];

	for (int i = 0; i < 2; i++) {
		v[i].run = v[i].interval;
		v[i].run.gil.ns = 4000000000ull; /* 4 s of 10 */
		v[i].run.gil.count = 1000;
		v[i].run.cpu_ns = 3000000000ull;
		v[i].run.alive_ns = 10000000000ull;
	}
	folded.run.gil.ns = 6000000000ull;
	folded.run.alive_ns = 9000000000ull;
	gil_model_compute(&in, &m);
	ck_assert_double_eq_tol(m.queue, 1.4, 1e-9);
	ck_assert_double_eq_tol(m.thread_s, 29.0, 1e-9);
	ck_assert_uint_eq(m.threads_seen, 32);
	ck_assert_int_eq(verdict_line(&m, &in, buf, sizeof buf), VERDICT_BOTTLENECK);
}
END_TEST

Suite *verdict_suite(void)
{
	Suite *s = suite_create("verdict");
	TCase *tc = tcase_create("verdict");

	tcase_add_test(tc, kind_names_are_stable);
	tcase_add_test(tc, model_queue_and_blocked_other);
	tcase_add_test(tc, bottleneck_per_process);
	tcase_add_test(tc, bottleneck_short_lived_threads);
	tcase_add_test(tc, holder_blocked_first);
	tcase_add_test(tc, none_names_the_blocked_holder);
	tcase_add_test(tc, convoy_by_blocked_elsewhere);
	tcase_add_test(tc, moderate_none_and_disabled);
	tcase_add_test(tc, cpu_starved_only_when_known);
	tcase_add_test(tc, summary_same_rule);
	suite_add_tcase(s, tc);
	return s;
}
