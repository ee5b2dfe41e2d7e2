#include "config.h"

#include "tool/report/svg.h"

#include "tool/util/escape.h"
#include "tool/report/render.h"

#include <math.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#define WIDTH 960
#define HEIGHT 540
#define LEFT 70
#define RIGHT 250
#define TOP 70
#define BOTTOM 50

static const char *const colours[SVG_MAX_SERIES] = { "#d62728", "#1f77b4", "#2ca02c", "#ff7f0e",
						      "#9467bd", "#8c564b", "#e377c2", "#17becf" };

static struct history_series *find_series(struct history *h, pid_t tid)
{
	for (size_t i = 0; i < h->nseries; i++)
		if (h->series[i].tid == tid)
			return &h->series[i];
	return NULL;
}

/* At the cap, the series that waited least so far gives way (NULL when
 * every one waited more than this newcomer's first value). */
static struct history_series *reuse_series(struct history *h, pid_t tid, const char *name, double value)
{
	struct history_series *least = &h->series[0];

	for (size_t i = 1; i < h->nseries; i++)
		if (h->series[i].total < least->total)
			least = &h->series[i];
	if (least->total >= value)
		return NULL;
	least->tid = tid;
	least->total = 0;
	snprintf(least->name, sizeof least->name, "%s", name);
	for (size_t k = 0; k < h->npoints; k++)
		least->values[k] = NAN;
	return least;
}

static struct history_series *series_for(struct history *h, pid_t tid, const char *name)
{
	struct history_series *found = find_series(h, tid);

	if (found)
		return found;
	struct history_series *v = realloc(h->series, (h->nseries + 1) * sizeof *v);
	if (!v)
		return NULL;
	h->series = v;
	struct history_series *s = &v[h->nseries++];
	memset(s, 0, sizeof *s);
	s->tid = tid;
	snprintf(s->name, sizeof s->name, "%s", name);
	s->values = malloc(h->cap * sizeof *s->values);
	if (!s->values)
		return h->nseries--, NULL;
	for (size_t k = 0; k < h->npoints; k++)
		s->values[k] = NAN;
	return s;
}

/* Halves the points: neighbours merged (the later time, the mean value). */
static void merge_pairs(struct history *h)
{
	size_t n = h->npoints / 2;

	for (size_t k = 0; k < n; k++) {
		h->times[k] = h->times[2 * k + 1];
		for (size_t i = 0; i < h->nseries; i++) {
			double a = h->series[i].values[2 * k], b = h->series[i].values[2 * k + 1];
			h->series[i].values[k] = isnan(a) ? b : isnan(b) ? a : (a + b) / 2;
		}
	}
	h->npoints = n;
}

static int grow(struct history *h)
{
	size_t cap = h->cap ? h->cap * 2 : 64;
	double *t = realloc(h->times, cap * sizeof *t);

	if (!t)
		return -1;
	h->times = t;
	for (size_t i = 0; i < h->nseries; i++) {
		double *v = realloc(h->series[i].values, cap * sizeof *v);
		if (!v)
			return -1;
		h->series[i].values = v;
	}
	h->cap = cap;
	return 0;
}

int history_add(struct history *h, double time_s, const pid_t *tids, char (*names)[64], const double *values,
		size_t n)
{
	if (h->npoints == HISTORY_MAX_POINTS)
		merge_pairs(h);
	if (h->npoints == h->cap && grow(h) != 0)
		return -1;
	h->times[h->npoints] = time_s;
	for (size_t i = 0; i < h->nseries; i++)
		h->series[i].values[h->npoints] = NAN;
	for (size_t i = 0; i < n; i++) {
		struct history_series *s = find_series(h, tids[i]);
		if (!s && h->nseries < HISTORY_MAX_SERIES && !(s = series_for(h, tids[i], names[i])))
			return -1;
		if (!s && !(s = reuse_series(h, tids[i], names[i], values[i])))
			continue;
		s->values[h->npoints] = values[i];
		s->total += values[i];
	}
	h->npoints++;
	return 0;
}

void history_free(struct history *h)
{
	for (size_t i = 0; i < h->nseries; i++)
		free(h->series[i].values);
	free(h->series);
	free(h->times);
	memset(h, 0, sizeof *h);
}

/* The title as a heading, on two lines when it is long (at "; " or a space). */
static void write_heading(FILE *out, const char *title)
{
	const size_t wrap = 90;
	size_t len = strlen(title), cut = len;
	char first[256];

	if (len > wrap) {
		for (cut = wrap; cut > 0 && title[cut] != ' '; cut--)
			;
		for (size_t i = 0; i + 1 < len && i < wrap; i++)
			if (title[i] == ';' && title[i + 1] == ' ')
				cut = i + 1;
		if (cut == 0)
			cut = len;
	}
	snprintf(first, sizeof first, "%.*s", (int)cut, title);
	fprintf(out, "<text x=\"%d\" y=\"26\" font-size=\"15\" font-weight=\"bold\">", LEFT);
	xml_write_escaped(out, first);
	fputs("</text>\n", out);
	if (cut < len) {
		fprintf(out, "<text x=\"%d\" y=\"46\" font-size=\"15\" font-weight=\"bold\">", LEFT);
		xml_write_escaped(out, title + cut + (title[cut] == ' '));
		fputs("</text>\n", out);
	}
}

static int by_total(const void *a, const void *b)
{
	double x = (*(const struct history_series *const *)a)->total;
	double y = (*(const struct history_series *const *)b)->total;

	return (x < y) - (x > y);
}

