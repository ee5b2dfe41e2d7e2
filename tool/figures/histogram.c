#include "config.h"

#include "tool/figures/histogram.h"

#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

void histogram_slot_range(unsigned slot, uint64_t *lo_us, uint64_t *hi_us)
{
	*lo_us = slot ? (uint64_t)1 << (slot - 1) : 0;
	*hi_us = slot ? ((uint64_t)1 << slot) - 1 : 0;
}

uint64_t histogram_total(const struct histogram *hist)
{
	uint64_t total = 0;

	for (unsigned s = 0; s < GS_HIST_SLOTS; s++)
		total += hist->slots[s];
	return total;
}

static struct hist_series *series_for(struct histograms *h, pid_t tid)
{
	size_t i = 0;

	while (i < h->n && h->v[i].tid < tid)
		i++;
	if (i < h->n && h->v[i].tid == tid)
		return &h->v[i];
	if (h->n == h->cap) {
		size_t cap = h->cap ? h->cap * 2 : 16;
		struct hist_series *v = realloc(h->v, cap * sizeof *v);
		if (!v)
			return NULL;
		h->v = v;
		h->cap = cap;
	}
	memmove(&h->v[i + 1], &h->v[i], (h->n - i) * sizeof *h->v);
	h->n++;
	memset(&h->v[i], 0, sizeof h->v[i]);
	h->v[i].tid = tid;
	return &h->v[i];
}

const struct hist_series *histograms_find(const struct histograms *h, pid_t tid)
{
	for (size_t i = 0; i < h->n; i++)
		if (h->v[i].tid == tid)
			return &h->v[i];
	return NULL;
}

int histograms_update(struct histograms *h, const struct hist_row *rows, size_t n)
{
	struct hist_series *process;
	bool per_thread = false;

	/* "interval" first collects the map's cumulative counts. */
	for (size_t i = 0; i < h->n; i++)
		memset(&h->v[i].interval, 0, sizeof h->v[i].interval);
	for (size_t i = 0; i < n; i++) {
		struct hist_series *s = series_for(h, (pid_t)rows[i].key.tid);
		if (!s)
			return -1;
		if (rows[i].key.slot < GS_HIST_SLOTS)
			s->interval.slots[rows[i].key.slot] = rows[i].count;
		per_thread |= rows[i].key.tid != 0;
	}
	if (!(process = series_for(h, 0)))
		return -1;
	for (size_t i = 0; i < h->n; i++) {
		struct hist_series *s = &h->v[i];
		if (per_thread && s->tid == 0)
			continue;
		for (unsigned k = 0; k < GS_HIST_SLOTS; k++) {
			uint64_t now = s->interval.slots[k];
			/* A row deleted (ended thread) or recreated restarts from 0. */
			uint64_t grew = now >= s->seen.slots[k] ? now - s->seen.slots[k] : now;
			s->seen.slots[k] = now;
			s->interval.slots[k] = grew;
			s->run.slots[k] += grew;
		}
	}
	if (per_thread) {
		process = series_for(h, 0);
		memset(&process->interval, 0, sizeof process->interval);
		for (size_t i = 1; i < h->n; i++)
			for (unsigned k = 0; k < GS_HIST_SLOTS; k++)
				process->interval.slots[k] += h->v[i].interval.slots[k];
		for (unsigned k = 0; k < GS_HIST_SLOTS; k++)
			process->run.slots[k] += process->interval.slots[k];
	}
	return 0;
}

void histograms_free(struct histograms *h)
{
	free(h->v);
	memset(h, 0, sizeof *h);
}

void histogram_render(FILE *out, const struct histogram *hist, const char *title, int width)
{
	unsigned first = GS_HIST_SLOTS, last = 0;
	uint64_t peak = 0;

	for (unsigned s = 0; s < GS_HIST_SLOTS; s++)
		if (hist->slots[s]) {
			first = s < first ? s : first;
			last = s;
			peak = hist->slots[s] > peak ? hist->slots[s] : peak;
		}
	fprintf(out, "%s\n", title);
	if (first == GS_HIST_SLOTS) {
		fputs("     (no GIL waits)\n", out);
		return;
	}
	fprintf(out, "%21s : %-9s %s\n", "usecs", "count", "distribution");
	for (unsigned s = first; s <= last; s++) {
		uint64_t lo, hi;
		int bar = (int)((double)hist->slots[s] * width / (double)peak + 0.5);
		histogram_slot_range(s, &lo, &hi);
		fprintf(out, "%9" PRIu64 " -> %-8" PRIu64 " : %-9" PRIu64 " |%-*.*s|\n", lo, hi, hist->slots[s], width,
			bar, "****************************************************************");
	}
}

void histogram_json(FILE *out, const struct histogram *hist)
{
	bool first = true;

	fputc('[', out);
	for (unsigned s = 0; s < GS_HIST_SLOTS; s++) {
		uint64_t lo, hi;
		if (!hist->slots[s])
			continue;
		histogram_slot_range(s, &lo, &hi);
		fprintf(out, "%s{\"low_us\": %" PRIu64 ", \"high_us\": %" PRIu64 ", \"count\": %" PRIu64 "}",
			first ? "" : ", ", lo, hi, hist->slots[s]);
		first = false;
	}
	fputc(']', out);
}
