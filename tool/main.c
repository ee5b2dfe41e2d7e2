/* gilstats: per-thread GIL waits of a running CPython process.
 *
 * The data flow, one file per step: target.c (inspect the target) ->
 * resolve.c (symbols) -> gil_locate.c (the GIL) -> probes.c (load and
 * attach) -> snapshot.c (read the maps) -> stats.c (figures) -> render.c,
 * screen.c, svg.c through output.c. launch.c runs a command to trace. */
#include "config.h"

#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include "bpf_cache.h"
#include "cli.h"
#include "error.h"
#include "gil_locate.h"
#include "histogram.h"
#include "hold.h"
#include "kernel_btf.h"
#include "kernel_headers.h"
#include "launch.h"
#include "output.h"
#include "privileges.h"
#include "probes.h"
#include "render.h"
#include "resolve.h"
#include "snapshot.h"
#include "stats.h"
#include "symbolize.h"
#include "target.h"
#include "thread_times.h"

/* How long a launched command may take to start its interpreter. */
#define LAUNCH_LOCATE_POLL_NS 1000000

static volatile sig_atomic_t stop_signal;
static volatile sig_atomic_t forward_to;

static void on_stop_signal(int sig)
{
	/* Launch mode: the child decides (like time(1)); pass it on. */
	if (forward_to > 0) {
		kill(forward_to, sig);
		return;
	}
	/* A second Ctrl-C means now: the kernel detaches the probes with our fds. */
	if (stop_signal)
		_exit(128 + sig);
	stop_signal = sig;
}

struct session {
	struct options opt;
	struct target target;
	struct mapped_object interp;
	struct gil_location gil;
	bool located;
	struct kernel_headers headers;
	struct probe_plan plan;
	struct probes *probes;
	struct report_target report_target;
	struct stats stats;
	struct thread_times times;
	struct wait_rows rows;
	struct histograms hist;
	struct hist_row *hist_rows;
	size_t hist_cap;
	pid_t *tids; /* the target's threads at the last update, sorted */
	size_t ntids, tids_cap;
	struct hold_state hold;
	struct symbolizer sym;
	struct held_row *held_rows;
	size_t held_cap;
	struct gs_held_key *held_forget;
	size_t held_forget_cap;
	double next_sample;
	struct thread_stats **order;
	struct output *out;
	struct launch launch;
	bool launched;
	int pidfd;
	bool target_gone;
	double start, attached, last_update, last_interval;
};

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static int fail_with(const struct gs_error *err)
{
	fprintf(stderr, "gilstats: %s\n", err->msg);
	return err->exit_code ? err->exit_code : GS_EXIT_FAILURE;
}

static void install_signal_handlers(sigset_t *during_wait, bool launch)
{
	struct sigaction sa = { .sa_handler = on_stop_signal };
	static const int stops[] = { SIGINT, SIGTERM, SIGHUP };
	sigset_t blocked;

	sigemptyset(&blocked);
	for (size_t i = 0; i < sizeof stops / sizeof stops[0]; i++) {
		sigaction(stops[i], &sa, NULL);
		sigaddset(&blocked, stops[i]);
	}
	signal(SIGPIPE, SIG_IGN);
	/* Ctrl-C reaches the launched command from the terminal itself. */
	if (launch) {
		signal(SIGINT, SIG_IGN);
		signal(SIGQUIT, SIG_IGN);
	}
	/* Stop signals are taken only while waiting, so no wake-up is lost. */
	sigprocmask(SIG_BLOCK, &blocked, during_wait);
}

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
	if (!s->opt.probe)
		s->plan.backend = exact && !s->gil.semaphore ? PROBE_FUTEX : PROBE_UPROBE;
	else
		s->plan.backend = strcmp(s->opt.probe, "futex") == 0 ? PROBE_FUTEX : PROBE_UPROBE;
	if (s->plan.backend == PROBE_FUTEX && !exact)
		return gs_fail(err, GS_EXIT_NOT_PYTHON,
			       "--probe=futex needs the gil's exact address, and python %s in pid %d gives none",
			       s->gil.py.version, (int)s->target.pid);
	return 0;
}