static double x_of(const struct history *h, size_t k)
{
	double span = h->npoints ? h->times[h->npoints - 1] : 1;

	return LEFT + (WIDTH - LEFT - RIGHT) * (span > 0 ? h->times[k] / span : 0);
}

static double y_of(double pct)
{
	return TOP + (HEIGHT - TOP - BOTTOM) * (1 - (pct > 100 ? 100 : pct < 0 ? 0 : pct) / 100);
}

/* A step of 1, 2 or 5 times a power of ten giving at most MAX_TICKS
 * intervals over span: every label distinct and round (a fixed quarter of
 * a 2 s run printed "0 s, 1 s, 1 s, 2 s, 2 s"). */
#define MAX_TICKS 5
static double tick_step(double span)
{
	static const double nice[] = { 1, 2, 5, 10 };
	double magnitude;

	if (!(span > 0) || !isfinite(span))
		return 1;
	magnitude = pow(10, floor(log10(span / MAX_TICKS)));
	for (size_t i = 0; i < sizeof nice / sizeof nice[0]; i++)
		if (span / (nice[i] * magnitude) <= MAX_TICKS + 1e-9)
			return nice[i] * magnitude;
	return 10 * magnitude;
}

static void draw_time_ticks(FILE *out, double span)
{
	double step = tick_step(span);
	/* As many decimals as the step has: 0.5 s, 0.25 never occurs. */
	int decimals = step >= 1 ? 0 : (int)ceil(-log10(step) - 1e-9);

	for (int i = 0; i * step <= span * (1 + 1e-9) || i == 0; i++) {
		double x = LEFT + (WIDTH - LEFT - RIGHT) * (span > 0 ? i * step / span : 0);
		fprintf(out, "<text class=\"tick\" x=\"%.1f\" y=\"%d\" text-anchor=\"middle\">%.*f s</text>\n", x,
			HEIGHT - BOTTOM + 20, decimals, i * step);
	}
}

static void draw_axes(FILE *out, const struct history *h)
{
	double span = h->npoints ? h->times[h->npoints - 1] : 0;

	for (int p = 0; p <= 100; p += 25) {
		fprintf(out, "<line x1=\"%d\" y1=\"%.1f\" x2=\"%d\" y2=\"%.1f\" stroke=\"#ddd\"/>\n", LEFT, y_of(p),
			WIDTH - RIGHT, y_of(p));
		fprintf(out, "<text x=\"%d\" y=\"%.1f\" text-anchor=\"end\">%d%%</text>\n", LEFT - 6, y_of(p) + 4, p);
	}
	draw_time_ticks(out, span);
	fprintf(out, "<text x=\"%d\" y=\"%d\" text-anchor=\"middle\">time since gilstats attached</text>\n",
		(LEFT + WIDTH - RIGHT) / 2, HEIGHT - 8);
	fprintf(out, "<text x=\"18\" y=\"%d\" transform=\"rotate(-90 18 %d)\" text-anchor=\"middle\">"
		     "GIL wait (%% of the interval)</text>\n", (TOP + HEIGHT - BOTTOM) / 2, (TOP + HEIGHT - BOTTOM) / 2);
}

static void draw_series(FILE *out, const struct history *h, const struct history_series *s, int index)
{
	bool open = false;

	for (size_t k = 0; k < h->npoints; k++) {
		if (isnan(s->values[k])) {
			if (open)
				fputs("\"/>\n", out);
			open = false;
			continue;
		}
		if (!open)
			fprintf(out, "<polyline class=\"series\" data-tid=\"%d\" fill=\"none\" stroke=\"%s\" "
				     "stroke-width=\"2\" points=\"", (int)s->tid, colours[index]);
		fprintf(out, "%.1f,%.1f ", x_of(h, k), y_of(s->values[k]));
		open = true;
	}
	if (open)
		fputs("\"/>\n", out);
	fprintf(out, "<rect x=\"%d\" y=\"%d\" width=\"14\" height=\"4\" fill=\"%s\"/>\n", WIDTH - RIGHT + 20,
		TOP + 20 * index + 6, colours[index]);
	fprintf(out, "<text x=\"%d\" y=\"%d\">%d ", WIDTH - RIGHT + 40, TOP + 20 * index + 12, (int)s->tid);
	xml_write_escaped(out, s->name);
	fputs("</text>\n", out);
}

void svg_write(FILE *out, const struct history *h, const char *title)
{
	const struct history_series *order[SVG_MAX_SERIES];
	const struct history_series **all = malloc((h->nseries ? h->nseries : 1) * sizeof *all);
	size_t n = 0;

	for (size_t i = 0; all && i < h->nseries; i++)
		all[i] = &h->series[i];
	if (all)
		qsort(all, h->nseries, sizeof *all, by_total);
	for (size_t i = 0; all && i < h->nseries && n < SVG_MAX_SERIES; i++)
		order[n++] = all[i];
	fprintf(out, "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
		     "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"%d\" height=\"%d\" viewBox=\"0 0 %d %d\" "
		     "font-family=\"sans-serif\" font-size=\"13\">\n"
		     "<rect width=\"100%%\" height=\"100%%\" fill=\"white\"/>\n<title>",
		WIDTH, HEIGHT, WIDTH, HEIGHT);
	xml_write_escaped(out, title);
	fputs("</title>\n", out);
	write_heading(out, title);
	draw_axes(out, h);
	for (size_t i = 0; i < n; i++)
		draw_series(out, h, order[i], (int)i);
	fputs("</svg>\n", out);
	free(all);
}
