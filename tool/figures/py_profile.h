/* Where the GIL goes: the Python stacks the holder sampler saw the GIL's
 * holder run, per thread, as time. Each sample's frames are resolved when
 * taken (a code object may be freed by the interval's end); stacks whose
 * frames name the same functions and lines are one. A sample also says
 * whether the holder was off its CPU: the stacks of held-while-blocked.
 * Pure logic: no target memory here, only the resolved frames. */
#ifndef GILSTATS_PY_PROFILE_H
#define GILSTATS_PY_PROFILE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <sys/types.h>

#include "tool/python/py_stack.h"

/* Distinct (thread, stack) entries kept; samples beyond are counted as
 * dropped, so a program with endless distinct stacks stays bounded. */
#define PY_PROFILE_MAX_ENTRIES 16384
#define PY_PROFILE_TOP 5

/* One frame, resolved: the code object's names and the line. Added with
 * the code cache's names; kept with the profile's own copy (the cache
 * forgets code objects, the profile keeps them for the run). */
struct py_profile_frame {
	const struct py_code_info *code;
	int line;
};

/* An entry's samples over a period: the interval in progress, the last
 * one, or the run. A sample's weight is 1, or the threads a sample of a
 * few stood for: what time is the share of. */
struct py_profile_entry_period {
	uint64_t n, blocked_n; /* samples; those the holder was off its CPU in */
	double w, blocked_w;   /* their weights */
	double s, blocked_s;   /* held time they stand for (once the period closed) */
};

struct py_profile_entry {
	pid_t tid;
	uint32_t depth;
	bool truncated;
	uint64_t hash, stack_hash; /* with the thread, without */
	struct py_profile_frame *frames; /* innermost first */
	struct py_profile_entry_period current;  /* the interval in progress */
	struct py_profile_entry_period interval; /* the last interval */
	struct py_profile_entry_period run;      /* the whole run */
};

/* The last interval's figures of an entry, or the run's for a summary. */
static inline const struct py_profile_entry_period *py_profile_entry_period_of(const struct py_profile_entry *e,
									      bool summary)
{
	return summary ? &e->run : &e->interval;
}

/* The names of code objects, each once. */
struct py_profile_names {
	struct py_code_info **names;
	size_t n, cap;
	uint32_t *slots; /* index + 1, 0 empty */
	size_t nslots;
};

/* Samples not in any entry over a period (in progress, the last, the run). */
struct py_profile_period {
	uint64_t torn;    /* the stack could not be read */
	uint64_t dropped; /* no memory, or no room for another entry */
};

struct py_profile {
	struct py_profile_names names;
	struct py_profile_entry *entries;
	size_t n, cap;
	uint32_t *slots; /* open addressing: entry index + 1, 0 empty */
	size_t nslots;
	struct py_profile_period current;  /* the interval in progress */
	struct py_profile_period interval; /* the last interval */
	struct py_profile_period run;      /* the whole run */
};

/* The last interval's counts, or the run's for a summary. */
static inline const struct py_profile_period *py_profile_period_of(const struct py_profile *p, bool summary)
{
	return summary ? &p->run : &p->interval;
}

/* The profile's own copy of a code object's names, for a frame to add:
 * the code cache may forget the object at its next lookup. NULL: no memory. */
const struct py_code_info *py_profile_keep(struct py_profile *p, const struct py_code_info *code);

/* A sample of the holder tid running stack s (resolved in frames, s->depth
 * of them). blocked: the holder was off its CPU. 0, or -1 (no memory:
 * counted as dropped). */
int py_profile_add(struct py_profile *p, pid_t tid, const struct py_profile_frame *frames, uint32_t depth,
		   bool truncated, bool blocked);
/* The same, a sample that stands for weight samples (one thread read of
 * several in the same state: the waiters). */
int py_profile_add_weighted(struct py_profile *p, pid_t tid, const struct py_profile_frame *frames, uint32_t depth,
			    bool truncated, bool blocked, double weight);

/* Entries of threads keep(tid, ctx) says are gone move to thread 0 (ended
 * threads), merged by stack: the profile stays bounded under thread churn
 * and the run's figures keep their time. 0, or -1 (no memory: unchanged). */
int py_profile_fold_threads(struct py_profile *p, bool (*keep)(pid_t tid, void *ctx), void *ctx);

/* A sample whose stack could not be read (torn). */
void py_profile_torn(struct py_profile *p);

/* End of an interval of interval_s in which the sampler took samples
 * samples: each entry's share of them (by weight) is time, as the hold
 * figures are. */
void py_profile_close_interval(struct py_profile *p, uint64_t samples, double interval_s);

/* The entries with the most held time (blocked: off-CPU time only) for
 * one thread (tid 0: every thread), for the interval or the run: up to
 * max pointers, most first. Returns how many. */
size_t py_profile_top(const struct py_profile *p, pid_t tid, bool summary, bool blocked,
		      const struct py_profile_entry **out, size_t max);

/* One stack over every thread that ran it. */
struct py_profile_group {
	const struct py_profile_entry *stack; /* its frames: the thread with the most time */
	double s;
	size_t nthreads;
};

/* The stacks with the most held time (blocked: off-CPU only) over every
 * thread, most first: up to max into out, returns how many. -1: no memory. */
ssize_t py_profile_top_stacks(const struct py_profile *p, bool summary, bool blocked, struct py_profile_group *out,
			      size_t max);

/* "function (file:line)" of a frame, into buf. */
void py_profile_frame_name(const struct py_profile_frame *f, char *buf, size_t size);

/* Whether two entries' stacks name the same frames (threads aside). */
bool py_profile_same_stack(const struct py_profile_entry *a, const struct py_profile_entry *b);

/* The held time of an entry, in the interval or the run. */
double py_profile_seconds(const struct py_profile_entry *e, bool summary, bool blocked);

void py_profile_free(struct py_profile *p);

/* "function (dir/file.py:line)": a frame with the last two parts of its
 * path, for text (unescaped). */
void py_profile_frame_short_name(const struct py_profile_frame *f, char *buf, size_t size);

#endif
