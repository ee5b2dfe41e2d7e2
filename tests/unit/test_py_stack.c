#include "config.h"

#include <string.h>

#include "suites.h"
#include "tool/python/py_stack.h"

/* A fake CPython 3.13 (x86_64, with the GIL) in a fake address space:
 * type objects, str and bytes objects, code objects, frames, a thread
 * state, and _PyRuntime starting with _Py_DebugOffsets. */
#define BASE 0x100000ull
#define SIZE 0x10000u
#define NAMES (BASE + 0x80)
#define TYPE_CODE (BASE + 0x100)
#define TYPE_STR (BASE + 0x200)
#define TYPE_BYTES (BASE + 0x300)
#define STR(i) (BASE + 0x1000 + 0x100 * (uint64_t)(i))
#define CODE(i) (BASE + 0x3000 + 0x100 * (uint64_t)(i))
#define FRAME(i) (BASE + 0x5000 + 0x50 * (uint64_t)(i))
#define TSTATE (BASE + 0x9000)
#define RUNTIME (BASE + 0xa000)
#define INTERP (BASE + 0xb000)
#define HOLDER (BASE + 0xc000)

/* 3.13's offsets (pyenv 3.13.0). */
#define CO_ADAPTIVE 0xc8

static unsigned char space[SIZE];
static int reads, span_calls;

static int fake_read(void *ctx, uint64_t addr, void *buf, size_t len)
{
	(void)ctx;
	reads++;
	if (addr < BASE || addr - BASE + len > SIZE)
		return -1;
	memcpy(buf, space + (addr - BASE), len);
	return 0;
}

static size_t fake_spans(void *ctx, const struct mem_span *spans, size_t n)
{
	size_t i;

	span_calls++;
	for (i = 0; i < n; i++) {
		reads--; /* one call for all */
		if (fake_read(ctx, spans[i].addr, spans[i].buf, spans[i].len) != 0)
			break;
	}
	return i;
}

static const struct mem_reader mem = { fake_read, NULL };

static void poke(uint64_t addr, const void *v, size_t len)
{
	memcpy(space + (addr - BASE), v, len);
}

static void poke64(uint64_t addr, uint64_t v)
{
	poke(addr, &v, 8);
}

static void poke32(uint64_t addr, uint32_t v)
{
	poke(addr, &v, 4);
}

static void make_type(uint64_t type, uint64_t name_at, const char *name)
{
	poke(name_at, name, strlen(name) + 1);
	poke64(type + 24, name_at);
}

/* A compact str of n characters of kind bytes each (state bits: kind at
 * 2, compact at 5, ascii at 6). */
static void make_str(uint64_t obj, unsigned kind, bool ascii, const uint32_t *cps, size_t n)
{
	uint64_t data = obj + (ascii ? 40 : 56);

	poke64(obj + 8, TYPE_STR);
	poke64(obj + 16, n);
	poke32(obj + 32, kind << 2 | 1u << 5 | (ascii ? 1u << 6 : 0));
	for (size_t i = 0; i < n; i++)
		poke(data + i * kind, &cps[i], kind);
}

static void make_ascii(uint64_t obj, const char *s)
{
	uint32_t cps[64];
	size_t n = strlen(s);

	for (size_t i = 0; i < n; i++)
		cps[i] = (unsigned char)s[i];
	make_str(obj, 1, true, cps, n);
}

static void make_bytes(uint64_t obj, const void *data, size_t n)
{
	poke64(obj + 8, TYPE_BYTES);
	poke64(obj + 16, n);
	poke(obj + 32, data, n);
}

/* Code object i: function qualname STR(2i), file STR(2i+1), line table
 * in STR(40+i) (a bytes object). */
static void make_code(int i, const char *function, const char *file, int first_line)
{
	static const uint8_t table[] = { 0x80, 0x00 };

	make_ascii(STR(2 * i), function);
	make_ascii(STR(2 * i + 1), file);
	make_bytes(STR(40 + i), table, sizeof table);
	poke64(CODE(i) + 8, TYPE_CODE);
	poke64(CODE(i) + 0x70, STR(2 * i + 1));
	poke64(CODE(i) + 0x78, STR(2 * i));
	poke64(CODE(i) + 0x80, STR(2 * i));
	poke64(CODE(i) + 0x88, STR(40 + i));
	poke32(CODE(i) + 0x44, (uint32_t)first_line);
}

