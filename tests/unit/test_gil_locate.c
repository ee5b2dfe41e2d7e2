#include "config.h"

#include <stdlib.h>
#include <string.h>

#include "suites.h"
#include "tool/inspect/gil_locate.h"

/* A fake target address space: one contiguous region. */
struct fake_memory {
	uint64_t base;
	unsigned char bytes[0x20000];
};

static int fake_read(void *ctx, uint64_t addr, void *buf, size_t len)
{
	struct fake_memory *m = ctx;

	if (addr < m->base || addr - m->base > sizeof m->bytes || len > sizeof m->bytes - (addr - m->base))
		return -1;
	memcpy(buf, m->bytes + (addr - m->base), len);
	return 0;
}

static void poke32(struct fake_memory *m, uint64_t addr, int32_t v)
{
	memcpy(m->bytes + (addr - m->base), &v, sizeof v);
}

static void poke64(struct fake_memory *m, uint64_t addr, uint64_t v)
{
	memcpy(m->bytes + (addr - m->base), &v, sizeof v);
}

/* A created GIL: interval 5000 us, locked as given. */
static void make_gil(struct fake_memory *m, uint64_t gil, int32_t locked, uint64_t ft_shift)
{
	poke64(m, gil + ft_shift, 5000);
	poke32(m, gil + ft_shift + 0x10, locked);
}

static struct gil_location location_for(int major, int minor)
{
	struct gil_location loc;

	memset(&loc, 0, sizeof loc);
	loc.py.major = major;
	loc.py.minor = minor;
	return loc;
}

START_TEST(version_from_hex)
{
	struct python_info py;

	python_version_from_hex(0x030b02f0, &py);
	ck_assert_str_eq(py.version, "3.11.2");
	ck_assert_int_eq(py.major, 3);
	ck_assert_int_eq(py.minor, 11);
	python_version_from_hex(0x030d00c2, &py);
	ck_assert_str_eq(py.version, "3.13.0rc2");
	python_version_from_hex(0x030e00b2, &py);
	ck_assert_str_eq(py.version, "3.14.0b2");
	python_version_from_hex(0x030c00a7, &py);
	ck_assert_str_eq(py.version, "3.12.0a7");
}
END_TEST

START_TEST(embedded_gil_3_11)
{
	static struct fake_memory m = { .base = 0xa5b740 };
	struct mem_reader mem = { fake_read, &m };
	struct gil_location loc = location_for(3, 11);

	make_gil(&m, m.base + 0x168, 1, 0);
	ck_assert_int_eq(gil_from_runtime(&loc, m.base, &mem), 0);
	ck_assert_uint_eq(loc.ngils, 1);
	/* Debian's python3.11: the condvar CPython waits on is _PyRuntime+0x188. */
	ck_assert_uint_eq(loc.gils[0].cond, 0xa5b740 + 0x188);
	ck_assert_uint_eq(loc.gils[0].mutex, 0xa5b740 + 0x168 + 0x50);
	ck_assert_uint_eq(loc.gils[0].switch_cond, 0xa5b740 + 0x168 + 0x78);
	ck_assert_uint_eq(loc.gils[0].switch_mutex, 0xa5b740 + 0x168 + 0xa8);
	ck_assert(loc.gil_enabled);
}
END_TEST

START_TEST(embedded_gil_rejects_garbage)
{
	static struct fake_memory m = { .base = 0x1000 };
	struct mem_reader mem = { fake_read, &m };
	struct gil_location loc = location_for(3, 9);

	/* A GIL not created yet (locked == -1) is not trusted. */
	make_gil(&m, m.base + 0x160, -1, 0);
	ck_assert_int_eq(gil_from_runtime(&loc, m.base, &mem), -1);
	/* Neither is a zero switch interval. */
	make_gil(&m, m.base + 0x160, 0, 0);
	poke64(&m, m.base + 0x160, 0);
	ck_assert_int_eq(gil_from_runtime(&loc, m.base, &mem), -1);
	/* An unknown minor version has no layout. */
	loc = location_for(3, 5);
	ck_assert_int_eq(gil_from_runtime(&loc, m.base, &mem), -1);
	/* Unreadable memory. */
	loc = location_for(3, 9);
	ck_assert_int_eq(gil_from_runtime(&loc, 0x99999999, &mem), -1);
}
END_TEST

