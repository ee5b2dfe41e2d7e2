/* The holder profile in the report: "GIL held in" (text), gil_held_stacks
 * (JSON), and folded stacks for flame graph tools. Frame names come from
 * the target: escaped for each form. */
#ifndef GILSTATS_STACKS_RENDER_H
#define GILSTATS_STACKS_RENDER_H

#include <stdio.h>

#include "tool/figures/hold.h"
#include "tool/figures/stats.h"

#define STACKS_TEXT_TOP 5
#define STACKS_TEXT_FRAMES 3 /* frames of a stack on a text line */
#define STACKS_JSON_TOP 20

/* "GIL held in:" and its top stacks, merged over threads, as shares of the
 * held time sampled; nothing when no stack was sampled. */
void stacks_text(FILE *out, const struct hold_state *h, bool summary);

/* The same top stacks as lines of text, each in size bytes of lines, up
 * to max (at most STACKS_TEXT_TOP): how many. */
size_t stacks_lines(const struct hold_state *h, bool summary, char *lines, size_t size, size_t max);

/* ", \"gil_held_stacks\": [...], \"torn_samples\": N" (null when stacks
 * are not read, with python_stacks_error saying why). */
void stacks_json(FILE *out, const struct hold_state *h, bool summary);

/* The waiters' stacks (waiters.h): "Waiting for the GIL in:" as shares of
 * the threads' time waiting sampled, and ", \"gil_wait_stacks\": [...],
 * \"wait_samples\": N, \"waiters_mean\": x, \"wait_torn_samples\": N"
 * (null when stacks are not read). */
void stacks_wait_text(FILE *out, const struct hold_state *h, bool summary);
void stacks_wait_json(FILE *out, const struct hold_state *h, bool summary);

/* The run's stacks in the folded format (pid;thread;outer;...;inner count,
 * the count in samples; the thread as "name (tid)", or with by_role its
 * role, so a pool's threads are one), one line per stack. Returns 0, or -1
 * when writing failed. */
int stacks_write_folded(FILE *out, const struct hold_state *h, pid_t pid, struct thread_stats *const *threads,
			size_t nthreads, bool by_role);

/* The same for the waiters' stacks, the count in waiter samples, each
 * weighted by the waiters it stood for (a thread's 1/rate s waiting). */
int stacks_write_folded_waits(FILE *out, const struct hold_state *h, pid_t pid, struct thread_stats *const *threads,
			      size_t nthreads);

/* A frame for the folded format: its name with ';' and control characters
 * replaced, so a line parses back into its frames. */
void stacks_folded_frame(char *buf, size_t size, const char *name);

#endif
