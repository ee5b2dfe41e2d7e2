#include "config.h"

#include "tool/inspect/gil_locate.h"

#include <ctype.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* struct _gil_runtime_state (Python/ceval_gil.h, then
 * Include/internal/pycore_gil.h), x86_64 glibc: unsigned long interval;
 * last_holder; int locked; unsigned long switch_number; then the condvars
 * (pthread_cond_t, 48 bytes) and mutexes (pthread_mutex_t, 40). Free-threaded
 * builds put "int enabled" first and shift the rest by 8. */
struct gil_layout {
	int16_t enabled; /* -1: no such field */
	uint16_t interval, last_holder, locked, cond, mutex, switch_cond, switch_mutex;
};

static const struct gil_layout gil_layout_default = {
	.enabled = -1, .interval = 0x00, .last_holder = 0x08, .locked = 0x10, .cond = 0x20, .mutex = 0x50,
	.switch_cond = 0x78, .switch_mutex = 0xa8,
};

static const struct gil_layout gil_layout_free_threaded = {
	.enabled = 0x00, .interval = 0x08, .last_holder = 0x10, .locked = 0x18, .cond = 0x28, .mutex = 0x58,
	.switch_cond = 0x80, .switch_mutex = 0xb0,
};

/* Before 3.13: the offset of thread_id (pthread_self()) in PyThreadState,
 * x86_64, measured on CPython builds of each version (the same in Debian's);
 * 3.11 and 3.12 keep the kernel's tid in native_thread_id, the field after
 * it: one read a sample instead of two (thread_id, then the pthread's
 * tid). From 3.13 the debug offsets give native_thread_id. */
static const struct {
	int major, minor;
	uint16_t thread_id, native_thread_id; /* 0: none */
} tstate_thread_id[] = { { 2, 7, 0x90, 0 },     { 3, 6, 0x98, 0 },     { 3, 7, 0xb0, 0 },
			 { 3, 8, 0xb0, 0 },     { 3, 9, 0xb0, 0 },     { 3, 10, 0xb0, 0 },
			 { 3, 11, 0x98, 0xa0 }, { 3, 12, 0x88, 0x90 } };

/* glibc x86_64: struct pthread's tid (pthread_t is its address). */
#define PTHREAD_TID_OFFSET 0x2d0

/* 3.7-3.11 embed the GIL in _PyRuntime (_PyRuntime.ceval.gil); verified
 * with DWARF on CPython builds and against Debian's stripped 3.11. */
static const struct {
	int minor;
	uint32_t gil;
} embedded_gil[] = { { 7, 0x4f0 }, { 8, 0x480 }, { 9, 0x160 }, { 10, 0x160 }, { 11, 0x168 } };

/* From 3.12 every interpreter points to its GIL (PEP 684); the walk is
 * runtime->interpreters.head, interp->next, interp->ceval.gil. */
struct interp_walk {
	uint64_t head;    /* offset of interpreters.head in _PyRuntime */
	uint64_t next;    /* offset of next in PyInterpreterState */
	uint64_t gil_ptr; /* offset of ceval.gil in PyInterpreterState */
	const struct gil_layout *gil;
};

static const struct interp_walk walk_3_12 = { 0x28, 0x0, 0x180, &gil_layout_default };

/* 3.13+: _PyRuntime starts with _Py_DebugOffsets (every field a u64).
 * Where, inside it, the fields gilstats needs are, per minor version;
 * 3.14 inserted fields mid-struct (interpreter_state.threads_main, ...),
 * and 3.15 put thread_state.base_frame, last_profiled_frame and another
 * frame pointer before thread_id (native_thread_id at 0xf8; then
 * datastack_chunk, status, holds_gil, gil_requested). The runtime,
 * interpreter and GIL offsets are unchanged from 3.14. Read from Debian
 * sid's python3.15 3.15.2 and checked in a live process. Pre-releases
 * before these versions had other layouts. */
