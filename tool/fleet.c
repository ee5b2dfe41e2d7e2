/* The processes of one run (fleet.h). */
#include "config.h"

#include "tool/fleet.h"

#include <errno.h>
#include <math.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <time.h>
#include <unistd.h>

#include "tool/util/array.h"
#include "tool/util/clock.h"
#include "tool/bpf/kernel_btf.h"
#include "tool/report/metrics.h"
#include "tool/bpf/privileges.h"
#include "tool/bpf/snapshot.h"

/* How long a launched command may take to start its interpreter. */
#define LAUNCH_LOCATE_POLL_S 0.001
/* How often the kernel's record of forks and execs is read. */
#define LINEAGE_POLL_S 0.05
/* How often --all reads /proc's directory for new processes. */
#define DISCOVER_POLL_S 0.1
/* How long after an exec the new image may take to start its interpreter. */
#define EXEC_LOCATE_S 5.0

/* Shared by the first process's plan, --all's empty one and --compile-only. */
int fleet_plan_shared(struct fleet *f, struct probe_plan *plan, struct gs_error *err)
{
	struct kh_roots roots;
	char release[128];
	struct task_layout task;

	kh_system_roots(&roots, release, sizeof release);
	if (kernel_headers_find(&roots, f->opt.kernel_headers, &f->headers, err) != 0)
		return -1;
	plan->headers = &f->headers;
	if (kernel_task_layout(&task) == 0)
		plan->task = task;
	/* --no-cache: compile afresh and replace what the cache holds. */
	plan->cache_dir = f->opt.cache_dir;
	plan->cache_refresh = f->opt.no_cache;
	/* The live screen shows the histogram on h: collect it there anyway. */
	plan->histogram = f->opt.per_thread				    ? GS_HIST_PER_THREAD
			  : f->opt.histogram || output_is_live(&f->opt) ? GS_HIST_PROCESS
									 : GS_HIST_OFF;
	return 0;
}

static struct session *add_session(struct fleet *f)
{
	struct session *s;

	if (array_reserve((void **)&f->sessions, &f->sessions_cap, f->nsessions + 1, sizeof *f->sessions, 8) != 0)
		return NULL;
	if (!(s = calloc(1, sizeof *s)))
		return NULL;
	f->sessions[f->nsessions++] = s;
	return s;
}

static void drop_session(struct fleet *f, size_t i)
{
	struct session *s = f->sessions[i];
	struct watched_address watch[GS_MAX_WATCHED];
	size_t n = gil_watch_list(&s->gil, 0, watch, GS_MAX_WATCHED);

	if (f->loader) {
		loader_drop_target(f->loader, s->target.pid, watch, n);
		/* Its threads' rows went as they ended; the process's own
		 * histogram is left. */
		snapshot_forget_histogram(loader_map_fd(f->loader, LOADER_HIST), (uint32_t)s->target.pid, 0);
	}
	session_release(s);
	free(s);
	memmove(&f->sessions[i], &f->sessions[i + 1], (f->nsessions - i - 1) * sizeof *f->sessions);
	f->nsessions--;
}

/* Several processes share the in-kernel back end: its filter is a set of
 * tgids; uprobes would be one set of probes per process. Where the kernel
 * refused sched, every process has futex, the shared program. */
static int check_fleet_backend(const struct fleet *f, struct session *s, struct gs_error *err)
{
	if (f->sched_refused[0] && s->plan.backend == PROBE_SCHED && !f->opt.probe)
		session_use_backend(s, PROBE_FUTEX, f->sched_refused);
	if (!cli_fleet(&f->opt) || probe_in_kernel(s->plan.backend))
		return 0;
	return gs_fail(err, GS_EXIT_NOT_PYTHON,
		       "pid %d: python %s gives no exact gil address, and several processes are traced with "
		       "--probe=sched or futex only",
		       (int)s->target.pid, s->gil.py.version);
}

/* The shared program. The sched back end is chosen by trying it: where
 * the kernel (or bcc) refuses it and the user did not ask for it, futex,
 * and why is kept for every process's report. */
static struct loader *attach_shared(struct fleet *f, struct probe_plan *plan, struct gs_error *err)
{
	struct loader *p = loader_attach(plan, err);

	if (p || plan->backend != PROBE_SCHED || f->opt.probe || err->exit_code == GS_EXIT_PRIVILEGE)
		return p;
	snprintf(f->sched_refused, sizeof f->sched_refused,
		 "the sched back end is not available here (%s): its gil's futex words are timed at system calls",
		 err->msg);
	*err = (struct gs_error){ 0 };
	plan->backend = PROBE_FUTEX;
	return loader_attach(plan, err);
}

