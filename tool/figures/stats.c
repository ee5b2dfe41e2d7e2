#include "config.h"

#include "tool/figures/stats.h"

#include "tool/util/array.h"

#include <stdlib.h>
#include <string.h>

static int grow(void **v, size_t *cap, size_t want, size_t elem)
{
	return array_reserve(v, cap, want, elem, 16);
}

static int compare_u64(uint64_t a, uint64_t b)
{
	return (a > b) - (a < b);
}

static int compare_keys(const struct gs_wait_key *a, const struct gs_wait_key *b)
{
	int c = compare_u64(a->tgid, b->tgid);

	if (!c)
		c = compare_u64(a->tid, b->tid);
	return c ? c : compare_u64(a->addr, b->addr);
}

static int compare_rows(const void *a, const void *b)
{
	return compare_keys(&((const struct wait_row *)a)->key, &((const struct wait_row *)b)->key);
}

int wait_figures_compare(const struct wait_figures *a, const struct wait_figures *b)
{
	int c = compare_u64(a->ns, b->ns);

	return c ? c : compare_u64(a->count, b->count);
}

/* Index of the first thread with tid >= tid. */
static size_t thread_slot(const struct stats *st, pid_t tid)
{
	size_t lo = 0, hi = st->nthreads;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		if (st->threads[mid].tid < tid)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

struct thread_stats *stats_find(struct stats *st, pid_t tid)
{
	size_t i = thread_slot(st, tid);

	return i < st->nthreads && st->threads[i].tid == tid ? &st->threads[i] : NULL;
}

const struct thread_stats *stats_find_const(const struct stats *st, pid_t tid)
{
	size_t i = thread_slot(st, tid);

	return i < st->nthreads && st->threads[i].tid == tid ? &st->threads[i] : NULL;
}

static struct thread_stats *find_or_add_thread(struct stats *st, pid_t tid)
{
	size_t i = thread_slot(st, tid);
	struct thread_stats *t;

	if (i < st->nthreads && st->threads[i].tid == tid)
		return &st->threads[i];
	if (grow((void **)&st->threads, &st->threads_cap, st->nthreads + 1, sizeof *st->threads) != 0)
		return NULL;
	memmove(&st->threads[i + 1], &st->threads[i], (st->nthreads - i) * sizeof *st->threads);
	st->nthreads++;
	t = &st->threads[i];
	memset(t, 0, sizeof *t);
	t->tid = tid;
	return t;
}

static size_t baseline_slot(const struct stats *st, const struct gs_wait_key *key)
{
	size_t lo = 0, hi = st->nbase;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		if (compare_keys(&st->base[mid].key, key) < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

/* Replaces the row's baseline; returns what the row added since it. */
static int take_delta(struct stats *st, const struct wait_row *row, struct wait_figures *delta)
{
	size_t i = baseline_slot(st, &row->key);
	struct row_baseline *b;

	if (i == st->nbase || compare_keys(&st->base[i].key, &row->key) != 0) {
		if (grow((void **)&st->base, &st->base_cap, st->nbase + 1, sizeof *st->base) != 0)
			return -1;
		memmove(&st->base[i + 1], &st->base[i], (st->nbase - i) * sizeof *st->base);
		st->nbase++;
		memset(&st->base[i], 0, sizeof st->base[i]);
		st->base[i].key = row->key;
	}
	b = &st->base[i];
	/* A row recreated after deletion restarts from zero. Once more waits
	 * ended, the total may still be below the last one by what a wait in
	 * progress was credited past its end (split.h): the baseline keeps
	 * the larger, which takes that back. */
	if (row->stats.count < b->count || (row->stats.count == b->count && row->stats.total_ns < b->total_ns))
		b->count = b->total_ns = 0;
	delta->ns = row->stats.total_ns > b->total_ns ? row->stats.total_ns - b->total_ns : 0;
	delta->count = row->stats.count - b->count;
	if (row->stats.total_ns > b->total_ns)
		b->total_ns = row->stats.total_ns;
	b->count = row->stats.count;
	return 0;
}

static void add_figures(struct wait_figures *into, const struct wait_figures *d, uint64_t max_ns)
{
	into->ns += d->ns;
	into->count += d->count;
	if (max_ns > into->max_ns)
		into->max_ns = max_ns;
}

void thread_figures_add(struct thread_figures *into, const struct thread_figures *from)
{
	add_figures(&into->gil, &from->gil, from->gil.max_ns);
	add_figures(&into->sw, &from->sw, from->sw.max_ns);
	into->cpu_ns += from->cpu_ns;
	into->steal_ns += from->steal_ns;
	into->hold_ns += from->hold_ns;
	into->blocked_ns += from->blocked_ns;
	into->alive_ns += from->alive_ns;
	into->cpu_wait_ns += from->cpu_wait_ns;
	into->cpu_waits += from->cpu_waits;
	into->blocked_other_ns += from->blocked_other_ns;
}

struct thread_stats *stats_thread(struct stats *st, pid_t tid)
{
	return find_or_add_thread(st, tid);
}

void stats_cpu_sample(struct thread_stats *t, uint64_t ns, bool at_start)
{
	uint64_t used = 0;

	/* Rows are recreated only for threads that ended (cpu_time.c): a
	 * value below the last is a slice in progress credited a moment past
	 * its end (split.h), taken back by keeping the larger. */
	if (t->cpu_sampled)
		used = ns > t->cpu_seen_ns ? ns - t->cpu_seen_ns : 0;
	else if (!at_start)
		used = ns;
	if (!t->cpu_sampled || ns > t->cpu_seen_ns)
		t->cpu_seen_ns = ns;
	t->cpu_sampled = true;
	t->interval.cpu_ns = used;
	t->run.cpu_ns += used;
}

/* A counter's growth since seen. Its row is deleted only once its thread
 * ended: a value below the last is a period credited a moment past its
 * end (split.h), taken back by keeping the larger. */
static uint64_t growth(uint64_t now, uint64_t *seen, bool sampled)
{
	uint64_t used = !sampled ? now : now > *seen ? now - *seen : 0;

	if (!sampled || now > *seen)
		*seen = now;
	return used;
}

void stats_steal_sample(struct thread_stats *t, uint64_t ns)
{
	t->interval.steal_ns = growth(ns, &t->steal_seen_ns, t->steal_sampled);
	t->steal_sampled = true;
	t->run.steal_ns += t->interval.steal_ns;
}

void stats_sched_sample(struct thread_stats *t, uint64_t runq_ns, uint64_t runq_count, uint64_t off_ns)
{
	uint64_t runq = growth(runq_ns, &t->runq_seen_ns, t->sched_sampled);
	uint64_t count = growth(runq_count, &t->runq_seen_count, t->sched_sampled);
	uint64_t off = growth(off_ns, &t->off_seen_ns, t->sched_sampled);
	uint64_t gil = t->interval.gil.ns + t->interval.sw.ns;

	t->sched_sampled = true;
	t->interval.cpu_wait_ns = runq;
	t->interval.cpu_waits = count;
	t->interval.blocked_other_ns = off > gil ? off - gil : 0;
	t->run.cpu_wait_ns += runq;
	t->run.cpu_waits += count;
	t->run.blocked_other_ns += t->interval.blocked_other_ns;
}

void stats_zero(struct stats *st)
{
	for (size_t i = 0; i < st->nthreads; i++) {
		memset(&st->threads[i].interval, 0, sizeof st->threads[i].interval);
		memset(&st->threads[i].run, 0, sizeof st->threads[i].run);
	}
	memset(&st->folded, 0, sizeof st->folded);
}

static int account_row(struct stats *st, const struct wait_row *row, uint64_t ended_epoch,
		       classify_fn classify, const void *ctx)
{
	struct thread_stats *t = find_or_add_thread(st, (pid_t)row->key.tid);
	struct wait_figures delta;
	enum gs_wait_kind kind;
	uint64_t interval_max, gil = 0, run_max = row->stats.max_ns > row->inflight_ns ? row->stats.max_ns : row->inflight_ns;

	if (!t || take_delta(st, row, &delta) != 0)
		return -1;
	kind = classify(row->key.addr, ctx, &gil);
	interval_max = row->stats.epoch[ended_epoch & 1] == ended_epoch && delta.count
			       ? row->stats.epoch_max_ns[ended_epoch & 1]
			       : 0;
	/* A wait in progress at the boundary is one of the interval's too:
	 * without it a thread stuck waiting would show no longest wait. */
	if (row->inflight_ns > interval_max)
		interval_max = row->inflight_ns;
	/* A wait that began in an earlier interval counts here for its part
	 * in this one only, and so does its length as this interval's longest. */
	if (interval_max > delta.ns)
		interval_max = delta.ns;
	if (gil && delta.count)
		t->gil_address = gil;
	if (kind == GS_KIND_GIL_COND || kind == GS_KIND_GIL_MUTEX) {
		add_figures(&t->interval.gil, &delta, interval_max);
		add_figures(&t->run.gil, &delta, run_max);
	} else if (kind == GS_KIND_SWITCH_COND || kind == GS_KIND_SWITCH_MUTEX) {
		add_figures(&t->interval.sw, &delta, interval_max);
		add_figures(&t->run.sw, &delta, run_max);
	}
	return 0;
}

static bool is_live(const pid_t *live, size_t nlive, pid_t tid)
{
	size_t lo = 0, hi = nlive;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		if (live[mid] < tid)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo < nlive && live[lo] == tid;
}

/* Rows of ended threads are final: queue them for deletion and drop
 * their baselines. */
static int collect_forgotten(struct stats *st, const pid_t *live, size_t nlive)
{
	size_t kept = 0;

	st->nforget = 0;
	for (size_t i = 0; i < st->nbase; i++) {
		if (is_live(live, nlive, (pid_t)st->base[i].key.tid)) {
			st->base[kept++] = st->base[i];
			continue;
		}
		if (grow((void **)&st->forget, &st->forget_cap, st->nforget + 1, sizeof *st->forget) != 0)
			return -1;
		st->forget[st->nforget++] = st->base[i].key;
	}
	st->nbase = kept;
	return 0;
}

static int compare_ended(const void *a, const void *b)
{
	const struct thread_stats *x = *(const struct thread_stats *const *)a;
	const struct thread_stats *y = *(const struct thread_stats *const *)b;

	return wait_figures_compare(&x->run.gil, &y->run.gil);
}

static void fold(struct folded_threads *f, const struct thread_stats *t)
{
	f->threads++;
	thread_figures_add(&f->run, &t->run);
}

/* Folds the least waiting ended threads (not those that ended just now)
 * beyond STATS_MAX_ENDED. */
static int fold_ended(struct stats *st)
{
	struct thread_stats **ended;
	size_t nended = 0, excess, kept = 0;

	for (size_t i = 0; i < st->nthreads; i++)
		nended += !st->threads[i].alive && !st->threads[i].ended_now;
	if (nended <= STATS_MAX_ENDED)
		return 0;
	if (!(ended = malloc(nended * sizeof *ended)))
		return -1;
	nended = 0;
	for (size_t i = 0; i < st->nthreads; i++)
		if (!st->threads[i].alive && !st->threads[i].ended_now)
			ended[nended++] = &st->threads[i];
	qsort(ended, nended, sizeof *ended, compare_ended);
	excess = nended - STATS_MAX_ENDED;
	for (size_t i = 0; i < excess; i++) {
		fold(&st->folded, ended[i]);
		ended[i]->tid = -1; /* marked for removal */
	}
	free(ended);
	for (size_t i = 0; i < st->nthreads; i++)
		if (st->threads[i].tid != -1)
			st->threads[kept++] = st->threads[i];
	st->nthreads = kept;
	return 0;
}

int stats_update(struct stats *st, struct wait_rows *rows, uint64_t ended_epoch, const pid_t *live,
		 size_t nlive, classify_fn classify, const void *ctx)
{
	for (size_t i = 0; i < st->nthreads; i++) {
		struct thread_stats *t = &st->threads[i];
		memset(&t->interval.gil, 0, sizeof t->interval.gil);
		memset(&t->interval.sw, 0, sizeof t->interval.sw);
		t->interval.cpu_ns = t->interval.steal_ns = 0;
		t->interval.alive_ns = 0;
		t->spanned = t->alive; /* listed at the last update: there at the start */
		t->interval.cpu_wait_ns = t->interval.cpu_waits = t->interval.blocked_other_ns = 0;
		t->ended_now = false;
	}
	for (size_t i = 0; i < nlive; i++) {
		struct thread_stats *t = find_or_add_thread(st, live[i]);
		if (!t)
			return -1;
		t->alive = true;
	}
	if (rows->n) /* an empty snapshot may have no array at all */
		qsort(rows->v, rows->n, sizeof *rows->v, compare_rows);
	for (size_t i = 0; i < rows->n; i++)
		if (account_row(st, &rows->v[i], ended_epoch, classify, ctx) != 0)
			return -1;
	for (size_t i = 0; i < st->nthreads; i++) {
		struct thread_stats *t = &st->threads[i];
		bool now_live = is_live(live, nlive, t->tid);
		/* Seen alive before, or only through its rows: it ended now. */
		if (!now_live && (t->alive || t->interval.gil.count || t->interval.sw.count))
			t->ended_now = true;
		t->alive = now_live;
	}
	return collect_forgotten(st, live, nlive) == 0 ? fold_ended(st) : -1;
}

static uint64_t min_u64(uint64_t a, uint64_t b)
{
	return a < b ? a : b;
}

static uint64_t max_u64(uint64_t a, uint64_t b)
{
	return a > b ? a : b;
}

/* A thread is at every moment on a CPU, in a run queue or blocked (for
 * the GIL, in drop_gil, or anything else, holding the GIL or not). */
static uint64_t time_seen(const struct thread_figures *f)
{
	return f->cpu_ns + f->steal_ns + f->cpu_wait_ns + f->gil.ns + f->sw.ns + max_u64(f->blocked_other_ns, f->blocked_ns);
}

static uint64_t alive_in(const struct thread_stats *t, uint64_t start_ns, uint64_t end_ns)
{
	/* Spanned yet born after the start: listed at the last boundary from
	 * a row read just after it. */
	uint64_t from = t->spanned ? max_u64(start_ns, t->born_ns) : t->born_ns, to = t->alive ? end_ns : t->died_ns;

	if (!from || !to)
		return min_u64(time_seen(&t->interval), end_ns - start_ns);
	from = max_u64(from, start_ns);
	to = min_u64(to, end_ns);
	return to > from ? to - from : 0;
}

void stats_close_interval(struct stats *st, uint64_t end_ns, uint64_t interval_ns)
{
	uint64_t start_ns = end_ns > interval_ns ? end_ns - interval_ns : 0;

	for (size_t i = 0; i < st->nthreads; i++) {
		struct thread_stats *t = &st->threads[i];
		if (!t->alive && !t->ended_now)
			continue; /* gone before this interval */
		t->interval.alive_ns = alive_in(t, start_ns, end_ns);
		t->run.alive_ns += t->interval.alive_ns;
	}
}

void stats_retire(struct stats *st, struct thread_stats *t)
{
	pid_t tid = t->tid;

	fold(&st->folded, t);
	memset(t, 0, sizeof *t);
	t->tid = tid;
}

const struct gs_wait_key *stats_rows_to_forget(const struct stats *st, size_t *n)
{
	*n = st->nforget;
	return st->forget;
}

void stats_free(struct stats *st)
{
	free(st->threads);
	free(st->base);
	free(st->forget);
	memset(st, 0, sizeof *st);
}