/* _PyInterpreterFrame (3.13): executable 0, previous 8, instr_ptr 0x38, owner 0x46. */
static void make_frame(int i, uint64_t code, uint64_t previous, int64_t offset, uint8_t owner)
{
	poke64(FRAME(i), code);
	poke64(FRAME(i) + 8, previous);
	poke64(FRAME(i) + 0x38, code + CO_ADAPTIVE + (uint64_t)offset);
	poke(FRAME(i) + 0x46, &owner, 1);
}

/* _Py_DebugOffsets as pyenv's 3.13.0 has them (gdb). */
static void make_debug_offsets(void)
{
	static const struct {
		uint16_t at;
		uint64_t v;
	} fields[] = {
		{ 8, 0x030d00f0 }, { 40, 0x278 },  { 64, 0x1c60 }, { 72, 0x40 },   { 152, 0x130 }, { 168, 0x8 },
		{ 176, 0x10 },     { 184, 0x48 },  { 208, 0xe8 },  { 224, 0x50 },  { 232, 0x8 },   { 240, 0x0 },
		{ 248, 0x38 },     { 264, 0x46 },  { 272, 0xd0 },  { 280, 0x70 },  { 288, 0x78 },  { 296, 0x80 },
		{ 304, 0x88 },     { 312, 0x44 },  { 344, 0xc8 },  { 352, 0x10 },  { 360, 0x8 },   { 368, 0x1a0 },
		{ 376, 0x18 },     { 512, 0x28 },  { 520, 0x10 },  { 528, 0x20 },  { 536, 0x40 },  { 544, 0x20 },
		{ 552, 0x10 },     { 560, 0x28 },
	};

	poke(RUNTIME, "xdebugpy", 8);
	for (size_t i = 0; i < sizeof fields / sizeof fields[0]; i++)
		poke64(RUNTIME + fields[i].at, fields[i].v);
	/* One interpreter (runtime + 0x278 -> INTERP, its threads at +0x40). */
	poke64(RUNTIME + 0x278, INTERP);
	poke64(INTERP + 0x40, TSTATE);
}

static struct py_known_types types;

/* The fake target: two functions, main() calling work(). */
static void setup(void)
{
	memset(space, 0, sizeof space);
	memset(&types, 0, sizeof types);
	reads = span_calls = 0;
	make_type(TYPE_CODE, NAMES, "code");
	make_type(TYPE_STR, NAMES + 8, "str");
	make_type(TYPE_BYTES, NAMES + 16, "bytes");
	make_code(0, "Worker.work", "/srv/app.py", 10);
	make_code(1, "main", "/srv/main.py", 1);
	make_frame(0, CODE(0), FRAME(1), 6, 0);
	make_frame(1, CODE(1), 0, 20, 0);
	poke64(TSTATE + 0x48, FRAME(0));
	make_debug_offsets();
	poke64(HOLDER, TSTATE);
}

static struct gil_location location(void)
{
	struct gil_location loc = { .py = { "3.13.0", 3, 13, false }, .runtime = RUNTIME, .ngils = 1 };

	loc.gils[0].last_holder = HOLDER;
	return loc;
}

static struct py_layout *layout(void)
{
	struct gil_location loc = location();
	struct gs_error err = { 0 };
	struct py_layout *l = NULL;

	ck_assert_msg(py_layout_for(&loc, &mem, &l, &err) == 0, "%s", err.msg);
	return l;
}

START_TEST(layout_from_debug_offsets)
{
	struct py_layout *l = layout();

	ck_assert_uint_eq(l->ts_frame, 0x48);
	ck_assert_uint_eq(l->f_instr, 0x38);
	ck_assert_uint_eq(l->co_code_adaptive, CO_ADAPTIVE);
	ck_assert_uint_eq(l->uni_ascii_size, 40);
	ck_assert_uint_eq(l->uni_compact_size, 56);
	ck_assert_int_eq(l->line_format, LINE_TABLE_LOCATION);
	py_layout_free(l);
}
END_TEST

/* Never a guess: no cookie, an unknown version, or frames whose code is
 * not of type "code" are refused with one line. */
