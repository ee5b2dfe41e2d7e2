#include "config.h"

#include "tool/inspect/resolve.h"

#include <elf.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define MAX_VERSIONS 8

int mapped_object_open(const struct target *t, const struct mapping *m, struct mapped_object *obj)
{
	memset(obj, 0, sizeof *obj);
	obj->first = maps_first_of_file(&t->maps, m);
	obj->fd = target_open_mapping(t, obj->first);
	if (obj->fd < 0)
		return -1;
	obj->elf = elf_open_fd(obj->fd);
	if (!obj->elf || elf_load_bias(obj->elf, obj->first->start, obj->first->offset, &obj->bias) != 0) {
		mapped_object_close(obj);
		return -1;
	}
	return 0;
}

void mapped_object_close(struct mapped_object *obj)
{
	elf_close(obj->elf);
	if (obj->fd >= 0)
		close(obj->fd);
	memset(obj, 0, sizeof *obj);
	obj->fd = -1;
}

bool mapped_object_symbol(struct mapped_object *obj, const char *name, uint64_t *addr, uint64_t *size)
{
	struct elf_symbol sym;

	if (elf_find_symbol(obj->elf, name, &sym, 1) == 0)
		return false;
	if (addr)
		*addr = obj->bias + sym.value;
	if (size)
		*size = sym.size;
	return true;
}

/* The mapping of /proc/PID/exe, found by inode. A file deleted
 * since it was started (a service after a package upgrade) is still
 * mapped: its path ends in " (deleted)" and map_files opens it. */
static const struct mapping *executable_mapping(const struct target *t)
{
	char path[64];
	struct stat st;

	snprintf(path, sizeof path, "/proc/%d/exe", (int)t->pid);
	if (stat(path, &st) != 0)
		return NULL;
	for (size_t i = 0; i < t->maps.n; i++) {
		const struct mapping *m = &t->maps.v[i];
		if (m->inode == (uint64_t)st.st_ino && m->path && m->path[0] == '/')
			return m;
	}
	return NULL;
}

static bool holds_interpreter(const struct target *t, const struct mapping *m, struct mapped_object *obj)
{
	if (mapped_object_open(t, m, obj) != 0)
		return false;
	if (mapped_object_symbol(obj, "Py_InitializeEx", NULL, NULL) ||
	    mapped_object_symbol(obj, "Py_Initialize", NULL, NULL))
		return true;
	mapped_object_close(obj);
	return false;
}

int resolve_interpreter(const struct target *t, struct mapped_object *interp, struct gs_error *err)
{
	const struct mapping *exe = executable_mapping(t);
	int major, minor;

	if (exe && holds_interpreter(t, exe, interp))
		return 0;
	for (size_t i = 0; i < t->maps.n; i++) {
		const struct mapping *m = &t->maps.v[i];
		if (m->offset == 0 && libpython_name_version(mapping_basename(m), &major, &minor) &&
		    holds_interpreter(t, m, interp))
			return 0;
	}
	return gs_fail(err, GS_EXIT_NOT_PYTHON, "pid %d (%s) is not a python process: no libpython and no "
		       "interpreter in its executable", (int)t->pid, t->stat.comm);
}

/* Versions of name defined in obj, as probe points (one per distinct
 * address: aliases share code). Returns how many were added. */
static size_t add_function(struct mapped_object *obj, const char *name, struct probe_plan *plan)
{
	struct elf_symbol syms[MAX_VERSIONS];
	size_t n = elf_find_symbol(obj->elf, name, syms, MAX_VERSIONS), first = plan->npoints;

	if (n > MAX_VERSIONS)
		n = MAX_VERSIONS;
	for (size_t i = 0; i < n && plan->npoints < PROBE_MAX_POINTS; i++) {
		struct probe_point *pt = &plan->points[plan->npoints];
		uint64_t offset;
		bool seen = false;
		if (syms[i].type != STT_FUNC && syms[i].type != STT_GNU_IFUNC)
			continue;
		if (elf_vaddr_to_offset(obj->elf, syms[i].value, &offset) != 0)
			continue;
		for (size_t k = first; k < plan->npoints; k++)
			seen |= plan->points[k].offset == offset;
		if (seen || (pt->fd = dup(obj->fd)) < 0)
			continue;
		pt->offset = offset;
		snprintf(pt->what, sizeof pt->what, "%s%s%s in %s", name,
			 syms[i].version[0] ? (syms[i].is_default ? "@@" : "@") : "", syms[i].version,
			 mapping_basename(obj->first));
		plan->npoints++;
	}
	return plan->npoints - first;
}

static const struct mapping *find_library(const struct target *t, bool (*is_lib)(const char *))
{
	for (size_t i = 0; i < t->maps.n; i++)
		if (mapping_is_file(&t->maps.v[i]) && is_lib(mapping_basename(&t->maps.v[i])))
			return &t->maps.v[i];
	return NULL;
}

int resolve_wait_functions(const struct target *t, const char *const *names, size_t nnames,
			   struct probe_plan *plan, struct gs_error *err)
{
	const struct mapping *libs[2] = { find_library(t, is_libpthread_name), find_library(t, is_libc_name) };
	struct mapped_object objs[2];
	size_t missing = 0;

	for (int k = 0; k < 2; k++)
		if (!libs[k] || mapped_object_open(t, libs[k], &objs[k]) != 0)
			objs[k].elf = NULL, objs[k].fd = -1;
	if (!objs[0].elf && !objs[1].elf)
		return gs_fail(err, GS_EXIT_NOT_PYTHON, "pid %d maps no readable glibc (libc.so.6)", (int)t->pid);
	for (size_t i = 0; i < nnames; i++) {
		/* Before glibc 2.34 libpthread holds the real functions; after
		 * it is an empty stub and libc holds them. */
		size_t found = objs[0].elf ? add_function(&objs[0], names[i], plan) : 0;
		if (!found && objs[1].elf)
			found = add_function(&objs[1], names[i], plan);
		missing += found == 0;
	}
	for (int k = 0; k < 2; k++)
		if (objs[k].elf)
			mapped_object_close(&objs[k]);
	if (missing == nnames)
		return gs_fail(err, GS_EXIT_NOT_PYTHON, "pid %d: its c library defines none of %s...", (int)t->pid,
			       names[0]);
	return 0;
}

void close_probe_points(struct probe_plan *plan)
{
	for (size_t i = 0; i < plan->npoints; i++)
		if (plan->points[i].fd >= 0)
			close(plan->points[i].fd);
	plan->npoints = 0;
}