/* The first process: its plan compiles and attaches the program. With
 * --all alone there is none yet: the program starts with no target. */
static int attach_first(struct fleet *f, struct gs_error *err)
{
	struct probe_plan empty = { .backend = PROBE_SCHED };
	struct session *s;

	if (!f->opt.command && !f->opt.npids) {
		if (f->opt.probe)
			probe_backend_named(f->opt.probe, &empty.backend);
		if (fleet_plan_shared(f, &empty, err) != 0 || !(f->loader = attach_shared(f, &empty, err)))
			return -1;
		f->attached = monotonic_s();
		return 0;
	}
	if (!(s = add_session(f)))
		return gs_fail(err, GS_EXIT_FAILURE, "out of memory");
	if (f->opt.command) {
		if (f->opt.probe && strcmp(f->opt.probe, "uprobe") == 0)
			return gs_fail(err, GS_EXIT_USAGE, "launch mode (-- COMMAND) traces with --probe=sched or futex only");
		if (launch_prepare(f->opt.command, &f->launch, err) != 0)
			return -1;
		f->launched = true;
		session_prepare_launched(s, &f->opt, f->launch.pid, f->opt.command[0]);
	} else if (session_prepare(s, &f->opt, f->opt.pids[0], err) != 0 || check_fleet_backend(f, s, err) != 0) {
		return -1;
	}
	if (fleet_plan_shared(f, &s->plan, err) != 0 || !(f->loader = attach_shared(f, &s->plan, err)))
		return -1;
	if (f->sched_refused[0])
		session_use_backend(s, PROBE_FUTEX, f->sched_refused);
	f->attached = monotonic_s();
	return 0;
}

/* Into the kernel's family map (lineage.bpf.h): its execs are seen, and
 * with --children its forks, even after it exited. */
static void lineage_join(struct fleet *f, struct session *s)
{
	int fd = loader_family_fd(f->loader);

	if (fd >= 0 && !s->in_lineage && s->located && !s->target_gone)
		s->in_lineage = lineage_add(fd, s->target.pid, f->rules.children || f->rules.all, &s->execs_seen) == 0;
}

/* The keyboard, when there is one (the live view). */
static void watch_keys(struct fleet *f)
{
	struct epoll_event ev = { .events = EPOLLIN, .data.ptr = NULL };
	int fd = output_input_fd(f->out);

	if (fd >= 0)
		epoll_ctl(f->epfd, EPOLL_CTL_ADD, fd, &ev);
}

/* Its pidfd into the wait's set: one registration, not a poll of every
 * process at every wake-up (the sampler's, many a second). */
static void watch_exit(struct fleet *f, struct session *s)
{
	struct epoll_event ev = { .events = EPOLLIN, .data.ptr = s };

	if (f->epfd >= 0 && s->pidfd >= 0)
		epoll_ctl(f->epfd, EPOLL_CTL_ADD, s->pidfd, &ev);
}

/* One more process while running; failures are reported, not fatal.
 * exact_only: a GIL found by the heuristic counts as a failure, said
 * nowhere (a python looked at early may not have made its GIL yet). */
static bool attach_as(struct fleet *f, pid_t pid, bool quiet, bool exact_only)
{
	struct session *s = add_session(f);
	struct gs_error err = { 0 };
	double begun = monotonic_s();

	if (!s)
		return false;
	if (session_prepare(s, &f->opt, pid, &err) == 0 && (!exact_only || s->gil.method == GIL_METHOD_EXACT) &&
	    check_fleet_backend(f, s, &err) == 0) {
		if (loader_add_target(f->loader, pid, s->plan.watch, s->plan.nwatch) == 0) {
			session_start(s, f->loader, f->out, monotonic_s(), begun);
			watch_exit(f, s);
			lineage_join(f, s);
			return true;
		}
		/* Said even with --all: a python process left out. */
		int why = errno;
		quiet = false;
		loader_drop_target(f->loader, pid, s->plan.watch, s->plan.nwatch);
		gs_fail(&err, GS_EXIT_FAILURE, "pid %d not traced: %s (at most %d processes at once)", (int)pid,
			strerror(why), GS_MAX_TARGETS);
	}
	if (!quiet && err.msg[0])
		gs_error_print(&err);
	session_release(s);
	free(s);
	f->nsessions--;
	return false;
}