static int find_headers(struct session *s, struct gs_error *err)
{
	struct kh_roots roots;
	char release[128];

	kh_system_roots(&roots, release, sizeof release);
	if (kernel_headers_find(&roots, s->opt.kernel_headers, &s->headers, err) != 0)
		return -1;
	s->plan.headers = &s->headers;
	s->plan.tgid = s->target.pid;
	struct task_layout task;
	if (kernel_task_layout(&task) == 0) {
		s->plan.task_pid_off = task.pid_off;
		s->plan.task_tgid_off = task.tgid_off;
	}
	s->plan.cache_dir = s->opt.no_cache || !GILSTATS_CACHE_DIR[0] ? NULL : GILSTATS_CACHE_DIR;
	/* The live screen shows the histogram on h: collect it there anyway. */
	s->plan.histogram = s->opt.per_thread				       ? GS_HIST_PER_THREAD
			    : s->opt.histogram || output_is_live(&s->opt) ? GS_HIST_PROCESS
									   : GS_HIST_OFF;
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

/* Attach mode: a running process. */
static int prepare_attach(struct session *s, struct gs_error *err)
{
	const char *const *names;
	size_t nnames;

	s->target.pid = s->opt.pid;
	if (privileges_check(err) != 0 || target_inspect(s->opt.pid, &s->target, err) != 0 ||
	    open_pidfd(s, err) != 0 || locate(s, err) != 0 || choose_backend(s, err) != 0)
		return -1;
	if (s->plan.backend == PROBE_UPROBE) {
		nnames = gil_wait_functions(&s->gil, &names);
		if (uprobes_check(err) != 0 || resolve_wait_functions(&s->target, names, nnames, &s->plan, err) != 0)
			return -1;
	}
	gil_plan_watch(&s->gil, &s->plan);
	s->plan.track_holder = hold_where(&s->gil, &s->plan.holder);
	return find_headers(s, err);
}

/* Launch mode: the child waits while the in-kernel back end is attached
 * recording every futex wait of it, so nothing is missed before the
 * interpreter can be located. */
static int prepare_launch(struct session *s, struct gs_error *err)
{
	if (privileges_check(err) != 0 || launch_prepare(s->opt.command, &s->launch, err) != 0)
		return -1;
	s->launched = true;
	s->target.pid = s->launch.pid;
	snprintf(s->gil.py.version, sizeof s->gil.py.version, "unknown");
	s->gil.method = GIL_METHOD_EXACT;
	s->gil.gil_enabled = true;
	s->plan.backend = PROBE_FUTEX;
	s->plan.record_unwatched = true;
	if (s->opt.probe && strcmp(s->opt.probe, "futex") != 0)
		return gs_fail(err, GS_EXIT_USAGE, "-- COMMAND traces with --probe=futex only");
	s->pidfd = (int)syscall(SYS_pidfd_open, s->target.pid, 0);
	return find_headers(s, err);
}

static void start_holding(struct session *s);

/* Launch mode: once the interpreter is up, its GIL's words are watched
 * and the recording of every other futex stops. */
static void try_locate_launched(struct session *s)
{
	struct watched_address watch[GS_MAX_WATCHED];
	struct gs_error ignored;
	size_t n;

	if (s->located || s->target_gone || locate(s, &ignored) != 0 || s->gil.method != GIL_METHOD_EXACT) {
		s->located = s->located && s->gil.method == GIL_METHOD_EXACT;
		return;
	}
	n = gil_watch_list(&s->gil, 0, watch, GS_MAX_WATCHED);
	probes_watch(s->probes, watch, n);
	probes_record_unwatched(s->probes, false);
	s->report_target.comm = s->target.stat.comm;
	if (hold_where(&s->gil, &s->plan.holder)) {
		s->plan.track_holder = true;
		start_holding(s);
	}
}

static void emit(struct session *s, bool summary);

/* Who holds the GIL: the sampler, and held-while-blocked in the kernel. */
static void start_holding(struct session *s)
{
	s->hold.tgid = (uint32_t)s->target.pid;
	s->sym.pid = s->target.pid;
	if (!s->plan.track_holder)
		return;
	s->hold.where = s->plan.holder;
	s->hold.sampling = s->opt.hold_rate_hz > 0;
	s->hold.blocked_available = probes_track_holder(s->probes, s->target.pid, &s->plan.holder);
}

static int read_target_memory(void *ctx, uint64_t addr, void *buf, size_t len)
{
	return target_read_memory(*(const pid_t *)ctx, addr, buf, len);
}

static int compare_tids(const void *a, const void *b)
{
	pid_t x = *(const pid_t *)a, y = *(const pid_t *)b;

	return (x > y) - (x < y);
}

/* Listed at the last update, or born since. */
static bool is_target_thread(pid_t tid, const void *ctx)
{
	const struct session *s = ctx;
	char path[64];

	if (bsearch(&tid, s->tids, s->ntids, sizeof tid, compare_tids))
		return true;
	snprintf(path, sizeof path, "/proc/%d/task/%d", (int)s->target.pid, (int)tid);
	return access(path, F_OK) == 0;
}

/* Samples the holder when one is due; returns the seconds to the next. */
static double sample_holder(struct session *s, double now)
{
	double period = 1.0 / (double)s->opt.hold_rate_hz;
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

/* The live screen's keys: true when the user quits. */
static bool handle_keys(struct session *s)
{
	switch (output_keys(s->out)) {
	case SCREEN_QUIT:
		return true;
	case SCREEN_REDRAW:
		emit(s, false);
		return false;
	default:
		return false;
	}
}

/* Waits for the end of the interval, a stop signal, a key, or the
 * target's exit. Returns true when the run must end after this interval. */
static bool wait_interval(struct session *s, double deadline, const sigset_t *during_wait)
{
	struct pollfd pfd[2] = { { .fd = s->pidfd, .events = POLLIN },
				 { .fd = output_input_fd(s->out), .events = POLLIN } };

	for (;;) {
		double now = now_s(), left = deadline - now, to_sample = sample_holder(s, now);
		struct timespec ts;
		if (stop_signal) {
			/* From now on a second stop signal ends gilstats at once. */
			sigprocmask(SIG_SETMASK, during_wait, NULL);
			return true;
		}
		if (left <= 0)
			return false;
		if (s->launched && !s->located) /* poll for the interpreter to come up */
			left = left < 1e-3 ? left : 1e-3;
		left = left < to_sample ? left : to_sample;
		ts.tv_sec = (time_t)left;
		ts.tv_nsec = (long)((left - (double)ts.tv_sec) * 1e9);
		pfd[1].revents = 0;
		if (ppoll(pfd, 2, &ts, during_wait) > 0 && (pfd[0].revents & POLLIN))
			return s->target_gone = true;
		if (s->pidfd < 0 && !target_is_same_process(&s->target))
			return s->target_gone = true;
		if (s->launched && !s->located)
			try_locate_launched(s);
		/* Keys, and a resize (SIGWINCH interrupts the wait). */
		if (pfd[1].fd >= 0 && handle_keys(s))
			return true;
	}
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

/* New sub-interpreters may bring their own GIL: watch it too. */
static void follow_gils(struct session *s)
{
	struct watched_address watch[GS_MAX_WATCHED];
	size_t before = s->gil.ngils, n;

	if (!s->located || gil_refresh(s->target.pid, &s->gil) != 0 || s->gil.ngils == before)
		return;
	n = gil_watch_list(&s->gil, before, watch, GS_MAX_WATCHED);
	probes_watch(s->probes, watch, n);
}

static void update_histograms(struct session *s)
{
	int n;

	if (s->plan.histogram == GS_HIST_OFF)
		return;
	n = snapshot_histogram(probes_histogram_fd(s->probes), &s->hist_rows, &s->hist_cap);
	if (n >= 0)
		histograms_update(&s->hist, s->hist_rows, (size_t)n);
}

/* The interval's samples and held-while-blocked periods into the figures. */
static int update_holding(struct session *s)
{
	int n = 0;

	if (s->hold.blocked_available && (n = snapshot_held(probes_held_fd(s->probes), &s->held_rows, &s->held_cap)) < 0)
		return -1;
	return hold_update(&s->hold, &s->stats, s->held_rows, (size_t)n, now_s() - s->last_update);
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

/* Reads the maps and folds the interval into the statistics. */
static int update(struct session *s, struct gs_error *err)
{
	/* An exited target may linger as a zombie: its threads have ended. */
	int nlive = thread_times_live(&s->times, &s->tids, &s->ntids, &s->tids_cap);
	uint64_t ended_epoch;

	if (nlive < 0 || s->target_gone)
		nlive = 0;
	s->ntids = (size_t)nlive;
	if (!s->target_gone)
		follow_gils(s);
	if (probes_next_epoch(s->probes, &ended_epoch) != 0 ||
	    snapshot_rows(probes_rows_fd(s->probes), &s->rows) != 0)
		return gs_fail(err, GS_EXIT_FAILURE, "cannot read the bpf maps: %s", strerror(errno));
	if (s->gil.method == GIL_METHOD_HEURISTIC) {
		uint64_t guess = gil_busiest_address(&s->rows);
		if (guess)
			s->gil.gils[0].cond = guess;
	}
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
	return 0;
}

/* Reports the last interval (again, for a redraw) or the whole run. */
static void emit(struct session *s, bool summary)
{
	double elapsed = s->last_update - s->attached;
	struct report r = {
		.target = &s->report_target,
		.interval_s = summary ? elapsed : s->last_interval,
		.elapsed_s = elapsed,
		.summary = summary,
		.wall_clock = time(NULL),
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
	if (!summary)
		output_interval(s->out, &r, &s->hist);
	else if (output_summary(s->out, &r, &s->hist, &err) != 0)
		fail_with(&err);
}

static int run(struct session *s, const sigset_t *during_wait, struct gs_error *err)
{
	bool last = false;

	s->report_target = (struct report_target){
		.pid = s->target.pid,
		.comm = s->launched ? s->opt.command[0] : s->target.stat.comm,
		.python_version = s->gil.py.version,
		.gil_method = s->gil.method == GIL_METHOD_EXACT ? "exact" : "heuristic",
		.probe = s->plan.backend == PROBE_FUTEX ? "futex" : "uprobe",
		.attach_s = s->attached - s->start,
		.gil_enabled = s->gil.gil_enabled,
	};
	s->last_update = s->attached;
	baseline_threads(s);
	for (long k = 1; !last; k++) {
		double t;
		last = wait_interval(s, s->attached + (double)k * s->opt.interval_s, during_wait) ||
		       (s->opt.count && k >= s->opt.count);
		if (update(s, err) != 0)
			return -1;
		t = now_s();
		s->last_interval = t - s->last_update;
		s->last_update = t;
		/* Named now, while the target's maps can be read, and outside
		 * the interval the figures were measured over. */
		if (!s->target_gone && hold_blocked_known(&s->hold))
			symbolize_held_stacks(&s->sym, &s->hold, probes_stacks_fd(s->probes));
		/* A run cut short mid-interval still reports what it saw. */
		if (s->last_interval >= 0.001)
			emit(s, false);
		if (output_error(s->out))
			return gs_fail(err, GS_EXIT_FAILURE, "cannot write the output: %s", strerror(output_error(s->out)));
	}
	emit(s, true);
	return 0;
}

static void release(struct session *s)
{
	probes_detach(s->probes);
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
	output_close(s->out);
	if (s->pidfd >= 0)
		close(s->pidfd);
}

static int trace(struct session *s, const sigset_t *during_wait, struct gs_error *err)
{
	if ((s->opt.command ? prepare_launch(s, err) : prepare_attach(s, err)) != 0 ||
	    !(s->probes = probes_attach(&s->plan, err)))
		return -1;
	s->attached = now_s();
	s->next_sample = s->attached;
	start_holding(s);
	if (s->launched) {
		if (launch_go(&s->launch, err) != 0)
			return -1;
		forward_to = s->launch.pid;
	}
	if (!(s->out = output_open(&s->opt, err)))
		return -1;
	return run(s, during_wait, err);
}

/* --compile-only: both back ends into the cache, nothing attached. */
static int compile_only(struct session *s, struct gs_error *err)
{
	static const char *const backends[] = { "futex", "uprobe" };
	struct bpf_object obj;

	if (privileges_check(err) != 0 || find_headers(s, err) != 0)
		return -1;
	if (!s->plan.cache_dir)
		return gs_fail(err, GS_EXIT_USAGE, "--compile-only needs the cache, and it is off");
	for (size_t i = 0; i < sizeof backends / sizeof backends[0]; i++) {
		if (bpf_program_get(backends[i], &s->headers, s->plan.cache_dir, &obj, err) != 0)
			return -1;
		bpf_object_free(&obj);
	}
	printf("compiled probes cached in %s\n", s->plan.cache_dir);
	return 0;
}

int main(int argc, char **argv)
{
	static struct session s = { .pidfd = -1, .launch = { .go_fd = -1, .exec_fd = -1 } };
	struct gs_error err = { 0 };
	sigset_t during_wait;
	int rc = GS_EXIT_OK;

	s.start = now_s();
	if (cli_parse(argc, argv, &s.opt, stdout, &err) != 0)
		return fail_with(&err);
	if (s.opt.exit_now)
		return GS_EXIT_OK;
	if (s.opt.compile_only) {
		rc = compile_only(&s, &err) == 0 ? GS_EXIT_OK : fail_with(&err);
		release(&s);
		return rc;
	}
	install_signal_handlers(&during_wait, s.opt.command != NULL);
	if (trace(&s, &during_wait, &err) != 0)
		rc = fail_with(&err);
	release(&s);
	/* Launch mode passes the command's exit status through. */
	if (s.launched && s.launch.pid > 0) {
		int status = launch_finish(&s.launch);
		rc = rc == GS_EXIT_OK ? status : rc;
	}
	return rc;
}
