/* One traced process (session.h). */
#include "config.h"

#include "tool/session.h"

#include "tool/python/py_threads.h"

#include <errno.h>
#include <math.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include "tool/util/array.h"
#include "tool/util/clock.h"
#include "tool/bpf/privileges.h"
#include "tool/figures/split.h"
#include "tool/figures/waiters.h"

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
	if (s->opt->probe && probe_backend_named(s->opt->probe, &s->plan.backend) == 0) {
		s->probe_reason = "chosen with --probe";
	} else if (s->gil.semaphore) {
		s->plan.backend = PROBE_UPROBE;
		s->probe_reason = "python 2.7's gil is a semaphore retried in user space: sem_wait's duration is the wait";
	} else if (exact) {
		/* Where the kernel refuses it, the fleet falls back to futex. */
		s->plan.backend = PROBE_SCHED;
		s->probe_reason = "the gil's address is exact: its futex words are recognised where its threads block, "
				  "at the scheduler's switches";
	} else {
		s->plan.backend = PROBE_UPROBE;
		s->probe_reason = "the gil's address is not known exactly: the libc wait functions are timed and the "
				  "busiest condvar taken for it";
	}
	if (probe_in_kernel(s->plan.backend) && !exact)
		return gs_fail(err, GS_EXIT_NOT_PYTHON,
			       "--probe=%s needs the gil's exact address, and python %s in pid %d gives none",
			       probe_backend_name(s->plan.backend), s->gil.py.version, (int)s->target.pid);
	return 0;
}

/* The interpreter and its GIL in the target as it is now. */
static int locate(struct session *s, struct gs_error *err)
{
	struct gil_location found;

	if (s->interp.elf)
		mapped_object_close(&s->interp);
	target_release(&s->target);
	/* What is reported stays the last image's until the new one is found
	 * (after an exec the interpreter starts a moment later). */
	bool failed = target_inspect(s->target.pid, &s->target, err) != 0 ||
		      resolve_interpreter(&s->target, &s->interp, err) != 0 ||
		      gil_locate(&s->target, &s->interp, &found, err) != 0;
	/* The image's symbol tables serve only to locate the GIL: kept, they
	 * cost a fleet of hundreds most of a megabyte a process. */
	if (s->interp.elf)
		mapped_object_close(&s->interp);
	if (failed)
		return -1;
	s->gil = found;
	s->located = true;
	return 0;
}

/* Where the holder is, for the sampler and the sched_switch program; in
 * another PID namespace the thread states name threads by its ids. */
static bool plan_holder(struct session *s)
{
	uint64_t dev = 0, ino = 0;

	if (!hold_where(&s->gil, &s->plan.holder))
		return false;
	s->other_pidns = target_other_pidns(s->target.pid, &dev, &ino);
	s->plan.holder.pidns_dev = dev;
	s->plan.holder.pidns_ino = ino;
	return true;
}

static void init(struct session *s, const struct options *opt, pid_t pid)
{
	memset(s, 0, sizeof *s);
	s->gil_possible = -1;
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
	s->plan.track_holder = plan_holder(s);
	s->comm = s->target.stat.comm;
	return 0;
}

void session_use_backend(struct session *s, enum probe_backend backend, const char *reason)
{
	s->plan.backend = backend;
	s->probe_reason = reason;
}

void session_prepare_launched(struct session *s, const struct options *opt, pid_t pid, const char *command)
{
	init(s, opt, pid);
	snprintf(s->gil.py.version, sizeof s->gil.py.version, "unknown");
	s->gil.method = GIL_METHOD_EXACT;
	s->gil.gil_enabled = true;
	if (!opt->probe || probe_backend_named(opt->probe, &s->plan.backend) != 0)
		s->plan.backend = PROBE_SCHED;
	s->probe_reason = "a started command: its gil's futex words are watched in the kernel once it is found";
	s->plan.record_unwatched = true;
	s->pidfd = (int)syscall(SYS_pidfd_open, pid, 0);
	s->comm = command;
}

static int read_target_memory(void *ctx, uint64_t addr, void *buf, size_t len);

static size_t read_target_spans(void *ctx, const struct mem_span *spans, size_t n)
{
	return target_read_spans(*(const pid_t *)ctx, spans, n);
}

/* The holder's Python stacks: the layout of the interpreter's frames,
 * checked against the target. A new image (exec) has a layout and code
 * objects of its own; the profile keeps its copies of the old names. */