START_TEST(interpreters_3_12_share_or_own_gils)
{
	static struct fake_memory m = { .base = 0x100000 };
	struct mem_reader mem = { fake_read, &m };
	struct gil_location loc = location_for(3, 12);
	uint64_t runtime = m.base, main_interp = m.base + 0x1000, sub1 = m.base + 0x4000, sub2 = m.base + 0x8000;

	/* Newest first: head -> sub2 (shares main's GIL) -> sub1 (own) -> main. */
	poke64(&m, runtime + 0x28, sub2);
	poke64(&m, sub2 + 0x0, sub1);
	poke64(&m, sub2 + 0x180, main_interp + 0x410);
	poke64(&m, sub1 + 0x0, main_interp);
	poke64(&m, sub1 + 0x180, sub1 + 0x410);
	make_gil(&m, sub1 + 0x410, 0, 0);
	poke64(&m, main_interp + 0x180, main_interp + 0x410);
	make_gil(&m, main_interp + 0x410, 1, 0);
	ck_assert_int_eq(gil_from_runtime(&loc, runtime, &mem), 0);
	ck_assert_uint_eq(loc.ngils, 2);
	/* The main interpreter's GIL is the process's. */
	ck_assert_uint_eq(loc.gils[0].cond, main_interp + 0x410 + 0x20);
	ck_assert_uint_eq(loc.gils[1].cond, sub1 + 0x410 + 0x20);
	/* A later sub-interpreter with its own GIL is appended. */
	uint64_t sub3 = m.base + 0xc000;
	poke64(&m, runtime + 0x28, sub3);
	poke64(&m, sub3 + 0x0, sub2);
	poke64(&m, sub3 + 0x180, sub3 + 0x410);
	make_gil(&m, sub3 + 0x410, 0, 0);
	ck_assert_int_eq(gil_from_runtime(&loc, runtime, &mem), 0);
	ck_assert_uint_eq(loc.ngils, 3);
	ck_assert_uint_eq(loc.gils[0].cond, main_interp + 0x410 + 0x20);
	ck_assert_uint_eq(loc.gils[2].cond, sub3 + 0x410 + 0x20);
	uint64_t gil = 0;
	ck_assert_int_eq(gil_classify(sub1 + 0x410 + 0x78, &loc, &gil), GS_KIND_SWITCH_COND);
	ck_assert_uint_eq(gil, sub1 + 0x410 + 0x20);
	ck_assert_int_eq(gil_classify(main_interp + 0x410 + 0x50, &loc, &gil), GS_KIND_GIL_MUTEX);
	ck_assert_uint_eq(gil, main_interp + 0x410 + 0x20);
}
END_TEST

START_TEST(interpreter_cycle_is_bounded)
{
	static struct fake_memory m = { .base = 0x100000 };
	struct mem_reader mem = { fake_read, &m };
	struct gil_location loc = location_for(3, 12);
	uint64_t interp = m.base + 0x1000;

	/* A hostile list that loops forever ends after a bounded walk. */
	poke64(&m, m.base + 0x28, interp);
	poke64(&m, interp + 0x0, interp);
	poke64(&m, interp + 0x180, interp + 0x410);
	make_gil(&m, interp + 0x410, 1, 0);
	ck_assert_int_eq(gil_from_runtime(&loc, m.base, &mem), 0);
	ck_assert_uint_eq(loc.ngils, 1);
}
END_TEST

/* _Py_DebugOffsets of a 3.13 or 3.14 build, as the interpreter lays it out. */
static void make_debug_offsets(struct fake_memory *m, uint64_t version, int free_threaded,
			       uint64_t ceval_gil_slot)
{
	memcpy(m->bytes, "xdebugpy", 8);
	poke64(m, m->base + 0x08, version);
	poke64(m, m->base + 0x10, (uint64_t)free_threaded);
	poke64(m, m->base + 0x28, 0x278);  /* runtime_state.interpreters_head */
	poke64(m, m->base + 0x40, 0x1c60); /* interpreter_state.next */
	poke64(m, m->base + ceval_gil_slot, 0x10);
}

