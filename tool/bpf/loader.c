/* Loading and attaching: the compiled program (from the cache or the
 * compiler helper, bpf_cache.c) is loaded here, its maps created, and the
 * back end's programs attached. Only bcc's small libbcc_bpf is used: no
 * LLVM in this process. */
#include "config.h"

#include "tool/bpf/loader.h"

#include <bcc/libbpf.h>
#include <bpf/bpf.h>
#include <sched.h>
#include <errno.h>
#include <linux/bpf.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "tool/bpf/bpf_cache.h"
#include "tool/bpf/probe_image.h"
#include "tool/bpf/snapshot.h"

#define MAX_LINKS (PROBE_MAX_POINTS * 2)

struct loader {
	struct probe_image obj;
	int map_fds[PROBE_IMAGE_MAX_MAPS];
	int prog_fds[PROBE_IMAGE_MAX_PROGS];
	int links[MAX_LINKS + 5]; /* and sched_switch, sched_wakeup, sched_wakeup_new, fork, exec */
	size_t nlinks;
	int fds[LOADER_MAPS]; /* map_fds by enum loader_map */
	int stats_fd, stats_errno; /* BPF_ENABLE_STATS, or why not */
	struct gs_settings settings;
	bool holding;       /* held-while-blocked is measured */
	bool switch_linked; /* the sched_switch program is attached */
	bool wakeup_linked; /* and the sched_wakeup one */
	bool lineage_linked; /* the fork and exec programs are attached */
};

/* The third program of either back end, on sched_switch: on-CPU time and
 * held the GIL while blocked; the fourth on sched_wakeup(_new): run-queue
 * time, and the end of a wait at its wake-up. */
#define SWITCH_PROGRAM 2
#define WAKEUP_PROGRAM 3
/* The fifth and sixth, on sched_process_fork and sched_process_exec. */
#define FORK_PROGRAM 4
#define EXEC_PROGRAM 5

/* By enum probe_backend (probe_backend.c names them). */
struct backend {
	int prog_type;
	int (*attach)(struct loader *p, const struct probe_plan *plan, struct gs_error *err);
	const char *programs[PROBE_IMAGE_MAX_PROGS]; /* as gilstats-compile names them */
};

static int create_maps(struct loader *p, struct gs_error *err)
{
	for (uint32_t i = 0; i < p->obj.h.nmaps; i++) {
		const struct probe_image_map *m = &p->obj.h.maps[i];
		p->map_fds[i] = bcc_create_map((enum bpf_map_type)m->type, m->name, (int)m->key_size,
					       (int)m->value_size, (int)m->max_entries, (int)m->flags);
		if (p->map_fds[i] < 0)
			return gs_fail(err, errno == EPERM ? GS_EXIT_PRIVILEGE : GS_EXIT_FAILURE,
				       "cannot create bpf map %s: %s", m->name, strerror(errno));
	}
	return 0;
}

/* libbpf's loader, not bcc's: bcc prints the verifier's whole log on
 * stderr when the kernel refuses a program; the error here is one line. */
static int load(struct loader *p, int prog_type, int index, struct gs_error *err)
{
	const struct probe_image_prog *prog = &p->obj.h.progs[index];
	LIBBPF_OPTS(bpf_prog_load_opts, opts, .kern_version = p->obj.h.kern_version);
	int fd;

	if (probe_image_indexes_to_fds(p->obj.insns[index], prog->insn_count, p->map_fds, p->obj.h.nmaps) != 0)
		return gs_fail(err, GS_EXIT_FAILURE, "bpf program %s refers to no map of its own", prog->name);
	fd = bpf_prog_load((enum bpf_prog_type)prog_type, prog->name, p->obj.h.license, p->obj.insns[index],
			   prog->insn_count, &opts);
	if (fd < 0)
		return gs_fail(err, errno == EPERM ? GS_EXIT_PRIVILEGE : GS_EXIT_FAILURE,
			       "cannot load bpf program %s: %s", prog->name, strerror(errno));
	return fd;
}

