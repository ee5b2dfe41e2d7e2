/* gilstats-compile: compiles one of gilstats' embedded BPF programs with
 * libbcc and writes it, serialized (probe_image.h), to standard output.
 *
 * It runs for a moment and exits: LLVM's ~100 MB stay out of the
 * long-lived gilstats, which loads the result itself.
 *
 *   gilstats-compile sched|futex|uprobe [CFLAG...]   (BCC_KERNEL_SOURCE in the environment)
 */
#include "config.h"

#include <bcc/bcc_common.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "tool/bpf/probe_image.h"

static const char futex_text[] =
#include "probes/futex.bpf.inc"
	;

static const char uprobe_text[] =
#include "probes/uprobe.bpf.inc"
	;

static const struct {
	const char *name;
	const char *text;
	const char *programs[PROBE_IMAGE_MAX_PROGS];
	const char *define; /* the back end's own flag, or NULL */
} backends[] = {
	{ "futex", futex_text,
	  { "gs_futex_enter", "gs_futex_exit", "gs_sched_switch", "gs_sched_wakeup", "gs_fork", "gs_exec" }, NULL },
	/* futex's text, its waits recognised at the switches instead. */
	{ "sched", futex_text,
	  { "gs_futex_enter", "gs_futex_exit", "gs_switch_waits", "gs_sched_wakeup", "gs_fork", "gs_exec" },
	  "-DGS_SCHED_WAITS" },
	{ "uprobe", uprobe_text,
	  { "gs_wait_enter", "gs_wait_return", "gs_sched_switch", "gs_sched_wakeup", "gs_fork", "gs_exec" }, NULL },
};

static int fail(const char *what)
{
	fprintf(stderr, "gilstats-compile: %s\n", what);
	return 1;
}

/* The module's maps, in bcc's order; fds[i] is map i's. */
static int describe_maps(void *module, struct probe_image *obj, int *fds)
{
	size_t n = bpf_num_tables(module);

	if (n > PROBE_IMAGE_MAX_MAPS)
		return -1;
	for (size_t i = 0; i < n; i++) {
		struct probe_image_map *m = &obj->h.maps[i];
		snprintf(m->name, sizeof m->name, "%s", bpf_table_name(module, i));
		m->type = (uint32_t)bpf_table_type_id(module, i);
		m->key_size = (uint32_t)bpf_table_key_size_id(module, i);
		m->value_size = (uint32_t)bpf_table_leaf_size_id(module, i);
		m->max_entries = (uint32_t)bpf_table_max_entries_id(module, i);
		m->flags = (uint32_t)bpf_table_flags_id(module, i);
		fds[i] = bpf_table_fd_id(module, i);
	}
	obj->h.nmaps = (uint32_t)n;
	return 0;
}

static int describe_program(void *module, struct probe_image *obj, int index, const char *name, const int *fds)
{
	const void *start = bpf_function_start(module, name);
	size_t size = bpf_function_size(module, name);
	struct probe_image_prog *p = &obj->h.progs[index];

	if (!start || size == 0 || size % sizeof(struct bpf_insn) || size / sizeof(struct bpf_insn) > PROBE_IMAGE_MAX_INSNS)
		return -1;
	snprintf(p->name, sizeof p->name, "%s", name);
	p->insn_count = (uint32_t)(size / sizeof(struct bpf_insn));
	if (!(obj->insns[index] = malloc(size)))
		return -1;
	memcpy(obj->insns[index], start, size);
	return probe_image_fds_to_indexes(obj->insns[index], p->insn_count, fds, obj->h.nmaps);
}

/* The text with its defines, then the kernel header flags given. */
static void *compile_program(const char *text, const char *define, int nflags, char **flags)
{
	const char *all[64];
	char nr_futex[32];
	int n = 0;

	snprintf(nr_futex, sizeof nr_futex, "-DGS_NR_FUTEX=%d", (int)SYS_futex);
	all[n++] = "-DGILSTATS_EMBEDDED";
	all[n++] = nr_futex;
	if (define)
		all[n++] = define;
	for (int i = 0; i < nflags && n < 64; i++)
		all[n++] = flags[i];
	return bpf_module_create_c_from_string(text, 0, all, n, true, NULL);
}

static int write_all(const unsigned char *buf, size_t len)
{
	while (len) {
		ssize_t n = write(STDOUT_FILENO, buf, len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return -1;
		buf += n;
		len -= (size_t)n;
	}
	return 0;
}

/* Describe the compiled module and write it; everything is freed so that
 * sanitizer builds see no leaks. */
static int emit_object(void *module, const char *const *programs)
{
	struct probe_image obj = { .h = { .magic = PROBE_IMAGE_MAGIC, .version = PROBE_IMAGE_VERSION } };
	int fds[PROBE_IMAGE_MAX_MAPS];
	unsigned char *bytes = NULL;
	size_t len = 0;
	int rc;

	obj.h.kern_version = bpf_module_kern_version(module);
	snprintf(obj.h.license, sizeof obj.h.license, "%s", bpf_module_license(module));
	obj.h.nprogs = PROBE_IMAGE_MAX_PROGS;
	rc = describe_maps(module, &obj, fds);
	for (int p = 0; rc == 0 && p < PROBE_IMAGE_MAX_PROGS; p++)
		rc = describe_program(module, &obj, p, programs[p], fds);
	if (rc != 0)
		rc = fail("unexpected output from the compiler");
	else if (!(len = probe_image_serialize(&obj, &bytes)) || write_all(bytes, len) != 0)
		rc = fail("cannot write the compiled program");
	else
		rc = 0;
	free(bytes);
	probe_image_free(&obj);
	return rc;
}

int main(int argc, char **argv)
{
	size_t i;
	void *module;
	int rc;

	for (i = 0; argc > 1 && i < sizeof backends / sizeof backends[0]; i++)
		if (strcmp(argv[1], backends[i].name) == 0)
			break;
	if (argc < 2 || i == sizeof backends / sizeof backends[0])
		return fail("usage: gilstats-compile sched|futex|uprobe [CFLAG...]");
	module = compile_program(backends[i].text, backends[i].define, argc - 2, argv + 2);
	if (!module)
		return fail("cannot compile the bpf program (see above)");
	rc = emit_object(module, backends[i].programs);
	bpf_module_destroy(module);
	return rc;
}