START_TEST(layout_refused)
{
	struct gil_location loc = location();
	struct gs_error err = { 0 };
	struct py_layout *l = (struct py_layout *)1;

	poke(RUNTIME, "ydebugpy", 8);
	ck_assert_int_eq(py_layout_for(&loc, &mem, &l, &err), -1);
	ck_assert_ptr_null(l);
	ck_assert_str_eq(err.msg, "python stacks: no known layout for python 3.13.0");
	setup();
	loc.py.minor = 16;
	ck_assert_int_eq(py_layout_for(&loc, &mem, &l, &err), -1);
	setup();
	loc = location();
	make_type(TYPE_CODE, NAMES, "cod");
	ck_assert_int_eq(py_layout_for(&loc, &mem, &l, &err), -1);
	ck_assert_str_eq(err.msg, "python stacks: python 3.13.0 in the target does not match its expected layout");
	/* Nothing to check against: refused too, and said so. */
	setup();
	poke64(TSTATE + 0x48, 0);
	ck_assert_int_eq(py_layout_for(&loc, &mem, &l, &err), -1);
	ck_assert_str_eq(err.msg, "python stacks: no thread runs python code to check python 3.13.0's layout against");
}
END_TEST

START_TEST(str_ascii_and_truncated)
{
	struct py_layout *l = layout();
	char buf[16];

	make_ascii(STR(30), "hello");
	ck_assert_int_eq(py_read_str(l, &mem, STR(30), buf, sizeof buf), 5);
	ck_assert_str_eq(buf, "hello");
	ck_assert_int_eq(py_read_str(l, &mem, STR(30), buf, 3), 2);
	ck_assert_str_eq(buf, "he");
	py_layout_free(l);
}
END_TEST

/* Kinds 1, 2 and 4 as UTF-8; a lone surrogate as U+FFFD; a character
 * that does not fit whole is left out. */
START_TEST(str_kinds_as_utf8)
{
	struct py_layout *l = layout();
	static const uint32_t latin1[] = { 'h', 0xe9 }, ucs2[] = { 0x20ac, 0x20ac, 0x20ac }, ucs4[] = { 0x1f600 },
			      lone[] = { 0xd800 };
	char buf[16];

	make_str(STR(30), 1, false, latin1, 2);
	ck_assert_int_eq(py_read_str(l, &mem, STR(30), buf, sizeof buf), 3);
	ck_assert_str_eq(buf, "h\xc3\xa9");
	make_str(STR(30), 2, false, ucs2, 3);
	ck_assert_int_eq(py_read_str(l, &mem, STR(30), buf, sizeof buf), 9);
	ck_assert_str_eq(buf, "\xe2\x82\xac\xe2\x82\xac\xe2\x82\xac");
	ck_assert_int_eq(py_read_str(l, &mem, STR(30), buf, 6), 3);
	ck_assert_str_eq(buf, "\xe2\x82\xac");
	make_str(STR(30), 4, false, ucs4, 1);
	ck_assert_int_eq(py_read_str(l, &mem, STR(30), buf, sizeof buf), 4);
	ck_assert_str_eq(buf, "\xf0\x9f\x98\x80");
	make_str(STR(30), 2, false, lone, 1);
	ck_assert_int_eq(py_read_str(l, &mem, STR(30), buf, sizeof buf), 3);
	ck_assert_str_eq(buf, "\xef\xbf\xbd");
	py_layout_free(l);
}
END_TEST

START_TEST(str_refused)
{
	struct py_layout *l = layout();
	static const uint32_t wide[] = { 0x20ac };
	char buf[16];

	make_ascii(STR(30), "hello");
	poke32(STR(30) + 32, 1u << 2 | 1u << 6); /* not compact: legacy */
	ck_assert_int_eq(py_read_str(l, &mem, STR(30), buf, sizeof buf), -1);
	make_str(STR(30), 2, true, wide, 1); /* "ascii" of 2 bytes a character */
	ck_assert_int_eq(py_read_str(l, &mem, STR(30), buf, sizeof buf), -1);
	make_ascii(STR(30), "hello");
	poke64(STR(30) + 16, (uint64_t)-1);
	ck_assert_int_eq(py_read_str(l, &mem, STR(30), buf, sizeof buf), -1);
	ck_assert_int_eq(py_read_str(l, &mem, CODE(0), buf, sizeof buf), -1); /* not a str */
	ck_assert_int_eq(py_read_str(l, &mem, BASE + SIZE, buf, sizeof buf), -1);
	ck_assert_int_eq(py_read_str(l, &mem, STR(30) + 1, buf, sizeof buf), -1);
	py_layout_free(l);
}
END_TEST