static bool attach_more(struct fleet *f, pid_t pid, bool quiet)
{
	return attach_as(f, pid, quiet, false);
}

/* Descendants found in /proc are followed in the kernel too: their
 * children stay known when they exit. */
static void lineage_adopt(struct fleet *f, const pid_t *pids, size_t n)
{
	int fd = loader_family_fd(f->loader);

	for (size_t i = 0; fd >= 0 && i < n; i++)
		lineage_add(fd, pids[i], true, NULL);
}

/* The pids traced now, into *out (room for nsessions); the count. */
static size_t traced_pids(const struct fleet *f, pid_t *out)
{
	for (size_t i = 0; i < f->nsessions; i++)
		out[i] = f->sessions[i]->target.pid;
	return f->nsessions;
}

/* Chosen by --all's filters, read as the process is now (once: a process
 * left out is passed over). */
static bool chosen(const struct fleet *f, pid_t pid)
{
	char cmdline[4096];
	uid_t euid;

	if (!fleet_rules_filtered(&f->rules))
		return true;
	return discover_identity(pid, cmdline, sizeof cmdline, &euid) == 0 &&
	       fleet_rules_chosen(&f->rules, cmdline, euid);
}

/* Is p wanted: a descendant (--children) or CPython (--all)? */
static bool wanted(const struct fleet *f, const struct proc_entry *p, const pid_t *descendants, size_t ndesc)
{
	return fleet_rules_descendant(&f->rules, p->pid, descendants, ndesc) ||
	       (f->rules.all && chosen(f, p->pid) && discover_may_be_python(p->pid));
}

/* Too young to look at now (fleet_rules.h): the next look takes it. */
static bool young(const struct proc_entry *p)
{
	return fleet_rules_young(p, discover_now_ticks(), sysconf(_SC_CLK_TCK));
}

/* A pid this look decided on, for look_for_new to compare with (sorted
 * once the look is done). */
static void remember_looked(struct fleet *f, pid_t pid)
{
	if (array_reserve((void **)&f->looked, &f->looked_cap, f->nlooked + 1, sizeof *f->looked, 256) == 0)
		f->looked[f->nlooked++] = pid;
}

/* --children and --all: the processes that started since the last look.
 * One buffer: the descendants (at most n), then the pids traced before
 * this look (one attached in it is not listed twice in /proc). */
static void discover(struct fleet *f)
{
	int n = discover_processes(&f->procs, &f->procs_cap);
	pid_t *descendants, *traced;
	size_t ndesc = 0, ntraced;

	if (n <= 0 || !(descendants = malloc(((size_t)n + f->nsessions) * sizeof *descendants)))
		return;
	traced = descendants + n;
	ntraced = traced_pids(f, traced);
	if (f->rules.children)
		ndesc = discover_descendants(f->procs, (size_t)n, f->opt.pids, f->opt.npids, descendants);
	lineage_adopt(f, descendants, ndesc);
	fleet_rules_prune(&f->rules, f->procs, (size_t)n);
	f->nlooked = 0;
	for (int i = 0; i < n; i++) {
		const struct proc_entry *p = &f->procs[i];
		bool fresh = fleet_rules_new(&f->rules, p, traced, ntraced);
		/* Too young: not remembered, so the next look takes it (with
		 * exec events, the kernel's map: no look comes). */
		if (fresh && !fleet_rules_descendant(&f->rules, p->pid, descendants, ndesc) && young(p)) {
			if (f->exec_events) {
				lineage_look_later(loader_family_fd(f->loader), p->pid, monotonic_s());
				f->family_pending = true;
			}
			continue;
		}
		remember_looked(f, p->pid);
		if (!fresh)
			continue;
		if (!wanted(f, p, descendants, ndesc) || !attach_more(f, p->pid, f->rules.all))
			fleet_rules_pass(&f->rules, p);
	}
	if (f->nlooked)
		qsort(f->looked, f->nlooked, sizeof *f->looked, target_compare_tids);
	free(descendants);
}

/* --all between intervals where the kernel cannot record execs
 * (loader_follow_execs): a new process is looked at within
 * DISCOVER_POLL_S of its start (and FLEET_MIN_AGE_S), not at the end of
 * the interval, so its first figures come with this interval's. One
 * directory read; only the pids not there at the last look are read
 * further (a host's short-lived processes cost a stat each). */
