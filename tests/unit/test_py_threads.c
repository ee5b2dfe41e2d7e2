#include "config.h"

#include <stdlib.h>
#include <string.h>

#include "suites.h"
#include "tool/python/py_layout.h"
#include "tool/python/py_threads.h"

/* A fake target: sys.modules, the threading module, threading._active
 * and its Threads, built object by object in 3.12's layout (values of a
 * split table tagged before the object), 3.13's (values after it) and
 * 2.7's (ma_table, instance dicts at tp_dictoffset), for the walks the live interpreters cannot
 * show: what hostile or torn memory does. */
#define BASE 0x100000
#define ARENA 0x10000

static unsigned char arena[ARENA];
static uint64_t next_free;
static int major, minor;

static int fake_read(void *ctx, uint64_t addr, void *buf, size_t len)
{
	(void)ctx;
	if (addr < BASE || addr - BASE > ARENA || len > ARENA - (addr - BASE))
		return -1;
	memcpy(buf, arena + (addr - BASE), len);
	return 0;
}

static const struct mem_reader mem = { fake_read, NULL };

static uint64_t alloc(size_t size)
{
	uint64_t a = next_free;

	next_free += (size + 15) & ~(uint64_t)15;
	ck_assert_uint_le(next_free - BASE, ARENA);
	return a;
}

static void put(uint64_t addr, uint64_t v)
{
	memcpy(arena + (addr - BASE), &v, 8);
}

static uint64_t get(uint64_t addr)
{
	uint64_t v;

	memcpy(&v, arena + (addr - BASE), 8);
	return v;
}

static uint64_t make_type(const char *name)
{
	uint64_t type = alloc(0x400), str = alloc(strlen(name) + 1);

	memcpy(arena + (str - BASE), name, strlen(name) + 1);
	put(type + 24, str);
	return type;
}

static uint64_t str_type, int_type, dict_type, module_type, thread_type;

static uint64_t object(uint64_t type, size_t size)
{
	uint64_t obj = alloc(size);

	put(obj + 8, type);
	return obj;
}

/* 2.7: PyStringObject; 3.12: a compact ASCII str. */
static uint64_t make_str(const char *s)
{
	size_t len = strlen(s);
	uint64_t obj = object(str_type, 48 + len + 1);

	put(obj + 16, len);
	if (major == 2) {
		memcpy(arena + (obj + 36 - BASE), s, len);
		return obj;
	}
	put(obj + 32, 1u << 2 | 1u << 5 | 1u << 6); /* kind 1, compact, ascii */
	memcpy(arena + (obj + 40 - BASE), s, len);
	return obj;
}

/* 2.7: ob_ival; 3.12: lv_tag and 30-bit digits. */
static uint64_t make_int(uint64_t v)
{
	uint64_t obj = object(int_type, 48);
	uint32_t digits[3] = { (uint32_t)(v & 0x3fffffff), (uint32_t)(v >> 30 & 0x3fffffff), (uint32_t)(v >> 60) };
	uint64_t n = digits[2] ? 3 : digits[1] ? 2 : 1;

	if (major == 2) {
		put(obj + 16, v);
		return obj;
	}
	put(obj + 16, v ? n << 3 : 1);
	memcpy(arena + (obj + 24 - BASE), digits, sizeof digits);
	return obj;
}

/* A dict of n items: 2.7's ma_table of 8 slots, else 3.11+ keys of 8
 * (kind 0: with hashes, 1: str keys, 2: split) with 1-byte indices. */
static uint64_t make_keys(const uint64_t *keys, const uint64_t *values, size_t n, int kind)
{
	uint64_t k = alloc(32 + 8 + 8 * 24), entries = k + 40;
	size_t stride = kind == 0 ? 24 : 16, key_off = kind == 0 ? 8 : 0;

	ck_assert_uint_le(n, 5);
	put(k + 8, 3 | 3 << 8 | (uint64_t)kind << 16); /* log2_size, log2_index_bytes, kind */
	put(k + 24, n);
	for (size_t i = 0; i < n; i++) {
		put(entries + i * stride + key_off, keys[i]);
		if (values)
			put(entries + i * stride + key_off + 8, values[i]);
	}
	return k;
}

