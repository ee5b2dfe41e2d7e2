#include "config.h"

#include "tool/report/roles.h"

#include "tool/util/array.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void roles_name(const char *name, char *out, size_t len)
{
	size_t o = 0;

	if (!len)
		return;
	for (size_t i = 0; name[i] && o + 1 < len; i++) {
		out[o++] = name[i];
		/* A run of digits right after a separator: an instance number. */
		if (strchr("-_# ", name[i]) && name[i + 1] >= '0' && name[i + 1] <= '9') {
			while (name[i + 1] >= '0' && name[i + 1] <= '9')
				i++;
			if (o + 1 < len)
				out[o++] = '*';
		}
	}
	out[o] = '\0';
}

bool roles_grouped(size_t nrows, int screen_rows, bool asked)
{
	return asked || nrows > ROLES_GROUP_ABOVE || (screen_rows > 0 && nrows > (size_t)screen_rows);
}

static bool short_lived(const struct thread_stats *t, const struct thread_figures *f, double short_s)
{
	return !t->spanned && (double)f->alive_ns / 1e9 < short_s;
}

/* The group row of role among the first n rows, or NULL. */
static struct role_row *group_of(struct roles *r, const char *role)
{
	for (size_t i = 0; i < r->n; i++)
		if (!r->rows[i].thread && strcmp(r->rows[i].role, role) == 0)
			return &r->rows[i];
	return NULL;
}

static struct role_row *new_row(struct roles *r)
{
	if (array_reserve((void **)&r->rows, &r->cap, r->n + 1, sizeof *r->rows, 16) != 0)
		return NULL;
	memset(&r->rows[r->n], 0, sizeof r->rows[r->n]);
	return &r->rows[r->n++];
}

static int add(struct roles *r, const struct table_entry *e, const struct roles_request *req)
{
	const struct thread_stats *t = e->thread;
	const struct thread_figures *f = thread_figures_of(t, req->summary);
	char role[sizeof r->rows[0].role];
	struct role_row *row;

	if (!req->group && !short_lived(t, f, req->short_s)) {
		if (!(row = new_row(r)))
			return -1;
		snprintf(row->role, sizeof row->role, "%s", thread_name(t));
		row->thread = t;
	} else {
		roles_name(thread_role_source(t), role, sizeof role);
		if (!(row = group_of(r, role))) {
			if (!(row = new_row(r)))
				return -1;
			snprintf(row->role, sizeof row->role, "%s", role);
		}
	}
	if (!row->threads)
		row->first = e;
	row->threads++;
	row->alive += t->alive;
	thread_figures_add(&row->fig, f);
	return 0;
}

static double cpu_of(const struct role_row *row)
{
	return row->fig.alive_ns ? (double)row->fig.cpu_ns / (double)row->fig.alive_ns : (double)row->fig.cpu_ns;
}

static double waits_of(const struct role_row *row)
{
	return row->fig.alive_ns ? (double)row->fig.gil.count / (double)row->fig.alive_ns : (double)row->fig.gil.count;
}

static int compare_doubles(double a, double b)
{
	return (a > b) - (a < b);
}

static pid_t first_tid(const struct role_row *row)
{
	return row->thread ? row->thread->tid : row->first ? row->first->thread->tid : 0;
}

/* Largest first, as the thread table sorts; ties by role, then tid. */
static int compare_rows(const void *pa, const void *pb, void *ctx)
{
	const struct role_row *a = pa, *b = pb;
	const enum sort_key *key = ctx;
	int c = 0;

	switch (*key) {
	case SORT_GIL_WAIT:
		c = wait_figures_compare(&b->fig.gil, &a->fig.gil);
		break;
	case SORT_CPU:
		c = compare_doubles(cpu_of(b), cpu_of(a));
		break;
	case SORT_WAITS:
		c = compare_doubles(waits_of(b), waits_of(a));
		break;
	case SORT_MAX_WAIT:
		c = (b->fig.gil.max_ns > a->fig.gil.max_ns) - (b->fig.gil.max_ns < a->fig.gil.max_ns);
		break;
	default:
		c = (first_tid(a) > first_tid(b)) - (first_tid(a) < first_tid(b));
		break;
	}
	if (!c)
		c = strcmp(a->role, b->role);
	return c ? c : (first_tid(a) > first_tid(b)) - (first_tid(a) < first_tid(b));
}

int roles_build(struct roles *r, const struct table_entry *threads, size_t n, const struct roles_request *req)
{
	enum sort_key key = req->key;

	r->n = 0;
	for (size_t i = 0; i < n; i++)
		if (add(r, &threads[i], req) != 0)
			return -1;
	/* A role with a single short-lived thread: that thread's own row. */
	for (size_t i = 0; i < r->n; i++)
		if (!req->group && !r->rows[i].thread && r->rows[i].threads == 1) {
			r->rows[i].thread = r->rows[i].first->thread;
			snprintf(r->rows[i].role, sizeof r->rows[i].role, "%s", thread_name(r->rows[i].thread));
		}
	if (r->n)
		qsort_r(r->rows, r->n, sizeof *r->rows, compare_rows, &key);
	return 0;
}

void roles_row_figures(const struct role_row *row, double seconds, struct row_figures *out)
{
	double over = seconds;

	/* A group's shares are over the time its threads were alive. */
	if (!row->thread && row->fig.alive_ns)
		over = (double)row->fig.alive_ns / 1e9;
	else if (!row->thread)
		over = seconds * (double)row->threads;
	row_figures_from(&row->fig, over, out);
}

void roles_free(struct roles *r)
{
	free(r->rows);
	memset(r, 0, sizeof *r);
}
