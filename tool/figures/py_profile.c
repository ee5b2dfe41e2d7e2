#include "config.h"

#include "tool/figures/py_profile.h"

#include "tool/util/array.h"

#include <stdlib.h>
#include <string.h>

static uint64_t fnv(uint64_t h, const char *s)
{
	for (; s && *s; s++)
		h = (h ^ (unsigned char)*s) * 1099511628211ull;
	return (h ^ 0xff) * 1099511628211ull;
}

static uint64_t names_hash(const struct py_code_info *c)
{
	return fnv(fnv(1469598103934665603ull, c->function), c->file);
}

static bool same_text(const char *a, const char *b)
{
	return a == b || (a && b && strcmp(a, b) == 0);
}

static int grow_name_slots(struct py_profile_names *pn)
{
	size_t nslots = pn->nslots ? 2 * pn->nslots : 256;
	uint32_t *slots = calloc(nslots, sizeof *slots);

	if (!slots)
		return -1;
	for (size_t i = 0; i < pn->n; i++) {
		size_t at = names_hash(pn->names[i]) & (nslots - 1);
		while (slots[at])
			at = (at + 1) & (nslots - 1);
		slots[at] = (uint32_t)i + 1;
	}
	free(pn->slots);
	pn->slots = slots;
	pn->nslots = nslots;
	return 0;
}

static struct py_code_info *copy_names(const struct py_code_info *c)
{
	struct py_code_info *copy = calloc(1, sizeof *copy);

	if (!copy)
		return NULL;
	copy->first_line = c->first_line;
	if ((c->function && !(copy->function = strdup(c->function))) || (c->file && !(copy->file = strdup(c->file)))) {
		free(copy->function);
		free(copy);
		return NULL;
	}
	return copy;
}

/* The profile's own copy of a code object's names (NULL: no memory). */
static const struct py_code_info *intern(struct py_profile_names *pn, const struct py_code_info *c)
{
	uint64_t hash = names_hash(c);
	struct py_code_info *copy;
	size_t at;

	if (pn->nslots)
		for (at = hash & (pn->nslots - 1); pn->slots[at]; at = (at + 1) & (pn->nslots - 1)) {
			const struct py_code_info *have = pn->names[pn->slots[at] - 1];
			if (have == c || (same_text(have->function, c->function) && same_text(have->file, c->file)))
				return have;
		}
	if ((2 * (pn->n + 1) > pn->nslots && grow_name_slots(pn) != 0) ||
	    array_reserve((void **)&pn->names, &pn->cap, pn->n + 1, sizeof *pn->names, 64) != 0 ||
	    !(copy = copy_names(c)))
		return NULL;
	for (at = hash & (pn->nslots - 1); pn->slots[at]; at = (at + 1) & (pn->nslots - 1))
		;
	pn->names[pn->n] = copy;
	pn->slots[at] = (uint32_t)pn->n + 1;
	pn->n++;
	return copy;
}

const struct py_code_info *py_profile_keep(struct py_profile *p, const struct py_code_info *code)
{
	return intern(&p->names, code);
}

static void names_free(struct py_profile_names *pn)
{
	for (size_t i = 0; i < pn->n; i++) {
		free(pn->names[i]->function);
		free(pn->names[i]->file);
		free(pn->names[i]);
	}
	free(pn->names);
	free(pn->slots);
}

/* FNV-1a over the frames' identities, from seed. */
static uint64_t stack_hash(uint64_t h, const struct py_profile_frame *frames, uint32_t depth)
{
	uint64_t words[2];

	for (uint32_t i = 0; i < depth; i++) {
		words[0] = (uint64_t)(uintptr_t)frames[i].code;
		words[1] = (uint64_t)(uint32_t)frames[i].line;
		for (size_t w = 0; w < 2; w++)
			h = (h ^ words[w]) * 1099511628211ull;
	}
	return h;
}

static bool entry_is(const struct py_profile_entry *e, uint64_t hash, pid_t tid,
		     const struct py_profile_frame *frames, uint32_t depth, bool truncated)
{
	if (e->hash != hash || e->tid != tid || e->depth != depth || e->truncated != truncated)
		return false;
	for (uint32_t i = 0; i < depth; i++)
		if (e->frames[i].code != frames[i].code || e->frames[i].line != frames[i].line)
			return false;
	return true;
}