static uint64_t make_dict(const uint64_t *keys, const uint64_t *values, size_t n, int kind)
{
	uint64_t dict = object(dict_type, 48);

	if (major == 2) {
		uint64_t table = alloc(8 * 24);
		/* Slots as a hash table has them: some empty, in no order. */
		for (size_t i = 0; i < n; i++) {
			put(table + (7 - i) * 24 + 8, keys[i]);
			put(table + (7 - i) * 24 + 16, values[i]);
		}
		put(dict + 0x20, 7);
		put(dict + 0x28, table);
		return dict;
	}
	put(dict + 0x20, make_keys(keys, values, n, kind));
	return dict;
}

/* A Thread: 2.7 with its dict at tp_dictoffset, 3.12 with its values
 * tagged before it, 3.13 with them after it (capacity, size, embedded,
 * valid, then the values), with the keys its type shares. */
static uint64_t make_thread(uint64_t name_obj, uint64_t ident, uint64_t native)
{
	uint64_t obj = alloc(96) + 32;
	uint64_t keys[3], values[3] = { name_obj, make_int(ident), make_int(native) };

	put(obj + 8, thread_type);
	if (major == 2) {
		keys[0] = make_str("_Thread__name");
		keys[1] = make_str("_Thread__ident");
		put(obj + 16, make_dict(keys, values, 2, 0));
		return obj;
	}
	if (minor == 13) {
		put(obj + 16, 3 | 3 << 8 | 1 << 16 | 1 << 24);
		for (size_t i = 0; i < 3; i++)
			put(obj + 24 + 8 * i, values[i]);
		return obj;
	}
	uint64_t v = alloc(3 * 8);
	for (size_t i = 0; i < 3; i++)
		put(v + 8 * i, values[i]);
	put(obj - 24, v - 1);
	return obj;
}

static struct py_known_types types;
static struct py_layout layout;
static uint64_t tstate, active, modules;
static uint64_t thread_objs[4];

/* sys.modules {"sys", "threading"} -> _active {ident: Thread} of 3
 * threads: "MainThread" (tid 100), "worker-1" (101), a long name (102). */
static void build(int version_major, int version_minor)
{
	static const char long_name[] = "a-very-long-thread-name-that-goes-on-and-on-well-past-sixty-four-bytes";
	uint64_t interp, threading, names[3], idents[3], mkeys[2], mvals[2], k;

	major = version_major;
	minor = version_minor;
	memset(arena, 0, sizeof arena);
	next_free = BASE + 0x100;
	memset(&types, 0, sizeof types);
	layout = (struct py_layout){ .major = major, .minor = minor, .ob_type = 8, .tp_name = 24,
				     .ob_size = 16, .str_is_bytes = major == 2, .str_sval = 36, .uni_length = 16,
				     .uni_state = 32, .uni_ascii_size = 40, .uni_compact_size = 56,
				     .uni_kind_shift = 2, .ts_interp = major == 2 ? 8 : 16, .types = &types };
	str_type = make_type("str");
	int_type = make_type("int");
	dict_type = make_type("dict");
	module_type = make_type("module");
	thread_type = make_type("Thread");
	names[0] = make_str("MainThread");
	names[1] = make_str("worker-1");
	names[2] = make_str(long_name);
	for (size_t i = 0; i < 3; i++) {
		idents[i] = alloc(0x300); /* a struct pthread */
		put(idents[i] + 0x2d0, 100 + i);
		thread_objs[i] = make_thread(names[i], idents[i], major == 2 ? 0 : 100 + i);
		idents[i] = make_int(idents[i]);
	}
	if (major == 2) {
		put(thread_type + 0x120, 16);
	} else {
		/* Py_TPFLAGS_MANAGED_DICT, 3.13: and Py_TPFLAGS_INLINE_VALUES. */
		put(thread_type + 0xa8, minor == 13 ? 1u << 4 | 1u << 2 : 1u << 4);
		put(thread_type + 0x20, 16);
		uint64_t attr_keys[3] = { make_str("_name"), make_str("_ident"), make_str("_native_id") };
		put(thread_type + 0x370, make_keys(attr_keys, NULL, 3, 2));
	}
	active = make_dict(idents, thread_objs, 3, 0);
	k = make_str("_active");
	threading = object(module_type, 48);
	put(threading + 0x10, make_dict(&k, &active, 1, 1));
	mkeys[0] = make_str("sys"), mvals[0] = object(module_type, 48);
	mkeys[1] = make_str("threading"), mvals[1] = threading;
	modules = make_dict(mkeys, mvals, 2, 1);
	interp = alloc(0x2000);
	put(interp + (major == 2 ? 0x10 : minor == 12 ? 0x3b0 : 0x1de8), modules);
	tstate = alloc(0x100);
	put(tstate + layout.ts_interp, interp);
}