START_TEST(stack_walk)
{
	struct py_layout *l = layout();
	struct py_stack st;

	/* work <- (C stack) <- main <- (pushed, not started) */
	make_frame(0, CODE(0), FRAME(1), 6, 0);
	make_frame(1, 0, FRAME(2), 0, 3);
	make_frame(2, CODE(1), FRAME(3), 20, 0);
	make_frame(3, CODE(1), 0, -2, 0);
	ck_assert_int_eq(py_stack_read(l, &mem, TSTATE, &st), 0);
	ck_assert_uint_eq(st.depth, 2);
	ck_assert(!st.truncated);
	ck_assert_uint_eq(st.frames[0].code, CODE(0));
	ck_assert_uint_eq(st.frames[0].offset, 6);
	ck_assert_uint_eq(st.frames[1].code, CODE(1));
	ck_assert_uint_eq(st.frames[1].offset, 20);
	/* No frame: no Python code running. */
	poke64(TSTATE + 0x48, 0);
	ck_assert_int_eq(py_stack_read(l, &mem, TSTATE, &st), 0);
	ck_assert_uint_eq(st.depth, 0);
	py_layout_free(l);
}
END_TEST

/* A chain that loops, leaves the address space or points to garbage is
 * torn; one deeper than PY_STACK_MAX is cut there. */
START_TEST(stack_torn_and_truncated)
{
	struct py_layout *l = layout();
	struct py_stack st;

	make_frame(1, CODE(1), FRAME(0), 20, 0);
	ck_assert_int_eq(py_stack_read(l, &mem, TSTATE, &st), -1);
	make_frame(1, CODE(1), BASE + SIZE + 0x1000, 20, 0);
	ck_assert_int_eq(py_stack_read(l, &mem, TSTATE, &st), -1);
	make_frame(1, CODE(1) + 3, 0, 20, 0);
	ck_assert_int_eq(py_stack_read(l, &mem, TSTATE, &st), -1);
	make_frame(1, CODE(1), 0, 1 << 25, 0);
	ck_assert_int_eq(py_stack_read(l, &mem, TSTATE, &st), -1);
	for (int i = 0; i < 80; i++)
		make_frame(i, CODE(0), i < 79 ? FRAME(i + 1) : 0, 2 * i, 0);
	ck_assert_int_eq(py_stack_read(l, &mem, TSTATE, &st), 0);
	ck_assert_uint_eq(st.depth, PY_STACK_MAX);
	ck_assert(st.truncated);
	py_layout_free(l);
}
END_TEST

START_TEST(code_cached_and_checked)
{
	struct py_layout *l = layout();
	struct py_code_cache *c = py_code_cache_new();
	const struct py_code_info *ci;

	ci = py_code_lookup(c, l, &mem, CODE(0));
	ck_assert_ptr_nonnull(ci);
	ck_assert_str_eq(ci->function, "Worker.work");
	ck_assert_str_eq(ci->file, "/srv/app.py");
	ck_assert_int_eq(ci->first_line, 10);
	ck_assert_uint_eq(ci->line_table_len, 2);
	/* Cached: one read (the fingerprint), no string read. */
	reads = 0;
	ci = py_code_lookup(c, l, &mem, CODE(0));
	ck_assert_int_eq(reads, 1);
	ck_assert_str_eq(ci->file, "/srv/app.py");
	/* Another code object at the same address: read again. */
	make_ascii(STR(31), "/srv/other.py");
	poke64(CODE(0) + 0x70, STR(31));
	ci = py_code_lookup(c, l, &mem, CODE(0));
	ck_assert_str_eq(ci->file, "/srv/other.py");
	/* Not a code object. */
	ck_assert_ptr_null(py_code_lookup(c, l, &mem, STR(0)));
	ck_assert_ptr_null(py_code_lookup(c, l, &mem, CODE(0) + 4));
	py_code_cache_free(c);
	py_layout_free(l);
}
END_TEST

