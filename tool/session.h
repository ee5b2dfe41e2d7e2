/* One traced process: where its GIL is, what the shared probes recorded
 * for it at each interval, and its report. fleet.c runs one session per
 * process (several with -p, --children, --all) over one BPF program. */
#ifndef GILSTATS_SESSION_H
#define GILSTATS_SESSION_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

#include "tool/cli.h"
#include "tool/util/error.h"
#include "tool/inspect/gil_locate.h"
#include "tool/figures/histogram.h"
#include "tool/figures/hold.h"
#include "tool/report/output.h"
#include "tool/bpf/loader.h"
#include "tool/report/render.h"
#include "tool/inspect/resolve.h"
#include "tool/python/py_stack.h"
#include "tool/bpf/snapshot.h"
#include "tool/figures/stats.h"
#include "tool/figures/symbolize.h"
#include "tool/inspect/target.h"
#include "tool/figures/thread_times.h"

/* A thread state of the target, the thread it named when listed (its
 * PID namespace's id and the host's). */
struct waiter_tstate {
	uint64_t tstate;
	pid_t ns_tid, host_tid;
};

struct session {
	const struct options *opt;
	struct loader *loader; /* shared by every session */
	struct output *out;    /* shared */
	struct target target;
	struct mapped_object interp;
	struct gil_location gil;
	bool located;
	struct probe_plan plan;
	struct report_target report_target;
	struct report_counts counts; /* its BPF counters at the last report */
	const char *comm; /* launch mode: the command; else the target's */
	const char *probe_reason; /* why plan.backend (one lowercase line) */
	struct stats stats;
	struct thread_times times;
	struct wait_rows rows;
	struct histograms hist;
	struct hist_row *hist_rows;
	size_t hist_cap;
	pid_t *tids; /* the target's threads at the last update, sorted */
	size_t ntids, tids_cap;
	struct hold_state hold;
	struct py_layout *py;         /* the interpreter's layout for Python stacks; NULL: none */
	struct py_code_cache *codes;  /* code objects read, for the run (the profile names them) */
	unsigned layout_sample_tries; /* py_layout_for refused: tried again after samples saw a holder */
	unsigned names_age;           /* intervals since the Python thread names were read */
	double names_next;            /* and not read again before (monotonic s): their cost */
	struct py_stack_hints *frames; /* each holder's last frames, read again at once */
	struct symbolizer sym;
	struct held_row *held_rows;
	size_t held_cap, nheld;
	struct inflight_row *inflight_rows; /* waits in progress at the last read */
	size_t inflight_cap, ninflight;
	struct blocked_row *blocked_rows; /* held-while-blocked periods in progress */
	size_t blocked_cap, nblocked;
	bool attach_blocked; /* a holder was found blocked at attach */
	struct gs_held_key *held_forget;
	size_t held_forget_cap;
	double next_sample;
	/* The waiter sampler (waiters.h): every WAITERS_EVERY holder samples. */
	unsigned wait_phase;
	double next_wait_sample;          /* not before (its cost: COST_SHARE in session.c) */
	pid_t wait_cursor;                /* round robin over the waiters */
	struct inflight_row *waiter_rows; /* the waits in progress at its last read */
	size_t waiter_rows_cap;
	pid_t *waiters;
	size_t waiters_cap;
	struct waiter_tstate *wts;        /* the target's thread states by thread */
	size_t nwts, wts_cap;
	bool wts_listed;
	unsigned wts_age;                 /* waiter samples since they were listed */
	/* A target in another PID namespace: its threads by their ids there
	 * and the host's, re-read when a holder names one not in it. */
	bool other_pidns;
	struct ns_tid_pair *ns_tids;
	size_t nns_tids, ns_tids_cap;
	struct thread_stats **order;
	struct table_entry *entries; /* order's threads with their rows' figures */
	int pidfd;
	bool in_lineage;     /* in the kernel's family map (lineage.h) */
	uint64_t execs_seen; /* its exec count there when last located */
	bool exec_pending;   /* exec'd, its new image not located yet */
	double exec_at;
	bool target_gone;
	double attached, last_update, last_interval;
	double read_s; /* the last boundary's map reads took this long */
	/* A fleet's common boundary (CLOCK_MONOTONIC ns), the maps read once
	 * for all its processes from then on; 0: the session's own. */
	uint64_t shared_boundary_ns;
	bool verdict_known;         /* an interval was reported */
	double gil_possible;        /* share of the last interval its threads ran or
				     * held the GIL blocked (-1: none reported yet) */
	bool idle;                  /* set by a fleet of several: gil_possible below
				     * FLEET_BUSY_SHARE (sampled less, named less often) */
	enum verdict_kind verdict;  /* its kind, for the metrics */
	double baseline_at; /* the first boundary: the run's figures start there */
};

/* A running process: inspected, its interpreter and GIL located, the back
 * end chosen (s->plan). Exit codes in err as documented. */
int session_prepare(struct session *s, const struct options *opt, pid_t pid, struct gs_error *err);

/* The back end the fleet's shared program runs instead of the one chosen
 * (a kernel that refused sched); reason outlives the session. */
void session_use_backend(struct session *s, enum probe_backend backend, const char *reason);

/* Launch mode: a child that has not started its interpreter yet. */
void session_prepare_launched(struct session *s, const struct options *opt, pid_t pid, const char *command);

/* Launch mode: locates the interpreter once it is up (true then). */
bool session_locate_launched(struct session *s);

/* Traced from now on through the shared probes (already holding its
 * target and watched addresses): holding, the threads' baseline. */
void session_start(struct session *s, struct loader *loader, struct output *out, double attached, double start);

/* The target exec'd (same pid, a new image): what was known of the old
 * image is dropped (the kernel stopped counting at the exec), until
 * session_exec_locate finds the new interpreter, GIL and holder and
 * re-arms the probes; the figures go on. That fails while the new image
 * is no python the running back end traces (its interpreter may not be
 * up yet: the caller retries for a while); err says why. */
void session_exec_begin(struct session *s);
int session_exec_locate(struct session *s, struct gs_error *err);

/* Samples the GIL's holder when due, hz times a second (the fleet's
 * share of --hold-rate); returns the seconds to the next. */
double session_sample(struct session *s, double now, double hz);

/* Whether the target has exited (its pidfd readable, or its start time
 * changed); sets target_gone. */
bool session_gone(struct session *s);

/* Reads the maps for this process and folds the interval in. */
int session_update(struct session *s, uint64_t ended_epoch, struct gs_error *err);

/* After an update: the interval's report (or, summary, the whole run's);
 * with cost, the BPF programs' cost over the same period on its line. */
void session_emit(struct session *s, bool summary, const struct bpf_cost *cost);

/* Names held stacks while the target's maps can be read. */
void session_name_stacks(struct session *s);
/* Names the threads from the target's threading module: when a thread not
 * looked up yet is alive, and every few intervals (threads are renamed). */
void session_name_threads(struct session *s);

void session_release(struct session *s);

#endif
