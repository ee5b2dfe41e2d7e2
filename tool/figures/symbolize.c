#include "config.h"

#include "tool/figures/symbolize.h"

#include <bcc/bcc_syms.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "tool/util/array.h"
#include "tool/inspect/resolve.h"
#include "tool/bpf/snapshot.h"

/* glibc's internal aliases ("__GI___clock_nanosleep") by the name users
 * know ("clock_nanosleep"). */
static const char *public_name(const char *name)
{
	if (strncmp(name, "__GI_", 5) != 0)
		return name;
	name += 5;
	while (*name == '_')
		name++;
	return name;
}

/* The executable file mapping holding ip: code is nowhere else (a frame
 * pointer walk that left the code ends in a thread's stack or heap). */
static const struct mapping *mapping_at(const struct target *t, uint64_t ip)
{
	for (size_t i = 0; i < t->maps.n; i++)
		if (ip >= t->maps.v[i].start && ip < t->maps.v[i].end && t->maps.v[i].path && t->maps.v[i].perms[2] == 'x')
			return &t->maps.v[i];
	return NULL;
}

/* The detached debug file of a stripped one, by build id: inside the
 * target's root (its distribution's -dbg packages), else the host's. */
static int open_debug_file(pid_t pid, struct elf_file *ef)
{
	unsigned char id[64];
	size_t n = elf_build_id(ef, id, sizeof id);
	char path[256];
	int len, fd;

	if (n < 2)
		return -1;
	len = snprintf(path, sizeof path, "/usr/lib/debug/.build-id/%02x/", id[0]);
	for (size_t i = 1; i < n; i++)
		len += snprintf(path + len, sizeof path - (size_t)len, "%02x", id[i]);
	snprintf(path + len, sizeof path - (size_t)len, ".debug");
	fd = target_open_in_root(pid, path);
	return fd >= 0 ? fd : open(path, O_RDONLY | O_CLOEXEC);
}

static bool debug_file_lookup(pid_t pid, struct elf_file *ef, uint64_t vaddr, char *buf, size_t len)
{
	int fd = open_debug_file(pid, ef);
	struct elf_file *debug = fd >= 0 ? elf_open_fd(fd) : NULL;
	bool found = debug && elf_symbol_at(debug, vaddr, buf, len);

	if (debug)
		elf_close(debug);
	if (fd >= 0)
		close(fd);
	return found;
}

/* The function holding ip, from the mapped file's own symbols or its
 * debug file; else the file and offset ("libc.so.6+0x9a72e"). */
static bool elf_lookup(struct symbolizer *sym, uint64_t ip, char *buf, size_t len)
{
	const struct mapping *m = sym->have_target ? mapping_at(&sym->target, ip) : NULL;
	const char *base;
	struct mapped_object obj;
	bool found;

	if (!m)
		return false;
	if (mapped_object_open(&sym->target, m, &obj) == 0) {
		found = ip >= obj.bias && (elf_symbol_at(obj.elf, ip - obj.bias, buf, len) ||
					   debug_file_lookup(sym->pid, obj.elf, ip - obj.bias, buf, len));
		mapped_object_close(&obj);
		if (found)
			return true;
	}
	base = strrchr(m->path, '/');
	snprintf(buf, len, "%s+0x%" PRIx64, base ? base + 1 : m->path, ip - m->start + m->offset);
	return true;
}

static char *resolve_frame(struct symbolizer *sym, uint64_t ip)
{
	struct bcc_symbol s;
	char buf[256], own[256];

	if (sym->cache && bcc_symcache_resolve_no_demangle(sym->cache, ip, &s) == 0 && s.name)
		snprintf(buf, sizeof buf, "%s", public_name(s.name));
	else if (elf_lookup(sym, ip, own, sizeof own))
		snprintf(buf, sizeof buf, "%s", public_name(own));
	else
		return NULL; /* not code: never printed as a bare address */
	return strdup(buf);
}

/* Both caches are bounded: a churning target's frame-pointer walks make
 * endless distinct stacks; starting over costs a few lookups again. */
#define MAX_NAMED_STACKS 512
#define MAX_FRAME_NAMES 8192

static void forget_named(struct symbolizer *sym)
{
	for (size_t i = 0; i < sym->nnamed; i++)
		hold_stack_free(&sym->named[i]);
	sym->nnamed = 0;
}

static void forget_frames(struct symbolizer *sym)
{
	for (size_t i = 0; i < sym->frames_cap; i++)
		free(sym->frames[i].name);
	free(sym->frames);
	sym->frames = NULL;
	sym->nframes = sym->frames_cap = 0;
}

static struct frame_name *frame_slot(struct frame_name *table, size_t cap, uint64_t ip)
{
	size_t i = (size_t)((ip * 0x9e3779b97f4a7c15u) >> 32) & (cap - 1);

	while (table[i].ip && table[i].ip != ip)
		i = (i + 1) & (cap - 1);
	return &table[i];
}

/* Keeps the table at most half full. */
static bool frames_reserve(struct symbolizer *sym)
{
	size_t cap = sym->frames_cap ? 2 * sym->frames_cap : 1024;
	struct frame_name *grown;

	if (2 * (sym->nframes + 1) <= sym->frames_cap)
		return true;
	if (!(grown = calloc(cap, sizeof *grown)))
		return false;
	for (size_t i = 0; i < sym->frames_cap; i++)
		if (sym->frames[i].ip)
			*frame_slot(grown, cap, sym->frames[i].ip) = sym->frames[i];
	free(sym->frames);
	sym->frames = grown;
	sym->frames_cap = cap;
	return true;
}

