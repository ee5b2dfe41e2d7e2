/* Rendering an interval or the summary: a plain text table, or one JSON
 * object per line. Pure formatting over the figures stats.c computed. */
#ifndef GILSTATS_RENDER_H
#define GILSTATS_RENDER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <sys/types.h>
#include <time.h>

#include "probes/gilstats.h"
#include "tool/bpf/bpf_cost.h"
#include "tool/util/escape.h"
#include "tool/figures/gil_model.h"
#include "tool/figures/histogram.h"
#include "tool/figures/hold.h"
#include "tool/figures/stats.h"
#include "tool/report/table.h"
#include "tool/report/roles.h"
#include "tool/figures/verdict.h"

/* The JSON lines' contract: raised at each change NEWS.md records. */
#define RENDER_SCHEMA_VERSION 2

/* What stays the same for the whole run. */
struct report_target {
	pid_t pid;
	const char *comm;
	const char *python_version;
	uint64_t gil_address; /* 0 while a heuristic has nothing to go on */
	const char *gil_method; /* "exact" or "heuristic" */
	const char *probe;      /* back end: "futex" or "uprobe" */
	const char *probe_reason; /* why that one (one lowercase line) */
	bool gil_enabled;       /* false: free-threaded build without its GIL */
	bool several_gils;      /* sub-interpreters with their own GIL */
	bool cpu_wait_known;    /* run-queue time is measured (sched_wakeup) */
	bool steal_known;       /* time stolen from a thread's slices is measured */
	double attach_s;        /* from start to probes attached */
};

/* One process's BPF event counters (enum gs_counter): since attach, and
 * in the period reported (the summary's is the run). Bit i of counted:
 * counter i is counted at all (the sched_switch programs may be absent). */
struct report_counts {
	uint64_t total[GS_COUNTERS];
	uint64_t period[GS_COUNTERS];
	unsigned counted;
};

/* A counter as JSON and the metrics name it: the sum of the counters in
 * mask (lost_waits: both full maps that lose a wait). */
struct report_counter {
	const char *name;
	unsigned mask;
};
extern const struct report_counter report_counters[];
extern const size_t report_ncounters;
/* The counter's value since attach (period: in the period); false when
 * the back end does not count it. */
bool report_counter_value(const struct report_counts *c, const struct report_counter *k, bool period,
			  uint64_t *value);

/* The lines every text form starts with: what is traced, the totals, and
 * the verdict, with the GIL model of the period they come from. */
struct report_lines {
	char target[256];
	char totals[256];
	char verdict[256];
	char lost[256]; /* "warning: lost: ..." when the period lost events; else "" */
	enum verdict_kind kind;
	struct gil_model model;
};

struct report {
	const struct report_target *target;
	double interval_s; /* length of this interval, or of the whole run */
	double elapsed_s;  /* since the probes were attached */
	double monotonic_s; /* CLOCK_MONOTONIC when the figures were read (the end) */
	double read_s;      /* how long the boundary's map reads took (split.h) */
	bool summary;
	time_t wall_clock; /* end of the interval, for the text header */
	struct thread_stats **threads; /* in display order */
	struct table_entry *entries;   /* the same threads, each with its row's figures */
	size_t nthreads;
	struct report_counts counts; /* the process's BPF event counters */
	enum sort_key sort;
	const struct folded_threads *folded; /* summary: ended threads folded together */
	const struct hold_state *hold;       /* who held the GIL; NULL: not measured */
	bool group;     /* --group: rows by role always (and in JSON) */
	double short_s; /* threads alive less than this fold into their role's row */
	long top;       /* text and live view: at most this many rows (0: all) */
	/* What gilstats' BPF programs cost the host in the period: shared by
	 * every process, so on one line of a period only (NULL: not here). */
	const struct bpf_cost *bpf;
	/* Computed once a report (report_select, report_compute), for every
	 * form it is drawn in. */
	struct report_lines lines;
};

/* The GIL's utilisation (share of wall time it was held), or -1 when
 * unknown. */
double report_held_pct(const struct report *r);
/* The samples behind the period's hold figures, or -1 when not sampled. */
long long report_hold_samples(const struct report *r);

/* Chooses the threads of a report (alive or ended during the interval;
 * every thread for the summary, or with all), computes each one's row
 * figures once and sorts them on those by r->sort, then computes the
 * lines. r->threads and r->entries must hold st->nthreads each; every
 * other input (the counts too) is set before. Sets r->nthreads. */
void report_select(struct report *r, struct stats *st, bool all);

/* The same figures and lines for a report whose r->nthreads threads are
 * given in order (r->entries holding as many); again after an input
 * changed. */
void report_compute(struct report *r);

/* The table's rows (threads, and groups of threads by role) as the text
 * and the live view show them; screen_rows > 0: what the screen holds. */
struct roles;
int report_rows(const struct report *r, int screen_rows, struct roles *rows);
void report_role_row(const struct report *r, const struct role_row *row, char *buf, size_t len, int width);

/* One JSON line; with hist, the GIL wait histogram of the process (and of
 * each thread with per_thread). */
void render_json(FILE *out, const struct report *r, const struct histograms *hist, bool per_thread);
void render_text(FILE *out, const struct report *r);

#endif