/* By enum loader_map; those before LOADER_OPEN_PERIODS must be there. */
static const char *const map_names[LOADER_MAPS] = {
	[LOADER_WAITS] = "waits",     [LOADER_COUNTERS] = "counters",   [LOADER_HIST] = "hist",
	[LOADER_INFLIGHT] = "inflight", [LOADER_HELD] = "held",         [LOADER_STACKS] = "stacks",
	[LOADER_BLOCKED] = "blocked", [LOADER_ONCPU] = "oncpu",         [LOADER_RUNNING] = "running",
	[LOADER_SCHED] = "sched",     [LOADER_ATTACH_BLOCKED] = "attach_blocked",
	[LOADER_TARGETS] = "targets", [LOADER_WATCHED] = "watched",     [LOADER_SETTINGS] = "settings",
	[LOADER_OPEN_PERIODS] = "open_periods", [LOADER_HOLDERS] = "holders", [LOADER_FAMILY] = "family",
	[LOADER_FAMILY_COUNTS] = "family_counts",
};

/* The image's index of the map named name, or -1. */
static int image_map(const struct probe_image *obj, const char *name)
{
	for (uint32_t i = 0; i < obj->h.nmaps; i++)
		if (strncmp(obj->h.maps[i].name, name, PROBE_IMAGE_NAME) == 0)
			return (int)i;
	return -1;
}

/* Every map the tool uses, by enum, once the maps are created. */
static void resolve_maps(struct loader *p)
{
	for (int m = 0; m < LOADER_MAPS; m++) {
		int i = image_map(&p->obj, map_names[m]);
		p->fds[m] = i < 0 ? -1 : p->map_fds[i];
	}
}

int loader_map_fd(const struct loader *p, enum loader_map m)
{
	return p->fds[m];
}

int loader_watch(struct loader *p, pid_t tgid, const struct watched_address *watch, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		struct gs_watch_key key = { .addr = watch[i].addr, .tgid = (__u32)tgid };
		struct gs_watch w = { .base = watch[i].base, .kind = watch[i].kind };
		if (bpf_update_elem(p->fds[LOADER_WATCHED], &key, &w, BPF_ANY) != 0)
			return -1;
	}
	return 0;
}

int loader_add_target(struct loader *p, pid_t tgid, const struct watched_address *watch, size_t n)
{
	__u32 key = (__u32)tgid, one = 1, zero = 0;

	/* The addresses first: the target's waits count from the moment
	 * the tgid is in the set. */
	if (loader_watch(p, tgid, watch, n) != 0 || snapshot_counters_add(p->fds[LOADER_COUNTERS], key) != 0 ||
	    bpf_update_elem(p->fds[LOADER_TARGETS], &key, &one, BPF_ANY) != 0)
		return -1;
	/* Then every CPU's running task is checked again at its next
	 * switch off (oncpu.bpf.h): one may be the new target's. */
	p->settings.targets_gen++;
	return bpf_update_elem(p->fds[LOADER_SETTINGS], &zero, &p->settings, BPF_ANY);
}

void loader_remove_target(struct loader *p, pid_t tgid, const struct watched_address *watch, size_t n)
{
	__u32 key = (__u32)tgid;
	int holders = p->fds[LOADER_HOLDERS];

	bpf_delete_elem(p->fds[LOADER_TARGETS], &key);
	if (holders >= 0)
		bpf_delete_elem(holders, &key);
	for (size_t i = 0; i < n; i++) {
		struct gs_watch_key where = { .addr = watch[i].addr, .tgid = key };
		bpf_delete_elem(p->fds[LOADER_WATCHED], &where);
	}
}

void loader_drop_target(struct loader *p, pid_t tgid, const struct watched_address *watch, size_t n)
{
	loader_remove_target(p, tgid, watch, n);
	snapshot_counters_remove(p->fds[LOADER_COUNTERS], (__u32)tgid);
}

