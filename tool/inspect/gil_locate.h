/* Locating the GIL: which CPython the target runs, and the address of its
 * GIL, derived from the interpreter's own symbols and memory ("exact").
 * Only when nothing exact is available is the busiest condvar taken for
 * it ("heuristic"), and reported as such. */
#ifndef GILSTATS_GIL_LOCATE_H
#define GILSTATS_GIL_LOCATE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "probes/gilstats.h"
#include "tool/util/error.h"
#include "tool/bpf/loader.h"
#include "tool/inspect/resolve.h"
#include "tool/bpf/rows.h"

#define GIL_MAX 8 /* GILs of one process (PEP 684 sub-interpreters) */

struct python_info {
	char version[32]; /* "3.11.2" */
	int major, minor;
	bool free_threaded;
};

/* One GIL: its structure and the addresses threads wait on. */
struct gil_instance {
	uint64_t base;
	uint64_t cond, mutex, switch_cond, switch_mutex; /* 0: none */
	uint64_t locked;      /* int, non-zero while held; 0: unknown, or none (2.7) */
	uint64_t last_holder; /* PyThreadState* of the holder; 0: unknown */
};

enum gil_method { GIL_METHOD_EXACT, GIL_METHOD_HEURISTIC };

struct gil_location {
	struct python_info py;
	enum gil_method method;
	bool semaphore;   /* 2.7: threads wait in sem_wait, not on a condvar */
	bool gil_enabled; /* false: a free-threaded build running without it */
	uint64_t runtime; /* address of _PyRuntime (3.7+), 0 if unknown */
	/* 2.7, 3.6: address of the static interp_head (.symtab), the list
	 * of interpreters; 0 if unknown. */
	uint64_t interp_head;
	struct gil_instance gils[GIL_MAX];
	size_t ngils;
	char how[160]; /* how the address was found, for --verbose output */
	/* How a PyThreadState names its thread: the offset of native_thread_id,
	 * or of thread_id (a pthread_t) with the tid's offset in glibc's struct
	 * pthread. tstate_tid_off 0: unknown. */
	uint32_t tstate_tid_off, pthread_tid_off;
};

/* Reads target memory; tests substitute a fake address space. */
struct mem_reader {
	int (*read)(void *ctx, uint64_t addr, void *buf, size_t len);
	void *ctx;
};

/* Python version, then the GIL. Fails only when the target is not a
 * CPython gilstats can measure; an unknown layout falls back to the
 * heuristic. */
int gil_locate(const struct target *t, struct mapped_object *interp, struct gil_location *loc,
	       struct gs_error *err);

/* Layout-driven part, over any address space: fills loc->gils from the
 * address of _PyRuntime. Returns 0 when the GIL was found and validated. */
int gil_from_runtime(struct gil_location *loc, uint64_t runtime, const struct mem_reader *mem);

/* The kind of wait on addr (a classify_fn; ctx is a gil_location). */
enum gs_wait_kind gil_classify(uint64_t addr, const void *ctx, uint64_t *gil);

/* Looks again for GILs that appeared since (3.12+ sub-interpreters with
 * their own GIL) and whether a free-threaded build enabled its GIL. New
 * GILs are appended to loc->gils. */
int gil_refresh(pid_t pid, struct gil_location *loc);

/* The functions to probe and the addresses to watch. */
size_t gil_wait_functions(const struct gil_location *loc, const char *const **names);
void gil_plan_watch(const struct gil_location *loc, struct probe_plan *plan);
/* The addresses of GILs first.. as watched addresses; returns how many. */
size_t gil_watch_list(const struct gil_location *loc, size_t first, struct watched_address *out, size_t max);

/* Heuristic: the address waited on by the most threads, then most often,
 * among rows whose address is not otherwise known. 0 if there is none. */
uint64_t gil_busiest_address(const struct wait_rows *rows);

/* The GIL address to report (the first GIL's condvar, or the guess). */
uint64_t gil_report_address(const struct gil_location *loc);

/* "3.11.2" from Py_Version's hex encoding 0x030b02f0. */
void python_version_from_hex(uint32_t hex, struct python_info *py);

#endif
