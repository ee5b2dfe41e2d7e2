/* Who holds the GIL. Two sources, folded into per-thread figures here:
 *  - a sampler of the GIL's state in the target's memory (locked, and the
 *    holder's PyThreadState, resolved to a thread id): hold time and the
 *    share of wall time the GIL was held, statistically (200 Hz default);
 *  - the sched_switch program's held-while-blocked periods, exact, with
 *    the user stack each began with.
 * Pure logic over a mem_reader and map rows. */
#ifndef GILSTATS_HOLD_H
#define GILSTATS_HOLD_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "probes/gilstats.h"
#include "tool/bpf/rows.h"
#include "tool/inspect/gil_locate.h"
#include "tool/figures/py_profile.h"
#include "tool/figures/stats.h"

#define HOLD_TSTATE_CACHE 64
#define HOLD_TOP_STACKS 5 /* per thread, in the output */

/* The thread of the target a thread state names, as the host knows it:
 * the id the target itself uses (native_thread_id, its PID namespace's)
 * to the host's tid, 0 when it names no thread of the target (the
 * sampler's check that the holder layout resolved to something real). */
typedef pid_t (*thread_check_fn)(pid_t tid, const void *ctx);

/* A stack's figures over a period: an interval, or the run. */
struct hold_stack_period {
	uint64_t ns; /* held the GIL while blocked with it */
};

/* The time a thread spent blocked holding the GIL, by the stack it
 * blocked with. */
struct hold_stack {
	pid_t tid;
	int64_t stackid, kstackid;
	char *syscall;                  /* the system call it blocked in; NULL: unknown */
	uint64_t map_total_ns;          /* the map's figure at the last update (split.h) */
	uint64_t map_count;
	struct hold_stack_period interval, run;
	char **frames;                  /* symbolized, innermost first; NULL until then */
	size_t nframes;
};

/* Frees what the stack owns (its names). */
void hold_stack_free(struct hold_stack *s);

/* The last interval's figures, or the run's for a summary. */
static inline const struct hold_stack_period *hold_stack_period_of(const struct hold_stack *s, bool summary)
{
	return summary ? &s->run : &s->interval;
}

struct hold_tid_count {
	pid_t tid;
	uint64_t n;
};

struct hold_cache_entry {
	uint64_t tstate;
	pid_t id;  /* the id it named, as the target sees it */
	pid_t tid; /* the host's, 0: none of the target's */
};

/* The sampler's counts over a period: the interval in progress, the
 * last one, or the run. */
struct hold_period {
	uint64_t samples, held;    /* of the GIL's state; those it was held in */
	uint64_t wait_samples;     /* of the waiters (waiters.h) */
	uint64_t waiters_seen;     /* waiters found, over those samples */
};

struct hold_state {
	uint32_t tgid;
	struct gs_holder where;
	bool sampling;          /* the GIL's state can be read: hold time, utilisation */
	bool blocked_available; /* the sched_switch program is attached */
	bool confirmed;         /* a holder resolved to a thread of the target */
	struct hold_cache_entry cache[HOLD_TSTATE_CACHE];
	size_t ncache;
	struct hold_period current;  /* the interval in progress */
	struct hold_period interval; /* the last interval */
	struct hold_period run;      /* the whole run */
	struct hold_tid_count *per;     /* this interval's samples by holder */
	size_t nper, per_cap;
	struct hold_stack *stacks;
	size_t nstacks, stacks_cap;
	/* The last sample: the holder's thread state and host tid (0: none
	 * of the target's) while the GIL was held; the caller reads its
	 * Python stack into profile. */
	bool last_sample_held;
	uint64_t last_sample_tstate;
	pid_t last_sample_tid;
	bool python_stacks; /* profile is being filled */
	char python_stacks_why[512]; /* else why not ("": not tried) */
	struct py_profile profile;
	/* Where threads wait for it (waiters.h): at every waiter sample, a
	 * few waiters' stacks, each weighted by the waiters it stands for,
	 * so an entry's share of the waiter samples is threads' worth of
	 * seconds waiting. */
	struct py_profile waits;
};

/* The last interval's counts, or the run's for a summary. */
static inline const struct hold_period *hold_period_of(const struct hold_state *h, bool summary)
{
	return summary ? &h->run : &h->interval;
}

/* What the sampler and the BPF program need to know, from the located
 * GIL; false when this interpreter gives no exact holder. */
bool hold_where(const struct gil_location *loc, struct gs_holder *out);

/* The thread id a PyThreadState belongs to (0 when it cannot be read). */
pid_t hold_tstate_tid(const struct gs_holder *w, const struct mem_reader *mem, uint64_t tstate);

/* One sample of the GIL's state. Returns -1 when the memory could not be
 * read (nothing counted). */
int hold_sample(struct hold_state *h, const struct mem_reader *mem, thread_check_fn is_thread, const void *ctx);

/* End of an interval of interval_s: the samples and the held-while-blocked
 * rows (the map's cumulative figures) into the threads' figures. Returns
 * 0 or -1 (no memory). */
int hold_update(struct hold_state *h, struct stats *st, const struct held_row *rows, size_t nrows,
		double interval_s);

/* A thread's stacks, most time first, for the interval or the run: up to
 * max pointers into h->stacks. */
size_t hold_top_stacks(const struct hold_state *h, pid_t tid, bool summary, const struct hold_stack **out,
		       size_t max);

/* Whether the figures can be reported (else they are null, never 0). */
bool hold_time_known(const struct hold_state *h);
bool hold_blocked_known(const struct hold_state *h);

/* Held keys of threads that ended, to delete from the map; their stacks
 * stay for the summary. *keys is reallocated; returns how many. */
size_t hold_rows_to_forget(const struct hold_state *h, const struct stats *st, struct gs_held_key **keys,
			   size_t *cap);

/* The system call a kernel symbol is the entry of ("__x64_sys_futex":
 * "futex"), or NULL. */
const char *syscall_of_symbol(const char *name);

void hold_free(struct hold_state *h);

#endif