/* Fills targets, watched and settings before anything is attached. */
static int configure(struct loader *p, const struct probe_plan *plan, struct gs_error *err)
{
	__u32 zero = 0;

	if (plan->tgid && loader_add_target(p, plan->tgid, plan->watch, plan->nwatch) != 0)
		return gs_fail(err, GS_EXIT_FAILURE, "cannot fill bpf maps targets and watched: %s", strerror(errno));
	p->settings.record_unwatched = plan->record_unwatched;
	p->settings.histogram = plan->histogram;
	p->settings.task_pid_off = plan->task.pid_off;
	p->settings.task_tgid_off = plan->task.tgid_off;
	p->settings.task_runtime_off = plan->task.runtime_off;
	p->settings.task_start_off = plan->task.start_off;
	p->settings.task_cfs_rq_off = plan->task.cfs_rq_off;
	p->settings.cfs_rq_rq_off = plan->task.cfs_rq_rq_off;
	p->settings.rq_clock_off = plan->task.rq_clock_off;
	p->settings.rq_clock_task_off = plan->task.rq_clock_task_off;
	if (bpf_update_elem(p->fds[LOADER_SETTINGS], &zero, &p->settings, BPF_ANY) != 0)
		return gs_fail(err, GS_EXIT_FAILURE, "cannot fill bpf map settings: %s", strerror(errno));
	return 0;
}

static int attach_uprobes(struct loader *p, const struct probe_plan *plan, struct gs_error *err)
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

static int attach_tracepoints(struct loader *p, const struct probe_plan *plan, struct gs_error *err)
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

static bool link_sched_switch(struct loader *p)
{
	int link;

	if (p->switch_linked)
		return true;
	if (p->prog_fds[SWITCH_PROGRAM] < 0 &&
	    (p->prog_fds[SWITCH_PROGRAM] = load(p, BPF_PROG_TYPE_RAW_TRACEPOINT, SWITCH_PROGRAM, NULL)) < 0)
		return false;
	if ((link = bpf_attach_raw_tracepoint(p->prog_fds[SWITCH_PROGRAM], "sched_switch")) < 0)
		return false;
	p->links[p->nlinks++] = link;
	return p->switch_linked = true;
}

/* Run-queue time needs both the switches and the wake-ups, and the
 * task_struct offsets to name a woken task: all or nothing. */
static bool link_wakeups(struct loader *p)
{
	static const char *const tracepoints[2] = { "sched_wakeup", "sched_wakeup_new" };
	int fd, links[2];

	if (p->wakeup_linked)
		return true;
	if ((fd = load(p, BPF_PROG_TYPE_RAW_TRACEPOINT, WAKEUP_PROGRAM, NULL)) < 0)
		return false;
	p->prog_fds[WAKEUP_PROGRAM] = fd;
	for (int t = 0; t < 2; t++) {
		if ((links[t] = bpf_attach_raw_tracepoint(fd, tracepoints[t])) < 0) {
			if (t)
				close(links[0]);
			return false;
		}
	}
	p->links[p->nlinks++] = links[0];
	p->links[p->nlinks++] = links[1];
	return p->wakeup_linked = true;
}

/* Forks and execs of followed processes (lineage.bpf.h). Without them
 * (no task layout from BTF for the child's ids) an exec goes unseen and
 * descendants are found in /proc only. */
static bool link_lineage(struct loader *p, const struct probe_plan *plan)
{
	static const char *const tracepoints[2] = { "sched_process_fork", "sched_process_exec" };
	static const int programs[2] = { FORK_PROGRAM, EXEC_PROGRAM };

	if (p->obj.h.nprogs <= EXEC_PROGRAM || p->fds[LOADER_FAMILY] < 0 || !plan->task.tgid_off)
		return false;
	for (int i = 0; i < 2; i++) {
		int fd = load(p, BPF_PROG_TYPE_RAW_TRACEPOINT, programs[i], NULL), link;
		if (fd < 0)
			return false;
		p->prog_fds[programs[i]] = fd;
		if ((link = bpf_attach_raw_tracepoint(fd, tracepoints[i])) < 0)
			return false;
		p->links[p->nlinks++] = link;
	}
	return p->lineage_linked = true;
}

