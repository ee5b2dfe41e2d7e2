#include "config.h"

#include "tool/python/py_stack.h"

#include <stdlib.h>
#include <string.h>

#define CODE_CACHE_FIRST 256   /* slots, a power of two */
#define CODE_CACHE_MAX 8192    /* entries; beyond, the cache starts over */
#define NAME_BYTES 1024        /* function and file names kept, UTF-8 */
#define CODE_HEAD 512          /* bytes of a code object read, at most */

/* What identifies a code object's contents without reading them: its
 * type and the objects it points to. Code objects are immutable; an
 * address reused by another code object differs here (or names the very
 * same strings and table, and then reads the same). */
struct code_fingerprint {
	uint64_t type, filename, name, linetable;
	int32_t first_line;
};

struct code_entry {
	uint64_t addr; /* 0: free slot */
	struct code_fingerprint fp;
	struct py_code_info info;
};

struct py_code_cache {
	struct code_entry *slots;
	size_t cap, n;
	mem_spans_fn read_spans; /* NULL: one read per code object */
	void *spans_ctx;
};

struct py_code_cache *py_code_cache_new(void)
{
	struct py_code_cache *c = calloc(1, sizeof *c);

	if (c && !(c->slots = calloc(CODE_CACHE_FIRST, sizeof *c->slots))) {
		free(c);
		return NULL;
	}
	if (c)
		c->cap = CODE_CACHE_FIRST;
	return c;
}

static void entry_clear(struct code_entry *e)
{
	free(e->info.function);
	free(e->info.file);
	free(e->info.line_table);
	memset(e, 0, sizeof *e);
}

static void cache_clear(struct py_code_cache *c)
{
	for (size_t i = 0; i < c->cap; i++)
		if (c->slots[i].addr)
			entry_clear(&c->slots[i]);
	c->n = 0;
}

void py_code_cache_retire(struct py_code_cache *c)
{
	cache_clear(c);
}

void py_code_cache_free(struct py_code_cache *c)
{
	if (!c)
		return;
	cache_clear(c);
	free(c->slots);
	free(c);
}

static size_t slot_of(const struct py_code_cache *c, uint64_t addr)
{
	uint64_t h = (addr >> 4) * 0x9e3779b97f4a7c15ull;

	return (size_t)(h >> 20) & (c->cap - 1);
}

/* The slot of addr, or the free slot where it goes (linear probing, the
 * table at most half full). */
static struct code_entry *find_slot(struct py_code_cache *c, uint64_t addr)
{
	size_t i = slot_of(c, addr);

	while (c->slots[i].addr && c->slots[i].addr != addr)
		i = (i + 1) & (c->cap - 1);
	return &c->slots[i];
}

static int grow(struct py_code_cache *c)
{
	struct code_entry *old = c->slots;
	size_t old_cap = c->cap;

	if (!(c->slots = calloc(old_cap * 2, sizeof *c->slots))) {
		c->slots = old;
		return -1;
	}
	c->cap = old_cap * 2;
	for (size_t i = 0; i < old_cap; i++)
		if (old[i].addr)
			*find_slot(c, old[i].addr) = old[i];
	free(old);
	return 0;
}

static void fingerprint_of(const struct py_layout *l, const unsigned char *head, struct code_fingerprint *fp)
{
	uint32_t name_off = l->co_qualname >= 0 ? (uint32_t)l->co_qualname : l->co_name;

	memset(fp, 0, sizeof *fp);
	memcpy(&fp->type, head + l->ob_type, 8);
	memcpy(&fp->filename, head + l->co_filename, 8);
	memcpy(&fp->name, head + name_off, 8);
	memcpy(&fp->linetable, head + l->co_linetable, 8);
	memcpy(&fp->first_line, head + l->co_firstlineno, 4);
}

static char *read_name(const struct py_layout *l, const struct mem_reader *mem, uint64_t obj)
{
	char buf[NAME_BYTES];

	return py_read_str(l, mem, obj, buf, sizeof buf) < 0 ? NULL : strdup(buf);
}

/* Reads what the code object names into info; -1 when it is not one. */
static int read_code(const struct py_layout *l, const struct mem_reader *mem, const struct code_fingerprint *fp,
		     struct py_code_info *info)
{
	uint64_t type = fp->type, name = fp->name;

	memset(info, 0, sizeof *info);
	if (!py_type_is(l, mem, type, &l->types->code, "code") || fp->first_line < 0 || !(info->function = read_name(l, mem, name)) ||
	    !(info->file = read_name(l, mem, fp->filename)) ||
	    py_read_bytes(l, mem, fp->linetable, &info->line_table, &info->line_table_len) != 0) {
		free(info->function);
		free(info->file);
		memset(info, 0, sizeof *info);
		return -1;
	}
	info->first_line = fp->first_line;
	return 0;
}

/* Room for n more entries without moving any (pointers handed out stay
 * valid for the whole of a lookup). -1: out of memory. */
static int make_room(struct py_code_cache *c, size_t n)
{
	if (c->n + n > CODE_CACHE_MAX)
		cache_clear(c);
	while ((c->n + n) * 2 > c->cap)
		if (grow(c) != 0)
			return -1;
	return 0;
}

/* The entry of the code object at code whose first bytes are head: the
 * cached one if its fingerprint still matches, else read again in place.
 * A slot whose object no longer reads stays, with a fingerprint nothing
 * matches (a free slot would break the probe chains through it). */
