/* The back ends by name: what --probe accepts, the JSON's "probe" and
 * the loader's table (loader.c) index. Pure, so the command line checks
 * a name against the same list the loader uses. */
#ifndef GILSTATS_PROBE_BACKEND_H
#define GILSTATS_PROBE_BACKEND_H

#include <stdbool.h>

/* futex: raw syscall tracepoints, in-kernel, needs the GIL's exact address.
 * uprobe: times the libc wait functions; sees every condvar (heuristic).
 * sched: futex's waits recognised at the blocking switch (5.15+ with BTF),
 * nothing on the host's system calls. */
enum probe_backend { PROBE_FUTEX, PROBE_UPROBE, PROBE_SCHED, PROBE_BACKENDS /* how many */ };

/* "futex", "uprobe", "sched": the name --probe and the JSON use. */
const char *probe_backend_name(enum probe_backend b);

/* In the kernel, one program for many processes (futex, sched). */
bool probe_in_kernel(enum probe_backend b);

/* The back end --probe names: 0, or -1 for a name that is none. */
int probe_backend_named(const char *name, enum probe_backend *b);

#endif
