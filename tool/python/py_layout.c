#include "config.h"

#include "tool/python/py_stack.h"

#include <stdlib.h>
#include <string.h>

/* Per-version offsets before 3.13, x86_64, read with gdb (ptype/o) from
 * pyenv's builds with DWARF: 2.7.18, 3.6.15, 3.7.16, 3.8.18, 3.9.18,
 * 3.10.13, 3.11.7, 3.12.1. Debian's stripped 3.11.2 has 3.11.7's layout
 * (checked at run time like every target). */
struct version_table {
	int major, minor;
	uint16_t ts_next, ts_interp, ts_frame;
	int16_t ts_cframe;
	uint16_t rt_interp_head, is_tstate_head;
	uint16_t f_back, f_code, f_instr;
	int16_t f_owner;
	uint16_t co_filename, co_name, co_firstlineno, co_linetable, co_code_adaptive;
	int16_t co_qualname;
	uint16_t uni_ascii_size, uni_compact_size;
	uint16_t ts_chunk;
};

static const struct version_table versions[] = {
	{ 2, 7, 0, 8, 16, -1, 0, 8, 24, 32, 120, -1, 80, 88, 96, 104, 0, -1, 0, 0, 0 },
	{ 3, 6, 8, 16, 24, -1, 0, 8, 24, 32, 120, -1, 96, 104, 36, 112, 0, -1, 48, 72, 0 },
	{ 3, 7, 8, 16, 24, -1, 24, 8, 24, 32, 104, -1, 96, 104, 36, 112, 0, -1, 48, 72, 0 },
	{ 3, 8, 8, 16, 24, -1, 32, 8, 24, 32, 104, -1, 104, 112, 40, 120, 0, -1, 48, 72, 0 },
	{ 3, 9, 8, 16, 24, -1, 32, 8, 24, 32, 104, -1, 104, 112, 40, 120, 0, -1, 48, 72, 0 },
	{ 3, 10, 8, 16, 24, -1, 32, 8, 24, 32, 96, -1, 104, 112, 40, 120, 0, -1, 48, 72, 0 },
	/* 3.11: tstate->cframe->current_frame; _PyInterpreterFrame {f_code
	 * 32, previous 48, prev_instr 56, owner 69}. */
	{ 3, 11, 8, 16, 56, 8, 40, 16, 48, 32, 56, 69, 112, 120, 72, 136, 184, 128, 48, 72, 296 },
	/* 3.12: {f_code 0, previous 8, prev_instr 56, owner 70}. */
	{ 3, 12, 8, 16, 56, 0, 40, 72, 8, 0, 56, 70, 112, 120, 68, 136, 192, 128, 40, 56, 232 },
};

/* From 3.13, where the fields gilstats reads are inside _Py_DebugOffsets
 * (every one a u64), per minor version: 3.14 inserted fields in the
 * interpreter state (threads_main, ...), the frame (stackpointer,
 * tlbc_index), the code object (co_tlbc) and a set_object block.
 * Checked on pyenv's 3.13.0 (DWARF), trixie's 3.13.5, sid's 3.14.10. */
struct debug_table {
	int minor;
	uint32_t first_hex; /* pre-releases before had other layouts */
	uint16_t interpreters_head, interp_next, threads_head;
	uint16_t ts_size, ts_next, ts_interp, ts_current_frame, ts_chunk;
	uint16_t fr_size, fr_previous, fr_executable, fr_instr_ptr, fr_owner;
	uint16_t co_size, co_filename, co_name, co_qualname, co_linetable, co_firstlineno, co_code_adaptive;
	uint16_t ob_size, ob_type, ty_size, tp_name;
	uint16_t by_size, by_ob_size, by_sval;
	uint16_t un_size, un_state, un_length, un_ascii_size;
};

static const struct debug_table debug_tables[] = {
	{ 13, 0x030d00c2, 40, 64, 72, 152, 168, 176, 184, 208, 224, 232, 240, 248, 264, 272, 280, 288, 296, 304, 312, 344, 352, 360,
	  368, 376, 512, 520, 528, 536, 544, 552, 560 },
	{ 14, 0x030e00b2, 40, 64, 72, 176, 192, 200, 208, 232, 248, 256, 264, 272, 288, 312, 320, 328, 336, 344, 352, 384, 400, 408,
	  416, 424, 592, 600, 608, 616, 624, 632, 640 },
	/* 3.15: thread_state gained base_frame, last_profiled_frame and a
	 * third frame pointer before thread_id, and holds_gil, gil_requested
	 * and more after status; the type object, tuple (ob_hash) grew. Read
	 * from Debian sid's 3.15.2 (_PyRuntime in its executable). */
	{ 15, 0x030f00f0, 40, 64, 72, 176, 192, 200, 208, 256, 312, 320, 328, 336, 352, 376, 384, 392, 400, 408, 416,
	  448, 464, 472, 480, 488, 688, 696, 704, 712, 720, 728, 736 },
};