static void look_for_new(struct fleet *f)
{
	size_t k = 0, kept = 0, ntraced;
	pid_t *traced;
	int n;

	f->next_list = monotonic_s() + DISCOVER_POLL_S;
	if ((n = discover_pids(&f->listed, &f->listed_cap)) < 0 || !(traced = malloc((f->nsessions + 1) * sizeof *traced)))
		return;
	ntraced = traced_pids(f, traced);
	for (int i = 0; i < n; i++) {
		pid_t pid = f->listed[i];
		struct proc_entry p;
		while (k < f->nlooked && f->looked[k] < pid)
			k++;
		if ((k < f->nlooked && f->looked[k] == pid) || discover_entry(pid, &p) != 0 ||
		    !fleet_rules_new(&f->rules, &p, traced, ntraced)) {
			f->listed[kept++] = pid;
			continue;
		}
		if (young(&p)) /* not remembered: new again at the next look */
			continue;
		f->listed[kept++] = pid;
		if (!wanted(f, &p, NULL, 0) || !attach_more(f, pid, f->rules.all))
			fleet_rules_pass(&f->rules, &p);
	}
	free(traced);
	if (array_reserve((void **)&f->looked, &f->looked_cap, kept + 1, sizeof *f->looked, 256) == 0) {
		if (kept)
			memcpy(f->looked, f->listed, kept * sizeof *f->looked);
		f->nlooked = kept;
	}
}

static double list_due(const struct fleet *f)
{
	double left = f->next_list - monotonic_s();

	if (!f->rules.all || f->exec_events)
		return 1e9;
	return left > 0 ? left : 0;
}

static int by_pid(const void *a, const void *b)
{
	pid_t x = (*(struct session *const *)a)->target.pid, y = (*(struct session *const *)b)->target.pid;

	return (x > y) - (x < y);
}

/* bsearch's comparison of a pid with a session. */
static int pid_vs_session(const void *key, const void *elem)
{
	pid_t x = *(const pid_t *)key, y = (*(struct session *const *)elem)->target.pid;

	return (x > y) - (x < y);
}

/* The session of pid among the n sorted by pid, or NULL. */
static struct session *session_of(struct session *const *sorted, size_t n, pid_t pid)
{
	struct session *const *found = n ? bsearch(&pid, sorted, n, sizeof *sorted, pid_vs_session) : NULL;

	return found ? *found : NULL;
}

/* An exec the kernel saw: the process is located again once its new
 * interpreter is up, or leaves with one line saying why (and is not
 * looked at again as it is now). */
static void follow_exec(struct fleet *f, struct session *s, uint64_t execs)
{
	struct gs_error err = { 0 };
	struct proc_entry now;

	if (s->target_gone)
		return;
	if (execs != s->execs_seen) {
		s->execs_seen = execs;
		session_exec_begin(s);
	}
	/* Uprobes sit in the old image: no use waiting for the new one. */
	if (!s->exec_pending || session_exec_locate(s, &err) == 0 ||
	    (probe_in_kernel(s->plan.backend) && monotonic_s() - s->exec_at < EXEC_LOCATE_S))
		return;
	gs_error_print(&err);
	s->target_gone = true;
	if (discover_entry(s->target.pid, &now) == 0)
		fleet_rules_pass(&f->rules, &now);
}

/* A process the kernel saw forked by a followed one (--children). */
static void follow_child(struct fleet *f, const struct lineage_entry *e)
{
	struct proc_entry p;

	if (discover_entry(e->pid, &p) != 0 || fleet_rules_passed(&f->rules, &p))
		return;
	if ((!f->rules.children && !chosen(f, e->pid)) || !attach_more(f, e->pid, f->rules.all))
		fleet_rules_pass(&f->rules, &p);
}

/* Whether pid still exists (one that cannot be signalled does). */
static bool alive(pid_t pid)
{
	return kill(pid, 0) == 0 || errno != ESRCH;
}

/* --all: an exec (or a traced python's fork) the kernel saw. A first
 * look soon after takes a python whose GIL is exactly where it should be
 * already; the last, once old enough to have made its GIL, takes it as it
 * is, or passes it over (its entry goes: it comes back if it execs again). */
static void look_at_exec(struct fleet *f, int fd, const struct lineage_entry *e)
{
	struct proc_entry p;

	switch (fleet_rules_exec_look(e, monotonic_s())) {
	case FLEET_LOOK_LATER:
		f->family_pending = true;
		return;
	case FLEET_LOOK_EARLY:
		f->family_pending = true;
		lineage_mark_looked(fd, e->pid);
		if (discover_entry(e->pid, &p) == 0 && wanted(f, &p, NULL, 0))
			attach_as(f, e->pid, true, true);
		return;
	case FLEET_LOOK_LAST:
		lineage_remove(fd, e->pid);
		if (discover_entry(e->pid, &p) == 0 && wanted(f, &p, NULL, 0))
			attach_more(f, e->pid, true);
		return;
	}
}

