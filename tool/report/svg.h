/* The --svg chart: GIL wait % over time for the busiest threads, one line
 * per thread, written as plain SVG (no runtime dependency; any browser
 * opens it). The history it draws is kept here too. Pure logic. */
#ifndef GILSTATS_SVG_H
#define GILSTATS_SVG_H

#include <stddef.h>
#include <stdio.h>
#include <sys/types.h>

#define SVG_MAX_SERIES 8     /* the busiest threads drawn */
#define HISTORY_MAX_POINTS 4096 /* older points are merged pairwise beyond this */
#define HISTORY_MAX_SERIES 256  /* threads followed; the least waiting give way */

struct history_series {
	pid_t tid;
	char name[64];
	double *values; /* GIL wait % per point; NaN when the thread did not exist */
	double total;
};

struct history {
	double *times; /* seconds since the start, end of each point */
	size_t npoints, cap;
	struct history_series *series;
	size_t nseries;
};

/* Appends a point: the value of each thread present (others get NaN). */
int history_add(struct history *h, double time_s, const pid_t *tids, char (*names)[64], const double *values,
		size_t n);
void history_free(struct history *h);

/* Writes the chart of the (up to SVG_MAX_SERIES) threads with the most
 * total wait, with title as its heading. */
void svg_write(FILE *out, const struct history *h, const char *title);

#endif