#define DEBUG_COOKIE "xdebugpy"
#define DEBUG_VERSION 0x08
#define DEBUG_FREE_THREADED 0x10
#define DEBUG_INTERPRETERS_HEAD 0x28
#define DEBUG_INTERP_NEXT 0x40
static const struct {
	int minor;
	uint32_t first_hex;
	uint16_t ceval_gil;
	uint16_t native_thread_id; /* thread_state.native_thread_id */
} debug_offsets[] = { { 13, 0x030d00c2, 0x70, 0xc8 }, { 14, 0x030e00b2, 0x78, 0xe0 }, { 15, 0x030f00f0, 0x78, 0xf8 } };

#define MAX_INTERPRETERS 64

/* glibc x86_64: sizeof(pthread_cond_t), (pthread_mutex_t), (sem_t). */
#define CONDVAR_BYTES 48
#define MUTEX_BYTES 40
#define SEMAPHORE_BYTES 32
#define DEBUG_PREFIX_BYTES 0x100

void python_version_from_hex(uint32_t hex, struct python_info *py)
{
	static const char *const levels[] = { [0xa] = "a", [0xb] = "b", [0xc] = "rc" };
	unsigned level = (hex >> 4) & 0xf;

	py->major = (int)(hex >> 24);
	py->minor = (int)((hex >> 16) & 0xff);
	snprintf(py->version, sizeof py->version, "%d.%d.%u", py->major, py->minor, (hex >> 8) & 0xff);
	if (level >= 0xa && level <= 0xc)
		snprintf(py->version + strlen(py->version), sizeof py->version - strlen(py->version), "%s%u",
			 levels[level], hex & 0xf);
}

/* The interpreter's major.minor from its file name: libpython3.9.so.1.0,
 * python3.9, python2.7. */
static bool version_from_name(const char *base, int *major, int *minor)
{
	if (libpython_name_version(base, major, minor))
		return true;
	return sscanf(base, "python%d.%d", major, minor) == 2 && *major >= 2 && *major <= 9;
}

struct version_scan {
	char prefix[16]; /* "3.9." */
	char found[32];
};

/* PY_VERSION ("3.9.18", "3.13.0rc2", "2.7.18+") ends a string in .rodata:
 * its own, or the tail of one the linker merged it into (pyenv's
 * "/root/.pyenv/versions/3.9.18"). */
static bool is_py_version_string(const char *s, void *arg)
{
	struct version_scan *vs = arg;
	size_t n = strlen(vs->prefix), len = strlen(s);

	for (const char *p = strstr(s, vs->prefix); p; p = strstr(p + 1, vs->prefix)) {
		size_t tail = len - (size_t)(p - s);
		bool ok = tail < sizeof vs->found && isdigit((unsigned char)p[n]) &&
			  (p == s || (!isdigit((unsigned char)p[-1]) && p[-1] != '.'));
		for (size_t i = n; ok && i < tail; i++)
			ok = isalnum((unsigned char)p[i]) || p[i] == '+';
		if (ok) {
			snprintf(vs->found, sizeof vs->found, "%s", p);
			return true;
		}
	}
	return false;
}

static int read_python_version(struct mapped_object *interp, struct python_info *py)
{
	struct elf_symbol sym;
	struct version_scan vs;
	uint32_t hex;

	/* 3.11+: const unsigned long Py_Version = PY_VERSION_HEX. */
	if (elf_find_symbol(interp->elf, "Py_Version", &sym, 1) &&
	    elf_read_vaddr(interp->elf, sym.value, &hex, sizeof hex) == 0 && (hex >> 24) == 3) {
		python_version_from_hex(hex, py);
		return 0;
	}
	if (!version_from_name(mapping_basename(interp->first), &py->major, &py->minor))
		return -1;
	snprintf(py->version, sizeof py->version, "%d.%d", py->major, py->minor);
	snprintf(vs.prefix, sizeof vs.prefix, "%d.%d.", py->major, py->minor);
	if (elf_scan_strings(interp->elf, ".rodata", strlen(vs.prefix) + 1, is_py_version_string, &vs))
		snprintf(py->version, sizeof py->version, "%s", vs.found);
	return 0;
}

static void fill_instance(struct gil_instance *g, uint64_t base, const struct gil_layout *l)
{
	g->base = base;
	g->cond = base + l->cond;
	g->mutex = base + l->mutex;
	g->switch_cond = base + l->switch_cond;
	g->switch_mutex = base + l->switch_mutex;
	g->locked = base + l->locked;
	g->last_holder = base + l->last_holder;
}

