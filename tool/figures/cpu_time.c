#include "config.h"

#include "tool/figures/cpu_time.h"

#include "tool/util/array.h"
#include "tool/inspect/target.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int compare_tids(const void *a, const void *b)
{
	uint32_t x = ((const struct cpu_row *)a)->tid, y = ((const struct cpu_row *)b)->tid;

	return (x > y) - (x < y);
}

/* Rows [0, nsorted) are sorted by tid, the rest not yet. */
static struct cpu_row *row_of(const struct cpu_update *u, uint32_t tid, size_t nsorted)
{
	struct cpu_row key = { .tid = tid };
	/* No rows yet: rows is NULL, which bsearch must not be given. */
	struct cpu_row *r = nsorted ? bsearch(&key, u->rows, nsorted, sizeof key, compare_tids) : NULL;

	for (size_t i = nsorted; !r && i < u->nrows; i++)
		if (u->rows[i].tid == tid)
			r = &u->rows[i];
	return r;
}

/* A slice in progress counts up to now (split.h); a thread on a CPU since
 * its first switch has no row yet. The slots are read before the rows: a
 * slice that ended in between is in its row, which names its start. */
static int add_running(struct cpu_update *u)
{
	size_t nsorted = u->nrows;

	for (size_t c = 0; c < u->nslots; c++) {
		const struct gs_running *s = &u->slots[c];
		if (!s->tid || s->tgid != u->tgid || u->now_ns <= s->since_ns)
			continue;
		struct cpu_row *r = row_of(u, s->tid, nsorted);
		if (r && r->time.last_since_ns >= s->since_ns)
			continue;
		if (!r) {
			if (array_reserve((void **)&u->rows, &u->cap, u->nrows + 1, sizeof *u->rows, 64) != 0)
				return -1;
			r = &u->rows[u->nrows++];
			memset(r, 0, sizeof *r);
			r->tid = s->tid;
			r->time.tgid = s->tgid;
		}
		r->time.cpu_ns += u->now_ns - s->since_ns;
	}
	return 0;
}

static int forget(struct cpu_update *u, uint32_t tid)
{
	if (array_reserve((void **)&u->forget, &u->forget_cap, u->nforget + 1, sizeof *u->forget, 64) != 0)
		return -1;
	u->forget[u->nforget++] = tid;
	return 0;
}

static int fold_row(struct stats *st, struct cpu_update *u, const struct cpu_row *r)
{
	struct thread_stats *t = stats_find(st, (pid_t)r->tid);
	bool fresh = !t;

	if (fresh && !(t = stats_thread(st, (pid_t)r->tid)))
		return -1;
	/* Recreated by a switch after its thread's end was seen: the last
	 * microseconds of a thread already accounted. */
	if (!fresh && !t->alive && !t->ended_now)
		return forget(u, r->tid);
	stats_cpu_sample(t, r->time.cpu_ns, false);
	stats_steal_sample(t, r->time.steal_ns);
	if (r->time.comm[0])
		snprintf(t->name, sizeof t->name, "%.*s", (int)sizeof r->time.comm, r->time.comm);
	/* Fresh and ended: born and gone within the interval. Forgotten now,
	 * or once folded away it would come back as another thread. */
	if (fresh && r->time.ended)
		t->ended_now = true;
	return t->ended_now ? forget(u, r->tid) : 0;
}

static int compare_sched(const void *a, const void *b)
{
	uint32_t x = ((const struct sched_row *)a)->tid, y = ((const struct sched_row *)b)->tid;

	return (x > y) - (x < y);
}

void cpu_time_sort_sched(struct sched_row *rows, size_t n)
{
	if (n)
		qsort(rows, n, sizeof *rows, compare_sched);
}

static const struct sched_row *sched_of(const struct cpu_update *u, pid_t tid)
{
	struct sched_row key = { .tid = (uint32_t)tid };
	const struct sched_row *q = u->nsched ? bsearch(&key, u->sched, u->nsched, sizeof key, compare_sched) : NULL;

	return q && q->sched.tgid == u->tgid ? q : NULL;
}

/* Its last switch was seen: the slice's row says so, or the run-queue's. */
static bool ended(const struct cpu_update *u, pid_t tid)
{
	const struct cpu_row *r = row_of(u, (uint32_t)tid, u->nrows);
	const struct sched_row *q = sched_of(u, tid);

	return (r && r->time.tgid == u->tgid && r->time.ended) || (q && q->sched.died_ns);
}

int cpu_time_live(const struct cpu_update *u, const pid_t *prev, size_t nprev, pid_t **live, size_t *cap)
{
	size_t n = 0, nkept, want = nprev + u->nrows + u->nsched;
	pid_t *out = malloc((want ? want : 1) * sizeof *out);

	if (!out)
		return -1;
	for (size_t i = 0; i < nprev; i++)
		if (!ended(u, prev[i]))
			out[n++] = prev[i];
	nkept = n;
	for (size_t i = 0; i < u->nrows; i++) {
		const struct cpu_row *r = &u->rows[i];
		pid_t tid = (pid_t)r->tid;
		if (r->time.tgid == u->tgid && !ended(u, tid) && !target_lists_tid(out, nkept, tid))
			out[n++] = tid;
	}
	/* Rows of both kinds name the same thread: sorted before the second. */
	if (n)
		qsort(out, n, sizeof *out, target_compare_tids);
	nkept = n;
	for (size_t i = 0; i < u->nsched; i++) {
		pid_t tid = (pid_t)u->sched[i].tid;
		if (u->sched[i].sched.tgid == u->tgid && !u->sched[i].sched.died_ns && !ended(u, tid) &&
		    !target_lists_tid(out, nkept, tid))
			out[n++] = tid;
	}
	if (n)
		qsort(out, n, sizeof *out, target_compare_tids);
	free(*live); /* prev may be *live: freed once used */
	*live = out;
	*cap = want ? want : 1;
	return (int)n;
}

int cpu_time_prepare(struct cpu_update *u)
{
	if (u->nrows)
		qsort(u->rows, u->nrows, sizeof *u->rows, compare_tids);
	if (add_running(u) != 0)
		return -1;
	if (u->nrows)
		qsort(u->rows, u->nrows, sizeof *u->rows, compare_tids);
	return 0;
}

int cpu_time_update(struct stats *st, struct cpu_update *u)
{
	u->nforget = 0;
	for (size_t i = 0; i < u->nrows; i++)
		if (u->rows[i].time.tgid == u->tgid && fold_row(st, u, &u->rows[i]) != 0)
			return -1;
	return 0;
}