#define DEBUG_READ 1024
#define LAYOUT_TRIES 20
#define LAYOUT_MAX_THREADS 256

static void from_version_table(struct py_layout *l, const struct version_table *v)
{
	l->ob_type = 8;
	l->tp_name = 24;
	l->ob_size = 16;
	l->str_is_bytes = v->major == 2;
	l->str_sval = l->bytes_sval = v->major == 2 ? 36 : 32;
	l->uni_length = 16;
	l->uni_state = 32;
	l->uni_ascii_size = v->uni_ascii_size;
	l->uni_compact_size = v->uni_compact_size;
	l->uni_kind_shift = 2;
	l->rt_interp_head = v->rt_interp_head;
	l->is_next = 0;
	l->is_tstate_head = v->is_tstate_head;
	l->ts_next = v->ts_next;
	l->ts_interp = v->ts_interp;
	l->ts_frame = v->ts_frame;
	l->ts_cframe = v->ts_cframe;
	l->f_back = v->f_back;
	l->f_code = v->f_code;
	l->f_instr = v->f_instr;
	l->f_owner = v->f_owner;
	l->owner_cstack = v->minor >= 12 ? 3 : 0xff; /* 3.11 has no C-stack frames */
	l->frame_typed = v->major == 2 || v->minor <= 10;
	l->instr_kind = l->frame_typed ? (v->minor == 10 ? PY_INSTR_LASTI_UNITS : PY_INSTR_LASTI_BYTES) : PY_INSTR_POINTER;
	l->frame_read = l->frame_typed ? v->f_instr + 4u : 72u;
	l->co_filename = v->co_filename;
	l->co_name = v->co_name;
	l->co_qualname = v->co_qualname;
	l->co_firstlineno = v->co_firstlineno;
	l->co_linetable = v->co_linetable;
	l->co_code_adaptive = v->co_code_adaptive;
	l->ts_chunk = v->ts_chunk;
}

static uint32_t max_u32(uint32_t a, uint32_t b)
{
	return a > b ? a : b;
}

static uint64_t u64_at(const unsigned char *dbg, uint16_t off)
{
	uint64_t v;

	memcpy(&v, dbg + off, sizeof v);
	return v;
}

/* Offsets from the target's own _Py_DebugOffsets, each checked to lie
 * inside the object it is an offset in: a wrong table is refused. */
static int from_debug_offsets(struct py_layout *l, const struct debug_table *t, const unsigned char *dbg)
{
	uint64_t ts_size = u64_at(dbg, t->ts_size), fr_size = u64_at(dbg, t->fr_size);
	uint64_t co_size = u64_at(dbg, t->co_size), ob_size = u64_at(dbg, t->ob_size);
	uint64_t ty_size = u64_at(dbg, t->ty_size), by_size = u64_at(dbg, t->by_size);
	uint64_t un_size = u64_at(dbg, t->un_size);
	uint64_t v;

	if (ts_size > 0x4000 || fr_size > 0x100 || co_size > 0x400 || ob_size < 16 || ob_size > 64 ||
	    ty_size > 0x800 || by_size > 0x100 || un_size > 0x100)
		return -1;
#define FIELD(dst, off, limit)                     \
	do {                                       \
		v = u64_at(dbg, off);              \
		if (v > (limit) || (limit) - v < 8) \
			return -1;                 \
		(dst) = (__typeof__(dst))v;        \
	} while (0)
	FIELD(l->ts_next, t->ts_next, ts_size);
	FIELD(l->ts_interp, t->ts_interp, ts_size);
	FIELD(l->ts_frame, t->ts_current_frame, ts_size);
	FIELD(l->ts_chunk, t->ts_chunk, ts_size);
	FIELD(l->f_back, t->fr_previous, fr_size);
	FIELD(l->f_code, t->fr_executable, fr_size);
	FIELD(l->f_instr, t->fr_instr_ptr, fr_size);
	FIELD(l->f_owner, t->fr_owner, fr_size);
	FIELD(l->co_filename, t->co_filename, co_size);
	FIELD(l->co_name, t->co_name, co_size);
	FIELD(l->co_qualname, t->co_qualname, co_size);
	FIELD(l->co_linetable, t->co_linetable, co_size);
	FIELD(l->co_firstlineno, t->co_firstlineno, co_size);
	FIELD(l->co_code_adaptive, t->co_code_adaptive, co_size + 8);
	FIELD(l->ob_type, t->ob_type, ob_size);
	FIELD(l->tp_name, t->tp_name, ty_size);
	FIELD(l->ob_size, t->by_ob_size, by_size);
	FIELD(l->bytes_sval, t->by_sval, by_size + 8);
	FIELD(l->uni_state, t->un_state, un_size);
	FIELD(l->uni_length, t->un_length, un_size);
	FIELD(l->uni_ascii_size, t->un_ascii_size, un_size + 8);
	FIELD(l->rt_interp_head, t->interpreters_head, 0x100000);
	FIELD(l->is_next, t->interp_next, 0x100000);
	FIELD(l->is_tstate_head, t->threads_head, 0x100000);
#undef FIELD
	/* One read per frame: up to the last field used. */
	l->frame_read = max_u32(max_u32(l->f_back, l->f_code), l->f_instr) + 8;
	l->frame_read = max_u32(l->frame_read, (uint32_t)l->f_owner + 1);
	/* Compact non-ASCII data follows utf8_length and utf8 (no wstr since 3.12). */
	l->uni_compact_size = l->uni_ascii_size + 16;
	return 0;
}

