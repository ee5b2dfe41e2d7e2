/* Loading and attaching: libbcc compiles one of the embedded BPF programs
 * (probes/futex.bpf.c or probes/uprobe.bpf.c, each with the shared maps)
 * and the back end's programs are attached. */
#include "config.h"

#include "probes.h"

#include <bcc/bcc_common.h>
#include <bcc/libbpf.h>
#include <errno.h>
#include <linux/bpf.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

static const char futex_text[] =
#include "probes/futex.bpf.inc"
	;

static const char uprobe_text[] =
#include "probes/uprobe.bpf.inc"
	;

#define MAX_LINKS (PROBE_MAX_POINTS * 2)

struct probes {
	void *module;
	int prog_fds[2];
	int links[MAX_LINKS];
	size_t nlinks;
	int settings_fd, watched_fd;
	struct gs_settings settings;
};

struct backend {
	const char *text;
	int prog_type;
	const char *programs[2];
	int (*attach)(struct probes *p, const struct probe_plan *plan, struct gs_error *err);
};

static void *compile(const char *text, const struct kernel_headers *kh, struct gs_error *err)
{
	const char *flags[KH_MAX_FLAGS + 2];
	char nr_futex[32];
	int n = 0;
	void *module;

	snprintf(nr_futex, sizeof nr_futex, "-DGS_NR_FUTEX=%d", (int)SYS_futex);
	flags[n++] = "-DGILSTATS_EMBEDDED";
	flags[n++] = nr_futex;
	for (size_t i = 0; i < kh->nflags; i++)
		flags[n++] = kh->flags[i];
	if (kh->source[0])
		setenv("BCC_KERNEL_SOURCE", kh->source, 1);
	module = bpf_module_create_c_from_string(text, 0, flags, n, true, NULL);
	if (!module)
		gs_fail(err, GS_EXIT_PRIVILEGE, "cannot compile the bpf program against kernel headers %s "
			"(see the messages above; --kernel-headers DIR picks others)", kh->description);
	return module;
}

static int load(struct probes *p, int prog_type, const char *name, struct gs_error *err)
{
	char log[4096] = "";
	void *start = bpf_function_start(p->module, name);
	int fd;

	if (!start)
		return gs_fail(err, GS_EXIT_FAILURE, "bpf program %s missing after compilation", name);
	fd = bcc_func_load(p->module, prog_type, name, start, (int)bpf_function_size(p->module, name),
			   bpf_module_license(p->module), bpf_module_kern_version(p->module), 0, log, sizeof log,
			   NULL, 0);
	if (fd < 0)
		return gs_fail(err, errno == EPERM ? GS_EXIT_PRIVILEGE : GS_EXIT_FAILURE,
			       "cannot load bpf program %s: %s", name, strerror(errno));
	return fd;
}

static int map_fd(struct probes *p, const char *name, struct gs_error *err)
{
	int fd = bpf_table_fd(p->module, name);

	if (fd < 0)
		return gs_fail(err, GS_EXIT_FAILURE, "bpf map %s missing after compilation", name);
	return fd;
}

int probes_watch(struct probes *p, const struct watched_address *watch, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		__u64 addr = watch[i].addr;
		struct gs_watch w = { .base = watch[i].base, .kind = watch[i].kind };
		if (bpf_update_elem(p->watched_fd, &addr, &w, BPF_ANY) != 0)
			return -1;
	}
	return 0;
}

/* Fills targets, watched and settings before anything is attached. */
static int configure(struct probes *p, const struct probe_plan *plan, struct gs_error *err)
{
	int targets = map_fd(p, "targets", err);
	__u32 tgid = (__u32)plan->tgid, one = 1, zero = 0;

	if (targets < 0 || (p->watched_fd = map_fd(p, "watched", err)) < 0 ||
	    (p->settings_fd = map_fd(p, "settings", err)) < 0)
		return -1;
	if (bpf_update_elem(targets, &tgid, &one, BPF_ANY) != 0)
		return gs_fail(err, GS_EXIT_FAILURE, "cannot fill bpf map targets: %s", strerror(errno));
	if (probes_watch(p, plan->watch, plan->nwatch) != 0)
		return gs_fail(err, GS_EXIT_FAILURE, "cannot fill bpf map watched: %s", strerror(errno));
	p->settings.record_unwatched = plan->record_unwatched;
	p->settings.histogram = plan->histogram;
	if (bpf_update_elem(p->settings_fd, &zero, &p->settings, BPF_ANY) != 0)
		return gs_fail(err, GS_EXIT_FAILURE, "cannot fill bpf map settings: %s", strerror(errno));
	return 0;
}

