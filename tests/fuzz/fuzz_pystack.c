/* libFuzzer target: the Python stack reader over a hostile address space.
 * The input is the target's memory (at BASE) after an 8-byte header: the
 * version to read it as, the thread state, a str's address. Whatever the
 * bytes, every read stays inside the space, walks end, nothing leaks. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "tool/python/py_stack.h"

#define BASE 0x10000ull
#define HEADER 8
#define MAX_SPACE 65536

struct space {
	const uint8_t *bytes;
	size_t len;
};

static int space_read(void *ctx, uint64_t addr, void *buf, size_t len)
{
	const struct space *s = ctx;

	if (addr < BASE || addr - BASE > s->len || len > s->len - (addr - BASE))
		return -1;
	memcpy(buf, s->bytes + (addr - BASE), len);
	return 0;
}

static size_t space_spans(void *ctx, const struct mem_span *spans, size_t n)
{
	size_t i;

	for (i = 0; i < n && space_read(ctx, spans[i].addr, spans[i].buf, spans[i].len) == 0; i++)
		;
	return i;
}

static uint64_t address(const struct space *s, const uint8_t *at)
{
	return BASE + ((uint64_t)(at[0] | at[1] << 8) % (s->len + 1) & ~(uint64_t)7);
}

/* The thread states the header names, as one batch, with a word. */
static void read_batch(struct py_stack_hints *hints, const struct py_layout *l, const struct mem_reader *mem,
		       const struct space *s, struct py_code_cache *cache, const uint8_t *head)
{
	static const struct py_code_info *codes[3][PY_STACK_MAX];
	uint64_t tstates[3], words[3];
	struct py_stack st[3];
	int rc[3];

	for (int i = 0; i < 3; i++)
		tstates[i] = address(s, head + 2 + 2 * i);
	if (!hints || py_stacks_read(hints, l, mem, tstates, 3, head[7] & 0xf8, words, st, rc) != 0)
		return;
	for (int i = 0; i < 3; i++)
		if (rc[i] != 0)
			st[i].depth = 0;
	py_code_lookup_stacks(cache, l, mem, st, 3, codes);
}

static void read_all(const struct py_layout *l, const struct mem_reader *mem, const struct space *s,
		     const uint8_t *head)
{
	const struct py_code_info *code[PY_STACK_MAX];
	struct py_code_cache *cache = py_code_cache_new();
	struct py_stack_hints *hints = py_stack_hints_new(space_spans, (void *)(uintptr_t)s);
	uint64_t tstates[16];
	struct py_stack st;
	char buf[64];

	if (!cache) {
		py_stack_hints_free(hints);
		return;
	}
	py_code_cache_use_spans(cache, space_spans, (void *)(uintptr_t)s);
	if (py_stack_read(l, mem, address(s, head + 2), &st) == 0 &&
	    py_code_lookup_stack(cache, l, mem, &st, code) >= 0)
		for (uint32_t i = 0; i < st.depth; i++)
			py_frame_line(l, code[i], st.frames[i].offset);
	/* Twice with hints: the second read takes last time's frames. */
	for (int i = 0; hints && i < 2; i++)
		py_stack_read_hinted(hints, l, mem, address(s, head + 2 + 2 * i), &st);
	read_batch(hints, l, mem, s, cache, head);
	py_stack_hints_free(hints);
	py_read_str(l, mem, address(s, head + 4), buf, 1 + head[6] % sizeof buf);
	py_thread_states(l, mem, BASE, address(s, head + 2), tstates, 16);
	py_code_cache_free(cache);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size); /* libFuzzer's entry */
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const int minors[] = { 7, 6, 8, 10, 11, 12, 13, 14, 15 };
	struct space s = { data + HEADER, size - HEADER };
	struct mem_reader mem = { space_read, &s };
	struct gil_location loc = { .runtime = BASE, .ngils = 1 };
	struct gs_error err;
	struct py_layout *l;
	int minor;

	if (size < HEADER || size - HEADER > MAX_SPACE)
		return 0;
	minor = minors[data[0] % (sizeof minors / sizeof minors[0])];
	loc.py = (struct python_info){ "fuzz", minor == 7 && data[0] % 9 == 0 ? 2 : 3, minor, data[1] & 1 };
	loc.gils[0].last_holder = address(&s, data + 2);
	loc.interp_head = address(&s, data + 4);
	/* The checks py_layout_for makes run over hostile memory too. */
	if (py_layout_for(&loc, &mem, &l, &err) == 0)
		py_layout_free(l);
	if ((l = py_layout_unchecked(&loc, &mem))) {
		read_all(l, &mem, &s, data);
		py_layout_free(l);
	}
	return 0;
}
