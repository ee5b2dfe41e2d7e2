#include "config.h"

#include "tool/figures/split.h"

#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "tool/util/array.h"
#include "tool/inspect/target.h"

uint64_t split_part(uint64_t start, uint64_t now)
{
	return start && now > start ? now - start : 0;
}

static struct wait_row *find_wait_row(struct wait_rows *rows, const struct gs_wait_key *key)
{
	for (size_t i = 0; i < rows->n; i++)
		if (rows->v[i].key.tid == key->tid && rows->v[i].key.addr == key->addr &&
		    rows->v[i].key.tgid == key->tgid)
			return &rows->v[i];
	return NULL;
}

/* Linear lookups: a process has a handful of rows per thread, and only
 * the threads with a period in progress are looked up. Called with
 * rows sorted this would be a bsearch; the callers sort afterwards. */
int split_waits(struct wait_rows *rows, const struct inflight_row *inflight, size_t n, uint32_t tgid,
		const pid_t *live, size_t nlive, uint64_t now)
{
	for (size_t i = 0; i < n; i++) {
		const struct gs_inflight *w = &inflight[i].wait;
		struct gs_wait_key key = { .addr = w->addr, .tgid = tgid, .tid = inflight[i].tid };
		uint64_t part = split_part(w->start_ns, now);
		struct wait_row *row;
		if (w->tgid != tgid || !part || !target_lists_tid(live, nlive, (pid_t)inflight[i].tid))
			continue;
		row = find_wait_row(rows, &key);
		/* Ended between the reads: in the total already, or followed
		 * there by a later one of the same row (starts only grow). */
		if (row && row->stats.last_start_ns >= w->start_ns)
			continue;
		if (!row) {
			if (array_reserve((void **)&rows->v, &rows->cap, rows->n + 1, sizeof *rows->v, 64) != 0)
				return -1;
			row = &rows->v[rows->n++];
			memset(row, 0, sizeof *row);
			row->key = key;
		}
		row->stats.total_ns += part;
		row->inflight_ns = part;
	}
	return 0;
}

static struct held_row *find_held_row(struct held_row *rows, size_t n, const struct gs_held_key *key)
{
	for (size_t i = 0; i < n; i++)
		if (rows[i].key.tid == key->tid && rows[i].key.tgid == key->tgid && rows[i].key.stackid == key->stackid &&
		    rows[i].key.kstackid == key->kstackid)
			return &rows[i];
	return NULL;
}

int split_held(struct held_row **rows, size_t *nrows, size_t *cap, const struct blocked_row *blocked, size_t n,
	       uint32_t tgid, uint64_t now)
{
	for (size_t i = 0; i < n; i++) {
		const struct gs_blocked *b = &blocked[i].period;
		struct gs_held_key key = { .tgid = b->tgid, .tid = b->tid, .stackid = b->stackid, .kstackid = b->kstackid };
		uint64_t part = split_part(b->start_ns, now);
		struct held_row *row;
		if (b->tgid != tgid || !part)
			continue;
		row = find_held_row(*rows, *nrows, &key);
		if (row && row->stats.last_start_ns >= b->start_ns)
			continue;
		if (!row) {
			if (array_reserve((void **)rows, cap, *nrows + 1, sizeof **rows, 16) != 0)
				return -1;
			row = &(*rows)[(*nrows)++];
			memset(row, 0, sizeof *row);
			row->key = key;
		}
		row->stats.total_ns += part;
	}
	return 0;
}

uint64_t split_cpu_wait(const struct gs_sched *s, uint64_t now)
{
	return s->cpu_wait_ns + split_part(s->runq_since, now);
}

uint64_t split_blocked(const struct gs_sched *s, uint64_t now)
{
	return s->blocked_ns + split_part(s->sleep_since, now);
}
