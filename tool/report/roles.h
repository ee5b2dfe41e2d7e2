/* Readable thread pools: threads grouped by role, the thread name with
 * each run of digits after '-', '_', '#' or a space replaced by '*'
 * ("Thread-12 (handler)" is "Thread-* (handler)"). A group row sums its
 * threads' figures; its shares are over the thread-seconds they were
 * alive. Pure logic. */
#ifndef GILSTATS_ROLES_H
#define GILSTATS_ROLES_H

#include <stdbool.h>
#include <stddef.h>

#include "tool/figures/stats.h"
#include "tool/report/table.h"

/* More rows than this in a process: grouped by role. */
#define ROLES_GROUP_ABOVE 40

/* The role of a thread name, into out (always terminated). */
void roles_name(const char *name, char *out, size_t len);

/* One row of the table: a thread's own, or a group of a role's threads. */
struct role_row {
	char role[sizeof(((struct thread_stats *)0)->python_name)];
	const struct thread_stats *thread; /* the thread of a row of its own; NULL: a group */
	/* The group's first thread, with its figures: a row of its own shows them. */
	const struct table_entry *first;
	size_t threads, alive;             /* in the group; alive at the end of the period */
	struct thread_figures fig;         /* summed over them (maxima: the largest) */
};

struct roles {
	struct role_row *rows;
	size_t n, cap;
};

/* Whether a process's rows are grouped: above ROLES_GROUP_ABOVE, above
 * what the screen holds (screen_rows > 0), or when asked. */
bool roles_grouped(size_t nrows, int screen_rows, bool asked);

struct roles_request {
	bool summary;      /* the run's figures */
	bool group;        /* every role one row; else only short-lived threads fold */
	double short_s;    /* a thread alive less than this is short-lived (half an interval) */
	enum sort_key key; /* the rows' order, largest first (TID: ascending) */
};

/* The rows of threads (in display order, with their row figures) into r
 * (reset first). Returns 0 or -1 (no memory). */
int roles_build(struct roles *r, const struct table_entry *threads, size_t n, const struct roles_request *req);

/* A row's figures: a thread's over the period (seconds), a group's over
 * the thread-seconds its threads were alive (seconds when unknown). */
void roles_row_figures(const struct role_row *row, double seconds, struct row_figures *out);

void roles_free(struct roles *r);

#endif