static void start_python_stacks(struct session *s)
{
	struct mem_reader mem = { read_target_memory, &s->target.pid };
	struct gs_error err;

	py_layout_free(s->py);
	s->py = NULL;
	s->hold.python_stacks = false;
	if (s->codes)
		py_code_cache_retire(s->codes);
	else if (!(s->codes = py_code_cache_new()))
		return;
	py_code_cache_use_spans(s->codes, read_target_spans, &s->target.pid);
	/* A new image's thread states are new: last frames start over. */
	py_stack_hints_free(s->frames);
	if (!(s->frames = py_stack_hints_new(read_target_spans, &s->target.pid)))
		return;
	if (py_layout_for(&s->gil, &mem, &s->py, &err) != 0) {
		snprintf(s->hold.python_stacks_why, sizeof s->hold.python_stacks_why, "%s", err.msg);
		return;
	}
	s->hold.python_stacks = true;
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
	s->hold.blocked_available = loader_track_holder(s->loader, s->target.pid, &s->plan.holder);
	if (s->hold.sampling)
		start_python_stacks(s);
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
	loader_watch(s->loader, s->target.pid, watch, n);
	loader_record_unwatched(s->loader, false);
	s->report_target.comm = s->target.stat.comm;
	if (plan_holder(s)) {
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
	thread_times_start(&s->times, s->target.pid, s->loader);
	thread_times_baseline(&s->times, &s->stats);
}

/* Whether a thread of the target is off its CPU, blocked (asleep,
 * uninterruptible, stopped). */
static bool thread_blocked(pid_t pid, pid_t tid)
{
	struct proc_stat st;

	return target_thread_stat(pid, tid, &st) == 0 &&
	       (st.state == 'S' || st.state == 'D' || st.state == 'T' || st.state == 't');
}

/* Whether the blocked map has a period of tid already (it blocked after
 * the probes were attached). */
static bool blocked_since_attach(struct session *s, pid_t tid)
{
	int n = snapshot_blocked(loader_map_fd(s->loader, LOADER_BLOCKED), sizeof(uint64_t), &s->blocked_rows, &s->blocked_cap);

	for (int i = 0; i < n; i++)
		if (s->blocked_rows[i].period.tid == (uint32_t)tid)
			return true;
	return false;
}

/* A holder blocked since before the probes were attached: its blocking
 * switch came too early for the sched_switch program, which would never
 * see the period. The GIL's state in memory names it; its period starts
 * now (the first baseline) and ends at its switch back on a CPU. */
static void find_blocked_holder(struct session *s)
{
	struct mem_reader mem = { read_target_memory, &s->target.pid };
	const struct gs_holder *w = &s->hold.where;
	uint64_t tstate = 0;
	int32_t locked = 1;
	pid_t tid;

	if (!s->hold.blocked_available ||
	    (w->locked_addr && read_target_memory(&s->target.pid, w->locked_addr, &locked, sizeof locked) != 0) ||
	    read_target_memory(&s->target.pid, w->holder_addr, &tstate, sizeof tstate) != 0)
		return;
	if ((w->locked_addr && !locked) || !tstate || !(tid = hold_tstate_tid(w, &mem, tstate)))
		return;
	if (!thread_blocked(s->target.pid, tid) || blocked_since_attach(s, tid))
		return;
	struct gs_blocked period = { .start_ns = monotonic_ns(), .tgid = (uint32_t)s->target.pid, .tid = (uint32_t)tid,
				     .stackid = -1, .kstackid = -1 };
	if (loader_attach_blocked(s->loader, &period) != 0)
		return;
	/* It may have run in between: then it is no period. */
	if (!thread_blocked(s->target.pid, tid)) {
		loader_attach_blocked(s->loader, &(struct gs_blocked){ .tid = (uint32_t)tid });
		return;
	}
	s->attach_blocked = true;
}

/* The first boundary: every map read and split as at the end of an
 * interval, and what it counted forgotten. Nothing from before it (the
 * probes attached a while ago on a slow host, a wait or a period already
 * in progress) counts in the first interval. */
static void take_baseline(struct session *s)
{
	struct gs_error ignored;

	s->baseline_at = s->attached;
	/* Read as a fleet's interval reads: the rows buffers hold this
	 * process's rows, not every process's (they keep their size). */
	snapshot_share_begin();
	snapshot_share_owner((uint32_t)s->target.pid);
	int rc = session_update(s, UINT64_MAX, &ignored);
	snapshot_share_end();
	if (rc != 0)
		return;
	s->baseline_at = s->last_update;
	stats_zero(&s->stats);
	for (size_t i = 0; i < s->hold.nstacks; i++)
		s->hold.stacks[i].interval = s->hold.stacks[i].run = (struct hold_stack_period){ 0 };
	s->hold.interval = s->hold.run = (struct hold_period){ 0 };
	for (size_t i = 0; i < s->hist.n; i++) {
		memset(&s->hist.v[i].run, 0, sizeof s->hist.v[i].run);
		memset(&s->hist.v[i].interval, 0, sizeof s->hist.v[i].interval);
	}
	s->next_sample = s->last_update;
}

void session_start(struct session *s, struct loader *loader, struct output *out, double attached, double start)
{
	s->loader = loader;
	s->out = out;
	s->attached = s->last_update = s->next_sample = attached;
	start_holding(s);
	s->report_target = (struct report_target){
		.pid = s->target.pid,
		.comm = s->comm,
		.python_version = s->gil.py.version,
		.gil_method = s->gil.method == GIL_METHOD_EXACT ? "exact" : "heuristic",
		.probe = probe_backend_name(s->plan.backend),
		.probe_reason = s->probe_reason,
		.attach_s = attached - start,
		.gil_enabled = s->gil.gil_enabled,
	};
	if (s->opt->verbose)
		fprintf(stderr, "gilstats: pid %d: the %s back end: %s\n", (int)s->target.pid, s->report_target.probe,
			s->probe_reason);
	baseline_threads(s);
	find_blocked_holder(s);
	take_baseline(s);
}

/* After an exec: only the in-kernel back end follows a new image (its
 * addresses are data; uprobes sit in the old image's C library). */
static int same_backend(struct session *s, struct gs_error *err)
{
	if (!probe_in_kernel(s->plan.backend))
		return gs_fail(err, GS_EXIT_NOT_PYTHON, "pid %d: the uprobe back end cannot follow an exec",
			       (int)s->target.pid);
	/* Early in its start the interpreter may give no exact address yet. */
	if (s->gil.method != GIL_METHOD_EXACT || s->gil.semaphore)
		return gs_fail(err, GS_EXIT_NOT_PYTHON, "pid %d: python %s gives no exact gil address for the %s back end",
			       (int)s->target.pid, s->gil.py.version, probe_backend_name(s->plan.backend));
	return 0;
}

void session_exec_begin(struct session *s)
{
	struct watched_address old[GS_MAX_WATCHED];
	size_t nold = s->exec_pending ? 0 : gil_watch_list(&s->gil, 0, old, GS_MAX_WATCHED);

	/* The old image's addresses mean nothing now; nor do its thread states. */
	loader_remove_target(s->loader, s->target.pid, old, nold);
	s->hold.sampling = s->hold.blocked_available = s->hold.python_stacks = false;
	s->hold.ncache = 0;
	s->nns_tids = 0;
	s->nwts = 0;
	s->wts_listed = false;
	s->exec_pending = true;
	s->exec_at = monotonic_s();
}

int session_exec_locate(struct session *s, struct gs_error *err)
{
	struct gs_error why = { 0 };
	struct gil_location before = s->gil;

	if (locate(s, &why) != 0 || same_backend(s, &why) != 0) {
		/* Reported as the last image until the new one is found. */
		s->gil = before;
		return gs_fail(err, why.exit_code, "%s: it exec'd, no longer traced", why.msg);
	}
	gil_plan_watch(&s->gil, &s->plan);
	if (loader_add_target(s->loader, s->target.pid, s->plan.watch, s->plan.nwatch) != 0)
		return gs_fail(err, GS_EXIT_FAILURE, "pid %d exec'd and cannot be traced again: %s", (int)s->target.pid,
			       strerror(errno));
	s->plan.track_holder = plan_holder(s);
	s->hold.confirmed = false;
	start_holding(s);
	s->report_target.comm = s->comm = s->target.stat.comm;
	s->report_target.gil_method = s->gil.method == GIL_METHOD_EXACT ? "exact" : "heuristic";
	s->report_target.gil_enabled = s->gil.gil_enabled;
	s->exec_pending = false;
	return 0;
}

static int read_target_memory(void *ctx, uint64_t addr, void *buf, size_t len)
{
	return target_read_memory(*(const pid_t *)ctx, addr, buf, len);
}

/* Listed at the last update, or born since. */
static pid_t host_thread(const struct session *s, pid_t tid)
{
	char path[64];

	if (s->ntids && bsearch(&tid, s->tids, s->ntids, sizeof tid, target_compare_tids))
		return tid;
	snprintf(path, sizeof path, "/proc/%d/task/%d", (int)s->target.pid, (int)tid);
	return access(path, F_OK) == 0 ? tid : 0;
}

/* A thread id of the target's PID namespace as the host's. */
static pid_t host_thread_of_ns(struct session *s, pid_t ns_tid)
{
	int n;

	/* A miss reads them again (the sampler asks once per thread state
	 * and interval). */
	for (size_t i = 0; i < s->nns_tids; i++)
		if (s->ns_tids[i].ns == ns_tid)
			return s->ns_tids[i].host;
	n = target_ns_tids(s->target.pid, &s->ns_tids, &s->ns_tids_cap);
	s->nns_tids = n > 0 ? (size_t)n : 0;
	for (size_t i = 0; i < s->nns_tids; i++)
		if (s->ns_tids[i].ns == ns_tid)
			return s->ns_tids[i].host;
	return 0;
}

/* The sampler's thread check: the host's tid of the thread a thread
 * state names, 0 when none of the target's. The session is the caller's
 * own (not const): the namespace ids are cached in it; the const of the
 * sampler's interface is cast away through an integer. */
static pid_t is_target_thread(pid_t tid, const void *ctx)
{
	struct session *s = (struct session *)(uintptr_t)ctx;

	return s->other_pidns ? host_thread_of_ns(s, tid) : host_thread(s, tid);
}

/* Whether the holder is off its CPU. /proc costs an open and a read (a
 * third of the sampler's time): asked only while a held-while-blocked
 * period is open somewhere (one map read; nearly always none). */
static bool holder_blocked(struct session *s, pid_t tid)
{
	if (!s->attach_blocked && snapshot_open_periods(loader_map_fd(s->loader, LOADER_OPEN_PERIODS)) == 0)
		return false;
	return thread_blocked(s->target.pid, tid);
}

/* A stack read, resolved now into frames the profile p keeps (a code
 * object may be gone by the interval's end): with codes, its code
 * objects looked up (py_code_lookup_stacks). -1 when torn (counted in p)
 * or out of memory. */
static int resolve_frames(struct session *s, struct py_profile *p, const struct py_stack *stack,
			  const struct py_code_info *const *codes, struct py_profile_frame *frames)
{
	for (uint32_t i = 0; i < stack->depth; i++)
		if (!codes[i]) {
			py_profile_torn(p);
			return -1;
		}
	/* The cache's entries last until its next lookup: the profile keeps
	 * its own copies. */
	for (uint32_t i = 0; i < stack->depth; i++) {
		frames[i] = (struct py_profile_frame){ py_profile_keep(p, codes[i]),
						       py_frame_line(s->py, codes[i], stack->frames[i].offset) };
		if (!frames[i].code)
			return -1;
	}
	return 0;
}

/* The Python stack of a thread state, read and resolved. */
static int resolve_stack(struct session *s, const struct mem_reader *mem, struct py_profile *p, uint64_t tstate,
			 struct py_profile_frame *frames, struct py_stack *stack)
{
	const struct py_code_info *codes[PY_STACK_MAX];

	/* The stack's code objects checked in one read. */
	if (py_stack_read_hinted(s->frames, s->py, mem, tstate, stack) != 0 ||
	    py_code_lookup_stack(s->codes, s->py, mem, stack, codes) < 0) {
		py_profile_torn(p);
		return -1;
	}
	return resolve_frames(s, p, stack, codes, frames);
}

/* The Python stack of the holder the last sample found. */
static void sample_python_stack(struct session *s, const struct mem_reader *mem)
{
	struct hold_state *h = &s->hold;
	struct py_profile_frame frames[PY_STACK_MAX];
	struct py_stack stack;

	if (!h->python_stacks || !h->last_sample_held || !h->last_sample_tid ||
	    resolve_stack(s, mem, &h->profile, h->last_sample_tstate, frames, &stack) != 0)
		return;
	py_profile_add(&h->profile, h->last_sample_tid, frames, stack.depth, stack.truncated,
		       holder_blocked(s, h->last_sample_tid));
}

static uint64_t any_thread_state(struct session *s, const struct mem_reader *mem);

#define WAITER_TSTATES_MAX 16384
#define WAITER_TSTATES_RELIST 10 /* waiter samples between lists on a miss */

/* The target's thread states and the threads they name, listed again. */
static void list_thread_states(struct session *s, const struct mem_reader *mem)
{
	size_t max = s->ntids + 64 < WAITER_TSTATES_MAX ? s->ntids + 64 : WAITER_TSTATES_MAX;
	uint64_t start = any_thread_state(s, mem), *ts;
	ssize_t n;

	/* 2.7, 3.6: from a thread state; when none holds, the last holder a
	 * sample saw or a listed one (and with none, tried again at the next
	 * sample: it costs one read). */
	if (!start)
		start = s->hold.last_sample_tstate;
	if (!start && s->nwts)
		start = s->wts[0].tstate;
	if (!start || !(ts = malloc(max * sizeof *ts)))
		return;
	s->wts_age = 0;
	s->wts_listed = true;
	if ((n = py_thread_states(s->py, mem, s->gil.runtime, start, ts, max)) >= 0 &&
	    array_reserve((void **)&s->wts, &s->wts_cap, (size_t)n, sizeof *s->wts, 64) == 0) {
		s->nwts = 0;
		for (ssize_t i = 0; i < n; i++) {
			pid_t ns = hold_tstate_tid(&s->hold.where, mem, ts[i]), host = ns ? is_target_thread(ns, s) : 0;
			if (host)
				s->wts[s->nwts++] = (struct waiter_tstate){ ts[i], ns, host };
		}
	}
	free(ts);
}

/* Whether the thread states may be listed again now (and then they are
 * counted as listed for this sample). */
static bool relist_allowed(struct session *s, bool *relisted)
{
	if (*relisted || (s->wts_listed && s->wts_age < WAITER_TSTATES_RELIST))
		return false;
	*relisted = true;
	return true;
}

/* The thread state listed for a waiter (NULL: none), unchecked. A thread
 * born since lists them again, at most once a sample and every
 * WAITER_TSTATES_RELIST samples. */
static const struct waiter_tstate *waiter_tstate(struct session *s, const struct mem_reader *mem, pid_t tid,
						 bool *relisted)
{
	for (int pass = 0; pass < 2; pass++) {
		for (size_t i = 0; i < s->nwts; i++)
			if (s->wts[i].host_tid == tid)
				return &s->wts[i];
		if (!relist_allowed(s, relisted))
			return NULL;
		list_thread_states(s, mem);
	}
	return NULL;
}

/* The picked waiters' thread states and stacks, read together: where the
 * thread id is in the thread state (3.11+), it is read with the frame
 * pointer and checked after; before, each is checked first (two reads).
 * A state that names another thread (freed and reused) lists them again. */
static void read_waiters(struct session *s, const struct mem_reader *mem, const pid_t *picked, size_t m,
			 struct py_stack *stacks, int *rc)
{
	const struct gs_holder *w = &s->hold.where;
	uint32_t word_off = w->pthread_tid_off ? 0 : w->tstate_tid_off;
	uint64_t tstates[PY_STACKS_BATCH], words[PY_STACKS_BATCH];
	pid_t ns_tids[PY_STACKS_BATCH];
	bool relisted = false;

	for (size_t i = 0; i < m; i++) {
		const struct waiter_tstate *wt = waiter_tstate(s, mem, picked[i], &relisted);
		tstates[i] = wt ? wt->tstate : 0;
		ns_tids[i] = wt ? wt->ns_tid : 0;
		if (wt && !word_off && hold_tstate_tid(w, mem, wt->tstate) != wt->ns_tid)
			tstates[i] = 0;
	}
	if (py_stacks_read(s->frames, s->py, mem, tstates, m, word_off, words, stacks, rc) != 0)
		for (size_t i = 0; i < m; i++)
			rc[i] = -1;
	for (size_t i = 0; i < m; i++)
		if (!tstates[i] || (word_off && rc[i] == 0 && (pid_t)(uint32_t)words[i] != ns_tids[i])) {
			rc[i] = -1;
			if (relist_allowed(s, &relisted))
				list_thread_states(s, mem);
		}
}

_Static_assert(WAITERS_MAX <= PY_STACKS_BATCH, "the waiters picked are read in one batch");

/* The passes that grow with the target, not with the interval: thread
 * names (threading._active, about ten reads a thread: 60 ms at 1,000
 * threads here) and waiter samples (the whole map of waits in progress, a
 * row per waiting thread of every traced process). The next pass waits
 * COST_SHARE times the last one's length: at most 1% of a CPU however
 * many threads come and go (fewer passes then, each still exact). */
#define COST_SHARE 100

static double next_pass(double started)
{
	return started + COST_SHARE * (monotonic_s() - started);
}

/* Threads that may wait now. A process that has had few threads is asked
 * for its own (a thread born since the last update is missed until the
 * next); one of many, or of many coming and going, reads the whole map,
 * which costs a walk of every bucket (a fleet's hundreds of processes
 * each walked it 50 times a second). */
#define WAITERS_LOOKED_UP 64

static int read_waiter_rows(struct session *s)
{
	int fd = loader_map_fd(s->loader, LOADER_INFLIGHT);

	if (s->stats.nthreads <= WAITERS_LOOKED_UP)
		return snapshot_inflight_of(fd, s->tids, s->ntids, &s->waiter_rows, &s->waiter_rows_cap);
	return snapshot_inflight(fd, &s->waiter_rows, &s->waiter_rows_cap);
}

/* Which threads wait for the GIL now, and a few of their stacks, each
 * weighted by the waiters it stands for. */
static void sample_waiters(struct session *s, const struct mem_reader *mem)
{
	struct hold_state *h = &s->hold;
	struct py_profile_frame frames[PY_STACK_MAX];
	struct py_stack stacks[PY_STACKS_BATCH];
	const struct py_code_info *codes[PY_STACKS_BATCH][PY_STACK_MAX];
	pid_t picked[PY_STACKS_BATCH];
	int rc[PY_STACKS_BATCH];
	size_t k, m;
	int n;

	if (!h->python_stacks)
		return;
	/* An idle process (session.h) whose GIL was free at the sample has
	 * nobody queued for it, as near as a sample tells: counted so without
	 * reading the in-flight map (most of a large idle fleet's lookups). */
	if (s->idle && !h->last_sample_held) {
		h->current.wait_samples++;
		return;
	}
	if ((n = read_waiter_rows(s)) < 0 ||
	    array_reserve((void **)&s->waiters, &s->waiters_cap, (size_t)n + 1, sizeof *s->waiters, 64) != 0)
		return;
	k = waiters_collect(s->waiter_rows, (size_t)n, (uint32_t)s->target.pid, gil_classify, &s->gil, s->waiters);
	h->current.wait_samples++;
	h->current.waiters_seen += k;
	s->wts_age++;
	m = waiters_pick(s->waiters, k, &s->wait_cursor, picked, WAITERS_MAX);
	read_waiters(s, mem, picked, m, stacks, rc);
	/* The code objects of every stack read, checked in one read. */
	for (size_t i = 0; i < m; i++)
		if (rc[i] != 0)
			stacks[i].depth = 0;
	if (py_code_lookup_stacks(s->codes, s->py, mem, stacks, m, codes) < 0)
		return;
	for (size_t i = 0; i < m; i++) {
		if (rc[i] != 0)
			py_profile_torn(&h->waits);
		else if (resolve_frames(s, &h->waits, &stacks[i], codes[i], frames) == 0)
			py_profile_add_weighted(&h->waits, picked[i], frames, stacks[i].depth, stacks[i].truncated,
						false, (double)k / (double)m);
	}
}

#define LAYOUT_SAMPLE_TRIES 50

/* 2.7 names its holder only while one holds, and a target handing the
 * GIL over all the time may show none at the few tries of an interval:
 * the layout is checked again right after a sample saw a holder. */
static void retry_layout(struct session *s)
{
	if (s->py || !s->hold.last_sample_held || s->exec_pending || s->layout_sample_tries >= LAYOUT_SAMPLE_TRIES)
		return;
	s->layout_sample_tries++;
	start_python_stacks(s);
}

double session_sample(struct session *s, double now, double hz)
{
	struct mem_reader mem = { read_target_memory, &s->target.pid };

	if (!s->hold.sampling || s->target_gone || hz <= 0)
		return 1e9;
	double period = 1.0 / hz;
	if (now >= s->next_sample) {
		if (hold_sample(&s->hold, &mem, is_target_thread, s) == 0)
			sample_python_stack(s, &mem);
		retry_layout(s);
#if WAITERS_EVERY > 0
		if (++s->wait_phase >= WAITERS_EVERY && now >= s->next_wait_sample) {
			double started = monotonic_s();
			s->wait_phase = 0;
			sample_waiters(s, &mem);
			s->next_wait_sample = next_pass(started);
		}
#endif
		/* On a grid of the period (late on a busy host: what was missed
		 * is skipped, not burst): a fleet's processes are sampled at the
		 * same moments, one wake-up for all. */
		s->next_sample = (floor(now / period) + 1) * period;
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

	if (!s->located || s->exec_pending || gil_refresh(s->target.pid, &s->gil) != 0 || s->gil.ngils == before)
		return;
	n = gil_watch_list(&s->gil, before, watch, GS_MAX_WATCHED);
	loader_watch(s->loader, s->target.pid, watch, n);
}

static void update_histograms(struct session *s)
{
	int n;

	if (s->plan.histogram == GS_HIST_OFF)
		return;
	n = snapshot_histogram(loader_map_fd(s->loader, LOADER_HIST), &s->hist_rows, &s->hist_cap);
	if (n < 0)
		return;
	n = (int)snapshot_keep_tgid(s->hist_rows, (size_t)n, sizeof *s->hist_rows, offsetof(struct hist_row, key.tgid),
				    (uint32_t)s->target.pid);
	histograms_update(&s->hist, s->hist_rows, (size_t)n);
}

/* The held-while-blocked periods in progress: those begun at a switch,
 * and a holder found blocked at attach. */
static int read_blocked(struct session *s)
{
	int n, m;

	s->nheld = s->nblocked = 0;
	if (!s->hold.blocked_available)
		return 0;
	if ((n = snapshot_blocked(loader_map_fd(s->loader, LOADER_BLOCKED), sizeof(uint64_t), &s->blocked_rows, &s->blocked_cap)) < 0)
		return -1;
	s->nblocked = (size_t)n;
	if (s->attach_blocked) {
		struct blocked_row *more = NULL;
		size_t cap = 0;
		if ((m = snapshot_blocked(loader_map_fd(s->loader, LOADER_ATTACH_BLOCKED), sizeof(uint32_t), &more, &cap)) < 0 ||
		    array_reserve((void **)&s->blocked_rows, &s->blocked_cap, s->nblocked + (size_t)m, sizeof *more, 16) != 0) {
			free(more);
			return -1;
		}
		if (m)
			memcpy(&s->blocked_rows[s->nblocked], more, (size_t)m * sizeof *more);
		s->nblocked += (size_t)m;
		free(more);
	}
	return 0;
}

static int read_held(struct session *s)
{
	int n;

	if (!s->hold.blocked_available)
		return 0;
	if ((n = snapshot_held(loader_map_fd(s->loader, LOADER_HELD), &s->held_rows, &s->held_cap)) < 0)
		return -1;
	s->nheld = snapshot_keep_tgid(s->held_rows, (size_t)n, sizeof *s->held_rows, offsetof(struct held_row, key.tgid),
				      (uint32_t)s->target.pid);
	return 0;
}

/* The interval's samples and held-while-blocked periods into the figures. */
static int update_holding(struct session *s, uint64_t now_ns)
{
	double interval_s = (double)now_ns / 1e9 - s->last_update;

	if (split_held(&s->held_rows, &s->nheld, &s->held_cap, s->blocked_rows, s->nblocked, (uint32_t)s->target.pid,
		       now_ns) != 0)
		return -1;
	return hold_update(&s->hold, &s->stats, s->held_rows, s->nheld, interval_s);
}

/* What the maps still hold of threads that ended: their figures are in
 * the statistics now, and the maps stay bounded however many come and go. */
static void forget_ended(struct session *s)
{
	size_t nforget;
	const struct gs_wait_key *forget = stats_rows_to_forget(&s->stats, &nforget);

	snapshot_forget(loader_map_fd(s->loader, LOADER_WAITS), forget, nforget);
	/* A thread no longer listed: its wait in progress too, or a row left
	 * behind (a return the probes missed) would live on. */
	for (size_t i = 0; i < nforget; i++)
		snapshot_forget_inflight(loader_map_fd(s->loader, LOADER_INFLIGHT), forget[i].tid);
	nforget = hold_rows_to_forget(&s->hold, &s->stats, &s->held_forget, &s->held_forget_cap);
	snapshot_forget_held(loader_map_fd(s->loader, LOADER_HELD), s->held_forget, nforget);
	for (size_t i = 0; i < s->stats.nthreads; i++) {
		const struct thread_stats *t = &s->stats.threads[i];
		if (!t->ended_now)
			continue;
		snapshot_forget_inflight(loader_map_fd(s->loader, LOADER_INFLIGHT), (uint32_t)t->tid);
		if (s->hold.blocked_available)
			snapshot_forget_blocked(loader_map_fd(s->loader, LOADER_BLOCKED), loader_map_fd(s->loader, LOADER_OPEN_PERIODS),
						(uint32_t)t->tid);
		if (s->plan.histogram == GS_HIST_PER_THREAD)
			snapshot_forget_histogram(loader_map_fd(s->loader, LOADER_HIST), (uint32_t)s->target.pid,
						  (uint32_t)t->tid);
	}
}

static int read_inflight(struct session *s)
{
	int n = snapshot_inflight(loader_map_fd(s->loader, LOADER_INFLIGHT), &s->inflight_rows, &s->inflight_cap);

	if (n < 0)
		return -1;
	s->ninflight = snapshot_keep_tgid(s->inflight_rows, (size_t)n, sizeof *s->inflight_rows,
					  offsetof(struct inflight_row, wait.tgid), (uint32_t)s->target.pid);
	return 0;
}

static int read_waits(struct session *s)
{
	if (snapshot_rows(loader_map_fd(s->loader, LOADER_WAITS), &s->rows) != 0)
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

/* Every map this process's figures come from: the boundary's time first,
 * which all of them are split at (split.h), then the periods in progress,
 * then the totals. What happens during the reads (a period that ends or
 * begins there) can only be credited to this interval, past the boundary
 * by at most the reads' time (read_s), and is taken back at the next one.
 * Timed after the reads, a period begun during them would be missed here
 * and counted whole in the next interval, from before its start; and a
 * slow read (a loaded host preempting gilstats, thousands of rows) would
 * push the boundary late and make the next interval short. */
static int read_boundary(struct session *s, uint64_t *now_ns)
{
	if (!s->target_gone)
		follow_gils(s);
	/* Shared: the rows may have been read for an earlier process of the
	 * fleet; the time since the boundary bounds how stale any is. */
	*now_ns = s->shared_boundary_ns ? s->shared_boundary_ns : monotonic_ns();
	if (thread_times_read_running(&s->times) != 0 || read_inflight(s) != 0 || read_blocked(s) != 0 ||
	    read_waits(s) != 0 || read_held(s) != 0 || thread_times_read_totals(&s->times) != 0)
		return -1;
	s->read_s = (double)(monotonic_ns() - *now_ns) / 1e9;
	return 0;
}

/* A thread listed before it ever ran (waiting for its first CPU) has no
 * comm from the kernel's slices yet: /proc's. */
static void name_new_threads(struct session *s)
{
	struct proc_stat st;

	for (size_t i = 0; i < s->stats.nthreads; i++) {
		struct thread_stats *t = &s->stats.threads[i];
		if (!t->name[0] && t->alive && target_thread_stat(s->target.pid, t->tid, &st) == 0)
			snprintf(t->name, sizeof t->name, "%s", st.comm);
	}
}

int session_update(struct session *s, uint64_t ended_epoch, struct gs_error *err)
{
	uint64_t now_ns;
	int nlive;

	if (read_boundary(s, &now_ns) != 0)
		return gs_fail(err, GS_EXIT_FAILURE, "cannot read the bpf maps: %s", strerror(errno));
	/* An exited target may linger as a zombie: its threads have ended. */
	nlive = thread_times_live(&s->times, now_ns, &s->tids, &s->ntids, &s->tids_cap);
	if (nlive < 0 || s->target_gone)
		nlive = 0;
	s->ntids = (size_t)nlive;
	thread_times_renew(&s->times, &s->stats);
	/* Namespace ids are reused as threads come and go: read afresh. */
	s->nns_tids = 0;
	if (split_waits(&s->rows, s->inflight_rows, s->ninflight, (uint32_t)s->target.pid, s->tids, (size_t)nlive,
			now_ns) != 0 ||
	    stats_update(&s->stats, &s->rows, ended_epoch, s->tids, (size_t)nlive, gil_classify, &s->gil) != 0)
		return gs_fail(err, GS_EXIT_FAILURE, "out of memory");
	update_histograms(s);
	if (update_holding(s, now_ns) != 0)
		return gs_fail(err, GS_EXIT_FAILURE, "out of memory");
	forget_ended(s);
	if (thread_times_update(&s->times, &s->stats) != 0)
		return gs_fail(err, GS_EXIT_FAILURE, "cannot read the bpf maps: %s", strerror(errno));
	name_new_threads(s);
	s->report_target.gil_address = gil_report_address(&s->gil);
	s->report_target.several_gils = s->gil.ngils > 1;
	s->report_target.gil_enabled = s->gil.gil_enabled;
	s->report_target.cpu_wait_known = s->times.runq;
	s->report_target.steal_known = s->times.steal;
	double t = (double)now_ns / 1e9;
	s->last_interval = t - s->last_update;
	s->last_update = t;
	stats_close_interval(&s->stats, now_ns, (uint64_t)(s->last_interval * 1e9));
	return 0;
}

#define NAMES_REFRESH_INTERVALS 10
/* An idle process of a fleet: each pass reads a couple of hundred words,
 * and a fleet of hundreds would read names most of the time. */
#define NAMES_REFRESH_IDLE_INTERVALS 60

/* A live thread state to start from: the interpreters' lists from
 * _PyRuntime (3.7+), else the GIL's holder's (2.7, 3.6). */
static uint64_t any_thread_state(struct session *s, const struct mem_reader *mem)
{
	uint64_t holder = 0, first = 0;

	if (!s->gil.runtime && mem->read(mem->ctx, s->hold.where.holder_addr, &holder, sizeof holder) != 0)
		return 0;
	return py_thread_states(s->py, mem, s->gil.runtime, holder, &first, 1) > 0 ? first : 0;
}

static bool names_wanted(struct session *s)
{
	if (monotonic_s() < s->names_next)
		return false;
	if (++s->names_age >= (s->idle ? NAMES_REFRESH_IDLE_INTERVALS : NAMES_REFRESH_INTERVALS))
		return true;
	for (size_t i = 0; i < s->stats.nthreads; i++)
		if (s->stats.threads[i].alive && !s->stats.threads[i].python_name_read)
			return true;
	return false;
}

void session_name_threads(struct session *s)
{
	struct mem_reader mem = { read_target_memory, &s->target.pid };
	size_t max = s->stats.nthreads + 16;
	struct py_thread_name *names;
	uint64_t tstate;
	double started;
	ssize_t n;

	/* No layout yet: retry_layout tries again when a sample sees a holder. */
	if (!s->py || s->target_gone || s->exec_pending || !names_wanted(s))
		return;
	s->names_age = 0;
	if (!(tstate = any_thread_state(s, &mem)) || !(names = calloc(max, sizeof *names)))
		return;
	started = monotonic_s();
	n = py_thread_names(s->py, &mem, tstate, names, max);
	s->names_next = next_pass(started);
	for (size_t i = 0; i < s->stats.nthreads; i++)
		s->stats.threads[i].python_name_read |= n >= 0 && s->stats.threads[i].alive;
	for (ssize_t i = 0; i < n; i++) {
		pid_t host = is_target_thread(names[i].tid, s);
		struct thread_stats *t = host ? stats_find(&s->stats, host) : NULL;
		if (!t)
			continue;
		snprintf(t->python_name, sizeof t->python_name, "%s", names[i].name);
		t->python_name_made_up = py_thread_name_is_default(t->python_name);
		t->python_name_shown = t->python_name[0] && (!t->python_name_made_up ||
							       strcmp(t->name, s->target.stat.comm) == 0);
	}
	free(names);
}

void session_name_stacks(struct session *s)
{
	/* Named now, while the target's maps can be read, and outside the
	 * interval the figures were measured over. */
	if (!s->target_gone && hold_blocked_known(&s->hold))
		symbolize_held_stacks(&s->sym, &s->hold, loader_map_fd(s->loader, LOADER_STACKS));
}

/* Which counters the back ends count for this process. */
static unsigned counted_here(const struct session *s)
{
	unsigned mask = 1u << GS_COUNT_ENTRY_HITS | 1u << GS_COUNT_RETURN_HITS | 1u << GS_COUNT_ROWS_FULL |
			1u << GS_COUNT_INFLIGHT_FULL;

	if (s->hold.blocked_available)
		mask |= 1u << GS_COUNT_SWITCH_HITS | 1u << GS_COUNT_HELD_FULL;
	if (loader_accounting_cpu(s->loader))
		mask |= 1u << GS_COUNT_CPU_FULL;
	if (loader_accounting_runq(s->loader))
		mask |= 1u << GS_COUNT_SCHED_FULL;
	return mask;
}

/* The process's own counters since attach, and since the last report
 * (the summary's period is the run); a process gone keeps its last. */
static void read_counts(struct session *s, bool summary)
{
	struct report_counts *c = &s->counts;
	uint64_t total[GS_COUNTERS];

	if (snapshot_counters(loader_map_fd(s->loader, LOADER_COUNTERS), (uint32_t)s->target.pid, total) != 0)
		memcpy(total, c->total, sizeof total);
	else
		c->counted = counted_here(s);
	for (int i = 0; i < GS_COUNTERS; i++) {
		c->period[i] = summary || total[i] < c->total[i] ? total[i] : total[i] - c->total[i];
		c->total[i] = total[i];
	}
}

/* Room for a report of every thread: its order and its rows' figures. */
static int report_room(struct session *s)
{
	size_t n = s->stats.nthreads + 1;
	struct thread_stats **order = realloc(s->order, n * sizeof *order);
	struct table_entry *entries;

	if (!order)
		return -1;
	s->order = order;
	if (!(entries = realloc(s->entries, n * sizeof *entries)))
		return -1;
	s->entries = entries;
	return 0;
}

/* How long the GIL may have been held in the report's period: its
 * threads' time on a CPU, and holding it blocked. */
static double gil_possible_s(const struct report *r)
{
	uint64_t ns = 0;

	for (size_t i = 0; i < r->nthreads; i++) {
		const struct thread_figures *f = thread_figures_of(r->threads[i], r->summary);
		ns += f->cpu_ns + f->blocked_ns;
	}
	return (double)ns / 1e9;
}

void session_emit(struct session *s, bool summary, const struct bpf_cost *cost)
{
	double elapsed = s->last_update - s->attached;
	struct report r = {
		.target = &s->report_target,
		.interval_s = summary ? s->last_update - s->baseline_at : s->last_interval,
		.elapsed_s = elapsed,
		.monotonic_s = s->last_update,
		.read_s = s->read_s,
		.summary = summary,
		.wall_clock = time(NULL),
		.group = s->opt->group,
		.short_s = s->opt->interval_s / 2,
		.top = s->opt->top,
		.bpf = cost,
	};
	struct gs_error err;

	if (report_room(s) != 0)
		return;
	r.threads = s->order;
	r.entries = s->entries;
	r.folded = &s->stats.folded;
	r.hold = &s->hold;
	r.sort = output_sort(s->out);
	read_counts(s, summary);
	r.counts = s->counts;
	report_select(&r, &s->stats, false);
	if (!summary) {
		s->verdict = verdict_decide(&r.lines.model, r.target->gil_enabled);
		s->verdict_known = true;
		s->gil_possible = r.interval_s > 0 ? gil_possible_s(&r) / r.interval_s : -1;
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
	free(s->entries);
	hold_free(&s->hold);
	py_layout_free(s->py);
	py_code_cache_free(s->codes);
	py_stack_hints_free(s->frames);
	symbolizer_free(&s->sym);
	free(s->held_rows);
	free(s->held_forget);
	free(s->ns_tids);
	free(s->inflight_rows);
	free(s->waiter_rows);
	free(s->waiters);
	free(s->wts);
	free(s->blocked_rows);
	if (s->pidfd >= 0)
		close(s->pidfd);
	s->pidfd = -1;
}
