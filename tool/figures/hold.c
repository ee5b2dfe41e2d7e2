#include "config.h"

#include "tool/figures/hold.h"

#include "tool/util/array.h"

#include <stdlib.h>
#include <string.h>

bool hold_where(const struct gil_location *loc, struct gs_holder *out)
{
	const struct gil_instance *g = &loc->gils[0];

	memset(out, 0, sizeof *out);
	if (loc->method != GIL_METHOD_EXACT || !loc->ngils || !g->last_holder || !loc->tstate_tid_off)
		return false;
	/* Without a locked word (2.7) the holder pointer alone says it: NULL
	 * while nobody holds the GIL. */
	*out = (struct gs_holder){ .locked_addr = g->locked, .holder_addr = g->last_holder,
				   .tstate_tid_off = loc->tstate_tid_off, .pthread_tid_off = loc->pthread_tid_off };
	return true;
}

pid_t hold_tstate_tid(const struct gs_holder *w, const struct mem_reader *mem, uint64_t tstate)
{
	uint64_t id = 0;
	uint32_t tid = 0;

	if (!tstate || mem->read(mem->ctx, tstate + w->tstate_tid_off, &id, sizeof id) != 0)
		return 0;
	if (!w->pthread_tid_off)
		tid = (uint32_t)id;
	else if (!id || mem->read(mem->ctx, id + w->pthread_tid_off, &tid, sizeof tid) != 0)
		return 0;
	return tid > 0 && tid <= 0x3fffffff ? (pid_t)tid : 0;
}

/* A thread state's tid if it names a thread of the target (else 0). The
 * id is read every sample: a thread state's memory is freed when its
 * thread ends and reused by the next one, within an interval too (a thread
 * per request). Only the id's check against the target's threads is
 * cached, for the interval (ids are reused as threads come and go). */
static pid_t cached_tid(struct hold_state *h, const struct mem_reader *mem, uint64_t tstate,
			thread_check_fn is_thread, const void *ctx)
{
	pid_t id = hold_tstate_tid(&h->where, mem, tstate), tid;

	if (!id)
		return 0;
	for (size_t i = 0; i < h->ncache; i++)
		if (h->cache[i].tstate == tstate && h->cache[i].id == id)
			return h->cache[i].tid;
	tid = is_thread(id, ctx);
	if (h->ncache < HOLD_TSTATE_CACHE)
		h->cache[h->ncache++] = (struct hold_cache_entry){ tstate, id, tid };
	return tid;
}

static int count_holder(struct hold_state *h, pid_t tid)
{
	for (size_t i = 0; i < h->nper; i++)
		if (h->per[i].tid == tid) {
			h->per[i].n++;
			return 0;
		}
	if (array_reserve((void **)&h->per, &h->per_cap, h->nper + 1, sizeof *h->per, 16) != 0)
		return -1;
	h->per[h->nper++] = (struct hold_tid_count){ tid, 1 };
	return 0;
}

/* The GIL's locked word and holder. last_holder and locked are side by
 * side in every layout that has both: one read, not two. */
static int read_gil_state(const struct gs_holder *w, const struct mem_reader *mem, int32_t *locked, uint64_t *tstate)
{
	unsigned char both[12];

	if (w->locked_addr && w->locked_addr == w->holder_addr + 8) {
		if (mem->read(mem->ctx, w->holder_addr, both, sizeof both) != 0)
			return -1;
		memcpy(tstate, both, 8);
		memcpy(locked, both + 8, 4);
		return 0;
	}
	if ((w->locked_addr && mem->read(mem->ctx, w->locked_addr, locked, sizeof *locked) != 0) ||
	    mem->read(mem->ctx, w->holder_addr, tstate, sizeof *tstate) != 0)
		return -1;
	return 0;
}