static int attach_uprobes(struct probes *p, const struct probe_plan *plan, struct gs_error *err)
{
	static const enum bpf_probe_attach_type types[2] = { BPF_PROBE_ENTRY, BPF_PROBE_RETURN };
	char path[64], event[64];

	for (size_t i = 0; i < plan->npoints; i++) {
		const struct probe_point *pt = &plan->points[i];
		/* The kernel resolves this magic link to the very file we opened
		 * and checked, whatever root or mount namespace the target has. */
		snprintf(path, sizeof path, "/proc/self/fd/%d", pt->fd);
		for (int t = 0; t < 2; t++) {
			int link;
			snprintf(event, sizeof event, "gilstats_%d_%zu_%d", (int)getpid(), p->nlinks, t);
			link = bpf_attach_uprobe(p->prog_fds[t], types[t], event, path, pt->offset, plan->tgid, 0);
			if (link < 0)
				return gs_fail(err, GS_EXIT_PRIVILEGE, "cannot attach uprobe to %s: %s", pt->what,
					       strerror(errno));
			p->links[p->nlinks++] = link;
		}
	}
	return 0;
}

static int attach_tracepoints(struct probes *p, const struct probe_plan *plan, struct gs_error *err)
{
	static const char *const tracepoints[2] = { "sys_enter", "sys_exit" };

	(void)plan;
	for (int t = 0; t < 2; t++) {
		int link = bpf_attach_raw_tracepoint(p->prog_fds[t], tracepoints[t]);
		if (link < 0)
			return gs_fail(err, GS_EXIT_PRIVILEGE, "cannot attach to raw tracepoint %s: %s",
				       tracepoints[t], strerror(errno));
		p->links[p->nlinks++] = link;
	}
	return 0;
}

static const struct backend backends[] = {
	[PROBE_FUTEX] = { futex_text, BPF_PROG_TYPE_RAW_TRACEPOINT, { "gs_futex_enter", "gs_futex_exit" },
			  attach_tracepoints },
	[PROBE_UPROBE] = { uprobe_text, BPF_PROG_TYPE_KPROBE, { "gs_wait_enter", "gs_wait_return" }, attach_uprobes },
};

struct probes *probes_attach(const struct probe_plan *plan, struct gs_error *err)
{
	const struct backend *b = &backends[plan->backend];
	struct probes *p = calloc(1, sizeof *p);

	if (!p) {
		gs_fail(err, GS_EXIT_FAILURE, "out of memory");
		return NULL;
	}
	p->prog_fds[0] = p->prog_fds[1] = -1;
	if (!(p->module = compile(b->text, plan->headers, err)))
		goto fail;
	for (int i = 0; i < 2; i++)
		if ((p->prog_fds[i] = load(p, b->prog_type, b->programs[i], err)) < 0)
			goto fail;
	if (configure(p, plan, err) != 0 || b->attach(p, plan, err) != 0)
		goto fail;
	return p;
fail:
	probes_detach(p);
	return NULL;
}

void probes_detach(struct probes *p)
{
	if (!p)
		return;
	/* Perf-PMU uprobes and raw tracepoints go away with their fds. */
	for (size_t i = 0; i < p->nlinks; i++)
		close(p->links[i]);
	for (int i = 0; i < 2; i++)
		if (p->prog_fds[i] >= 0)
			close(p->prog_fds[i]);
	if (p->module)
		bpf_module_destroy(p->module);
	free(p);
}

int probes_record_unwatched(struct probes *p, bool on)
{
	__u32 zero = 0;

	p->settings.record_unwatched = on;
	return bpf_update_elem(p->settings_fd, &zero, &p->settings, BPF_ANY);
}

int probes_next_epoch(struct probes *p, uint64_t *ended)
{
	__u32 zero = 0;

	*ended = p->settings.epoch;
	p->settings.epoch++;
	return bpf_update_elem(p->settings_fd, &zero, &p->settings, BPF_ANY);
}

int probes_rows_fd(const struct probes *p)
{
	return bpf_table_fd(p->module, "waits");
}

int probes_counters_fd(const struct probes *p)
{
	return bpf_table_fd(p->module, "counters");
}

int probes_histogram_fd(const struct probes *p)
{
	return bpf_table_fd(p->module, "hist");
}

int probes_inflight_fd(const struct probes *p)
{
	return bpf_table_fd(p->module, "inflight");
}
