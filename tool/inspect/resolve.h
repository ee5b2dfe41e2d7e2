/* Resolving symbols in the files the target maps: the interpreter
 * (executable or libpython) and the wait functions of its C library. */
#ifndef GILSTATS_RESOLVE_H
#define GILSTATS_RESOLVE_H

#include <stdbool.h>
#include <stdint.h>

#include "tool/inspect/elf_symbols.h"
#include "tool/util/error.h"
#include "tool/bpf/loader.h"
#include "tool/inspect/target.h"

/* A file the target maps, opened as the target sees it. */
struct mapped_object {
	const struct mapping *first; /* its lowest mapping */
	int fd;
	struct elf_file *elf;
	uint64_t bias; /* runtime address = bias + st_value */
};

int mapped_object_open(const struct target *t, const struct mapping *m, struct mapped_object *obj);
void mapped_object_close(struct mapped_object *obj);

/* Runtime address of the first defined symbol called name; false if none. */
bool mapped_object_symbol(struct mapped_object *obj, const char *name, uint64_t *addr, uint64_t *size);

/* The object that holds the interpreter: the executable itself (python3.11
 * linked statically against libpython) or a mapped libpython. Fails with
 * GS_EXIT_NOT_PYTHON when the target has neither. */
int resolve_interpreter(const struct target *t, struct mapped_object *interp, struct gs_error *err);

/* Adds a probe point for every defined version of each named function in
 * the C library the target uses (libpthread before glibc 2.34, libc after).
 * The points' fds belong to the caller (close_probe_points). */
int resolve_wait_functions(const struct target *t, const char *const *names, size_t nnames,
			   struct probe_plan *plan, struct gs_error *err);
void close_probe_points(struct probe_plan *plan);

#endif