bool loader_lineage(const struct loader *p)
{
	return p->lineage_linked;
}

int loader_family_fd(const struct loader *p)
{
	return p->lineage_linked ? p->fds[LOADER_FAMILY] : -1;
}

bool loader_follow_execs(struct loader *p)
{
	int zero = 0;

	if (!p->lineage_linked || p->fds[LOADER_FAMILY_COUNTS] < 0)
		return false;
	p->settings.follow_execs = 1;
	return bpf_update_elem(p->fds[LOADER_SETTINGS], &zero, &p->settings, BPF_ANY) == 0;
}

uint64_t loader_family_count(const struct loader *p, enum gs_family_count which)
{
	__u32 key = (__u32)which;
	uint64_t n = 0;

	if (p->fds[LOADER_FAMILY_COUNTS] >= 0)
		bpf_lookup_elem(p->fds[LOADER_FAMILY_COUNTS], &key, &n);
	return n;
}

/* Held-while-blocked needs sched_switch's prev_state (Linux 5.18+): where
 * the kernel cannot, the figures are reported as unavailable, not as 0. */
bool loader_track_holder(struct loader *p, pid_t tgid, const struct gs_holder *holder)
{
	int holders = p->fds[LOADER_HOLDERS];
	__u32 key = (__u32)tgid;
	struct gs_holder value = *holder;

	if (holders < 0 || bpf_update_elem(holders, &key, &value, BPF_ANY) != 0)
		return false;
	return p->holding = link_sched_switch(p);
}

/* On-CPU time is accounted from a thread's switch onto a CPU: a thread
 * running since before the program was attached would count only from
 * its next switch. Running on every CPU once switches each of them out. */
static void visit_every_cpu(void)
{
	cpu_set_t allowed, one;

	if (sched_getaffinity(0, sizeof allowed, &allowed) != 0)
		return;
	for (size_t cpu = 0; cpu < CPU_SETSIZE; cpu++) {
		if (!CPU_ISSET(cpu, &allowed))
			continue;
		CPU_ZERO(&one);
		CPU_SET(cpu, &one);
		/* Returns once this thread runs there. */
		sched_setaffinity(0, sizeof one, &one);
	}
	sched_setaffinity(0, sizeof allowed, &allowed);
}

bool loader_accounting_cpu(const struct loader *p)
{
	return p->switch_linked && p->settings.task_tgid_off;
}

bool loader_accounting_runq(const struct loader *p)
{
	return p->wakeup_linked;
}

bool loader_accounting_steal(const struct loader *p)
{
	return loader_accounting_cpu(p) && p->settings.task_runtime_off && p->settings.task_cfs_rq_off;
}

bool loader_holding(const struct loader *p)
{
	return p->holding;
}

static const struct backend backends[] = {
	[PROBE_FUTEX] = { BPF_PROG_TYPE_RAW_TRACEPOINT, attach_tracepoints,
			  { "gs_futex_enter", "gs_futex_exit", "gs_sched_switch", "gs_sched_wakeup", "gs_fork", "gs_exec" } },
	[PROBE_UPROBE] = { BPF_PROG_TYPE_KPROBE, attach_uprobes,
			   { "gs_wait_enter", "gs_wait_return", "gs_sched_switch", "gs_sched_wakeup", "gs_fork", "gs_exec" } },
	/* futex's object: its two system-call programs are left out. */
	[PROBE_SCHED] = { BPF_PROG_TYPE_RAW_TRACEPOINT, NULL,
			  { "gs_futex_enter", "gs_futex_exit", "gs_switch_waits", "gs_sched_wakeup", "gs_fork", "gs_exec" } },
};

/* Back to nothing loaded, for a second try. */
static void unload(struct loader *p)
{
	for (int i = 0; i < PROBE_IMAGE_MAX_PROGS; i++) {
		if (p->prog_fds[i] >= 0)
			close(p->prog_fds[i]);
		p->prog_fds[i] = -1;
	}
	for (int i = 0; i < PROBE_IMAGE_MAX_MAPS; i++) {
		if (p->map_fds[i] >= 0)
			close(p->map_fds[i]);
		p->map_fds[i] = -1;
	}
	for (int m = 0; m < LOADER_MAPS; m++)
		p->fds[m] = -1;
	probe_image_free(&p->obj);
	memset(&p->obj, 0, sizeof p->obj);
}