static ssize_t names_of(struct py_thread_name *out, size_t max)
{
	memset(&types, 0, sizeof types);
	return py_thread_names(&layout, &mem, tstate, out, max);
}

static int by_tid(const void *a, const void *b)
{
	const struct py_thread_name *x = a, *y = b;

	return (x->tid > y->tid) - (x->tid < y->tid);
}

static void assert_three(void)
{
	struct py_thread_name out[8];
	ssize_t n = names_of(out, 8);

	ck_assert_int_eq(n, 3);
	/* 2.7's hash table is in no order. */
	qsort(out, 3, sizeof out[0], by_tid);
	for (size_t i = 0; i < 3; i++) {
		ck_assert_int_eq(out[i].tid, 100 + (int)i);
		ck_assert_uint_lt(strlen(out[i].name), PY_THREAD_NAME_MAX);
	}
	ck_assert_str_eq(out[0].name, "MainThread");
	ck_assert_str_eq(out[1].name, "worker-1");
	ck_assert_uint_eq(strlen(out[2].name), PY_THREAD_NAME_MAX - 1);
	ck_assert(strncmp(out[2].name, "a-very-long-thread-name", 23) == 0);
}

START_TEST(names_and_tids)
{
	build(3, 12);
	assert_three();
	build(3, 13);
	assert_three();
	build(2, 7);
	assert_three();
}
END_TEST

/* 3.13: values no longer valid (moved to a dict) are not read; a dict
 * at the managed offset is. */
START_TEST(inline_values)
{
	struct py_thread_name out[8];
	uint64_t key, value;

	build(3, 13);
	arena[thread_objs[0] + 16 + 3 - BASE] = 0;
	ck_assert_int_eq(names_of(out, 8), 2);
	ck_assert_str_eq(out[0].name, "worker-1");
	key = make_str("_name"), value = make_str("moved");
	put(thread_objs[0] - 24, make_dict(&key, &value, 1, 1));
	/* No _ident or _native_id there: the tid from _active's key. */
	ck_assert_int_eq(names_of(out, 8), 3);
	ck_assert_str_eq(out[0].name, "moved");
	ck_assert_int_eq(out[0].tid, 100);
}
END_TEST

/* A materialized instance dict (3.12: an untagged pointer) reads the same. */
START_TEST(instance_dict)
{
	struct py_thread_name out[8];
	uint64_t keys[3], values[3];

	build(3, 12);
	keys[0] = make_str("_name"), values[0] = make_str("from-a-dict");
	keys[1] = make_str("_native_id"), values[1] = make_int(4242);
	put(thread_objs[1] - 24, make_dict(keys, values, 2, 1));
	ck_assert_int_eq(names_of(out, 8), 3);
	ck_assert_str_eq(out[1].name, "from-a-dict");
	ck_assert_int_eq(out[1].tid, 4242);
}
END_TEST

START_TEST(no_threading_yet)
{
	struct py_thread_name out[8];

	build(3, 12);
	/* No "threading" among the modules: not imported, 0 threads. */
	put(get(modules + 0x20) + 40 + 16, make_str("threadinG"));
	ck_assert_int_eq(names_of(out, 8), 0);
	/* "threading" that is no module (sys.modules holds anything). */
	build(3, 12);
	put(get(get(modules + 0x20) + 40 + 16 + 8) + 8, dict_type);
	ck_assert_int_eq(names_of(out, 8), 0);
}
END_TEST

START_TEST(bounded_by_max)
{
	struct py_thread_name out[2];

	build(3, 12);
	ck_assert_int_eq(names_of(out, 2), 2);
	ck_assert_int_eq(names_of(out, 0), 0);
}
END_TEST

/* Threads whose name is no str, or whose tid reads as nothing, are left
 * out; the others are still named. */