/* A whole stack's cached code objects: checked in one span read. */
START_TEST(code_lookup_stack_batched)
{
	struct py_layout *l = layout();
	struct py_code_cache *c = py_code_cache_new();
	const struct py_code_info *out[PY_STACK_MAX];
	struct py_stack st;

	py_code_cache_use_spans(c, fake_spans, NULL);
	for (int i = 0; i < 30; i++)
		make_frame(i, CODE(i % 2), i < 29 ? FRAME(i + 1) : 0, 2 * i, 0);
	ck_assert_int_eq(py_stack_read(l, &mem, TSTATE, &st), 0);
	ck_assert_int_eq(py_code_lookup_stack(c, l, &mem, &st, out), 30);
	reads = span_calls = 0;
	ck_assert_int_eq(py_code_lookup_stack(c, l, &mem, &st, out), 30);
	ck_assert_int_eq(span_calls, 1);
	ck_assert_int_eq(reads, 0);
	ck_assert_str_eq(out[0]->function, "Worker.work");
	ck_assert_str_eq(out[29]->function, "main");
	/* The fake line table covers one instruction only. */
	ck_assert_int_eq(py_frame_line(l, out[29], st.frames[29].offset), 0);
	py_code_cache_retire(c);
	ck_assert_int_eq(py_code_lookup_stack(c, l, &mem, &st, out), 30);
	py_code_cache_free(c);
	py_layout_free(l);
}
END_TEST

/* Field by field: a frame's padding is whatever the stack held. */
static void assert_same_frames(const struct py_stack *a, const struct py_stack *b)
{
	ck_assert_uint_eq(a->depth, b->depth);
	for (uint32_t i = 0; i < a->depth; i++) {
		ck_assert_uint_eq(a->frames[i].code, b->frames[i].code);
		ck_assert_uint_eq(a->frames[i].offset, b->frames[i].offset);
	}
}

/* Last time's frames read in one call: an unchanged stack of 30 frames
 * on the heap costs the thread state and that call; a changed one reads
 * what changed, and the same. */
START_TEST(stack_hinted)
{
	struct py_layout *l = layout();
	struct py_stack_hints *h = py_stack_hints_new(fake_spans, NULL);
	struct py_stack st, plain;

	for (int i = 0; i < 30; i++)
		make_frame(i, CODE(i % 2), i < 29 ? FRAME(i + 1) : 0, 2 * i, 0);
	ck_assert_int_eq(py_stack_read_hinted(h, l, &mem, TSTATE, &st), 0);
	reads = span_calls = 0;
	ck_assert_int_eq(py_stack_read_hinted(h, l, &mem, TSTATE, &st), 0);
	ck_assert_int_eq(reads, 1);
	ck_assert_int_eq(span_calls, 1);
	ck_assert_uint_eq(st.depth, 30);
	/* A new innermost frame: read on its own, the rest from the hints. */
	make_frame(30, CODE(1), FRAME(0), 8, 0);
	poke64(TSTATE + 0x48, FRAME(30));
	reads = span_calls = 0;
	ck_assert_int_eq(py_stack_read_hinted(h, l, &mem, TSTATE, &st), 0);
	ck_assert_int_eq(reads, 2);
	ck_assert_int_eq(py_stack_read(l, &mem, TSTATE, &plain), 0);
	ck_assert_uint_eq(st.depth, 31);
	assert_same_frames(&st, &plain);
	/* A hinted frame now part of a cycle: torn all the same. */
	make_frame(29, CODE(1), FRAME(30), 8, 0);
	ck_assert_int_eq(py_stack_read_hinted(h, l, &mem, TSTATE, &st), -1);
	py_stack_hints_free(h);
	py_layout_free(l);
}
END_TEST

/* Several thread states at once: the same stacks as one by one, the
 * thread states in one call with the word asked for, one that does not
 * read torn alone. */
