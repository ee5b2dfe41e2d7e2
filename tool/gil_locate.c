#include "config.h"

#include "gil_locate.h"

#include <ctype.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* struct _gil_runtime_state (Python/ceval_gil.h, then
 * Include/internal/pycore_gil.h), x86_64 glibc: unsigned long interval;
 * last_holder; int locked; unsigned long switch_number; then the condvars
 * and mutexes (pthread_cond_t 48 bytes, pthread_mutex_t 40). */
struct gil_layout {
	uint16_t interval, locked, cond, mutex, switch_cond, switch_mutex, size;
};

static const struct gil_layout gil_layout_3x = {
	.interval = 0x00, .locked = 0x10, .cond = 0x20, .mutex = 0x50,
	.switch_cond = 0x78, .switch_mutex = 0xa8, .size = 0xd0,
};

/* Where the GIL is, per minor version of CPython 3 (x86_64 release builds).
 * gil_in_runtime: 3.7-3.11 embed it in _PyRuntime (_PyRuntime.ceval.gil).
 * main_interp + interp_gil_ptr: 3.12 reads _PyRuntime.interpreters.main,
 * then that interpreter's ceval.gil pointer. */
struct runtime_layout {
	int minor;
	uint32_t gil_in_runtime;
	uint32_t main_interp;
	uint32_t interp_gil_ptr;
	const struct gil_layout *gil;
};

static const struct runtime_layout runtime_layouts[] = {
	{ .minor = 11, .gil_in_runtime = 0x168, .gil = &gil_layout_3x },
};

static const struct runtime_layout *layout_for(int major, int minor)
{
	if (major != 3)
		return NULL;
	for (size_t i = 0; i < sizeof runtime_layouts / sizeof runtime_layouts[0]; i++)
		if (runtime_layouts[i].minor == minor)
			return &runtime_layouts[i];
	return NULL;
}

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

/* PY_VERSION ("3.9.18", "3.13.0rc2", "2.7.18+") is its own string in .rodata. */
static bool is_py_version_string(const char *s, void *arg)
{
	struct version_scan *vs = arg;
	size_t n = strlen(vs->prefix), len = strlen(s);

	if (strncmp(s, vs->prefix, n) != 0 || len >= sizeof vs->found || !isdigit((unsigned char)s[n]))
		return false;
	for (size_t i = n; i < len; i++)
		if (!isalnum((unsigned char)s[i]) && s[i] != '+')
			return false;
	snprintf(vs->found, sizeof vs->found, "%s", s);
	return true;
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
}

/* A live GIL: locked is 0 or 1 (-1 before it is created) and the switch
 * interval is a sane number of microseconds. */
static bool gil_looks_valid(uint64_t base, const struct gil_layout *l, const struct mem_reader *mem)
{
	int32_t locked;
	uint64_t interval;

	if (mem->read(mem->ctx, base + l->locked, &locked, sizeof locked) != 0 ||
	    mem->read(mem->ctx, base + l->interval, &interval, sizeof interval) != 0)
		return false;
	return (locked == 0 || locked == 1) && interval > 0 && interval <= 1000000000u;
}

int gil_from_runtime(struct gil_location *loc, uint64_t runtime, const struct mem_reader *mem)
{
	const struct runtime_layout *rl = layout_for(loc->py.major, loc->py.minor);
	uint64_t base, interp;

	if (!rl)
		return -1;
	if (rl->gil_in_runtime) {
		base = runtime + rl->gil_in_runtime;
		snprintf(loc->how, sizeof loc->how, "_PyRuntime+0x%" PRIx32 " (%d.%d layout)", rl->gil_in_runtime,
			 loc->py.major, loc->py.minor);
	} else {
		if (mem->read(mem->ctx, runtime + rl->main_interp, &interp, sizeof interp) != 0 || !interp ||
		    mem->read(mem->ctx, interp + rl->interp_gil_ptr, &base, sizeof base) != 0 || !base)
			return -1;
		snprintf(loc->how, sizeof loc->how, "_PyRuntime.interpreters.main->ceval.gil (%d.%d layout)",
			 loc->py.major, loc->py.minor);
	}
	if (!gil_looks_valid(base, rl->gil, mem))
		return -1;
	fill_instance(&loc->gils[0], base, rl->gil);
	loc->ngils = 1;
	loc->method = GIL_METHOD_EXACT;
	return 0;
}

static int read_target(void *ctx, uint64_t addr, void *buf, size_t len)
{
	return target_read_memory(*(const pid_t *)ctx, addr, buf, len);
}

int gil_locate(const struct target *t, struct mapped_object *interp, struct gil_location *loc,
	       struct gs_error *err)
{
	struct mem_reader mem = { read_target, (void *)&t->pid };
	uint64_t runtime;

	memset(loc, 0, sizeof *loc);
	loc->method = GIL_METHOD_HEURISTIC;
	if (read_python_version(interp, &loc->py) != 0)
		snprintf(loc->py.version, sizeof loc->py.version, "unknown");
	if (loc->py.major == 2)
		return gs_fail(err, GS_EXIT_NOT_PYTHON, "pid %d runs python %s: python 2 is not supported yet",
			       (int)t->pid, loc->py.version);
	if (mapped_object_symbol(interp, "_PyRuntime", &runtime, NULL) &&
	    gil_from_runtime(loc, runtime, &mem) == 0)
		return 0;
	snprintf(loc->how, sizeof loc->how, "the busiest condvar (no exact layout for python %s)",
		 loc->py.version);
	loc->ngils = 1;
	return 0;
}

enum gs_wait_kind gil_classify(uint64_t addr, const void *ctx)
{
	const struct gil_location *loc = ctx;

	for (size_t i = 0; i < loc->ngils; i++) {
		const struct gil_instance *g = &loc->gils[i];
		if (addr == g->cond)
			return GS_KIND_GIL_COND;
		if (addr == g->mutex)
			return GS_KIND_GIL_MUTEX;
		if (addr == g->switch_cond)
			return GS_KIND_SWITCH_COND;
		if (addr == g->switch_mutex)
			return GS_KIND_SWITCH_MUTEX;
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

void gil_plan_watch(const struct gil_location *loc, struct probe_plan *plan)
{
	static const enum gs_wait_kind kinds[] = { GS_KIND_GIL_COND, GS_KIND_GIL_MUTEX, GS_KIND_SWITCH_COND,
						   GS_KIND_SWITCH_MUTEX };

	plan->record_unwatched = loc->method == GIL_METHOD_HEURISTIC;
	for (size_t i = 0; i < loc->ngils; i++) {
		const struct gil_instance *g = &loc->gils[i];
		const uint64_t addrs[] = { g->cond, g->mutex, g->switch_cond, g->switch_mutex };
		for (size_t k = 0; k < 4 && plan->nwatch < GS_MAX_WATCHED; k++)
			if (addrs[k])
				plan->watch[plan->nwatch++] = (struct watched_address){ addrs[k], kinds[k] };
	}
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
