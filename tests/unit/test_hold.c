#include "config.h"

#include <stdlib.h>
#include <string.h>

#include "suites.h"
#include "tool/figures/hold.h"

/* A fake target: a GIL (3.x layout), thread states and glibc pthreads. */
#define BASE 0x10000
#define GIL (BASE + 0x100)
#define TSTATE(i) (BASE + 0x1000 + 0x400 * (uint64_t)(i))
#define PTHREAD(i) (BASE + 0x4000 + 0x400 * (uint64_t)(i))
#define THREAD_ID_OFF 0x98
#define PTHREAD_TID_OFF 0x2d0

struct fake_memory {
	unsigned char bytes[0x8000];
};

static struct fake_memory mem_bytes;

static int fake_read(void *ctx, uint64_t addr, void *buf, size_t len)
{
	struct fake_memory *m = ctx;

	if (addr < BASE || addr - BASE + len > sizeof m->bytes)
		return -1;
	memcpy(buf, m->bytes + (addr - BASE), len);
	return 0;
}

static void poke(uint64_t addr, const void *v, size_t len)
{
	memcpy(mem_bytes.bytes + (addr - BASE), v, len);
}

/* Thread i has tid 100 + i. */
static void make_thread(int i)
{
	uint64_t pthread = PTHREAD(i);
	uint32_t tid = 100 + (uint32_t)i;

	poke(TSTATE(i) + THREAD_ID_OFF, &pthread, 8);
	poke(PTHREAD(i) + PTHREAD_TID_OFF, &tid, 4);
}

static void set_gil(int32_t locked, int holder)
{
	uint64_t tstate = holder >= 0 ? TSTATE(holder) : 0;

	poke(GIL + 0x10, &locked, 4);
	poke(GIL + 0x08, &tstate, 8);
}

static pid_t known_thread(pid_t tid, const void *ctx)
{
	(void)ctx;
	return tid >= 100 && tid < 104 ? tid : 0;
}

/* A target in its own PID namespace names its threads 1, 2, ...: the
 * host knows them as 100 + that. */
static pid_t namespaced_thread(pid_t tid, const void *ctx)
{
	(void)ctx;
	return tid >= 1 && tid < 4 ? 100 + tid : 0;
}

static const struct mem_reader mem = { fake_read, &mem_bytes };

static void setup_state(struct hold_state *h)
{
	memset(&mem_bytes, 0, sizeof mem_bytes);
	memset(h, 0, sizeof *h);
	for (int i = 0; i < 5; i++)
		make_thread(i);
	h->where = (struct gs_holder){ .locked_addr = GIL + 0x10, .holder_addr = GIL + 0x08,
				       .tstate_tid_off = THREAD_ID_OFF, .pthread_tid_off = PTHREAD_TID_OFF };
	h->sampling = h->blocked_available = true;
}

START_TEST(where_from_a_located_gil)
{
	struct gil_location loc;
	struct gs_holder w;

	memset(&loc, 0, sizeof loc);
	loc.method = GIL_METHOD_EXACT;
	loc.ngils = 1;
	loc.gils[0] = (struct gil_instance){ .base = GIL, .cond = GIL + 0x20, .locked = GIL + 0x10,
					     .last_holder = GIL + 0x08 };
	ck_assert(!hold_where(&loc, &w)); /* no thread id layout: nothing to name */
	loc.tstate_tid_off = 0xa0;
	ck_assert(hold_where(&loc, &w));
	ck_assert_uint_eq(w.locked_addr, GIL + 0x10);
	ck_assert_uint_eq(w.holder_addr, GIL + 0x08);
	ck_assert_uint_eq(w.tstate_tid_off, 0xa0);
	ck_assert_uint_eq(w.pthread_tid_off, 0);
	loc.method = GIL_METHOD_HEURISTIC; /* a guessed GIL has no known holder */
	ck_assert(!hold_where(&loc, &w));
}
END_TEST

START_TEST(tstate_to_tid)
{
	struct hold_state h;
	uint64_t native = 4242;

	setup_state(&h);
	ck_assert_int_eq(hold_tstate_tid(&h.where, &mem, TSTATE(2)), 102);
	ck_assert_int_eq(hold_tstate_tid(&h.where, &mem, 0), 0);
	ck_assert_int_eq(hold_tstate_tid(&h.where, &mem, 0xdead0000), 0); /* unreadable */
	/* 3.13+: native_thread_id is the tid itself. */
	h.where.pthread_tid_off = 0;
	poke(TSTATE(3) + THREAD_ID_OFF, &native, 8);
	ck_assert_int_eq(hold_tstate_tid(&h.where, &mem, TSTATE(3)), 4242);
}
END_TEST

/* Samples: thread 101 holds 3 of 4, nobody the last; 100 samples in a
 * 2 s interval give 1.5 s and 75% utilisation. */