/* The slot table at twice the entries, rebuilt as they grow. */
static int grow_slots(struct py_profile *p)
{
	size_t nslots = p->nslots ? 2 * p->nslots : 256;
	uint32_t *slots = calloc(nslots, sizeof *slots);

	if (!slots)
		return -1;
	for (size_t i = 0; i < p->n; i++) {
		size_t at = p->entries[i].hash & (nslots - 1);
		while (slots[at])
			at = (at + 1) & (nslots - 1);
		slots[at] = (uint32_t)i + 1;
	}
	free(p->slots);
	p->slots = slots;
	p->nslots = nslots;
	return 0;
}

static struct py_profile_entry *new_entry(struct py_profile *p, uint64_t hash, pid_t tid,
					  const struct py_profile_frame *frames, uint32_t depth, bool truncated)
{
	static const uint64_t seed = 1469598103934665603ull;
	struct py_profile_entry *e;

	if (p->n >= PY_PROFILE_MAX_ENTRIES || (2 * (p->n + 1) > p->nslots && grow_slots(p) != 0) ||
	    array_reserve((void **)&p->entries, &p->cap, p->n + 1, sizeof *p->entries, 64) != 0)
		return NULL;
	e = &p->entries[p->n];
	*e = (struct py_profile_entry){ .tid = tid, .depth = depth, .truncated = truncated, .hash = hash,
					.stack_hash = stack_hash(seed + truncated, frames, depth) };
	if (depth && !(e->frames = malloc(depth * sizeof *e->frames)))
		return NULL;
	if (depth)
		memcpy(e->frames, frames, depth * sizeof *frames);
	p->n++;
	return e;
}

static uint64_t entry_hash(pid_t tid, const struct py_profile_frame *frames, uint32_t depth, bool truncated)
{
	return stack_hash(((uint64_t)(uint32_t)tid << 1 | truncated) * 1099511628211ull, frames, depth);
}

static struct py_profile_entry *py_profile_find(struct py_profile *p, pid_t tid, const struct py_profile_frame *frames,
						uint32_t depth, bool truncated)
{
	uint64_t hash = entry_hash(tid, frames, depth, truncated);

	if (!p->nslots)
		return NULL;
	for (size_t at = hash & (p->nslots - 1); p->slots[at]; at = (at + 1) & (p->nslots - 1))
		if (entry_is(&p->entries[p->slots[at] - 1], hash, tid, frames, depth, truncated))
			return &p->entries[p->slots[at] - 1];
	return NULL;
}

/* The entry of a stack, made when new (not counted); NULL: no memory or
 * full (counted as dropped). */
static struct py_profile_entry *entry_for(struct py_profile *p, pid_t tid, const struct py_profile_frame *given,
					  uint32_t depth, bool truncated)
{
	struct py_profile_frame frames[PY_STACK_MAX];
	struct py_profile_entry *e;
	uint64_t hash;
	size_t at;

	if (depth > PY_STACK_MAX)
		depth = PY_STACK_MAX, truncated = true;
	for (uint32_t i = 0; i < depth; i++)
		if (!(frames[i] = (struct py_profile_frame){ given[i].code ? intern(&p->names, given[i].code) : NULL,
							     given[i].line })
			     .code &&
		    given[i].code) {
			p->current.dropped++;
			return NULL;
		}
	hash = entry_hash(tid, frames, depth, truncated);
	if ((e = py_profile_find(p, tid, frames, depth, truncated)))
		return e;
	if (!(e = new_entry(p, hash, tid, frames, depth, truncated))) {
		p->current.dropped++;
		return NULL;
	}
	for (at = hash & (p->nslots - 1); p->slots[at]; at = (at + 1) & (p->nslots - 1))
		;
	p->slots[at] = (uint32_t)(e - p->entries) + 1;
	return e;
}

int py_profile_add_weighted(struct py_profile *p, pid_t tid, const struct py_profile_frame *frames, uint32_t depth,
			    bool truncated, bool blocked, double weight)
{
	struct py_profile_entry *e = entry_for(p, tid, frames, depth, truncated);

	if (!e)
		return -1;
	e->current.n++;
	e->current.blocked_n += blocked;
	e->current.w += weight;
	e->current.blocked_w += blocked ? weight : 0;
	return 0;
}