/* Whether the family map must be read though the kernel counted no
 * change: a look is due, a process has yet to join it, or one is being
 * located again after its exec. */
static bool lineage_pending(struct fleet *f)
{
	if (f->family_pending)
		return true;
	for (size_t i = 0; i < f->nsessions; i++) {
		const struct session *s = f->sessions[i];
		if (!s->target_gone && (s->exec_pending || (s->located && !s->in_lineage)))
			return true;
	}
	return false;
}

/* Execs the kernel could not record (its map full): /proc is read. */
static void catch_up_lost(struct fleet *f)
{
	uint64_t lost = loader_family_count(f->loader, GS_FAMILY_LOST);

	if (lost == f->family_lost)
		return;
	f->family_lost = lost;
	discover(f);
}

/* The kernel's record of forks and execs (lineage.bpf.h); entries of
 * processes that ended, or no longer traced and not followed, go. */
static void follow_lineage(struct fleet *f)
{
	int fd = loader_family_fd(f->loader), n;

	f->next_lineage = monotonic_s() + LINEAGE_POLL_S;
	if (fd < 0)
		return;
	if (f->exec_events)
		catch_up_lost(f);
	/* One word read, not the map, while nothing happened (most polls). */
	uint64_t changes = loader_family_count(f->loader, GS_FAMILY_CHANGES);
	if (changes == f->family_changes && !lineage_pending(f))
		return;
	f->family_changes = changes;
	f->family_pending = false;
	for (size_t i = 0; i < f->nsessions; i++)
		lineage_join(f, f->sessions[i]);
	n = lineage_read(fd, &f->family, &f->family_cap);
	/* Sorted once: a fleet of hundreds has as many entries. The steps
	 * below may add sessions; those are in the map from the next read. */
	size_t nsorted = f->nsessions;
	struct session **sorted = malloc((nsorted + 1) * sizeof *sorted);
	if (!sorted)
		return;
	if (nsorted) { /* f->sessions may be NULL yet (--all, none traced) */
		memcpy(sorted, f->sessions, nsorted * sizeof *sorted);
		qsort(sorted, nsorted, sizeof *sorted, by_pid);
	}
	for (int i = 0; i < n; i++) {
		const struct lineage_entry *e = &f->family[i];
		struct session *s = session_of(sorted, nsorted, e->pid);
		/* A traced process is known alive without a signal. */
		bool live = (s && !s->target_gone) || alive(e->pid);
		switch (fleet_rules_lineage(&f->rules, e, s != NULL, s && s->in_lineage, live)) {
		case FLEET_LINEAGE_EXEC:
			follow_exec(f, s, e->execs);
			break;
		case FLEET_LINEAGE_FORGET:
			lineage_remove(fd, e->pid);
			break;
		case FLEET_LINEAGE_ADOPT:
			follow_child(f, e);
			break;
		case FLEET_LINEAGE_LOOK:
			look_at_exec(f, fd, e);
			break;
		case FLEET_LINEAGE_KEEP:
			break;
		}
	}
	free(sorted);
}

/* Seconds until the kernel's record of forks and execs is read again. */
static double lineage_due(const struct fleet *f)
{
	double left = f->next_lineage - monotonic_s();

	if (!loader_lineage(f->loader))
		return 1e9;
	return left > 0 ? left : 0;
}

/* The programs' run-time statistics: the first read is the baseline. A
 * failed read makes the cost unknown from then on, not a figure short. */
static void read_cost(struct fleet *f)
{
	struct bpf_prog_stat now[BPF_COST_MAX_PROGS];
	int n = loader_costs(f->loader, now, BPF_COST_MAX_PROGS);

	if (n < 0)
		bpf_cost_start(&f->cost, false, errno);
	else
		bpf_cost_read(&f->cost, now, (size_t)n, monotonic_s());
}

static void start_cost(struct fleet *f)
{
	int why;
	bool known = loader_cost_known(f->loader, &why);

	bpf_cost_start(&f->cost, known, why);
	read_cost(f);
}

/* The cost is the host's, shared by every process traced: it goes on the
 * first process's line of a period only, so summing never counts it twice. */