int hold_sample(struct hold_state *h, const struct mem_reader *mem, thread_check_fn is_thread, const void *ctx)
{
	const struct gs_holder *w = &h->where;
	uint64_t tstate = 0;
	int32_t locked = 1;
	pid_t tid;

	if (!h->sampling || read_gil_state(w, mem, &locked, &tstate) != 0)
		return -1;
	if (!w->locked_addr)
		locked = tstate != 0;
	h->current.samples++;
	h->last_sample_held = false;
	/* The last holder names a thread even while the GIL is free: enough
	 * to confirm the layout (once confirmed, a free GIL costs one read). */
	if (!locked && h->confirmed)
		return 0;
	/* A holder that names no thread of the target is counted, not attributed. */
	if ((tid = cached_tid(h, mem, tstate, is_thread, ctx)))
		h->confirmed = true;
	if (!locked)
		return 0;
	h->current.held++;
	h->last_sample_held = true;
	h->last_sample_tstate = tstate;
	h->last_sample_tid = tid;
	return tid ? count_holder(h, tid) : 0;
}

/* The thread a sample or row names; one not seen in /proc yet has ended
 * already (or just began: the next update sees it alive). */
static struct thread_stats *thread_for(struct stats *st, pid_t tid)
{
	struct thread_stats *t = stats_find(st, tid);

	if (!t && (t = stats_thread(st, tid))) {
		t->alive = false;
		t->ended_now = true;
	}
	return t;
}

static struct hold_stack *find_stack(struct hold_state *h, const struct gs_held_key *key)
{
	pid_t tid = (pid_t)key->tid;

	for (size_t i = 0; i < h->nstacks; i++)
		if (h->stacks[i].tid == tid && h->stacks[i].stackid == key->stackid &&
		    h->stacks[i].kstackid == key->kstackid)
			return &h->stacks[i];
	if (array_reserve((void **)&h->stacks, &h->stacks_cap, h->nstacks + 1, sizeof *h->stacks, 16) != 0)
		return NULL;
	h->stacks[h->nstacks] = (struct hold_stack){ .tid = tid, .stackid = key->stackid, .kstackid = key->kstackid };
	return &h->stacks[h->nstacks++];
}

/* The held-while-blocked rows: what each (thread, stack) added. */
static int fold_blocked(struct hold_state *h, struct stats *st, const struct held_row *rows, size_t nrows)
{
	for (size_t i = 0; i < h->nstacks; i++)
		h->stacks[i].interval.ns = 0;
	for (size_t i = 0; i < nrows; i++) {
		struct hold_stack *s = find_stack(h, &rows[i].key);
		struct thread_stats *t = thread_for(st, (pid_t)rows[i].key.tid);
		uint64_t total = rows[i].stats.total_ns;
		if (!s || !t)
			return -1;
		/* A row deleted and created again starts from zero; with more
		 * periods ended, a total below the last is a period credited a
		 * moment past its end (split.h), taken back by keeping the larger. */
		if (rows[i].stats.count < s->map_count ||
		    (rows[i].stats.count == s->map_count && total < s->map_total_ns))
			s->map_total_ns = 0;
		s->interval.ns = total > s->map_total_ns ? total - s->map_total_ns : 0;
		if (total > s->map_total_ns)
			s->map_total_ns = total;
		s->map_count = rows[i].stats.count;
		s->run.ns += s->interval.ns;
		t->interval.blocked_ns += s->interval.ns;
		t->run.blocked_ns += s->interval.ns;
	}
	return 0;
}

void hold_stack_free(struct hold_stack *s)
{
	for (size_t f = 0; f < s->nframes; f++)
		free(s->frames[f]);
	free(s->frames);
	free(s->syscall);
}

/* Stacks of threads the statistics folded away (ended, beyond the ones
 * kept one by one) go with them: memory stays bounded under churn. */
static void prune_stacks(struct hold_state *h, struct stats *st)
{
	size_t kept = 0;

	for (size_t i = 0; i < h->nstacks; i++) {
		if (stats_find(st, h->stacks[i].tid))
			h->stacks[kept++] = h->stacks[i];
		else
			hold_stack_free(&h->stacks[i]);
	}
	h->nstacks = kept;
}

static bool thread_kept(pid_t tid, void *st)
{
	return stats_find(st, tid) != NULL;
}

/* The interval in progress becomes the last one, and adds to the run. */
static void close_period(struct hold_state *h)
{
	h->interval = h->current;
	h->run.samples += h->current.samples;
	h->run.held += h->current.held;
	h->run.wait_samples += h->current.wait_samples;
	h->run.waiters_seen += h->current.waiters_seen;
	h->current = (struct hold_period){ 0 };
}