START_TEST(samples_become_hold_time)
{
	struct hold_state h;
	struct stats st = { 0 };

	setup_state(&h);
	for (int i = 0; i < 100; i++) {
		set_gil(i % 4 != 3, 1);
		ck_assert_int_eq(hold_sample(&h, &mem, known_thread, NULL), 0);
	}
	ck_assert(hold_time_known(&h));
	ck_assert_int_eq(hold_update(&h, &st, NULL, 0, 2.0), 0);
	ck_assert_uint_eq(h.interval.samples, 100);
	ck_assert_uint_eq(h.interval.held, 75);
	struct thread_stats *t = stats_find(&st, 101);
	ck_assert_ptr_nonnull(t);
	ck_assert_uint_eq(t->interval.hold_ns, 1500000000u);
	ck_assert_uint_eq(t->run.hold_ns, 1500000000u);
	/* The next interval starts afresh; the run adds up. */
	set_gil(1, 2);
	hold_sample(&h, &mem, known_thread, NULL);
	ck_assert_int_eq(hold_update(&h, &st, NULL, 0, 1.0), 0);
	ck_assert_uint_eq(stats_find(&st, 101)->interval.hold_ns, 0);
	ck_assert_uint_eq(stats_find(&st, 102)->interval.hold_ns, 1000000000u);
	ck_assert_uint_eq(h.run.samples, 101);
	hold_free(&h);
	stats_free(&st);
}
END_TEST

/* A thread per request: a thread ends and the next one's thread state is
 * the same memory, within one interval. Its samples are the new thread's. */
START_TEST(reused_thread_state_names_its_new_thread)
{
	struct hold_state h;
	struct stats st = { 0 };
	uint64_t pthread = PTHREAD(2);

	setup_state(&h);
	set_gil(1, 1);
	for (int i = 0; i < 30; i++)
		hold_sample(&h, &mem, known_thread, NULL);
	ck_assert_int_eq(h.last_sample_tid, 101);
	/* Thread 101 ends; thread 102 starts in its thread state. */
	poke(TSTATE(1) + THREAD_ID_OFF, &pthread, 8);
	for (int i = 0; i < 70; i++)
		hold_sample(&h, &mem, known_thread, NULL);
	ck_assert_int_eq(h.last_sample_tid, 102);
	ck_assert_int_eq(hold_update(&h, &st, NULL, 0, 1.0), 0);
	ck_assert_uint_eq(stats_find(&st, 101)->interval.hold_ns, 300000000u);
	ck_assert_uint_eq(stats_find(&st, 102)->interval.hold_ns, 700000000u);
	hold_free(&h);
	stats_free(&st);
}
END_TEST

/* In a PID namespace the thread state holds the namespace's tid: the
 * sample goes to the host's. */
START_TEST(namespaced_holder_is_the_hosts_thread)
{
	struct hold_state h;
	struct stats st = { 0 };
	uint64_t ns_tid = 2;

	setup_state(&h);
	h.where.pthread_tid_off = 0; /* native_thread_id */
	poke(TSTATE(3) + THREAD_ID_OFF, &ns_tid, 8);
	set_gil(1, 3);
	for (int i = 0; i < 4; i++)
		ck_assert_int_eq(hold_sample(&h, &mem, namespaced_thread, NULL), 0);
	ck_assert(hold_time_known(&h));
	ck_assert_int_eq(hold_update(&h, &st, NULL, 0, 1.0), 0);
	ck_assert_ptr_nonnull(stats_find(&st, 102));
	ck_assert_uint_eq(stats_find(&st, 102)->interval.hold_ns, 1000000000u);
	ck_assert_ptr_null(stats_find(&st, 2));
	hold_free(&h);
	stats_free(&st);
}
END_TEST

/* A holder that names no thread of the target (a wrong layout, musl): held
 * counts for utilisation, but no thread gets it and nothing is "known". */
START_TEST(unknown_holder_is_not_attributed)
{
	struct hold_state h;
	struct stats st = { 0 };

	setup_state(&h);
	set_gil(1, 4); /* tid 104: not the target's */
	for (int i = 0; i < 10; i++)
		hold_sample(&h, &mem, known_thread, NULL);
	ck_assert(!hold_time_known(&h));
	ck_assert(!hold_blocked_known(&h));
	ck_assert_int_eq(hold_update(&h, &st, NULL, 0, 1.0), 0);
	ck_assert_uint_eq(h.interval.held, 10);
	ck_assert_ptr_null(stats_find(&st, 104));
	hold_free(&h);
	stats_free(&st);
}
END_TEST

/* 2.7: no locked word; the current thread state is NULL while free. */
START_TEST(holder_pointer_alone)
{
	struct hold_state h;
	struct stats st = { 0 };

	setup_state(&h);
	h.where.locked_addr = 0;
	set_gil(0, -1);
	hold_sample(&h, &mem, known_thread, NULL);
	set_gil(0, 0);
	hold_sample(&h, &mem, known_thread, NULL);
	ck_assert_int_eq(hold_update(&h, &st, NULL, 0, 1.0), 0);
	ck_assert_uint_eq(h.interval.samples, 2);
	ck_assert_uint_eq(h.interval.held, 1);
	ck_assert_uint_eq(stats_find(&st, 100)->interval.hold_ns, 500000000u);
	hold_free(&h);
	stats_free(&st);
}
END_TEST

