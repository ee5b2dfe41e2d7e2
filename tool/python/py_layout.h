/* The offsets of one CPython version's objects (x86_64), as py_layout_for
 * found and checked them in the target: per-version tables before 3.13,
 * _Py_DebugOffsets from 3.13. Every offset is in bytes from the start of
 * its object. Readers of other objects (thread names: dicts, modules) add
 * their own fields here. */
#ifndef GILSTATS_PY_LAYOUT_H
#define GILSTATS_PY_LAYOUT_H

#include <stdbool.h>
#include <stdint.h>

#include "tool/python/line_table.h"

/* How a frame names its current instruction. */
enum py_instr_kind {
	PY_INSTR_LASTI_BYTES, /* int f_lasti, a byte offset (2.7, 3.6-3.9) */
	PY_INSTR_LASTI_UNITS, /* int f_lasti, in 2-byte code units (3.10) */
	PY_INSTR_POINTER,     /* a pointer into co_code_adaptive (3.11+) */
};

/* Type objects already checked by name: they are static in the
 * interpreter and never move, so a match by address is enough after. */
struct py_known_types {
	uint64_t code, str, bytes, frame;
};

struct py_layout {
	int major, minor;
	bool free_threaded;

	/* Every object: its type; a type: its C name; a PyVarObject: ob_size. */
	uint32_t ob_type, tp_name, ob_size;

	/* str: 2.7's PyStringObject (ob_sval), else PyUnicode (compact:
	 * ASCII data after the PyASCIIObject, others after the
	 * PyCompactUnicodeObject). Bits of state: kind at kind_shift (3
	 * bits), compact and ascii above it. */
	bool str_is_bytes;
	uint32_t str_sval;
	uint32_t uni_length, uni_state, uni_ascii_size, uni_compact_size;
	uint8_t uni_kind_shift;
	/* bytes (2.7: str): ob_size at ob_size, data at bytes_sval. */
	uint32_t bytes_sval;

	/* Interpreters and threads: _PyRuntime.interpreters.head (3.7+, 0 if
	 * unknown), interp->next, the interpreter's first thread state,
	 * tstate->next, tstate->interp. */
	uint32_t rt_interp_head, is_next, is_tstate_head, ts_next, ts_interp;

	/* A thread state's current frame: tstate->frame (<= 3.10),
	 * tstate->cframe->current_frame (3.11, 3.12: ts_cframe >= 0) or
	 * tstate->current_frame (3.13+). */
	uint32_t ts_frame;
	int32_t ts_cframe;
	/* 3.11+: tstate->datastack_chunk, where the thread's frames are laid
	 * out one after the other (0: unknown): read at once. */
	uint32_t ts_chunk;

	/* A frame: PyFrameObject (<= 3.10, a typed object) or
	 * _PyInterpreterFrame (3.11+). f_owner < 0: none; frames owned by
	 * the C stack (owner_cstack) are the interpreter's, not code's. */
	uint32_t frame_read; /* bytes to read per frame (covers every field) */
	uint32_t f_back, f_code, f_instr;
	int32_t f_owner;
	uint8_t owner_cstack;
	enum py_instr_kind instr_kind;
	bool f_code_tagged; /* 3.14+: f_executable is a _PyStackRef */
	bool frame_typed;   /* a PyFrameObject with ob_type */

	/* A code object: co_qualname < 0 before 3.11; co_code_adaptive 0
	 * before 3.11. code_read: bytes to read to cover every field. */
	uint32_t co_filename, co_name, co_firstlineno, co_linetable, co_code_adaptive, code_read;
	int32_t co_qualname;
	enum line_table_format line_format;

	/* Checked types, learned as they are met (not part of the layout's
	 * meaning: a cache, hence mutable behind a const layout). */
	struct py_known_types *types;
};

#endif