static void emit_intervals(struct fleet *f)
{
	const struct bpf_cost *cost = &f->cost;

	output_frame_begin(f->out, f->nsessions);
	for (size_t i = 0; i < f->nsessions; i++)
		/* A run cut short mid-interval still reports what it saw. */
		if (f->sessions[i]->last_interval >= 0.001) {
			session_emit(f->sessions[i], false, cost);
			cost = NULL;
		}
	output_frame_end(f->out);
}

/* The live screen's keys: true when the user quits. */
static bool handle_keys(struct fleet *f)
{
	switch (output_keys(f->out)) {
	case SCREEN_QUIT:
		return true;
	case SCREEN_REDRAW:
		emit_intervals(f);
		return false;
	default:
		return false;
	}
}

/* Whether every process is gone and none can come: then the run ends.
 * Each is asked (session_gone marks it), so ended ones leave in a fleet. */
static bool all_gone(struct fleet *f)
{
	size_t gone = 0;

	for (size_t i = 0; i < f->nsessions; i++)
		gone += session_gone(f->sessions[i]);
	return fleet_rules_ends(&f->rules, f->nsessions, gone);
}

/* How long to wait at most for exits no pidfd tells (old kernels). */
static double exit_recheck(const struct fleet *f)
{
	for (size_t i = 0; i < f->nsessions; i++)
		if (!f->sessions[i]->target_gone && f->sessions[i]->pidfd < 0)
			return 0.1;
	return 1e9;
}

#define WAIT_EVENTS 64

/* Waits up to left seconds (the signal mask during_wait meanwhile);
 * whether a process's pidfd said it exited. A readable pidfd leaves the
 * set: it stays readable. */
static bool wait_events(struct fleet *f, double left, const sigset_t *during_wait)
{
	struct epoll_event ev[WAIT_EVENTS];
	struct timespec ts = { .tv_sec = (time_t)left };
	bool exited = false;
	int n;

	ts.tv_nsec = (long)((left - (double)ts.tv_sec) * 1e9);
	n = epoll_pwait2(f->epfd, ev, WAIT_EVENTS, &ts, during_wait);
	if (n < 0 && errno == ENOSYS) /* before Linux 5.11: milliseconds, rounded up */
		n = epoll_pwait(f->epfd, ev, WAIT_EVENTS, (int)ceil(left * 1e3), during_wait);
	for (int i = 0; i < n; i++) {
		struct session *s = ev[i].data.ptr;
		if (!s)
			continue; /* the keyboard */
		epoll_ctl(f->epfd, EPOLL_CTL_DEL, s->pidfd, NULL);
		exited = true;
	}
	return exited;
}

/* Whether a process may have gone since the last look: its pidfd was
 * readable, one was let go (an exec into no python), or one without a
 * pidfd is due a check. */
static bool exit_seen(struct fleet *f, bool exited, double recheck)
{
	double now = monotonic_s();

	if (exited)
		return true;
	for (size_t i = 0; i < f->nsessions; i++)
		if (f->sessions[i]->target_gone)
			return true;
	if (recheck >= 1e9 || now < f->next_exit_check)
		return false;
	f->next_exit_check = now + recheck;
	return true;
}

/* The first session of a launched command until its interpreter is up. */
static bool launch_pending(const struct fleet *f)
{
	return f->launched && f->nsessions && !f->sessions[0]->located;
}

/* Samples the holders; returns the seconds to the next sample. */
static double sample_holders(struct fleet *f)
{
	double next = 1e9, now = monotonic_s(), hz[2];
	size_t idle = 0;

	for (size_t i = 0; i < f->nsessions; i++) {
		struct session *s = f->sessions[i];
		s->idle = fleet_rules_idle(f->nsessions, s->gil_possible);
		idle += s->idle;
	}
	hz[0] = fleet_rules_sample_hz(f->opt.hold_rate_hz, f->nsessions - idle, idle, true);
	hz[1] = fleet_rules_sample_hz(f->opt.hold_rate_hz, f->nsessions - idle, idle, false);
	for (size_t i = 0; i < f->nsessions; i++) {
		double in = session_sample(f->sessions[i], now, hz[f->sessions[i]->idle]);
		next = in < next ? in : next;
	}
	return next;
}

/* Waits for the end of the interval, a stop signal, a key, or the
 * targets' exit. Returns true when the run must end after this interval. */
