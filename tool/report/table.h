/* The thread table, shared by the plain text output and the live screen:
 * the figures of a row, its columns and their widths, and the sort order.
 * Pure formatting. */
#ifndef GILSTATS_TABLE_H
#define GILSTATS_TABLE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "tool/figures/stats.h"

/* What a row shows, for an interval or (summary) the whole run. */
struct row_figures {
	double cpu_pct;    /* share of the period on a CPU */
	double wait_pct;   /* share of the period waiting to take the GIL */
	double cpu_wait_pct; /* share of the period runnable, waiting for a CPU */
	double waits_per_s;
	double switch_pct; /* share of the period in drop_gil waiting for a taker */
	uint64_t avg_ns, max_ns;
	double hold_pct;    /* share of the period holding the GIL */
	double blocked_pct; /* ...while off-CPU, blocked */
	bool hold_known, blocked_known, cpu_wait_known; /* set by the caller: "-" otherwise */
};

void row_figures(const struct thread_stats *t, bool summary, double seconds, struct row_figures *out);
/* The shares of figures over seconds (a period, or thread-seconds). */
void row_figures_from(const struct thread_figures *fig, double seconds, struct row_figures *out);

enum sort_key { SORT_GIL_WAIT, SORT_CPU, SORT_WAITS, SORT_MAX_WAIT, SORT_TID, SORT_KEYS };

/* "GIL WAIT%", "CPU%", ...: the column a key sorts by. */
const char *sort_key_name(enum sort_key key);

struct table_order {
	enum sort_key key;
	bool summary;
};

/* A thread with its row's figures, computed once a report: the sort and
 * every row drawn read them. */
struct table_entry {
	struct thread_stats *thread;
	struct row_figures fig;
};

/* Sorts rows by the key, largest first (TID: ascending), ties by TID. */
void table_sort(struct table_entry *rows, size_t n, const struct table_order *order);

/* The header and a row, fitted to width columns (NAME takes what is left;
 * 0 means the natural width). Returns the length written. */
size_t table_header(char *buf, size_t len, int width);
size_t table_row(char *buf, size_t len, const struct thread_stats *t, const struct row_figures *f, int width);
/* A group's row: how many threads instead of a tid, the role as its name. */
size_t table_group_row(char *buf, size_t len, size_t threads, bool any_alive, const char *role,
		       const struct row_figures *f, int width);

#endif