static int read_u64(const struct mem_reader *mem, uint64_t addr, uint64_t *v)
{
	return mem->read(mem->ctx, addr, v, sizeof *v);
}

/* A live GIL: locked is 0 or 1 (-1 before it is created) and the switch
 * interval is a sane number of microseconds. */
static bool gil_looks_valid(uint64_t base, const struct gil_layout *l, const struct mem_reader *mem)
{
	int32_t locked;
	uint64_t interval;

	if (mem->read(mem->ctx, base + l->locked, &locked, sizeof locked) != 0 ||
	    read_u64(mem, base + l->interval, &interval) != 0)
		return false;
	return (locked == 0 || locked == 1) && interval > 0 && interval <= 1000000000u;
}

/* Adds the GIL at base unless it is known already (interpreters may share
 * one), and notes whether it is enabled. -1 when it does not look like a GIL. */
static int add_gil(struct gil_location *loc, uint64_t base, const struct gil_layout *l,
		   const struct mem_reader *mem)
{
	int32_t enabled = 1;

	if (!gil_looks_valid(base, l, mem))
		return -1;
	/* Free-threaded: 0 = disabled, else enabled (INT_MAX: for good). */
	if (l->enabled >= 0 && mem->read(mem->ctx, base + (uint64_t)l->enabled, &enabled, sizeof enabled) != 0)
		return -1;
	loc->gil_enabled = loc->gil_enabled || enabled != 0;
	for (size_t i = 0; i < loc->ngils; i++)
		if (loc->gils[i].base == base)
			return 0;
	if (loc->ngils < GIL_MAX)
		fill_instance(&loc->gils[loc->ngils++], base, l);
	return 0;
}

static int walk_interpreters(struct gil_location *loc, uint64_t runtime, const struct interp_walk *w,
			     const struct mem_reader *mem)
{
	uint64_t interp, gils[MAX_INTERPRETERS];
	int n = 0;

	if (read_u64(mem, runtime + w->head, &interp) != 0)
		return -1;
	/* The list lives in the target's memory: bounded, never trusted. */
	for (; interp && n < MAX_INTERPRETERS; n++) {
		if (read_u64(mem, interp + w->gil_ptr, &gils[n]) != 0 || !gils[n] ||
		    read_u64(mem, interp + w->next, &interp) != 0)
			return -1;
	}
	/* Newest first: from the end, the main interpreter's GIL comes first. */
	loc->gil_enabled = false;
	while (n-- > 0)
		if (add_gil(loc, gils[n], w->gil, mem) != 0)
			return -1;
	return loc->ngils ? 0 : -1;
}

/* 3.13+: the offsets come from the interpreter itself. */
static int locate_by_debug_offsets(struct gil_location *loc, uint64_t runtime, const struct mem_reader *mem)
{
	unsigned char dbg[DEBUG_PREFIX_BYTES];
	uint64_t version, free_threaded, head, next, gil_ptr, native;
	struct interp_walk w;
	size_t i;

	if (mem->read(mem->ctx, runtime, dbg, sizeof dbg) != 0 || memcmp(dbg, DEBUG_COOKIE, 8) != 0)
		return -1;
	memcpy(&version, dbg + DEBUG_VERSION, 8);
	for (i = 0; i < sizeof debug_offsets / sizeof debug_offsets[0]; i++)
		if (debug_offsets[i].minor == loc->py.minor && version >= debug_offsets[i].first_hex)
			break;
	if (i == sizeof debug_offsets / sizeof debug_offsets[0] || (version >> 16) != (uint64_t)(0x0300 | loc->py.minor))
		return -1;
	memcpy(&free_threaded, dbg + DEBUG_FREE_THREADED, 8);
	memcpy(&head, dbg + DEBUG_INTERPRETERS_HEAD, 8);
	memcpy(&next, dbg + DEBUG_INTERP_NEXT, 8);
	memcpy(&gil_ptr, dbg + debug_offsets[i].ceval_gil, 8);
	memcpy(&native, dbg + debug_offsets[i].native_thread_id, 8);
	if (native > 0 && native < 0x10000)
		loc->tstate_tid_off = (uint32_t)native;
	loc->py.free_threaded = free_threaded != 0;
	w = (struct interp_walk){ head, next, gil_ptr,
				  loc->py.free_threaded ? &gil_layout_free_threaded : &gil_layout_default };
	if (walk_interpreters(loc, runtime, &w, mem) != 0)
		return -1;
	snprintf(loc->how, sizeof loc->how, "_Py_DebugOffsets: interpreters -> ceval.gil (%d GIL%s)",
		 (int)loc->ngils, loc->ngils == 1 ? "" : "s");
	return 0;
}