/* The back end's program, its maps created and its two probes loaded.
 * The checksum proves a cached copy intact, not that it is this back
 * end's program: its names say which it is, the kernel whether it loads. */
static int load_backend(struct loader *p, const struct backend *b, const struct probe_plan *plan, bool refresh,
			bool *cached, struct gs_error *err)
{
	const char *name = probe_backend_name(plan->backend);

	if (bpf_program_get(name, plan->headers, plan->cache_dir, refresh, &p->obj, cached, err) != 0)
		return -1;
	for (uint32_t i = 0; i < PROBE_IMAGE_MAX_PROGS; i++)
		if (i >= p->obj.h.nprogs || strncmp(p->obj.h.progs[i].name, b->programs[i], PROBE_IMAGE_NAME) != 0)
			return gs_fail(err, GS_EXIT_FAILURE, "the compiled program is not the %s back end's", name);
	for (int m = 0; m < LOADER_OPEN_PERIODS; m++)
		if (image_map(&p->obj, map_names[m]) < 0)
			return gs_fail(err, GS_EXIT_FAILURE, "bpf map %s missing from the compiled program", map_names[m]);
	if (create_maps(p, err) != 0)
		return -1;
	resolve_maps(p);
	for (int i = 0; b->attach && i < 2; i++)
		if ((p->prog_fds[i] = load(p, b->prog_type, i, err)) < 0)
			return -1;
	return 0;
}

/* The sched back end's waits are seen at the switches and wake-ups: all
 * of them attached, or no back end. The switch program is loaded here for
 * the kernel's reason when it refuses it (bpf_task_pt_regs is 5.15+). */
static int attach_sched(struct loader *p, const struct probe_plan *plan, struct gs_error *err)
{
	if (!plan->task.tgid_off)
		return gs_fail(err, GS_EXIT_FAILURE, "the sched back end needs struct task_struct from the kernel's btf");
	if ((p->prog_fds[SWITCH_PROGRAM] = load(p, BPF_PROG_TYPE_RAW_TRACEPOINT, SWITCH_PROGRAM, err)) < 0)
		return -1;
	if (!link_wakeups(p) || !link_sched_switch(p))
		return gs_fail(err, GS_EXIT_FAILURE, "cannot attach to the scheduler's raw tracepoints: %s",
			       strerror(errno));
	return 0;
}

/* Before anything is loaded, so a program's counters hold every run it
 * made; kept on (the fd held) for the whole run. Where the kernel refuses,
 * the cost is unknown, and tracing goes on. */
static void enable_stats(struct loader *p)
{
	p->stats_fd = bpf_enable_stats(BPF_STATS_RUN_TIME);
	p->stats_errno = p->stats_fd < 0 ? errno : 0;
}

bool loader_cost_known(const struct loader *p, int *why)
{
	*why = p->stats_errno;
	return p->stats_fd >= 0;
}

int loader_costs(const struct loader *p, struct bpf_prog_stat *out, size_t max)
{
	size_t n = max < PROBE_IMAGE_MAX_PROGS ? max : PROBE_IMAGE_MAX_PROGS;

	for (size_t i = 0; i < n; i++) {
		struct bpf_prog_info info = { 0 };
		__u32 len = sizeof info;
		memset(&out[i], 0, sizeof out[i]);
		if (i < p->obj.h.nprogs)
			snprintf(out[i].name, sizeof out[i].name, "%.*s", PROBE_IMAGE_NAME - 1, p->obj.h.progs[i].name);
		if (p->prog_fds[i] < 0)
			continue;
		if (bpf_obj_get_info_by_fd(p->prog_fds[i], &info, &len) != 0)
			return -1;
		out[i].loaded = true;
		out[i].runs = info.run_cnt;
		out[i].ns = info.run_time_ns;
	}
	return (int)n;
}

