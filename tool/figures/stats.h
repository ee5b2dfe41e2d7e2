/* Per-thread GIL figures from successive snapshots of the wait rows: what
 * each interval added, and the whole run. Pure logic. */
#ifndef GILSTATS_STATS_H
#define GILSTATS_STATS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "probes/gilstats.h"
#include "tool/bpf/snapshot.h"

struct wait_figures {
	uint64_t ns, count, max_ns;
};

/* What a thread did over a period: one interval, or the whole run. */
struct thread_figures {
	struct wait_figures gil, sw; /* waits for the GIL, and for a forced switch */
	uint64_t cpu_ns;             /* on a CPU */
	uint64_t steal_ns;           /* on a CPU the hypervisor took meanwhile (steal) */
	uint64_t hold_ns;            /* held the GIL, from samples (hold.c) */
	uint64_t blocked_ns;         /* held the GIL while blocked */
	uint64_t alive_ns;           /* the part of the period the thread existed in (gil_model.h) */
	uint64_t cpu_wait_ns;        /* runnable, waiting for a CPU (schedstat's run_delay) */
	uint64_t cpu_waits;          /* run-queue periods that ended */
	uint64_t blocked_other_ns;   /* off the CPU, blocked, not waiting for the GIL
				      * (nor in drop_gil): I/O, sleeps, other locks */
};

struct thread_stats {
	pid_t tid;
	char name[32];   /* the kernel's comm */
	char python_name[64]; /* threading's name, read from the target; "": none */
	bool python_name_read; /* its name was looked for (threads of C have none) */
	bool python_name_shown; /* shown rather than the comm (not a made-up one beside a chosen comm) */
	bool python_name_made_up; /* one threading made up (Thread-3 (run)): roles go by the comm */
	pid_t ns_tid;    /* in the target's PID namespace (0: unknown) */
	uint64_t gil_address; /* the GIL it waited on last (several with PEP 684) */
	bool alive;      /* listed in /proc/PID/task at the last update */
	bool ended_now;  /* ended during the last interval */
	bool spanned;    /* alive at both ends of the last interval */
	struct thread_figures interval; /* the last interval */
	struct thread_figures run;      /* the whole run */
	uint64_t cpu_seen_ns;  /* its CPU time at the last sample */
	bool cpu_sampled;
	uint64_t runq_seen_ns, runq_seen_count, off_seen_ns; /* the same for stats_sched_sample */
	uint64_t steal_seen_ns; /* and for stats_steal_sample */
	bool steal_sampled;
	bool sched_sampled;
	bool ns_tid_read;      /* ns_tid was looked up (once a thread) */
	/* Its birth (the task's start_time) and death (its last switch), from
	 * the kernel's run-queue rows; CLOCK_MONOTONIC ns, 0: unknown. */
	uint64_t born_ns, died_ns;
};

/* The name to show: the Python thread's, else the comm (also when the
 * program named the thread itself and threading made its name up). */
static inline const char *thread_name(const struct thread_stats *t)
{
	return t->python_name_shown ? t->python_name : t->name;
}

/* The name a thread's role comes from: a name threading made up is not
 * one (a thread per request is named only if it lives past a boundary:
 * by the comm, all of them are one role). */
static inline const char *thread_role_source(const struct thread_stats *t)
{
	return t->python_name_shown && !t->python_name_made_up ? t->python_name : t->name;
}

/* The last interval's figures, or the run's for a summary. */
static inline const struct thread_figures *thread_figures_of(const struct thread_stats *t, bool summary)
{
	return summary ? &t->run : &t->interval;
}

/* Adds from's figures into into; maxima are the larger of the two. */
void thread_figures_add(struct thread_figures *into, const struct thread_figures *from);

/* What a row's address is; ctx is the caller's (the located GIL). For
 * the GIL's own addresses *gil is set to that GIL's reported address. */
typedef enum gs_wait_kind (*classify_fn)(uint64_t addr, const void *ctx, uint64_t *gil);

/* A row's figures at the previous snapshot, to take differences. */
struct row_baseline {
	struct gs_wait_key key;
	uint64_t total_ns, count;
};

/* Beyond this many ended threads the least waiting are folded into one
 * total, so a process that churns threads keeps gilstats' memory bounded. */
#define STATS_MAX_ENDED 1024

struct folded_threads {
	uint64_t threads;
	struct thread_figures run;
};

struct stats {
	struct folded_threads folded; /* ended threads no longer kept one by one */
	struct thread_stats *threads; /* sorted by tid */
	size_t nthreads, threads_cap;
	struct row_baseline *base;    /* sorted by key */
	size_t nbase, base_cap;
	struct gs_wait_key *forget;   /* rows of ended threads, to delete */
	size_t nforget, forget_cap;
};

/* One interval: live is the sorted list of the target's thread ids, taken
 * before the rows were read; rows is reordered. ended_epoch is the epoch
 * the interval's maxima were recorded in. Returns 0 or -1 (no memory). */
int stats_update(struct stats *st, struct wait_rows *rows, uint64_t ended_epoch, const pid_t *live,
		 size_t nlive, classify_fn classify, const void *ctx);

/* Closes the interval of interval_ns that ended at end_ns once every
 * figure is in (after thread_times_update): each thread's alive time, the
 * part of the interval between its birth and its death. A thread alive
 * at both ends lived the whole interval; one born or ended in it lived
 * from its born_ns or to its died_ns. Where the kernel did not date it
 * (no run-queue rows), it lived at least the time it was seen in one
 * state or another (on a CPU, queued, waiting, blocked), which counts. */
void stats_close_interval(struct stats *st, uint64_t end_ns, uint64_t interval_ns);

/* The thread's entry belonged to an earlier thread with the same tid (the
 * kernel reuses them): its run's figures go to the folded ones and the
 * entry starts afresh, baselines and all, for the new thread. */
void stats_retire(struct stats *st, struct thread_stats *t);

/* Keys of rows that belong to ended threads after the last update; the
 * caller deletes them from the map. */
const struct gs_wait_key *stats_rows_to_forget(const struct stats *st, size_t *n);

/* Records a thread's CPU time so far (ns). The first sample of a thread
 * seen at start only sets the baseline; a thread born later used all its
 * time in this run. A value below the last one counts nothing and the
 * larger stays the baseline (split.h). */
void stats_cpu_sample(struct thread_stats *t, uint64_t ns, bool at_start);

/* Records a thread's run-queue time, run-queue periods and blocked time
 * so far (split.h: V(T)); the first sample of a thread counts whole (the
 * session's baseline is taken with the same calls). Call after
 * stats_update: blocked_other is the blocked time less the interval's
 * GIL and switch waits, which are blocked time too. */
void stats_sched_sample(struct thread_stats *t, uint64_t runq_ns, uint64_t runq_count, uint64_t off_ns);

/* Records the time the thread's finished slices lost to steal so far,
 * like stats_sched_sample. */
void stats_steal_sample(struct thread_stats *t, uint64_t ns);

/* Forgets every figure counted so far, keeping the baselines: what came
 * before the first boundary (the attach) counts nowhere. */
void stats_zero(struct stats *st);

struct thread_stats *stats_find(struct stats *st, pid_t tid);
const struct thread_stats *stats_find_const(const struct stats *st, pid_t tid);
/* The thread, added (alive) when it is new; NULL when out of memory. */
struct thread_stats *stats_thread(struct stats *st, pid_t tid);
void stats_free(struct stats *st);

/* Three-way compare of two wait figures for sorting: more waiting first. */
int wait_figures_compare(const struct wait_figures *a, const struct wait_figures *b);

#endif