START_TEST(stacks_batched)
{
	struct py_layout *l = layout();
	struct py_stack_hints *h = py_stack_hints_new(fake_spans, NULL);
	uint64_t ts[4] = { TSTATE, TSTATE + 0x200, BASE + SIZE + 0x1000, TSTATE + 0x400 }, words[4];
	struct py_stack st[4], plain;
	int rc[4];

	poke64(TSTATE + 0x200 + 0x48, FRAME(1));
	poke64(TSTATE + 0x400 + 0x48, 0);
	for (int i = 0; i < 4; i++)
		if (i != 2)
			poke64(ts[i] + 0x90, 1000 + (uint64_t)i);
	reads = span_calls = 0;
	ck_assert_int_eq(py_stacks_read(h, l, &mem, ts, 4, 0x90, words, st, rc), 0);
	/* The thread states in one call, and one more past the one that
	 * does not read; 3.13's frames here are not in a data stack chunk:
	 * read one by one (3 frames). */
	ck_assert_int_eq(span_calls, 2);
	ck_assert_int_eq(reads, 3);
	ck_assert_int_eq(rc[0], 0);
	ck_assert_int_eq(rc[1], 0);
	ck_assert_int_eq(rc[2], -1);
	ck_assert_int_eq(rc[3], 0);
	ck_assert_uint_eq(words[0], 1000);
	ck_assert_uint_eq(words[3], 1003);
	for (int i = 0; i < 4; i++) {
		if (i == 2)
			continue;
		ck_assert_int_eq(py_stack_read(l, &mem, ts[i], &plain), 0);
		ck_assert_uint_eq(st[i].depth, plain.depth);
		assert_same_frames(&st[i], &plain);
	}
	ck_assert_uint_eq(st[0].depth, 2);
	ck_assert_uint_eq(st[1].depth, 1);
	ck_assert_uint_eq(st[3].depth, 0);
	ck_assert_int_eq(py_stacks_read(h, l, &mem, ts, PY_STACKS_BATCH + 1, 0, words, st, rc), -1);
	py_stack_hints_free(h);
	py_layout_free(l);
}
END_TEST

/* Code objects of several stacks: each once, in one call. */
START_TEST(code_lookup_stacks_shared)
{
	struct py_layout *l = layout();
	struct py_code_cache *c = py_code_cache_new();
	const struct py_code_info *out[2][PY_STACK_MAX];
	struct py_stack st[2];

	py_code_cache_use_spans(c, fake_spans, NULL);
	ck_assert_int_eq(py_stack_read(l, &mem, TSTATE, &st[0]), 0);
	st[1] = st[0];
	st[1].frames[0].code = CODE(1);
	ck_assert_int_eq(py_code_lookup_stacks(c, l, &mem, st, 2, out), 4);
	reads = span_calls = 0;
	ck_assert_int_eq(py_code_lookup_stacks(c, l, &mem, st, 2, out), 4);
	ck_assert_int_eq(span_calls, 1);
	ck_assert_int_eq(reads, 0);
	ck_assert_str_eq(out[0][0]->function, "Worker.work");
	ck_assert_str_eq(out[1][0]->function, "main");
	ck_assert_ptr_eq(out[0][1], out[1][1]);
	py_code_cache_free(c);
	py_layout_free(l);
}
END_TEST

START_TEST(thread_states_listed)
{
	struct py_layout *l = layout();
	uint64_t out[8];

	poke64(TSTATE + 8, TSTATE + 0x200);
	ck_assert_int_eq(py_thread_states(l, &mem, RUNTIME, 0, out, 8), 2);
	ck_assert_uint_eq(out[0], TSTATE);
	ck_assert_uint_eq(out[1], TSTATE + 0x200);
	poke64(TSTATE + 0x200 + 8, TSTATE); /* a cycle */
	ck_assert_int_eq(py_thread_states(l, &mem, RUNTIME, 0, out, 8), -1);
	py_layout_free(l);
}
END_TEST

Suite *py_stack_suite(void)
{
	Suite *s = suite_create("py_stack");
	TCase *tc = tcase_create("py_stack");

	tcase_add_checked_fixture(tc, setup, NULL);
	tcase_add_test(tc, layout_from_debug_offsets);
	tcase_add_test(tc, layout_refused);
	tcase_add_test(tc, str_ascii_and_truncated);
	tcase_add_test(tc, str_kinds_as_utf8);
	tcase_add_test(tc, str_refused);
	tcase_add_test(tc, stack_walk);
	tcase_add_test(tc, stack_torn_and_truncated);
	tcase_add_test(tc, code_cached_and_checked);
	tcase_add_test(tc, code_lookup_stack_batched);
	tcase_add_test(tc, stack_hinted);
	tcase_add_test(tc, stacks_batched);
	tcase_add_test(tc, code_lookup_stacks_shared);
	tcase_add_test(tc, thread_states_listed);
	suite_add_tcase(s, tc);
	return s;
}