int py_profile_add(struct py_profile *p, pid_t tid, const struct py_profile_frame *frames, uint32_t depth,
		   bool truncated, bool blocked)
{
	return py_profile_add_weighted(p, tid, frames, depth, truncated, blocked, 1);
}

static void entries_free(struct py_profile *p);

static void period_add(struct py_profile_entry_period *into, const struct py_profile_entry_period *from)
{
	into->n += from->n;
	into->blocked_n += from->blocked_n;
	into->w += from->w;
	into->blocked_w += from->blocked_w;
	into->s += from->s;
	into->blocked_s += from->blocked_s;
}

static void entry_merge(struct py_profile_entry *into, const struct py_profile_entry *from)
{
	period_add(&into->current, &from->current);
	period_add(&into->interval, &from->interval);
	period_add(&into->run, &from->run);
}

int py_profile_fold_threads(struct py_profile *p, bool (*keep)(pid_t tid, void *ctx), void *ctx)
{
	struct py_profile rebuilt = { 0 };
	bool any = false;

	for (size_t i = 0; i < p->n && !any; i++)
		any = p->entries[i].tid && !keep(p->entries[i].tid, ctx);
	if (!any)
		return 0;
	/* The names move over: the frames already point to them. */
	rebuilt.names = p->names;
	for (size_t i = 0; i < p->n; i++) {
		struct py_profile_entry *e = &p->entries[i], *into;
		pid_t tid = e->tid && keep(e->tid, ctx) ? e->tid : 0;
		if (!(into = entry_for(&rebuilt, tid, e->frames, e->depth, e->truncated))) {
			entries_free(&rebuilt);
			return -1;
		}
		entry_merge(into, e);
	}
	rebuilt.current = p->current, rebuilt.interval = p->interval, rebuilt.run = p->run;
	entries_free(p);
	*p = rebuilt;
	return 0;
}

void py_profile_torn(struct py_profile *p)
{
	p->current.torn++;
}

void py_profile_close_interval(struct py_profile *p, uint64_t samples, double interval_s)
{
	double per_sample = samples ? interval_s / (double)samples : 0;

	for (size_t i = 0; i < p->n; i++) {
		struct py_profile_entry *e = &p->entries[i];
		e->interval = e->current;
		e->interval.s = e->current.w * per_sample;
		e->interval.blocked_s = e->current.blocked_w * per_sample;
		period_add(&e->run, &e->interval);
		e->current = (struct py_profile_entry_period){ 0 };
	}
	p->interval = p->current;
	p->run.torn += p->current.torn;
	p->run.dropped += p->current.dropped;
	p->current = (struct py_profile_period){ 0 };
}

double py_profile_seconds(const struct py_profile_entry *e, bool summary, bool blocked)
{
	const struct py_profile_entry_period *f = py_profile_entry_period_of(e, summary);

	return blocked ? f->blocked_s : f->s;
}

static int by_seconds(const struct py_profile_entry *a, const struct py_profile_entry *b, bool summary,
		      bool blocked)
{
	double x = py_profile_seconds(a, summary, blocked), y = py_profile_seconds(b, summary, blocked);

	return (x < y) - (x > y);
}

size_t py_profile_top(const struct py_profile *p, pid_t tid, bool summary, bool blocked,
		      const struct py_profile_entry **out, size_t max)
{
	size_t n = 0;

	for (size_t i = 0; i < p->n; i++) {
		const struct py_profile_entry *e = &p->entries[i];
		size_t at;
		if ((tid && e->tid != tid) || py_profile_seconds(e, summary, blocked) <= 0)
			continue;
		/* Insertion into the top max, most time first. */
		for (at = n; at > 0 && by_seconds(e, out[at - 1], summary, blocked) < 0; at--)
			if (at < max)
				out[at] = out[at - 1];
		if (at < max) {
			out[at] = e;
			n += n < max;
		}
	}
	return n;
}

struct ranked {
	uint64_t hash;
	const struct py_profile_entry *e;
};

static int by_hash(const void *a, const void *b)
{
	const struct ranked *x = a, *y = b;

	return (x->hash > y->hash) - (x->hash < y->hash);
}