int hold_update(struct hold_state *h, struct stats *st, const struct held_row *rows, size_t nrows,
		double interval_s)
{
	prune_stacks(h, st);
	if (py_profile_fold_threads(&h->profile, thread_kept, st) != 0 ||
	    py_profile_fold_threads(&h->waits, thread_kept, st) != 0)
		return -1;
	for (size_t i = 0; i < st->nthreads; i++) {
		st->threads[i].interval.hold_ns = 0;
		st->threads[i].interval.blocked_ns = 0;
	}
	for (size_t i = 0; i < h->nper; i++) {
		struct thread_stats *t = thread_for(st, h->per[i].tid);
		if (!t)
			return -1;
		/* The share of the samples, of the interval's wall time. */
		t->interval.hold_ns = (uint64_t)((double)h->per[i].n / (double)h->current.samples * interval_s * 1e9);
		t->run.hold_ns += t->interval.hold_ns;
	}
	py_profile_close_interval(&h->profile, h->current.samples, interval_s);
	py_profile_close_interval(&h->waits, h->current.wait_samples, interval_s);
	close_period(h);
	h->nper = h->ncache = 0;
	return fold_blocked(h, st, rows, nrows);
}

static int by_time(const struct hold_stack *a, const struct hold_stack *b, bool summary)
{
	uint64_t x = hold_stack_period_of(a, summary)->ns, y = hold_stack_period_of(b, summary)->ns;

	return (x < y) - (x > y);
}

size_t hold_top_stacks(const struct hold_state *h, pid_t tid, bool summary, const struct hold_stack **out,
		       size_t max)
{
	size_t n = 0;

	for (size_t i = 0; i < h->nstacks; i++) {
		const struct hold_stack *s = &h->stacks[i];
		size_t at;
		if (s->tid != tid || hold_stack_period_of(s, summary)->ns == 0)
			continue;
		/* Insertion into the top max, most time first. */
		for (at = n; at > 0 && by_time(s, out[at - 1], summary) < 0; at--)
			if (at < max)
				out[at] = out[at - 1];
		if (at < max) {
			out[at] = s;
			n += n < max;
		}
	}
	return n;
}

bool hold_time_known(const struct hold_state *h)
{
	return h->sampling && h->confirmed;
}

bool hold_blocked_known(const struct hold_state *h)
{
	return h->blocked_available && h->confirmed;
}

size_t hold_rows_to_forget(const struct hold_state *h, const struct stats *st, struct gs_held_key **keys,
			   size_t *cap)
{
	size_t n = 0;

	for (size_t i = 0; i < h->nstacks; i++) {
		const struct thread_stats *t = stats_find_const(st, h->stacks[i].tid);
		if (!t || !t->ended_now)
			continue;
		if (n == *cap) {
			size_t grown_cap = *cap ? 2 * *cap : 16;
			struct gs_held_key *grown = realloc(*keys, grown_cap * sizeof *grown);
			if (!grown)
				return n;
			*keys = grown;
			*cap = grown_cap;
		}
		(*keys)[n++] = (struct gs_held_key){ .tgid = h->tgid, .tid = (uint32_t)h->stacks[i].tid,
						     .stackid = h->stacks[i].stackid, .kstackid = h->stacks[i].kstackid };
	}
	return n;
}

const char *syscall_of_symbol(const char *name)
{
	static const char *const prefixes[] = { "__x64_sys_", "__arm64_sys_", "__ia32_sys_", "__se_sys_", "__do_sys_" };

	for (size_t i = 0; i < sizeof prefixes / sizeof prefixes[0]; i++) {
		size_t n = strlen(prefixes[i]);
		if (strncmp(name, prefixes[i], n) == 0 && name[n])
			return name + n;
	}
	return NULL;
}

void hold_free(struct hold_state *h)
{
	for (size_t i = 0; i < h->nstacks; i++)
		hold_stack_free(&h->stacks[i]);
	free(h->stacks);
	free(h->per);
	py_profile_free(&h->profile);
	py_profile_free(&h->waits);
	memset(h, 0, sizeof *h);
}
