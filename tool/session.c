/* One traced process (session.h). */
#include "config.h"

#include "session.h"

#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include "clock.h"
#include "privileges.h"

/* Pins the target's identity: a pidfd refers to this process even if its
 * PID is reused, and becomes readable when it exits. */
static int open_pidfd(struct session *s, struct gs_error *err)
{
	s->pidfd = (int)syscall(SYS_pidfd_open, s->target.pid, 0);
	if ((s->pidfd < 0 && errno != ENOSYS) || !target_is_same_process(&s->target))
		return gs_fail(err, GS_EXIT_NOT_PYTHON, "pid %d exited before it could be traced",
			       (int)s->target.pid);
	return 0;
}

/* In-kernel futex accounting needs the GIL's exact address; uprobes see
 * every condvar and serve the heuristic. */
static int choose_backend(struct session *s, struct gs_error *err)
{
	bool exact = s->gil.method == GIL_METHOD_EXACT;

	/* 2.7 hands its semaphore over tens of thousands of times a second and
	 * waiters retry in user space between futex waits: only the duration
	 * of sem_wait measures its wait. */
	if (!s->opt->probe)
		s->plan.backend = exact && !s->gil.semaphore ? PROBE_FUTEX : PROBE_UPROBE;
	else
		s->plan.backend = strcmp(s->opt->probe, "futex") == 0 ? PROBE_FUTEX : PROBE_UPROBE;
	if (s->plan.backend == PROBE_FUTEX && !exact)
		return gs_fail(err, GS_EXIT_NOT_PYTHON,
			       "--probe=futex needs the gil's exact address, and python %s in pid %d gives none",
			       s->gil.py.version, (int)s->target.pid);
	return 0;
}

/* The interpreter and its GIL in the target as it is now. */
static int locate(struct session *s, struct gs_error *err)
{
	if (s->interp.elf)
		mapped_object_close(&s->interp);
	target_release(&s->target);
	if (target_inspect(s->target.pid, &s->target, err) != 0 ||
	    resolve_interpreter(&s->target, &s->interp, err) != 0 || gil_locate(&s->target, &s->interp, &s->gil, err) != 0)
		return -1;
	s->located = true;
	return 0;
}

static void init(struct session *s, const struct options *opt, pid_t pid)
{
	memset(s, 0, sizeof *s);
	s->opt = opt;
	s->pidfd = -1;
	s->target.pid = pid;
	s->plan.tgid = pid;
}

int session_prepare(struct session *s, const struct options *opt, pid_t pid, struct gs_error *err)
{
	const char *const *names;
	size_t nnames;

	init(s, opt, pid);
	if (target_inspect(pid, &s->target, err) != 0 || open_pidfd(s, err) != 0 || locate(s, err) != 0 ||
	    choose_backend(s, err) != 0)
		return -1;
	if (s->plan.backend == PROBE_UPROBE) {
		nnames = gil_wait_functions(&s->gil, &names);
		if (uprobes_check(err) != 0 || resolve_wait_functions(&s->target, names, nnames, &s->plan, err) != 0)
			return -1;
	}
	gil_plan_watch(&s->gil, &s->plan);
	s->plan.track_holder = hold_where(&s->gil, &s->plan.holder);
	s->comm = s->target.stat.comm;
	return 0;
}

void session_prepare_launched(struct session *s, const struct options *opt, pid_t pid, const char *command)
{
	init(s, opt, pid);
	snprintf(s->gil.py.version, sizeof s->gil.py.version, "unknown");
	s->gil.method = GIL_METHOD_EXACT;
	s->gil.gil_enabled = true;
	s->plan.backend = PROBE_FUTEX;
	s->plan.record_unwatched = true;
	s->pidfd = (int)syscall(SYS_pidfd_open, pid, 0);
	s->comm = command;
}