START_TEST(bad_threads_skipped)
{
	struct py_thread_name out[8];
	build(3, 12);
	put(get(thread_objs[1] - 24) + 1, make_int(7)); /* _name an int */
	put(get(thread_objs[2] - 24) + 1 + 16, make_int(0)); /* no native id: the ident's pthread */
	ck_assert_int_eq(names_of(out, 8), 2);
	ck_assert_str_eq(out[0].name, "MainThread");
	ck_assert_int_eq(out[1].tid, 102);
}
END_TEST

/* What the target's memory claims is bounded: wrong types, sizes, and
 * pointers nowhere are -1, never a crash or a read past a bound. */
START_TEST(hostile_dicts)
{
	struct py_thread_name out[8];
	uint64_t keys;

	build(3, 12);
	put(modules + 8, str_type); /* sys.modules not a dict */
	ck_assert_int_eq(names_of(out, 8), -1);
	build(3, 12);
	keys = get(active + 0x20);
	put(keys + 8, 30 | 33 << 8); /* 2^30 slots */
	ck_assert_int_eq(names_of(out, 8), -1);
	build(3, 12);
	put(get(active + 0x20) + 24, (uint64_t)1 << 40); /* nentries beyond the table */
	ck_assert_int_eq(names_of(out, 8), -1);
	build(3, 12);
	put(active + 0x20, 0xdead0000); /* keys nowhere */
	ck_assert_int_eq(names_of(out, 8), -1);
	build(3, 12);
	ck_assert_int_eq(py_thread_names(&layout, &mem, 0, out, 8), -1);
	layout.major = 4;
	ck_assert_int_eq(names_of(out, 8), -1);
	build(2, 7);
	put(modules + 0x20, 6); /* 2.7: a mask that is no table size */
	ck_assert_int_eq(names_of(out, 8), -1);
}
END_TEST

/* Random damage to every byte of the fake target: any count from -1 to
 * max, each name a NUL-terminated string that fits (run under ASan). */
START_TEST(random_damage)
{
	struct py_thread_name out[4];
	unsigned seed = 14;
	int whole = 0, torn = 0;

	for (int round = 0; round < 3000; round++) {
		build(round % 3 ? 3 : 2, round % 3 == 2 ? 13 : round % 3 ? 12 : 7);
		for (int k = 0; k < 1 + round % 8; k++) {
			uint64_t at = (uint64_t)rand_r(&seed) % (next_free - BASE);
			arena[at] = (unsigned char)rand_r(&seed);
		}
		ssize_t n = names_of(out, 4);
		ck_assert(n >= -1 && n <= 4);
		whole += n == 3;
		torn += n == -1;
		for (ssize_t i = 0; i < n; i++)
			ck_assert(memchr(out[i].name, '\0', sizeof out[i].name) != NULL);
	}
	/* The damage reached the walks' every depth, not only their start. */
	ck_assert_msg(whole > 300 && torn > 30, "%d rounds read whole, %d torn", whole, torn);
}
END_TEST

/* threading's own names give way to a comm the program chose. */
START_TEST(made_up_names)
{
	ck_assert(py_thread_name_is_default("Thread-1"));
	ck_assert(py_thread_name_is_default("Thread-12 (process_request_thread)"));
	ck_assert(py_thread_name_is_default("Dummy-3"));
	ck_assert(!py_thread_name_is_default("Thread-"));
	ck_assert(!py_thread_name_is_default("Thread-1x"));
	ck_assert(!py_thread_name_is_default("Thread-1 (x"));
	ck_assert(!py_thread_name_is_default("worker-1"));
	ck_assert(!py_thread_name_is_default("MainThread"));
	ck_assert(!py_thread_name_is_default(""));
}
END_TEST

Suite *py_threads_suite(void)
{
	Suite *s = suite_create("py_threads");
	TCase *tc = tcase_create("py_threads");

	tcase_add_test(tc, names_and_tids);
	tcase_add_test(tc, instance_dict);
	tcase_add_test(tc, inline_values);
	tcase_add_test(tc, no_threading_yet);
	tcase_add_test(tc, bounded_by_max);
	tcase_add_test(tc, bad_threads_skipped);
	tcase_add_test(tc, hostile_dicts);
	tcase_add_test(tc, random_damage);
	tcase_add_test(tc, made_up_names);
	suite_add_tcase(s, tc);
	return s;
}