static bool wait_interval(struct fleet *f, double deadline, const sigset_t *during_wait,
			  const volatile sig_atomic_t *stop)
{
	bool keys = output_input_fd(f->out) >= 0;

	for (;;) {
		double left = deadline - monotonic_s(), to_sample = sample_holders(f), recheck = exit_recheck(f);
		if (*stop) {
			/* From now on a second stop signal ends gilstats at once. */
			sigprocmask(SIG_SETMASK, during_wait, NULL);
			return true;
		}
		if (left <= 0)
			return false;
		if (launch_pending(f))
			left = left < LAUNCH_LOCATE_POLL_S ? left : LAUNCH_LOCATE_POLL_S;
		double to_lineage = lineage_due(f), to_list = list_due(f);
		left = left < to_sample ? left : to_sample;
		left = left < recheck ? left : recheck;
		left = left < to_lineage ? left : to_lineage;
		left = left < to_list ? left : to_list;
		bool exited = wait_events(f, left, during_wait);
		if (lineage_due(f) <= 0)
			follow_lineage(f);
		if (list_due(f) <= 0)
			look_for_new(f);
		if (exit_seen(f, exited, recheck) && all_gone(f))
			return true;
		if (launch_pending(f))
			session_locate_launched(f->sessions[0]);
		/* Keys, and a resize (SIGWINCH interrupts the wait). */
		if (keys && handle_keys(f))
			return true;
	}
}

/* The metrics of every traced process, to the server and the textfile. */
static void publish_metrics(struct fleet *f)
{
	struct metrics_process *procs;
	struct gs_error err;
	char *text = NULL;
	size_t len = 0;
	FILE *mem;

	if ((!f->server && !f->opt.textfile) || !(procs = calloc(f->nsessions + 1, sizeof *procs)))
		return;
	for (size_t i = 0; i < f->nsessions; i++)
		procs[i] = (struct metrics_process){ &f->sessions[i]->report_target, &f->sessions[i]->stats,
						     &f->sessions[i]->hold, f->sessions[i]->verdict_known,
						     f->sessions[i]->verdict, &f->sessions[i]->counts };
	if ((mem = open_memstream(&text, &len))) {
		metrics_write(mem, procs, f->nsessions, f->opt.per_thread_metrics);
		bpf_cost_metrics(mem, &f->cost);
		fclose(mem);
		if (f->server)
			metrics_publish(f->server, text, len);
		if (f->opt.textfile && metrics_write_textfile(f->opt.textfile, text, len, &err) != 0)
			gs_error_print(&err);
	}
	free(text);
	free(procs);
}

/* Every process's figures at one boundary. The maps are shared: with
 * several processes each is read once and every process takes its rows
 * out of that read (N processes would otherwise walk every map N times). */
static int update_sessions(struct fleet *f, uint64_t ended_epoch, struct gs_error *err)
{
	bool shared = f->nsessions > 1;
	uint64_t boundary = monotonic_ns();
	int rc = 0;

	if (shared)
		snapshot_share_begin();
	for (size_t i = 0; i < f->nsessions && rc == 0; i++) {
		f->sessions[i]->shared_boundary_ns = shared ? boundary : 0;
		snapshot_share_owner((uint32_t)f->sessions[i]->target.pid);
		rc = session_update(f->sessions[i], ended_epoch, err);
		f->sessions[i]->shared_boundary_ns = 0;
		if (rc == 0) {
			session_name_stacks(f->sessions[i]);
			session_name_threads(f->sessions[i]);
		}
	}
	if (shared)
		snapshot_share_end();
	return rc;
}

/* One interval of every process; ended ones report their summary and go. */
static int update_all(struct fleet *f, bool last, struct gs_error *err)
{
	uint64_t ended_epoch;

	if (loader_next_epoch(f->loader, &ended_epoch) != 0)
		return gs_fail(err, GS_EXIT_FAILURE, "cannot write the bpf maps: %s", strerror(errno));
	/* Just before the processes' maps: the same boundary, within read_s. */
	read_cost(f);
	if (update_sessions(f, ended_epoch, err) != 0)
		return -1;
	emit_intervals(f);
	publish_metrics(f);
	for (size_t i = f->nsessions; i-- > 0;) {
		/* In a fleet an ended process leaves with its summary (the
		 * live screen keeps the terminal: it just leaves). */
		if (fleet_rules_leaves(&f->rules, f->sessions[i]->target_gone, last)) {
			if (!output_is_live(&f->opt))
				session_emit(f->sessions[i], true, NULL);
			drop_session(f, i);
		}
	}
	if (output_error(f->out))
		return gs_fail(err, GS_EXIT_FAILURE, "cannot write the output: %s", strerror(output_error(f->out)));
	return 0;
}