int gil_from_runtime(struct gil_location *loc, uint64_t runtime, const struct mem_reader *mem)
{
	loc->runtime = runtime;
	if (loc->py.major != 3)
		return -1;
	if (loc->py.minor >= 13)
		return locate_by_debug_offsets(loc, runtime, mem);
	if (loc->py.minor == 12) {
		if (walk_interpreters(loc, runtime, &walk_3_12, mem) != 0)
			return -1;
		snprintf(loc->how, sizeof loc->how, "_PyRuntime.interpreters -> ceval.gil (3.12 layout, %d GIL%s)",
			 (int)loc->ngils, loc->ngils == 1 ? "" : "s");
		return 0;
	}
	for (size_t i = 0; i < sizeof embedded_gil / sizeof embedded_gil[0]; i++) {
		if (embedded_gil[i].minor != loc->py.minor)
			continue;
		if (add_gil(loc, runtime + embedded_gil[i].gil, &gil_layout_default, mem) != 0)
			return -1;
		snprintf(loc->how, sizeof loc->how, "_PyRuntime+0x%" PRIx32 " (3.%d layout)", embedded_gil[i].gil,
			 loc->py.minor);
		return 0;
	}
	return -1;
}

static int read_target(void *ctx, uint64_t addr, void *buf, size_t len)
{
	return target_read_memory(*(pid_t *)ctx, addr, buf, len);
}

/* 3.6: the GIL is a set of static variables, in .symtab of unstripped
 * builds only. */
static int locate_3_6(struct gil_location *loc, struct mapped_object *interp, const struct mem_reader *mem)
{
	uint64_t locked_addr, interval_addr, interval, last_holder = 0;
	struct gil_instance *g = &loc->gils[0];
	int32_t locked;

	if (!mapped_object_symbol(interp, "gil_cond", &g->cond, NULL) ||
	    !mapped_object_symbol(interp, "gil_mutex", &g->mutex, NULL) ||
	    !mapped_object_symbol(interp, "switch_cond", &g->switch_cond, NULL) ||
	    !mapped_object_symbol(interp, "switch_mutex", &g->switch_mutex, NULL) ||
	    !mapped_object_symbol(interp, "gil_locked", &locked_addr, NULL) ||
	    !mapped_object_symbol(interp, "gil_interval", &interval_addr, NULL) ||
	    mem->read(mem->ctx, locked_addr, &locked, sizeof locked) != 0 || (locked != 0 && locked != 1) ||
	    read_u64(mem, interval_addr, &interval) != 0 || interval == 0 || interval > 1000000000u)
		return -1;
	g->base = g->cond;
	if (mapped_object_symbol(interp, "gil_last_holder", &last_holder, NULL)) {
		g->locked = locked_addr;
		g->last_holder = last_holder;
	}
	loc->ngils = 1;
	snprintf(loc->how, sizeof loc->how, "static gil_cond (.symtab)");
	return 0;
}

/* 2.7: the GIL is a semaphore on the heap, pointed to by the static
 * interpreter_lock (.symtab); its value is 1 when free, 0 when held. */
static int locate_2_7(struct gil_location *loc, struct mapped_object *interp, const struct mem_reader *mem)
{
	uint64_t lock_ptr, sem, current = 0;
	uint32_t value;

	loc->semaphore = true;
	if (!mapped_object_symbol(interp, "interpreter_lock", &lock_ptr, NULL) ||
	    read_u64(mem, lock_ptr, &sem) != 0 || !sem || mem->read(mem->ctx, sem, &value, sizeof value) != 0 ||
	    value > 1)
		return -1;
	/* The holder: the current thread state, NULL while nobody holds it. */
	mapped_object_symbol(interp, "_PyThreadState_Current", &current, NULL);
	loc->gils[0] = (struct gil_instance){ .base = sem, .cond = sem, .last_holder = current };
	loc->ngils = 1;
	snprintf(loc->how, sizeof loc->how, "*interpreter_lock (.symtab): a sem_t");
	return 0;
}

