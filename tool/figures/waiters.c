#include "config.h"

#include "tool/figures/waiters.h"

#include <stdlib.h>

static int by_tid(const void *a, const void *b)
{
	pid_t x = *(const pid_t *)a, y = *(const pid_t *)b;

	return (x > y) - (x < y);
}

size_t waiters_collect(const struct inflight_row *rows, size_t n, uint32_t tgid, classify_fn classify,
		       const void *ctx, pid_t *out)
{
	size_t k = 0;

	for (size_t i = 0; i < n; i++) {
		const struct gs_inflight *w = &rows[i].wait;
		uint64_t gil = 0;
		enum gs_wait_kind kind;
		/* start_ns 0: woken, in a run queue or back in user space
		 * (cpu_wait_s counts that), not blocked on the GIL. */
		if (w->tgid != tgid || !w->start_ns || !rows[i].tid)
			continue;
		kind = classify(w->addr, ctx, &gil);
		if (kind == GS_KIND_GIL_COND || kind == GS_KIND_GIL_MUTEX)
			out[k++] = (pid_t)rows[i].tid;
	}
	qsort(out, k, sizeof *out, by_tid);
	return k;
}

size_t waiters_pick(const pid_t *waiters, size_t n, pid_t *cursor, pid_t *out, size_t max)
{
	size_t first = 0, m = n < max ? n : max;

	if (!m)
		return 0;
	while (first < n && waiters[first] < *cursor)
		first++;
	for (size_t i = 0; i < m; i++)
		out[i] = waiters[(first + i) % n];
	*cursor = out[m - 1] + 1;
	return m;
}