static int layout_from_debug(struct py_layout *l, const struct gil_location *loc, const struct mem_reader *mem)
{
	unsigned char dbg[DEBUG_READ];
	uint64_t version, free_threaded;
	size_t i;

	for (i = 0; i < sizeof debug_tables / sizeof debug_tables[0]; i++)
		if (debug_tables[i].minor == loc->py.minor)
			break;
	if (i == sizeof debug_tables / sizeof debug_tables[0] || !loc->runtime ||
	    mem->read(mem->ctx, loc->runtime, dbg, sizeof dbg) != 0 || memcmp(dbg, "xdebugpy", 8) != 0)
		return -1;
	version = u64_at(dbg, 8);
	free_threaded = u64_at(dbg, 16);
	if ((version >> 16) != (uint64_t)(0x0300 | loc->py.minor) || version < debug_tables[i].first_hex ||
	    from_debug_offsets(l, &debug_tables[i], dbg) != 0)
		return -1;
	l->free_threaded = free_threaded != 0;
	l->str_is_bytes = false;
	/* Free-threaded 3.14+ make "interned" a byte of its own: the
	 * bit-fields after it start at bit 8 (3.13t: still 2 bits, checked). */
	l->uni_kind_shift = l->free_threaded && loc->py.minor >= 14 ? 8 : 2;
	l->ts_cframe = -1;
	l->owner_cstack = 3; /* C stack (3.13), interpreter and C stack (3.14+) */
	l->frame_typed = false;
	l->instr_kind = PY_INSTR_POINTER;
	l->f_code_tagged = loc->py.minor >= 14;
	return 0;
}

/* Every field a reader takes from an object's first bytes lies inside
 * them, and those bytes fit the readers' buffers: whatever a target's
 * debug offsets say, no read goes past what was read. */
static bool layout_sane(const struct py_layout *l)
{
	uint32_t str_head = l->str_is_bytes ? l->str_sval : l->uni_ascii_size;

	return str_head <= 128 && l->ob_type + 8 <= str_head && l->bytes_sval <= 64 && l->ob_type + 8 <= l->bytes_sval &&
	       l->ob_size + 8 <= l->bytes_sval && (l->str_is_bytes || (l->uni_length + 8 <= str_head &&
	       l->uni_state + 4 <= str_head && l->uni_compact_size <= 128)) &&
	       l->frame_read <= 512 && (!l->frame_typed || l->ob_type + 8 <= l->frame_read) &&
	       l->code_read <= 512 && l->ts_frame < 4096 && l->ts_chunk < 4096;
}

static int layout_fill(struct py_layout *l, const struct gil_location *loc, const struct mem_reader *mem)
{
	l->major = loc->py.major;
	l->minor = loc->py.minor;
	l->line_format = line_table_format_of(l->major, l->minor);
	if (l->major == 3 && l->minor >= 13) {
		if (layout_from_debug(l, loc, mem) != 0)
			return -1;
	} else {
		size_t i;
		for (i = 0; i < sizeof versions / sizeof versions[0]; i++)
			if (versions[i].major == l->major && versions[i].minor == l->minor)
				break;
		if (i == sizeof versions / sizeof versions[0])
			return -1;
		from_version_table(l, &versions[i]);
	}
	l->code_read = max_u32(max_u32(l->co_filename, l->co_name), max_u32(l->co_linetable, l->co_firstlineno)) + 8;
	if (l->co_qualname >= 0)
		l->code_read = max_u32(l->code_read, (uint32_t)l->co_qualname + 8);
	l->code_read = max_u32(l->code_read, l->ob_type + 8);
	return layout_sane(l) ? 0 : -1;
}