START_TEST(debug_offsets_3_13)
{
	static struct fake_memory m = { .base = 0x200000 };
	struct mem_reader mem = { fake_read, &m };
	struct gil_location loc = location_for(3, 13);
	uint64_t interp = m.base + 0x2000;

	make_debug_offsets(&m, 0x030d00f0, 0, 0x70);
	poke64(&m, m.base + 0x278, interp);
	poke64(&m, interp + 0x10, interp + 0x1e48);
	make_gil(&m, interp + 0x1e48, 1, 0);
	ck_assert_int_eq(gil_from_runtime(&loc, m.base, &mem), 0);
	ck_assert_uint_eq(loc.gils[0].cond, interp + 0x1e48 + 0x20);
	ck_assert(!loc.py.free_threaded);
	ck_assert(loc.gil_enabled);
	/* 3.13 before rc2 had another layout: not trusted. */
	loc = location_for(3, 13);
	make_debug_offsets(&m, 0x030d00c1, 0, 0x70);
	ck_assert_int_eq(gil_from_runtime(&loc, m.base, &mem), -1);
	/* A version field that disagrees with the file's version. */
	loc = location_for(3, 13);
	make_debug_offsets(&m, 0x030e00f0, 0, 0x70);
	ck_assert_int_eq(gil_from_runtime(&loc, m.base, &mem), -1);
	/* No cookie, no debug offsets. */
	memset(m.bytes, 0, 8);
	loc = location_for(3, 13);
	ck_assert_int_eq(gil_from_runtime(&loc, m.base, &mem), -1);
}
END_TEST

START_TEST(debug_offsets_free_threaded_3_14)
{
	static struct fake_memory m = { .base = 0x200000 };
	struct mem_reader mem = { fake_read, &m };
	struct gil_location loc = location_for(3, 14);
	uint64_t interp = m.base + 0x2000, gil = interp + 0x1e48;

	make_debug_offsets(&m, 0x030e00f0, 1, 0x78);
	poke64(&m, m.base + 0x278, interp);
	poke64(&m, interp + 0x10, gil);
	make_gil(&m, gil, 0, 8);
	poke32(&m, gil, 0); /* enabled = 0: running without the GIL */
	ck_assert_int_eq(gil_from_runtime(&loc, m.base, &mem), 0);
	ck_assert(loc.py.free_threaded);
	ck_assert(!loc.gil_enabled);
	ck_assert_uint_eq(loc.gils[0].cond, gil + 0x28);
	ck_assert_uint_eq(loc.gils[0].switch_mutex, gil + 0xb0);
	/* PYTHON_GIL=1 enables it for good (INT_MAX). */
	poke32(&m, gil, 0x7fffffff);
	loc = location_for(3, 14);
	ck_assert_int_eq(gil_from_runtime(&loc, m.base, &mem), 0);
	ck_assert(loc.gil_enabled);
}
END_TEST

/* 3.15 moved thread_state.native_thread_id to 0xf8 (Debian sid's 3.15.2:
 * 0xb8 in PyThreadState); the GIL is found as in 3.14. */
START_TEST(debug_offsets_3_15)
{
	static struct fake_memory m = { .base = 0x200000 };
	struct mem_reader mem = { fake_read, &m };
	struct gil_location loc = location_for(3, 15);
	uint64_t interp = m.base + 0x2000, gil = interp + 0x1e38;

	make_debug_offsets(&m, 0x030f02f0, 0, 0x78);
	poke64(&m, m.base + 0xe0, 0x58); /* 3.14's slot: last_profiled_frame now */
	poke64(&m, m.base + 0xf8, 0xb8);
	poke64(&m, m.base + 0x278, interp);
	poke64(&m, interp + 0x10, gil);
	make_gil(&m, gil, 1, 0);
	ck_assert_int_eq(gil_from_runtime(&loc, m.base, &mem), 0);
	ck_assert_uint_eq(loc.ngils, 1);
	ck_assert_uint_eq(loc.gils[0].cond, gil + 0x20);
	ck_assert_uint_eq(loc.gils[0].locked, gil + 0x10);
	ck_assert_uint_eq(loc.gils[0].last_holder, gil + 0x08);
	ck_assert_uint_eq(loc.tstate_tid_off, 0xb8);
	ck_assert(!loc.py.free_threaded);
	/* A 3.15 pre-release: another layout, not trusted. */
	loc = location_for(3, 15);
	make_debug_offsets(&m, 0x030f00a3, 0, 0x78);
	ck_assert_int_eq(gil_from_runtime(&loc, m.base, &mem), -1);
}
END_TEST