/* When the intervals are counted from: the first process's first
 * baseline, not the attach. Reading the figures of thousands of threads
 * at the start takes a while, by which the first interval would be short. */
static double schedule_origin(const struct fleet *f)
{
	if (f->nsessions && f->sessions[0]->baseline_at > f->attached)
		return f->sessions[0]->baseline_at;
	return f->attached;
}

/* The boundaries on time next to a target with hundreds of runnable
 * threads: 1,500 threads in a GIL meltdown kept 300 threads' worth in the
 * run queue of 2 CPUs, a fair share of 1/150 of a CPU for gilstats, whose
 * few milliseconds of reads and output an interval then took seconds
 * (intervals of 1.97 s and 0.06 s). So the loop runs SCHED_FIFO at the
 * lowest priority: it sleeps nearly all the time, and the kernel's RT
 * throttling bounds it anyway. Children and threads (a launched command,
 * the compile helper, the metrics server) do not inherit it. Without
 * CAP_SYS_NICE it runs as it is. */
static void keep_time(void)
{
	struct sched_param p = { .sched_priority = sched_get_priority_min(SCHED_FIFO) };

	sched_setscheduler(0, SCHED_FIFO | SCHED_RESET_ON_FORK, &p);
}

int fleet_run(struct fleet *f, const sigset_t *during_wait, const volatile sig_atomic_t *stop, struct gs_error *err)
{
	double origin = schedule_origin(f);
	bool last = false;

	keep_time();
	for (long k = 1; !last; k++) {
		last = wait_interval(f, origin + (double)k * f->opt.interval_s, during_wait, stop) ||
		       (f->opt.count && k >= f->opt.count);
		if (update_all(f, last, err) != 0)
			return -1;
		if (!last && (f->rules.children || (f->rules.all && !f->exec_events)))
			discover(f);
	}
	for (size_t i = 0; i < f->nsessions; i++)
		session_emit(f->sessions[i], true, i ? NULL : &f->cost);
	return 0;
}

void fleet_release(struct fleet *f)
{
	metrics_stop(f->server);
	while (f->nsessions)
		drop_session(f, f->nsessions - 1);
	loader_detach(f->loader);
	free(f->sessions);
	fleet_rules_free(&f->rules);
	free(f->procs);
	free(f->looked);
	free(f->listed);
	if (f->epfd >= 0)
		close(f->epfd);
	f->epfd = -1;
	free(f->family);
	output_close(f->out);
}

/* The live view's header at once, not after the first interval. */
static void show_attached(struct fleet *f)
{
	const struct report_target **targets = calloc(f->nsessions + 1, sizeof *targets);

	if (!targets)
		return;
	for (size_t i = 0; i < f->nsessions; i++)
		targets[i] = &f->sessions[i]->report_target;
	output_attached(f->out, targets, f->nsessions, f->opt.interval_s);
	free(targets);
}

int fleet_start(struct fleet *f, struct gs_error *err)
{
	fleet_rules_init(&f->rules, &f->opt, getpid());
	if (output_check_paths(&f->opt, err) != 0 ||
	    (f->opt.textfile && metrics_check_textfile(f->opt.textfile, err) != 0))
		return -1;
	if (privileges_check(err) != 0 || attach_first(f, err) != 0)
		return -1;
	start_cost(f);
	/* From here on execs are recorded: the scan below misses none. */
	if (f->rules.all)
		f->exec_events = loader_follow_execs(f->loader);
	if (!(f->out = output_open(&f->opt, err)))
		return -1;
	if ((f->epfd = epoll_create1(EPOLL_CLOEXEC)) < 0)
		return gs_fail(err, GS_EXIT_FAILURE, "cannot create an epoll set: %s", strerror(errno));
	watch_keys(f);
	if (f->nsessions)
		session_start(f->sessions[0], f->loader, f->out, f->attached, f->start);
	for (size_t i = 0; i < f->nsessions; i++)
		watch_exit(f, f->sessions[i]);
	for (size_t i = 1; i < f->opt.npids; i++)
		attach_more(f, f->opt.pids[i], false);
	if (f->rules.children || f->rules.all)
		discover(f);
	follow_lineage(f);
	if (f->opt.listen && !(f->server = metrics_serve(f->opt.listen, err)))
		return -1;
	publish_metrics(f);
	show_attached(f);
	if (f->launched && launch_go(&f->launch, err) != 0)
		return -1;
	return 0;
}

