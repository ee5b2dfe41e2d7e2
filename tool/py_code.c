#include "config.h"

#include "py_stack.h"

#include <stdlib.h>
#include <string.h>

#define CODE_CACHE_FIRST 256   /* slots, a power of two */
#define CODE_CACHE_MAX 8192    /* entries; beyond, the cache starts over */
#define NAME_BYTES 1024        /* function and file names kept, UTF-8 */

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

const struct py_code_info *py_code_lookup(struct py_code_cache *c, const struct py_layout *l,
					  const struct mem_reader *mem, uint64_t code)
{
	unsigned char head[512];
	struct code_fingerprint fp;
	struct code_entry *e;

	if (!code || (code & 7) || l->code_read > sizeof head || mem->read(mem->ctx, code, head, l->code_read) != 0)
		return NULL;
	fingerprint_of(l, head, &fp);
	e = find_slot(c, code);
	if (e->addr && memcmp(&e->fp, &fp, sizeof fp) == 0)
		return &e->info;
	/* Another code object at a reused address: the cache starts over
	 * (removing one entry would break the probe chains after it). Rare:
	 * functions live long. */
	if (e->addr || c->n + 1 > CODE_CACHE_MAX)
		cache_clear(c);
	if ((c->n + 1) * 2 > c->cap && grow(c) != 0)
		return NULL;
	e = find_slot(c, code);
	if (read_code(l, mem, &fp, &e->info) != 0)
		return NULL;
	e->addr = code;
	e->fp = fp;
	c->n++;
	return &e->info;
}

int py_frame_line(const struct py_layout *l, const struct py_code_info *ci, uint32_t offset)
{
	int line;

	if (!ci || !ci->line_table)
		return 0;
	line = line_table_line(l->line_format, ci->line_table, ci->line_table_len, ci->first_line, offset);
	return line > 0 ? line : 0;
}