/* Who holds the GIL: the sampler, and held-while-blocked in the kernel. */
static void start_holding(struct session *s)
{
	s->hold.tgid = (uint32_t)s->target.pid;
	s->sym.pid = s->target.pid;
	if (!s->plan.track_holder)
		return;
	s->hold.where = s->plan.holder;
	s->hold.sampling = s->opt->hold_rate_hz > 0;
	s->hold.blocked_available = probes_track_holder(s->probes, s->target.pid, &s->plan.holder);
}

bool session_locate_launched(struct session *s)
{
	struct watched_address watch[GS_MAX_WATCHED];
	struct gs_error ignored;
	size_t n;

	if (s->located || s->target_gone || locate(s, &ignored) != 0 || s->gil.method != GIL_METHOD_EXACT) {
		s->located = s->located && s->gil.method == GIL_METHOD_EXACT;
		return s->located;
	}
	n = gil_watch_list(&s->gil, 0, watch, GS_MAX_WATCHED);
	probes_watch(s->probes, s->target.pid, watch, n);
	probes_record_unwatched(s->probes, false);
	s->report_target.comm = s->target.stat.comm;
	if (hold_where(&s->gil, &s->plan.holder)) {
		s->plan.track_holder = true;
		start_holding(s);
	}
	return true;
}

/* The threads running when the probes were attached, and their CPU time
 * so far, so the first interval's CPU% is the interval's. */
static void baseline_threads(struct session *s)
{
	int n = target_list_threads(s->target.pid, &s->tids, &s->tids_cap);

	s->ntids = n > 0 ? (size_t)n : 0;
	for (int i = 0; i < n; i++) {
		struct thread_stats *t = stats_thread(&s->stats, s->tids[i]);
		if (t)
			t->alive = true;
	}
	thread_times_start(&s->times, s->target.pid, s->probes);
	thread_times_baseline(&s->times, &s->stats);
}

void session_start(struct session *s, struct probes *probes, struct output *out, double attached, double start)
{
	s->probes = probes;
	s->out = out;
	s->attached = s->last_update = s->next_sample = attached;
	start_holding(s);
	s->report_target = (struct report_target){
		.pid = s->target.pid,
		.comm = s->comm,
		.python_version = s->gil.py.version,
		.gil_method = s->gil.method == GIL_METHOD_EXACT ? "exact" : "heuristic",
		.probe = s->plan.backend == PROBE_FUTEX ? "futex" : "uprobe",
		.attach_s = attached - start,
		.gil_enabled = s->gil.gil_enabled,
	};
	baseline_threads(s);
}

static int read_target_memory(void *ctx, uint64_t addr, void *buf, size_t len)
{
	return target_read_memory(*(const pid_t *)ctx, addr, buf, len);
}

/* Listed at the last update, or born since. */
static bool is_target_thread(pid_t tid, const void *ctx)
{
	const struct session *s = ctx;
	char path[64];

	if (bsearch(&tid, s->tids, s->ntids, sizeof tid, target_compare_tids))
		return true;
	snprintf(path, sizeof path, "/proc/%d/task/%d", (int)s->target.pid, (int)tid);
	return access(path, F_OK) == 0;
}

double session_sample(struct session *s, double now)
{
	double period = 1.0 / (double)s->opt->hold_rate_hz;
	struct mem_reader mem = { read_target_memory, &s->target.pid };

	if (!s->hold.sampling || s->target_gone)
		return 1e9;
	if (now >= s->next_sample) {
		hold_sample(&s->hold, &mem, is_target_thread, s);
		/* Late (a busy host): skip what was missed rather than burst. */
		s->next_sample = s->next_sample + period > now ? s->next_sample + period : now + period;
	}
	return s->next_sample - now;
}

bool session_gone(struct session *s)
{
	struct pollfd pfd = { .fd = s->pidfd, .events = POLLIN };

	if (s->target_gone)
		return true;
	if (s->pidfd >= 0)
		s->target_gone = poll(&pfd, 1, 0) > 0 && (pfd.revents & POLLIN);
	else
		s->target_gone = !target_is_same_process(&s->target);
	return s->target_gone;
}

