/* Reading Python state out of a live CPython's memory: the layout of its
 * objects for the target's version, its strings, the frames of a thread
 * state and what a code object names (function, file, line). Pure logic
 * over a mem_reader: the target is not stopped, so every pointer and type
 * is checked and a walk that fails a check is "torn", never guessed. */
#ifndef GILSTATS_PY_STACK_H
#define GILSTATS_PY_STACK_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "tool/util/error.h"
#include "tool/inspect/gil_locate.h"
#include "tool/python/line_table.h"
#include "tool/python/py_layout.h"
#include "tool/inspect/target.h"

#define PY_STACK_MAX 64

/* Offsets of one CPython version (x86_64): from per-version tables before
 * 3.13, from _Py_DebugOffsets at run time after. Filled by py_layout_for;
 * defined in py_layout.h. */
struct py_layout;

/* The layout for the located interpreter (loc->py, loc->runtime), checked
 * against the target; -1 with err ("python stacks: ...") when there is none
 * or the target does not match it. *out is allocated; py_layout_free. */
int py_layout_for(const struct gil_location *loc, const struct mem_reader *mem, struct py_layout **out,
		  struct gs_error *err);
void py_layout_free(struct py_layout *l);

/* The layout py_layout_for would check, unchecked (NULL: none known):
 * for tests and fuzzing, never for reading a target. */
struct py_layout *py_layout_unchecked(const struct gil_location *loc, const struct mem_reader *mem);

/* A str object (2.7: str) as UTF-8, NUL-terminated, truncated to size - 1.
 * Returns its length in buf, or -1 when obj is not a readable str. */
ssize_t py_read_str(const struct py_layout *l, const struct mem_reader *mem, uint64_t obj, char *buf,
		    size_t size);

/* One frame: its code object and the byte offset of its current
 * instruction in the bytecode (what line_table_line takes). */
struct py_frame_ref {
	uint64_t code;
	uint32_t offset;
};

struct py_stack {
	struct py_frame_ref frames[PY_STACK_MAX]; /* innermost first */
	uint32_t depth;
	bool truncated; /* deeper than PY_STACK_MAX */
};

/* A bytes object's contents (2.7: a str), allocated (free); -1 when obj
 * is not one or is longer than 1 MB. */
int py_read_bytes(const struct py_layout *l, const struct mem_reader *mem, uint64_t obj, uint8_t **data, size_t *len);

/* Whether type (an object's ob_type) is the type named name ("str");
 * *known (one of l->types) remembers it once its name matched: types are
 * static objects of the interpreter. */
bool py_type_is(const struct py_layout *l, const struct mem_reader *mem, uint64_t type, uint64_t *known,
		const char *name);

/* A thread state to start from: the GIL's last holder, else the first
 * thread of the first interpreter (_PyRuntime's list, 2.7 and 3.6's
 * static interp_head). 0: none found. */
uint64_t py_some_tstate(const struct py_layout *l, const struct gil_location *loc, const struct mem_reader *mem);

/* The thread states of the target, into out (up to max): every
 * interpreter's from _PyRuntime (runtime, 3.7+), else those of tstate's
 * interpreter (tstate->interp's list). Returns how many, -1 when a list
 * does not read (torn). */
ssize_t py_thread_states(const struct py_layout *l, const struct mem_reader *mem, uint64_t runtime, uint64_t tstate,
			 uint64_t *out, size_t max);

/* The Python frames of a thread state. 0; -1 when the walk was torn (a
 * pointer or type check failed: the thread moved under the reader). A
 * thread running no Python code has depth 0. */
int py_stack_read(const struct py_layout *l, const struct mem_reader *mem, uint64_t tstate, struct py_stack *out);

/* Many reads of the target at once (target_read_spans): how many spans,
 * from the first, were read whole. */
typedef size_t (*mem_spans_fn)(void *ctx, const struct mem_span *spans, size_t n);

/* The frames each thread state had at its last read (a few dozen thread
 * states), read again at once before the walk: a stack that changed only
 * at its top costs one call for what did not change (2.7-3.10 keep frames
 * on the heap, one read each otherwise). */
struct py_stack_hints;
struct py_stack_hints *py_stack_hints_new(mem_spans_fn read_spans, void *ctx);
void py_stack_hints_free(struct py_stack_hints *h);
/* py_stack_read, with the hints. */
int py_stack_read_hinted(struct py_stack_hints *h, const struct py_layout *l, const struct mem_reader *mem,
			 uint64_t tstate, struct py_stack *out);

/* The stacks of n thread states (at most PY_STACKS_BATCH) at once: each
 * step's reads for all of them in one call (thread states, 3.11 and
 * 3.12's cframes, the data stack windows), a few calls for n stacks where
 * py_stack_read_hinted makes a few each. word_off (0: none): words[i] is
 * the u64 at that offset of thread state i, read in the same call as its
 * frame pointer (the check that it still names its thread). rc[i]: 0, or
 * -1 torn. Returns -1 when nothing could be read (no span reader, n too
 * large, out of memory). */
#define PY_STACKS_BATCH 8
int py_stacks_read(struct py_stack_hints *h, const struct py_layout *l, const struct mem_reader *mem,
		   const uint64_t *tstates, size_t n, uint32_t word_off, uint64_t *words, struct py_stack *out, int *rc);

/* What a code object names. */
struct py_code_info {
	char *function; /* co_qualname (3.11+), else co_name */
	char *file;     /* co_filename */
	int first_line;
	uint8_t *line_table;
	size_t line_table_len;
};

/* Code objects by address, read once: code objects live as long as their
 * functions, and an address reused by another is caught by a cheap
 * fingerprint check. */
struct py_code_cache;
struct py_code_cache *py_code_cache_new(void);
void py_code_cache_free(struct py_code_cache *c);

/* Forgets every code object read (the target exec'd a new image). */
void py_code_cache_retire(struct py_code_cache *c);

/* The code object at code (cached); NULL when it is not a readable code
 * object. The pointer is valid until the next lookup or retire. */
const struct py_code_info *py_code_lookup(struct py_code_cache *c, const struct py_layout *l,
					  const struct mem_reader *mem, uint64_t code);

/* The code objects of a whole stack: out[i] for st->frames[i] (NULL when
 * not readable), valid until the next lookup. The cached ones are checked
 * in one read when the cache has a span reader. Returns how many were
 * found, -1 when out of memory. */
int py_code_lookup_stack(struct py_code_cache *c, const struct py_layout *l, const struct mem_reader *mem,
			 const struct py_stack *st, const struct py_code_info **out);

/* The same for nst stacks at once (a batch of py_stacks_read): out[k][i]
 * for st[k].frames[i], the code objects of all checked in one read. */
int py_code_lookup_stacks(struct py_code_cache *c, const struct py_layout *l, const struct mem_reader *mem,
			  const struct py_stack *st, size_t nst, const struct py_code_info *(*out)[PY_STACK_MAX]);

void py_code_cache_use_spans(struct py_code_cache *c, mem_spans_fn read_spans, void *ctx);

/* The line of a frame in its code object (0 unknown). */
int py_frame_line(const struct py_layout *l, const struct py_code_info *ci, uint32_t offset);

#endif