START_TEST(classify_and_watch)
{
	struct gil_location loc = location_for(3, 11);
	struct probe_plan plan;
	const char *const *names;

	memset(&plan, 0, sizeof plan);
	loc.method = GIL_METHOD_EXACT;
	loc.ngils = 1;
	loc.gils[0] = (struct gil_instance){ .base = 0x1000, .cond = 0x1020, .mutex = 0x1050,
					     .switch_cond = 0x1078, .switch_mutex = 0x10a8 };
	uint64_t gil = 0;
	ck_assert_int_eq(gil_classify(0x1020, &loc, &gil), GS_KIND_GIL_COND);
	ck_assert_uint_eq(gil, 0x1020);
	ck_assert_int_eq(gil_classify(0x1050, &loc, &gil), GS_KIND_GIL_MUTEX);
	ck_assert_int_eq(gil_classify(0x1078, &loc, &gil), GS_KIND_SWITCH_COND);
	ck_assert_int_eq(gil_classify(0x10a8, &loc, &gil), GS_KIND_SWITCH_MUTEX);
	/* A futex word inside the condvar is the condvar; past the GIL, nothing. */
	ck_assert_int_eq(gil_classify(0x1020 + 40, &loc, &gil), GS_KIND_GIL_COND);
	ck_assert_int_eq(gil_classify(0x10a8 + 40, &loc, &gil), GS_KIND_OTHER);
	ck_assert_int_eq(gil_classify(0, &loc, &gil), GS_KIND_OTHER);
	gil_plan_watch(&loc, &plan);
	/* Every word of two condvars (48 bytes) and two mutexes (40). */
	ck_assert_uint_eq(plan.nwatch, 12 + 10 + 12 + 10);
	ck_assert(!plan.record_unwatched);
	ck_assert_uint_eq(plan.watch[0].addr, 0x1020);
	ck_assert_uint_eq(plan.watch[10].addr, 0x1020 + 40); /* the condvar's futex word */
	ck_assert_uint_eq(plan.watch[10].base, 0x1020);
	ck_assert_int_eq(plan.watch[10].kind, GS_KIND_GIL_COND);
	ck_assert_uint_eq(plan.watch[12].addr, 0x1050);
	ck_assert_int_eq(plan.watch[12].kind, GS_KIND_GIL_MUTEX);
	ck_assert_int_eq(plan.watch[43].kind, GS_KIND_SWITCH_MUTEX);
	ck_assert_uint_eq(plan.watch[43].addr, 0x10a8 + 36);
	ck_assert_uint_eq(gil_wait_functions(&loc, &names), 2);
	ck_assert_str_eq(names[0], "pthread_cond_timedwait");
	ck_assert_uint_eq(gil_report_address(&loc), 0x1020);
	loc.semaphore = true;
	ck_assert_uint_eq(gil_wait_functions(&loc, &names), 1);
	ck_assert_str_eq(names[0], "sem_wait");
}
END_TEST

START_TEST(heuristic_picks_the_busiest_address)
{
	struct wait_row v[] = {
		/* A decoy: one thread, many waits. */
		{ .key = { .addr = 0xdec0, .tgid = 1, .tid = 9 }, .stats = { .count = 5000 } },
		/* The GIL: three threads. */
		{ .key = { .addr = 0x6110, .tgid = 1, .tid = 2 }, .stats = { .count = 200 } },
		{ .key = { .addr = 0x6110, .tgid = 1, .tid = 3 }, .stats = { .count = 190 } },
		{ .key = { .addr = 0x6110, .tgid = 1, .tid = 4 }, .stats = { .count = 210 } },
		{ .key = { .addr = 0x7000, .tgid = 1, .tid = 5 }, .stats = { .count = 3 } },
	};
	struct wait_rows rows = { v, 5, 5 };
	struct wait_rows none = { NULL, 0, 0 };
	struct gil_location loc = location_for(3, 5);
	struct probe_plan plan;

	ck_assert_uint_eq(gil_busiest_address(&rows), 0x6110);
	ck_assert_uint_eq(gil_busiest_address(&none), 0);
	memset(&plan, 0, sizeof plan);
	loc.method = GIL_METHOD_HEURISTIC;
	loc.ngils = 1;
	gil_plan_watch(&loc, &plan);
	ck_assert(plan.record_unwatched);
	ck_assert_uint_eq(plan.nwatch, 0);
	ck_assert_uint_eq(gil_report_address(&loc), 0);
}
END_TEST

Suite *gil_locate_suite(void)
{
	Suite *s = suite_create("gil_locate");
	TCase *tc = tcase_create("locate");

	tcase_add_test(tc, version_from_hex);
	tcase_add_test(tc, embedded_gil_3_11);
	tcase_add_test(tc, embedded_gil_rejects_garbage);
	tcase_add_test(tc, interpreters_3_12_share_or_own_gils);
	tcase_add_test(tc, interpreter_cycle_is_bounded);
	tcase_add_test(tc, debug_offsets_3_13);
	tcase_add_test(tc, debug_offsets_free_threaded_3_14);
	tcase_add_test(tc, debug_offsets_3_15);
	tcase_add_test(tc, classify_and_watch);
	tcase_add_test(tc, heuristic_picks_the_busiest_address);
	suite_add_tcase(s, tc);
	return s;
}