/* How this version's PyThreadState names its thread (before 3.13). */
static void thread_id_layout(struct gil_location *loc)
{
	for (size_t i = 0; i < sizeof tstate_thread_id / sizeof tstate_thread_id[0]; i++)
		if (tstate_thread_id[i].major == loc->py.major && tstate_thread_id[i].minor == loc->py.minor) {
			bool native = tstate_thread_id[i].native_thread_id != 0;
			loc->tstate_tid_off = native ? tstate_thread_id[i].native_thread_id : tstate_thread_id[i].thread_id;
			loc->pthread_tid_off = native ? 0 : PTHREAD_TID_OFFSET;
		}
}

static int locate_exact(struct gil_location *loc, struct mapped_object *interp, const struct mem_reader *mem)
{
	uint64_t runtime;

	thread_id_layout(loc);
	/* Before _PyRuntime: where thread states are found while nobody holds
	 * the GIL (python stacks, thread names). */
	if (loc->py.major == 2 || (loc->py.major == 3 && loc->py.minor == 6))
		mapped_object_symbol(interp, "interp_head", &loc->interp_head, NULL);
	if (loc->py.major == 2)
		return locate_2_7(loc, interp, mem);
	if (loc->py.major == 3 && loc->py.minor == 6)
		return locate_3_6(loc, interp, mem);
	if (!mapped_object_symbol(interp, "_PyRuntime", &runtime, NULL))
		return -1;
	return gil_from_runtime(loc, runtime, mem);
}

int gil_refresh(pid_t pid, struct gil_location *loc)
{
	struct mem_reader mem = { read_target, &pid };

	/* Only interpreter lists change: new sub-interpreters with their own
	 * GIL, and a free-threaded build's GIL switched on or off. */
	if (loc->method != GIL_METHOD_EXACT || loc->py.major != 3 || loc->py.minor < 12 || !loc->runtime)
		return 0;
	return gil_from_runtime(loc, loc->runtime, &mem);
}

int gil_locate(const struct target *t, struct mapped_object *interp, struct gil_location *loc,
	       struct gs_error *err)
{
	pid_t pid = t->pid;
	struct mem_reader mem = { read_target, &pid };

	memset(loc, 0, sizeof *loc);
	loc->gil_enabled = true;
	if (read_python_version(interp, &loc->py) != 0)
		snprintf(loc->py.version, sizeof loc->py.version, "unknown");
	if (loc->py.major != 0 && (loc->py.major < 2 || (loc->py.major == 3 && loc->py.minor < 6)))
		return gs_fail(err, GS_EXIT_NOT_PYTHON, "pid %d runs python %s: gilstats supports 2.7 and 3.6+",
			       (int)t->pid, loc->py.version);
	if (locate_exact(loc, interp, &mem) == 0) {
		loc->method = GIL_METHOD_EXACT;
		return 0;
	}
	/* Nothing exact: the busiest condvar, guessed from what the probes see. */
	memset(loc->gils, 0, sizeof loc->gils);
	loc->method = GIL_METHOD_HEURISTIC;
	loc->gil_enabled = true;
	loc->ngils = 1;
	snprintf(loc->how, sizeof loc->how, "the busiest %s (no exact location for python %s)",
		 loc->semaphore ? "semaphore" : "condvar", loc->py.version);
	return 0;
}

/* The objects of a GIL with their sizes: a futex may wait on any word
 * inside one (the uprobe back end sees the start). A guessed GIL has no
 * known extent: only its address matches. */