struct loader *loader_attach(const struct probe_plan *plan, struct gs_error *err)
{
	const struct backend *b = &backends[plan->backend];
	struct loader *p = calloc(1, sizeof *p);
	bool cached = false;

	if (!p) {
		gs_fail(err, GS_EXIT_FAILURE, "out of memory");
		return NULL;
	}
	for (int i = 0; i < PROBE_IMAGE_MAX_PROGS; i++)
		p->prog_fds[i] = -1;
	for (int i = 0; i < PROBE_IMAGE_MAX_MAPS; i++)
		p->map_fds[i] = -1;
	for (int m = 0; m < LOADER_MAPS; m++)
		p->fds[m] = -1;
	enable_stats(p);
	if (load_backend(p, b, plan, plan->cache_refresh, &cached, err) != 0) {
		/* A cached copy that is not what it should be: compiled again,
		 * and the cache repaired (missing privileges stay missing). */
		if (!cached || (err && err->exit_code == GS_EXIT_PRIVILEGE))
			goto fail;
		unload(p);
		if (load_backend(p, b, plan, true, &cached, err) != 0)
			goto fail;
	}
	/* Before anything is counted: the family map is empty until the
	 * tool fills it, and the first interval starts once all is attached. */
	link_lineage(p, plan);
	if (configure(p, plan, err) != 0 || (b->attach ? b->attach(p, plan, err) : attach_sched(p, plan, err)) != 0)
		goto fail;
	/* The wake-ups first: a switch seen without them would open run-queue
	 * periods nothing closes. */
	if (plan->task.tgid_off && link_wakeups(p) && link_sched_switch(p)) {
		__u32 zero = 0;
		p->settings.runq = 1;
		if (bpf_update_elem(p->fds[LOADER_SETTINGS], &zero, &p->settings, BPF_ANY) != 0)
			p->wakeup_linked = false;
		visit_every_cpu();
	}
	if (plan->tgid && plan->track_holder)
		loader_track_holder(p, plan->tgid, &plan->holder);
	return p;
fail:
	loader_detach(p);
	return NULL;
}

void loader_detach(struct loader *p)
{
	if (!p)
		return;
	/* Perf-PMU uprobes and raw tracepoints go away with their fds. */
	for (size_t i = 0; i < p->nlinks; i++)
		close(p->links[i]);
	for (int i = 0; i < PROBE_IMAGE_MAX_PROGS; i++)
		if (p->prog_fds[i] >= 0)
			close(p->prog_fds[i]);
	for (int i = 0; i < PROBE_IMAGE_MAX_MAPS; i++)
		if (p->map_fds[i] >= 0)
			close(p->map_fds[i]);
	if (p->stats_fd >= 0)
		close(p->stats_fd);
	probe_image_free(&p->obj);
	free(p);
}

int loader_record_unwatched(struct loader *p, bool on)
{
	__u32 zero = 0;

	p->settings.record_unwatched = on;
	return bpf_update_elem(p->fds[LOADER_SETTINGS], &zero, &p->settings, BPF_ANY);
}

int loader_next_epoch(struct loader *p, uint64_t *ended)
{
	__u32 zero = 0;

	*ended = p->settings.epoch;
	p->settings.epoch++;
	return bpf_update_elem(p->fds[LOADER_SETTINGS], &zero, &p->settings, BPF_ANY);
}

int loader_attach_blocked(struct loader *p, const struct gs_blocked *period)
{
	int fd = p->fds[LOADER_ATTACH_BLOCKED];
	__u32 key = period->tid, zero = 0;
	struct gs_blocked value = *period;

	if (!period->start_ns)
		return bpf_delete_elem(fd, &key);
	if (bpf_update_elem(fd, &key, &value, BPF_ANY) != 0)
		return -1;
	p->settings.attach_blocked = 1;
	return bpf_update_elem(p->fds[LOADER_SETTINGS], &zero, &p->settings, BPF_ANY);
}