static const struct py_code_info *lookup_head(struct py_code_cache *c, const struct py_layout *l,
					      const struct mem_reader *mem, uint64_t code, const unsigned char *head)
{
	struct code_fingerprint fp;
	struct code_entry *e = find_slot(c, code);

	fingerprint_of(l, head, &fp);
	if (e->addr && e->info.file && memcmp(&e->fp, &fp, sizeof fp) == 0)
		return &e->info;
	if (e->addr)
		entry_clear(e);
	else
		c->n++;
	e->addr = code;
	if (read_code(l, mem, &fp, &e->info) != 0)
		return NULL;
	e->fp = fp;
	return &e->info;
}

static bool code_addr_ok(const struct py_layout *l, uint64_t code)
{
	return code >= 0x1000 && code < (1ull << 47) && !(code & 7) && l->code_read <= CODE_HEAD;
}

/* One code object, inside a lookup that made room for it. */
static const struct py_code_info *py_code_lookup_one(struct py_code_cache *c, const struct py_layout *l,
						     const struct mem_reader *mem, uint64_t code)
{
	unsigned char head[CODE_HEAD];

	if (!code_addr_ok(l, code) || mem->read(mem->ctx, code, head, l->code_read) != 0)
		return NULL;
	return lookup_head(c, l, mem, code, head);
}

const struct py_code_info *py_code_lookup(struct py_code_cache *c, const struct py_layout *l,
					  const struct mem_reader *mem, uint64_t code)
{
	return make_room(c, 1) != 0 ? NULL : py_code_lookup_one(c, l, mem, code);
}

void py_code_cache_use_spans(struct py_code_cache *c, mem_spans_fn read_spans, void *ctx)
{
	c->read_spans = read_spans;
	c->spans_ctx = ctx;
}

/* The first bytes of each code object, in one call when the cache has a
 * span reader; how many, from the first, were read. */
static size_t read_heads(struct py_code_cache *c, const struct py_layout *l, const struct mem_reader *mem,
			 const uint64_t *codes, size_t n, unsigned char (*heads)[CODE_HEAD])
{
	struct mem_span spans[PY_STACK_MAX];
	size_t i;

	if (!c->read_spans) {
		for (i = 0; i < n && mem->read(mem->ctx, codes[i], heads[i], l->code_read) == 0; i++)
			;
		return i;
	}
	for (i = 0; i < n; i++)
		spans[i] = (struct mem_span){ codes[i], heads[i], l->code_read };
	return c->read_spans(c->spans_ctx, spans, n);
}

/* Adds the code objects of st not in codes yet (up to max), each once:
 * recursion repeats one, and the stacks of one batch share most. */
static size_t add_codes(const struct py_layout *l, const struct py_stack *st, uint64_t *codes, size_t n, size_t max)
{
	for (size_t i = 0; i < st->depth && n < max; i++) {
		size_t j = 0;
		while (j < n && codes[j] != st->frames[i].code)
			j++;
		if (j == n && code_addr_ok(l, st->frames[i].code))
			codes[n++] = st->frames[i].code;
	}
	return n;
}

int py_code_lookup_stacks(struct py_code_cache *c, const struct py_layout *l, const struct mem_reader *mem,
			  const struct py_stack *st, size_t nst, const struct py_code_info *(*out)[PY_STACK_MAX])
{
	uint64_t codes[PY_STACK_MAX];
	unsigned char heads[PY_STACK_MAX][CODE_HEAD];
	const struct py_code_info *info[PY_STACK_MAX];
	size_t n = 0, got, total = 0;
	int found = 0;

	for (size_t k = 0; k < nst; k++) {
		n = add_codes(l, &st[k], codes, n, PY_STACK_MAX);
		total += st[k].depth;
	}
	/* Room for every frame's: those past the first PY_STACK_MAX codes
	 * are looked up one by one, below. */
	if (make_room(c, total) != 0)
		return -1;
	got = read_heads(c, l, mem, codes, n, heads);
	for (size_t j = 0; j < n; j++)
		info[j] = j < got ? lookup_head(c, l, mem, codes[j], heads[j]) : py_code_lookup_one(c, l, mem, codes[j]);
	for (size_t k = 0; k < nst; k++)
		for (uint32_t i = 0; i < st[k].depth; i++) {
			size_t j = 0;
			while (j < n && codes[j] != st[k].frames[i].code)
				j++;
			out[k][i] = j < n ? info[j] : py_code_lookup_one(c, l, mem, st[k].frames[i].code);
			found += out[k][i] != NULL;
		}
	return found;
}

int py_code_lookup_stack(struct py_code_cache *c, const struct py_layout *l, const struct mem_reader *mem,
			 const struct py_stack *st, const struct py_code_info **out)
{
	const struct py_code_info *(*rows)[PY_STACK_MAX] = (const struct py_code_info *(*)[PY_STACK_MAX])out;

	return py_code_lookup_stacks(c, l, mem, st, 1, rows);
}

int py_frame_line(const struct py_layout *l, const struct py_code_info *ci, uint32_t offset)
{
	int line;

	if (!ci || !ci->line_table)
		return 0;
	line = line_table_line(l->line_format, ci->line_table, ci->line_table_len, ci->first_line, offset);
	return line > 0 ? line : 0;
}