static void objects_of(const struct gil_location *loc, const struct gil_instance *g, uint64_t addrs[4],
		       uint64_t sizes[4])
{
	bool exact = loc->method == GIL_METHOD_EXACT;

	addrs[0] = g->cond;
	addrs[1] = g->mutex;
	addrs[2] = g->switch_cond;
	addrs[3] = g->switch_mutex;
	sizes[0] = !exact ? 1 : loc->semaphore ? SEMAPHORE_BYTES : CONDVAR_BYTES;
	sizes[1] = exact ? MUTEX_BYTES : 1;
	sizes[2] = exact ? CONDVAR_BYTES : 1;
	sizes[3] = exact ? MUTEX_BYTES : 1;
}

static const enum gs_wait_kind object_kinds[4] = { GS_KIND_GIL_COND, GS_KIND_GIL_MUTEX, GS_KIND_SWITCH_COND,
						   GS_KIND_SWITCH_MUTEX };

static enum gs_wait_kind kind_in(const struct gil_location *loc, const struct gil_instance *g, uint64_t addr)
{
	uint64_t addrs[4], sizes[4];

	objects_of(loc, g, addrs, sizes);
	for (int k = 0; k < 4; k++)
		if (addrs[k] && addr >= addrs[k] && addr - addrs[k] < sizes[k])
			return object_kinds[k];
	return GS_KIND_OTHER;
}

enum gs_wait_kind gil_classify(uint64_t addr, const void *ctx, uint64_t *gil)
{
	const struct gil_location *loc = ctx;

	for (size_t i = 0; i < loc->ngils; i++) {
		enum gs_wait_kind kind = kind_in(loc, &loc->gils[i], addr);
		if (kind != GS_KIND_OTHER) {
			*gil = loc->gils[i].cond;
			return kind;
		}
	}
	return GS_KIND_OTHER;
}

size_t gil_wait_functions(const struct gil_location *loc, const char *const **names)
{
	static const char *const condvar[] = { "pthread_cond_timedwait", "pthread_cond_wait" };
	static const char *const semaphore[] = { "sem_wait" };

	if (loc->semaphore) {
		*names = semaphore;
		return 1;
	}
	*names = condvar;
	return 2;
}

size_t gil_watch_list(const struct gil_location *loc, size_t first, struct watched_address *out, size_t max)
{
	size_t n = 0;

	for (size_t i = first; i < loc->ngils; i++) {
		uint64_t addrs[4], sizes[4];
		objects_of(loc, &loc->gils[i], addrs, sizes);
		/* Every word a futex may wait on inside the object, as the object. */
		for (size_t k = 0; k < 4; k++)
			for (uint64_t word = 0; addrs[k] && word < sizes[k] && n < max; word += 4)
				out[n++] = (struct watched_address){ addrs[k] + word, addrs[k], object_kinds[k] };
	}
	return n;
}

void gil_plan_watch(const struct gil_location *loc, struct probe_plan *plan)
{
	plan->record_unwatched = loc->method == GIL_METHOD_HEURISTIC;
	plan->nwatch = gil_watch_list(loc, 0, plan->watch, GS_MAX_WATCHED);
}

struct address_tally {
	uint64_t addr, threads, waits;
};

static int compare_tally(const void *a, const void *b)
{
	const struct address_tally *x = a, *y = b;

	return (x->addr > y->addr) - (x->addr < y->addr);
}

uint64_t gil_busiest_address(const struct wait_rows *rows)
{
	struct address_tally *tally = calloc(rows->n ? rows->n : 1, sizeof *tally);
	size_t n = 0;
	uint64_t best = 0;
	struct address_tally top = { 0 };

	if (!tally)
		return 0;
	for (size_t i = 0; i < rows->n; i++)
		tally[n++] = (struct address_tally){ rows->v[i].key.addr, 1, rows->v[i].stats.count };
	qsort(tally, n, sizeof *tally, compare_tally);
	for (size_t i = 0; i < n;) {
		struct address_tally sum = tally[i];
		size_t j = i + 1;
		for (; j < n && tally[j].addr == sum.addr; j++) {
			sum.threads++;
			sum.waits += tally[j].waits;
		}
		if (sum.threads > top.threads || (sum.threads == top.threads && sum.waits > top.waits))
			top = sum, best = sum.addr;
		i = j;
	}
	free(tally);
	return best;
}

uint64_t gil_report_address(const struct gil_location *loc)
{
	return loc->ngils ? loc->gils[0].cond : 0;
}