/* New sub-interpreters may bring their own GIL: watch it too. */
static void follow_gils(struct session *s)
{
	struct watched_address watch[GS_MAX_WATCHED];
	size_t before = s->gil.ngils, n;

	if (!s->located || gil_refresh(s->target.pid, &s->gil) != 0 || s->gil.ngils == before)
		return;
	n = gil_watch_list(&s->gil, before, watch, GS_MAX_WATCHED);
	probes_watch(s->probes, s->target.pid, watch, n);
}

static void update_histograms(struct session *s)
{
	int n;

	if (s->plan.histogram == GS_HIST_OFF)
		return;
	n = snapshot_histogram(probes_histogram_fd(s->probes), &s->hist_rows, &s->hist_cap);
	if (n < 0)
		return;
	n = (int)snapshot_keep_tgid(s->hist_rows, (size_t)n, sizeof *s->hist_rows, offsetof(struct hist_row, key.tgid),
				    (uint32_t)s->target.pid);
	histograms_update(&s->hist, s->hist_rows, (size_t)n);
}

/* The interval's samples and held-while-blocked periods into the figures. */
static int update_holding(struct session *s)
{
	int n = 0;

	if (s->hold.blocked_available && (n = snapshot_held(probes_held_fd(s->probes), &s->held_rows, &s->held_cap)) < 0)
		return -1;
	n = (int)snapshot_keep_tgid(s->held_rows, (size_t)n, sizeof *s->held_rows, offsetof(struct held_row, key.tgid),
				    (uint32_t)s->target.pid);
	return hold_update(&s->hold, &s->stats, s->held_rows, (size_t)n, monotonic_s() - s->last_update);
}

/* What the maps still hold of threads that ended: their figures are in
 * the statistics now, and the maps stay bounded however many come and go. */
static void forget_ended(struct session *s)
{
	size_t nforget;
	const struct gs_wait_key *forget = stats_rows_to_forget(&s->stats, &nforget);

	snapshot_forget(probes_rows_fd(s->probes), forget, nforget);
	nforget = hold_rows_to_forget(&s->hold, &s->stats, &s->held_forget, &s->held_forget_cap);
	snapshot_forget_held(probes_held_fd(s->probes), s->held_forget, nforget);
	for (size_t i = 0; i < s->stats.nthreads; i++) {
		const struct thread_stats *t = &s->stats.threads[i];
		if (!t->ended_now)
			continue;
		snapshot_forget_inflight(probes_inflight_fd(s->probes), (uint32_t)t->tid);
		if (s->hold.blocked_available)
			snapshot_forget_blocked(probes_blocked_fd(s->probes), (uint32_t)t->tid);
		if (s->plan.histogram == GS_HIST_PER_THREAD)
			snapshot_forget_histogram(probes_histogram_fd(s->probes), (uint32_t)s->target.pid,
						  (uint32_t)t->tid);
	}
}

static int read_waits(struct session *s)
{
	if (snapshot_rows(probes_rows_fd(s->probes), &s->rows) != 0)
		return -1;
	s->rows.n = snapshot_keep_tgid(s->rows.v, s->rows.n, sizeof *s->rows.v, offsetof(struct wait_row, key.tgid),
				       (uint32_t)s->target.pid);
	if (s->gil.method == GIL_METHOD_HEURISTIC) {
		uint64_t guess = gil_busiest_address(&s->rows);
		if (guess)
			s->gil.gils[0].cond = guess;
	}
	return 0;
}

