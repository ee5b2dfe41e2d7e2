/* Where threads wait for the GIL: which of the target's threads are
 * blocked waiting for it now (the waits in progress in the BPF map), and
 * which of them to read the Python stack of. A waiter's stack cannot
 * change until it gets the GIL, so a few stacks read at a modest rate,
 * each standing for the waiters not read, give the waiting time by stack
 * at a bounded cost however many threads wait. Pure logic. */
#ifndef GILSTATS_WAITERS_H
#define GILSTATS_WAITERS_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "tool/figures/split.h"
#include "tool/figures/stats.h"

/* Holder samples per waiter sample (50 Hz at the default 200 Hz), and
 * stacks read at most per waiter sample. Overridable for measuring. */
#ifndef WAITERS_EVERY
#define WAITERS_EVERY 4
#endif
#ifndef WAITERS_MAX
#define WAITERS_MAX 8
#endif
/* The threads of tgid blocked waiting for one of its GILs (a row of the
 * GIL's kind with a blocked piece in progress: what gil_wait_s counts),
 * sorted, into out (room for n). Returns how many. */
size_t waiters_collect(const struct inflight_row *rows, size_t n, uint32_t tgid, classify_fn classify,
		       const void *ctx, pid_t *out);

/* Up to max of the n waiters (sorted), round robin: from the first at or
 * past *cursor, wrapping; *cursor moves past the last one picked, so
 * every waiter is read in turn however many wait. Returns how many. */
size_t waiters_pick(const pid_t *waiters, size_t n, pid_t *cursor, pid_t *out, size_t max);

#endif