static int by_group_seconds(const void *a, const void *b)
{
	const struct py_profile_group *x = a, *y = b;

	return (x->s < y->s) - (x->s > y->s);
}

/* Entries with time, ordered by their stack's hash: equal stacks adjacent
 * (or within a run of one hash, when two stacks collide). */
static size_t ranked_entries(const struct py_profile *p, bool summary, bool blocked, struct ranked *r)
{
	size_t n = 0;

	for (size_t i = 0; i < p->n; i++)
		if (py_profile_seconds(&p->entries[i], summary, blocked) > 0)
			r[n++] = (struct ranked){ p->entries[i].stack_hash, &p->entries[i] };
	qsort(r, n, sizeof *r, by_hash);
	return n;
}

ssize_t py_profile_top_stacks(const struct py_profile *p, bool summary, bool blocked, struct py_profile_group *out,
			      size_t max)
{
	struct ranked *r = malloc((p->n ? p->n : 1) * sizeof *r);
	struct py_profile_group *groups = malloc((p->n ? p->n : 1) * sizeof *groups);
	size_t n, ngroups = 0;

	if (!r || !groups) {
		free(r);
		free(groups);
		return -1;
	}
	n = ranked_entries(p, summary, blocked, r);
	for (size_t i = 0; i < n; i++) {
		double s = py_profile_seconds(r[i].e, summary, blocked);
		size_t g = ngroups;
		/* The group of an equal stack among those of this hash. */
		while (g > 0 && groups[g - 1].stack->stack_hash == r[i].hash &&
		       !py_profile_same_stack(groups[g - 1].stack, r[i].e))
			g--;
		if (g == 0 || groups[g - 1].stack->stack_hash != r[i].hash) {
			groups[ngroups++] = (struct py_profile_group){ r[i].e, s, 1 };
			continue;
		}
		if (s > py_profile_seconds(groups[g - 1].stack, summary, blocked))
			groups[g - 1].stack = r[i].e;
		groups[g - 1].s += s;
		groups[g - 1].nthreads++;
	}
	qsort(groups, ngroups, sizeof *groups, by_group_seconds);
	n = ngroups < max ? ngroups : max;
	memcpy(out, groups, n * sizeof *out);
	free(r);
	free(groups);
	return (ssize_t)n;
}

void py_profile_frame_name(const struct py_profile_frame *f, char *buf, size_t size)
{
	const char *function = f->code && f->code->function ? f->code->function : "?";
	const char *file = f->code && f->code->file ? f->code->file : "?";

	if (f->line > 0)
		snprintf(buf, size, "%s (%s:%d)", function, file, f->line);
	else
		snprintf(buf, size, "%s (%s)", function, file);
}

bool py_profile_same_stack(const struct py_profile_entry *a, const struct py_profile_entry *b)
{
	if (a->depth != b->depth || a->truncated != b->truncated)
		return false;
	for (uint32_t i = 0; i < a->depth; i++)
		if (a->frames[i].code != b->frames[i].code || a->frames[i].line != b->frames[i].line)
			return false;
	return true;
}

/* The entries only: the names may have moved to a rebuilt profile. */
static void entries_free(struct py_profile *p)
{
	for (size_t i = 0; i < p->n; i++)
		free(p->entries[i].frames);
	free(p->entries);
	free(p->slots);
}

void py_profile_free(struct py_profile *p)
{
	entries_free(p);
	names_free(&p->names);
	memset(p, 0, sizeof *p);
}

/* The last two parts of a path: "app/db.py" of "/srv/app/db.py". */
static const char *short_path(const char *path)
{
	const char *last = strrchr(path, '/'), *before = last;

	if (!last)
		return path;
	while (before > path && before[-1] != '/')
		before--;
	return before > path ? before : path;
}

void py_profile_frame_short_name(const struct py_profile_frame *f, char *buf, size_t size)
{
	const char *function = f->code && f->code->function ? f->code->function : "?";
	const char *file = f->code && f->code->file ? short_path(f->code->file) : "?";

	if (f->line > 0)
		snprintf(buf, size, "%s (%s:%d)", function, file, f->line);
	else
		snprintf(buf, size, "%s (%s)", function, file);
}