/* Held-while-blocked rows are cumulative: each interval takes what was
 * added, per thread and per stack, and a recreated row starts again. */
START_TEST(blocked_rows_by_stack)
{
	struct hold_state h;
	struct stats st = { 0 };
	struct held_row rows[3] = {
		{ { 7, 100, 1, 5 }, { 300, 3, 0 } },
		{ { 7, 100, 2, 5 }, { 900, 1, 0 } },
		{ { 7, 101, -14, 5 }, { 50, 1, 0 } }, /* no stack: -EFAULT */
	};
	const struct hold_stack *top[HOLD_TOP_STACKS];

	setup_state(&h);
	ck_assert_int_eq(hold_update(&h, &st, rows, 3, 1.0), 0);
	ck_assert_uint_eq(stats_find(&st, 100)->interval.blocked_ns, 1200);
	ck_assert_uint_eq(stats_find(&st, 101)->interval.blocked_ns, 50);
	ck_assert_uint_eq(hold_top_stacks(&h, 100, false, top, HOLD_TOP_STACKS), 2);
	ck_assert_int_eq(top[0]->stackid, 2);
	ck_assert_int_eq(top[1]->stackid, 1);
	rows[0].stats.total_ns = 1300;
	rows[1].stats.total_ns = 100; /* deleted and created again */
	ck_assert_int_eq(hold_update(&h, &st, rows, 2, 1.0), 0);
	ck_assert_uint_eq(stats_find(&st, 100)->interval.blocked_ns, 1100);
	ck_assert_uint_eq(stats_find(&st, 100)->run.blocked_ns, 2300);
	ck_assert_uint_eq(stats_find(&st, 101)->interval.blocked_ns, 0);
	ck_assert_uint_eq(hold_top_stacks(&h, 100, false, top, 1), 1);
	ck_assert_int_eq(top[0]->stackid, 1);
	ck_assert_uint_eq(hold_top_stacks(&h, 100, true, top, HOLD_TOP_STACKS), 2);
	ck_assert_uint_eq(top[0]->run.ns, 1300);
	hold_free(&h);
	stats_free(&st);
}
END_TEST

START_TEST(ended_threads_rows_are_forgotten)
{
	struct hold_state h;
	struct stats st = { 0 };
	struct held_row rows[2] = { { { 7, 100, 1, 5 }, { 300, 3, 0 } }, { { 7, 101, 1, 5 }, { 30, 1, 0 } } };
	struct gs_held_key *keys = NULL;
	size_t cap = 0;
	pid_t live[] = { 101 };

	setup_state(&h);
	h.tgid = 7;
	stats_thread(&st, 100)->alive = true;
	ck_assert_int_eq(stats_update(&st, &(struct wait_rows){ 0 }, 0, live, 1, NULL, NULL), 0);
	ck_assert_int_eq(hold_update(&h, &st, rows, 2, 1.0), 0);
	ck_assert_uint_eq(hold_rows_to_forget(&h, &st, &keys, &cap), 1);
	ck_assert_uint_eq(keys[0].tgid, 7);
	ck_assert_uint_eq(keys[0].tid, 100);
	ck_assert_int_eq(keys[0].stackid, 1);
	ck_assert_int_eq(keys[0].kstackid, 5);
	free(keys);
	hold_free(&h);
	stats_free(&st);
}
END_TEST

START_TEST(syscall_names)
{
	ck_assert_str_eq(syscall_of_symbol("__x64_sys_clock_nanosleep"), "clock_nanosleep");
	ck_assert_str_eq(syscall_of_symbol("__arm64_sys_futex"), "futex");
	ck_assert_ptr_null(syscall_of_symbol("do_nanosleep"));
	ck_assert_ptr_null(syscall_of_symbol("__x64_sys_"));
}
END_TEST

Suite *hold_suite(void)
{
	Suite *s = suite_create("hold");
	TCase *tc = tcase_create("hold");

	tcase_add_test(tc, where_from_a_located_gil);
	tcase_add_test(tc, tstate_to_tid);
	tcase_add_test(tc, samples_become_hold_time);
	tcase_add_test(tc, reused_thread_state_names_its_new_thread);
	tcase_add_test(tc, namespaced_holder_is_the_hosts_thread);
	tcase_add_test(tc, unknown_holder_is_not_attributed);
	tcase_add_test(tc, holder_pointer_alone);
	tcase_add_test(tc, blocked_rows_by_stack);
	tcase_add_test(tc, ended_threads_rows_are_forgotten);
	tcase_add_test(tc, syscall_names);
	suite_add_tcase(s, tc);
	return s;
}
