/* Log2 histograms of GIL wait durations (filled in BPF, see gilstats.h):
 * interval and whole-run counts for the process and each thread, and
 * their rendering. Pure logic. */
#ifndef GILSTATS_HISTOGRAM_H
#define GILSTATS_HISTOGRAM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <sys/types.h>

#include "probes/gilstats.h"
#include "tool/bpf/rows.h"

struct histogram {
	uint64_t slots[GS_HIST_SLOTS];
};

/* One thread's (tid 0: the process's) counts. */
struct hist_series {
	pid_t tid;
	struct histogram run;      /* the whole run */
	struct histogram interval; /* the last interval */
	struct histogram seen;     /* the map's cumulative counts last read */
};

/* The last interval's counts, or the run's for a summary. */
static inline const struct histogram *histogram_of(const struct hist_series *s, bool summary)
{
	return summary ? &s->run : &s->interval;
}

struct histograms {
	struct hist_series *v; /* sorted by tid; tid 0 first */
	size_t n, cap;
};

/* Folds a snapshot of the BPF histogram (cumulative counts) in: each
 * series' interval becomes what grew since the last update; threads whose
 * rows were deleted keep their run counts. With per-thread rows the
 * process series (tid 0) is their sum. Returns 0 or -1 (no memory). */
int histograms_update(struct histograms *h, const struct hist_row *rows, size_t n);
const struct hist_series *histograms_find(const struct histograms *h, pid_t tid);
void histograms_free(struct histograms *h);

/* The range of a slot in microseconds: [lo, hi]. */
void histogram_slot_range(unsigned slot, uint64_t *lo_us, uint64_t *hi_us);
uint64_t histogram_total(const struct histogram *hist);

/* runqlat's layout: "     usecs    : count    distribution", the
 * occupied slots only, bars scaled to width characters. */
void histogram_render(FILE *out, const struct histogram *hist, const char *title, int width);
/* [{"low_us": 4096, "high_us": 8191, "count": 12}, ...] */
void histogram_json(FILE *out, const struct histogram *hist);

#endif