int session_update(struct session *s, uint64_t ended_epoch, struct gs_error *err)
{
	/* An exited target may linger as a zombie: its threads have ended. */
	int nlive = thread_times_live(&s->times, &s->tids, &s->ntids, &s->tids_cap);

	if (nlive < 0 || s->target_gone)
		nlive = 0;
	s->ntids = (size_t)nlive;
	if (!s->target_gone)
		follow_gils(s);
	if (read_waits(s) != 0)
		return gs_fail(err, GS_EXIT_FAILURE, "cannot read the bpf maps: %s", strerror(errno));
	if (stats_update(&s->stats, &s->rows, ended_epoch, s->tids, (size_t)nlive, gil_classify, &s->gil) != 0)
		return gs_fail(err, GS_EXIT_FAILURE, "out of memory");
	update_histograms(s);
	if (update_holding(s) != 0)
		return gs_fail(err, GS_EXIT_FAILURE, "cannot read the bpf maps: %s", strerror(errno));
	forget_ended(s);
	if (thread_times_update(&s->times, &s->stats) != 0)
		return gs_fail(err, GS_EXIT_FAILURE, "cannot read the bpf maps: %s", strerror(errno));
	s->report_target.gil_address = gil_report_address(&s->gil);
	s->report_target.several_gils = s->gil.ngils > 1;
	s->report_target.gil_enabled = s->gil.gil_enabled;
	double t = monotonic_s();
	s->last_interval = t - s->last_update;
	s->last_update = t;
	stats_close_interval(&s->stats, (uint64_t)(s->last_interval * 1e9));
	return 0;
}

void session_name_stacks(struct session *s)
{
	/* Named now, while the target's maps can be read, and outside the
	 * interval the figures were measured over. */
	if (!s->target_gone && hold_blocked_known(&s->hold))
		symbolize_held_stacks(&s->sym, &s->hold, probes_stacks_fd(s->probes));
}

void session_emit(struct session *s, bool summary)
{
	double elapsed = s->last_update - s->attached;
	struct report r = {
		.target = &s->report_target,
		.interval_s = summary ? elapsed : s->last_interval,
		.elapsed_s = elapsed,
		.monotonic_s = s->last_update,
		.summary = summary,
		.wall_clock = time(NULL),
		.group = s->opt->group,
		.short_s = s->opt->interval_s / 2,
		.top = s->opt->top,
	};
	uint64_t counters[GS_COUNTERS];
	struct thread_stats **grown = realloc(s->order, (s->stats.nthreads + 1) * sizeof *grown);
	struct gs_error err;

	if (!grown)
		return;
	s->order = grown;
	r.threads = s->order;
	r.folded = &s->stats.folded;
	r.hold = &s->hold;
	r.sort = output_sort(s->out);
	report_select(&r, &s->stats, false);
	if (snapshot_counters(probes_counters_fd(s->probes), counters) == 0) {
		r.probe_hits = counters[GS_COUNT_ENTRY_HITS];
		r.lost_waits = counters[GS_COUNT_ROWS_FULL] + counters[GS_COUNT_INFLIGHT_FULL];
	}
	if (!summary) {
		struct gil_model_input in;
		struct gil_model m;
		report_model(&r, &in, &m);
		s->verdict = verdict_decide(&m, r.target->gil_enabled);
		s->verdict_known = true;
		output_interval(s->out, &r, &s->hist);
	}
	else if (output_summary(s->out, &r, &s->hist, &err) != 0)
		gs_error_print(&err);
}

void session_release(struct session *s)
{
	close_probe_points(&s->plan);
	if (s->interp.elf)
		mapped_object_close(&s->interp);
	target_release(&s->target);
	stats_free(&s->stats);
	thread_times_free(&s->times);
	histograms_free(&s->hist);
	free(s->hist_rows);
	wait_rows_free(&s->rows);
	free(s->tids);
	free(s->order);
	hold_free(&s->hold);
	symbolizer_free(&s->sym);
	free(s->held_rows);
	free(s->held_forget);
	if (s->pidfd >= 0)
		close(s->pidfd);
	s->pidfd = -1;
}