/* A copy of the frame's name, resolved once an address. */
static char *frame_name(struct symbolizer *sym, uint64_t ip)
{
	struct frame_name *slot;

	if (sym->nframes >= MAX_FRAME_NAMES)
		forget_frames(sym);
	if (!ip || !frames_reserve(sym))
		return resolve_frame(sym, ip);
	slot = frame_slot(sym->frames, sym->frames_cap, ip);
	if (!slot->ip) {
		if (!(slot->name = resolve_frame(sym, ip)))
			return NULL;
		slot->ip = ip;
		sym->nframes++;
	}
	return strdup(slot->name);
}

/* The system call in the kernel stack the thread blocked with. */
static char *blocked_syscall(struct symbolizer *sym, int64_t kstackid, int stacks_fd)
{
	uint64_t ips[SNAPSHOT_STACK_DEPTH];
	size_t n = snapshot_stack(stacks_fd, kstackid, ips, SNAPSHOT_STACK_DEPTH);
	struct bcc_symbol s;
	const char *call;

	if (n && !sym->kernel)
		sym->kernel = bcc_symcache_new(-1, NULL);
	for (size_t i = 0; i < n && sym->kernel; i++)
		if (bcc_symcache_resolve_no_demangle(sym->kernel, ips[i], &s) == 0 && s.name &&
		    (call = syscall_of_symbol(s.name)))
			return strdup(call);
	return NULL;
}

/* The target's mappings as they are now (libraries come and go). */
static void read_mappings(struct symbolizer *sym)
{
	struct gs_error ignored;

	if (sym->have_target)
		target_release(&sym->target);
	sym->have_target = target_inspect(sym->pid, &sym->target, &ignored) == 0;
}

static void name_stack(struct symbolizer *sym, struct hold_stack *s, int stacks_fd)
{
	uint64_t ips[SNAPSHOT_STACK_DEPTH];
	size_t n = snapshot_stack(stacks_fd, s->stackid, ips, SNAPSHOT_STACK_DEPTH);

	if (!(s->frames = calloc(n ? n : 1, sizeof *s->frames)))
		return;
	/* Past a frame outside the code the walk is garbage: it ends there. */
	for (size_t i = 0; i < n && (s->frames[s->nframes] = frame_name(sym, ips[i])); i++)
		s->nframes++;
}

static struct hold_stack *named_before(struct symbolizer *sym, const struct hold_stack *s)
{
	for (size_t i = 0; i < sym->nnamed; i++)
		if (sym->named[i].stackid == s->stackid && sym->named[i].kstackid == s->kstackid)
			return &sym->named[i];
	return NULL;
}

/* A copy of the names into s, which owns its strings. */
static void copy_names(struct hold_stack *s, const struct hold_stack *from)
{
	s->syscall = from->syscall ? strdup(from->syscall) : NULL;
	if (!(s->frames = calloc(from->nframes ? from->nframes : 1, sizeof *s->frames)))
		return;
	for (size_t f = 0; f < from->nframes; f++)
		if ((s->frames[s->nframes] = strdup(from->frames[f])))
			s->nframes++;
}

static void remember_names(struct symbolizer *sym, const struct hold_stack *s)
{
	if (sym->nnamed == MAX_NAMED_STACKS)
		forget_named(sym);
	if (array_reserve((void **)&sym->named, &sym->named_cap, sym->nnamed + 1, sizeof *sym->named, 16) != 0)
		return;
	sym->named[sym->nnamed] = (struct hold_stack){ .stackid = s->stackid, .kstackid = s->kstackid };
	copy_names(&sym->named[sym->nnamed++], s);
}

void symbolize_held_stacks(struct symbolizer *sym, struct hold_state *h, int stacks_fd)
{
	bool fresh = false;

	for (size_t i = 0; i < h->nstacks; i++) {
		struct hold_stack *s = &h->stacks[i], *known;
		if (s->frames || !s->run.ns)
			continue;
		if ((known = named_before(sym, s))) {
			copy_names(s, known);
			continue;
		}
		/* bcc's cache is made once (refreshing it reloads every symbol
		 * table); libraries loaded since are found through the mappings,
		 * read again for each batch of new stacks. */
		if (!sym->cache)
			sym->cache = bcc_symcache_new(sym->pid, NULL);
		if (!fresh)
			read_mappings(sym);
		fresh = true;
		name_stack(sym, s, stacks_fd);
		s->syscall = blocked_syscall(sym, s->kstackid, stacks_fd);
		remember_names(sym, s);
	}
}

void symbolizer_free(struct symbolizer *sym)
{
	forget_named(sym);
	free(sym->named);
	sym->named = NULL;
	sym->named_cap = 0;
	forget_frames(sym);
	if (sym->cache)
		bcc_free_symcache(sym->cache, sym->pid);
	sym->cache = NULL;
	if (sym->kernel)
		bcc_free_symcache(sym->kernel, -1);
	sym->kernel = NULL;
	if (sym->have_target)
		target_release(&sym->target);
	sym->have_target = false;
}