uint64_t py_some_tstate(const struct py_layout *l, const struct gil_location *loc, const struct mem_reader *mem)
{
	uint64_t tstate = 0, interp = 0, head = loc->interp_head;

	if (loc->ngils && loc->gils[0].last_holder &&
	    mem->read(mem->ctx, loc->gils[0].last_holder, &tstate, sizeof tstate) == 0 && tstate)
		return tstate;
	if (loc->runtime && l->rt_interp_head)
		head = loc->runtime + l->rt_interp_head;
	if (head && mem->read(mem->ctx, head, &interp, sizeof interp) == 0 && interp &&
	    mem->read(mem->ctx, interp + l->is_tstate_head, &tstate, sizeof tstate) == 0)
		return tstate;
	return 0;
}

enum layout_check { CHECK_OK, CHECK_NOTHING, CHECK_MISMATCH };

/* The layout holds when a thread's whole stack reads: every frame's code
 * object is of type "code" and names a file. A thread running no Python
 * code says nothing either way. */
static enum layout_check thread_checks(const struct py_layout *l, const struct mem_reader *mem,
				       struct py_code_cache *cache, uint64_t tstate)
{
	struct py_stack st;

	if (py_stack_read(l, mem, tstate, &st) != 0)
		return CHECK_MISMATCH;
	if (st.depth == 0)
		return CHECK_NOTHING;
	for (uint32_t i = 0; i < st.depth; i++) {
		const struct py_code_info *ci = py_code_lookup(cache, l, mem, st.frames[i].code);
		if (!ci || !ci->file[0] || !ci->function[0])
			return CHECK_MISMATCH;
	}
	return CHECK_OK;
}

/* One good thread is enough; a torn one (it moved under us) is tried
 * again, and only a layout that never reads is a mismatch. */
static enum layout_check layout_checks(const struct py_layout *l, const struct gil_location *loc,
				       const struct mem_reader *mem)
{
	uint64_t tstates[LAYOUT_MAX_THREADS];
	struct py_code_cache *cache = py_code_cache_new();
	enum layout_check got = CHECK_NOTHING;

	if (!cache)
		return CHECK_NOTHING;
	for (int tries = 0; tries < LAYOUT_TRIES && got != CHECK_OK; tries++) {
		uint64_t start = py_some_tstate(l, loc, mem);
		ssize_t n = start ? py_thread_states(l, mem, loc->runtime, start, tstates, LAYOUT_MAX_THREADS) : 0;
		if (n < 0)
			got = CHECK_MISMATCH;
		for (ssize_t i = 0; i < n && got != CHECK_OK; i++) {
			enum layout_check one = thread_checks(l, mem, cache, tstates[i]);
			got = one == CHECK_NOTHING ? got : one;
		}
	}
	py_code_cache_free(cache);
	return got;
}

struct py_layout *py_layout_unchecked(const struct gil_location *loc, const struct mem_reader *mem)
{
	struct py_layout *l = calloc(1, sizeof *l + sizeof *l->types);

	if (!l)
		return NULL;
	l->types = (struct py_known_types *)(l + 1);
	if (layout_fill(l, loc, mem) != 0) {
		py_layout_free(l);
		return NULL;
	}
	return l;
}

int py_layout_for(const struct gil_location *loc, const struct mem_reader *mem, struct py_layout **out,
		  struct gs_error *err)
{
	struct py_layout *l = py_layout_unchecked(loc, mem);
	enum layout_check check;

	*out = NULL;
	if (!l)
		return gs_fail(err, GS_EXIT_NOT_PYTHON, "python stacks: no known layout for python %s",
			       loc->py.version);
	if ((check = layout_checks(l, loc, mem)) != CHECK_OK) {
		py_layout_free(l);
		if (check == CHECK_NOTHING)
			return gs_fail(err, GS_EXIT_NOT_PYTHON,
				       "python stacks: no thread runs python code to check python %s's layout against",
				       loc->py.version);
		return gs_fail(err, GS_EXIT_NOT_PYTHON,
			       "python stacks: python %s in the target does not match its expected layout",
			       loc->py.version);
	}
	*out = l;
	return 0;
}

void py_layout_free(struct py_layout *l)
{
	free(l);
}
