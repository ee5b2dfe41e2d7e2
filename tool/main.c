/* gilstats: per-thread GIL waits of a running CPython process.
 *
 * The data flow, one file per step: target.c (inspect the target) ->
 * resolve.c (symbols) -> gil_locate.c (the GIL) -> probes_*.c (load and
 * attach) -> snapshot.c (read the maps) -> stats.c (figures) -> render.c. */
#include "config.h"

#include <errno.h>
#include <math.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include "cli.h"
#include "error.h"
#include "gil_locate.h"
#include "kernel_headers.h"
#include "privileges.h"
#include "probes.h"
#include "render.h"
#include "resolve.h"
#include "snapshot.h"
#include "stats.h"
#include "target.h"

static volatile sig_atomic_t stop_signal;

static void on_stop_signal(int sig)
{
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
	struct kernel_headers headers;
	struct probe_plan plan;
	struct probes *probes;
	struct report_target report_target;
	struct stats stats;
	struct wait_rows rows;
	pid_t *tids;
	size_t tids_cap;
	struct thread_stats **order;
	int pidfd;
	bool target_gone;
	double start, attached, last_update;
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

static void install_signal_handlers(sigset_t *blocked, sigset_t *during_wait)
{
	struct sigaction sa = { .sa_handler = on_stop_signal };
	static const int stops[] = { SIGINT, SIGTERM, SIGHUP };

	sigemptyset(blocked);
	for (size_t i = 0; i < sizeof stops / sizeof stops[0]; i++) {
		sigaction(stops[i], &sa, NULL);
		sigaddset(blocked, stops[i]);
	}
	signal(SIGPIPE, SIG_IGN);
	/* Stop signals are taken only while waiting, so no wake-up is lost. */
	sigprocmask(SIG_BLOCK, blocked, during_wait);
}

/* Pins the target's identity: a pidfd refers to this process even if its
 * PID is reused, and becomes readable when it exits. */
static int open_pidfd(struct session *s, struct gs_error *err)
{
	s->pidfd = (int)syscall(SYS_pidfd_open, s->target.pid, 0);
	if (s->pidfd < 0 && errno != ENOSYS)
		return gs_fail(err, GS_EXIT_NOT_PYTHON, "pid %d exited before it could be traced",
			       (int)s->target.pid);
	if (!target_is_same_process(&s->target))
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

static int prepare(struct session *s, struct gs_error *err)
{
	struct kh_roots roots;
	char release[128];
	const char *const *names;
	size_t nnames;

	if (privileges_check(err) != 0 || target_inspect(s->opt.pid, &s->target, err) != 0 ||
	    open_pidfd(s, err) != 0 || resolve_interpreter(&s->target, &s->interp, err) != 0 ||
	    gil_locate(&s->target, &s->interp, &s->gil, err) != 0)
		return -1;
	if (choose_backend(s, err) != 0)
		return -1;
	s->plan.tgid = s->target.pid;
	if (s->plan.backend == PROBE_UPROBE) {
		nnames = gil_wait_functions(&s->gil, &names);
		if (uprobes_check(err) != 0 ||
		    resolve_wait_functions(&s->target, names, nnames, &s->plan, err) != 0)
			return -1;
	}
	gil_plan_watch(&s->gil, &s->plan);
	kh_system_roots(&roots, release, sizeof release);
	if (kernel_headers_find(&roots, s->opt.kernel_headers, &s->headers, err) != 0)
		return -1;
	s->plan.headers = &s->headers;
	return 0;
}

/* Waits for the end of the interval, a stop signal, or the target's exit.
 * Returns true when the run must end after this interval. */
static bool wait_interval(struct session *s, double deadline, const sigset_t *during_wait)
{
	struct pollfd pfd = { .fd = s->pidfd, .events = POLLIN };

	for (;;) {
		double left = deadline - now_s();
		struct timespec ts;
		if (stop_signal)
			return true;
		if (left <= 0)
			return false;
		ts.tv_sec = (time_t)left;
		ts.tv_nsec = (long)((left - (double)ts.tv_sec) * 1e9);
		if (s->pidfd >= 0) {
			if (ppoll(&pfd, 1, &ts, during_wait) > 0)
				return s->target_gone = true;
		} else {
			ppoll(NULL, 0, &ts, during_wait);
			if (!target_is_same_process(&s->target))
				return s->target_gone = true;
		}
	}
}

static void name_threads(struct session *s)
{
	for (size_t i = 0; i < s->stats.nthreads; i++) {
		struct thread_stats *t = &s->stats.threads[i];
		if (!t->alive)
			continue;
		target_thread_name(s->target.pid, t->tid, t->name, sizeof t->name);
		if (!t->ns_tid)
			t->ns_tid = target_thread_ns_tid(s->target.pid, t->tid);
	}
}

/* New sub-interpreters may bring their own GIL: watch it too. */
static void follow_gils(struct session *s)
{
	struct watched_address watch[GS_MAX_WATCHED];
	size_t before = s->gil.ngils, n;

	if (gil_refresh(s->target.pid, &s->gil) != 0 || s->gil.ngils == before)
		return;
	n = gil_watch_list(&s->gil, before, watch, GS_MAX_WATCHED);
	probes_watch(s->probes, watch, n);
}

/* Reads the maps and folds the interval into the statistics. */
static int update(struct session *s, struct gs_error *err)
{
	/* An exited target may linger as a zombie: its threads have ended. */
	int nlive = s->target_gone ? 0 : target_list_threads(s->target.pid, &s->tids, &s->tids_cap);
	const struct gs_wait_key *forget;
	uint64_t ended_epoch;
	size_t nforget;

	if (nlive < 0)
		nlive = 0;
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
	forget = stats_rows_to_forget(&s->stats, &nforget);
	snapshot_forget(probes_rows_fd(s->probes), forget, nforget);
	name_threads(s);
	s->report_target.gil_address = gil_report_address(&s->gil);
	s->report_target.several_gils = s->gil.ngils > 1;
	s->report_target.gil_enabled = s->gil.gil_enabled;
	return 0;
}

static void emit(struct session *s, bool summary, double t)
{
	struct report r = {
		.target = &s->report_target,
		.interval_s = summary ? t - s->attached : t - s->last_update,
		.elapsed_s = t - s->attached,
		.summary = summary,
		.wall_clock = time(NULL),
	};
	uint64_t counters[GS_COUNTERS];
	struct thread_stats **grown = realloc(s->order, (s->stats.nthreads + 1) * sizeof *grown);

	if (!grown)
		return;
	s->order = grown;
	r.threads = s->order;
	r.nthreads = report_select(&s->stats, summary, s->order);
	if (snapshot_counters(probes_counters_fd(s->probes), counters) == 0) {
		r.probe_hits = counters[GS_COUNT_ENTRY_HITS];
		r.lost_waits = counters[GS_COUNT_ROWS_FULL] + counters[GS_COUNT_INFLIGHT_FULL];
	}
	(s->opt.json ? render_json : render_text)(stdout, &r);
}

static int run(struct session *s, const sigset_t *during_wait, struct gs_error *err)
{
	bool last = false;

	s->report_target = (struct report_target){
		.pid = s->target.pid,
		.comm = s->target.stat.comm,
		.python_version = s->gil.py.version,
		.gil_method = s->gil.method == GIL_METHOD_EXACT ? "exact" : "heuristic",
		.probe = s->plan.backend == PROBE_FUTEX ? "futex" : "uprobe",
		.attach_s = s->attached - s->start,
	};
	s->last_update = s->attached;
	for (long k = 1; !last; k++) {
		double t;
		last = wait_interval(s, s->attached + (double)k * s->opt.interval_s, during_wait) ||
		       (s->opt.count && k >= s->opt.count);
		if (update(s, err) != 0)
			return -1;
		t = now_s();
		/* A run cut short mid-interval still reports what it saw. */
		if (t - s->last_update >= 0.001)
			emit(s, false, t);
		s->last_update = t;
	}
	emit(s, true, now_s());
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
	wait_rows_free(&s->rows);
	free(s->tids);
	free(s->order);
	if (s->pidfd >= 0)
		close(s->pidfd);
}

int main(int argc, char **argv)
{
	static struct session s = { .pidfd = -1 };
	struct gs_error err = { 0 };
	sigset_t blocked, during_wait;
	int rc = GS_EXIT_OK;

	s.start = now_s();
	if (cli_parse(argc, argv, &s.opt, stdout, &err) != 0)
		return fail_with(&err);
	if (s.opt.exit_now)
		return GS_EXIT_OK;
	install_signal_handlers(&blocked, &during_wait);
	if (prepare(&s, &err) != 0 || !(s.probes = probes_attach(&s.plan, &err))) {
		rc = fail_with(&err);
	} else {
		s.attached = now_s();
		if (run(&s, &during_wait, &err) != 0)
			rc = fail_with(&err);
	}
	release(&s);
	return rc;
}
