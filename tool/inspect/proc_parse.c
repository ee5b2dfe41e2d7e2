#include "config.h"

#include "tool/inspect/proc_parse.h"

#include <ctype.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Reads an unsigned hex number; advances *p. False when there is none. */
static bool take_hex(const char **p, const char *end, uint64_t *out)
{
	uint64_t v = 0;
	const char *s = *p;

	if (s >= end || !isxdigit((unsigned char)*s))
		return false;
	for (; s < end && isxdigit((unsigned char)*s); s++) {
		int d = isdigit((unsigned char)*s) ? *s - '0' : (tolower((unsigned char)*s) - 'a' + 10);
		if (v > (UINT64_MAX >> 4))
			return false;
		v = (v << 4) | (uint64_t)d;
	}
	*p = s;
	*out = v;
	return true;
}

static bool take_dec(const char **p, const char *end, uint64_t *out)
{
	uint64_t v = 0;
	const char *s = *p;

	if (s >= end || !isdigit((unsigned char)*s))
		return false;
	for (; s < end && isdigit((unsigned char)*s); s++) {
		unsigned d = (unsigned)(*s - '0');
		if (v > (UINT64_MAX - d) / 10)
			return false;
		v = v * 10 + d;
	}
	*p = s;
	*out = v;
	return true;
}

static bool take_char(const char **p, const char *end, char c)
{
	if (*p >= end || **p != c)
		return false;
	(*p)++;
	return true;
}

static void skip_spaces(const char **p, const char *end)
{
	while (*p < end && (**p == ' ' || **p == '\t'))
		(*p)++;
}

/* One line: "start-end perms offset major:minor inode   path". */
static bool parse_maps_line(const char *s, const char *end, struct mapping *m)
{
	uint64_t major, minor;

	memset(m, 0, sizeof *m);
	if (!take_hex(&s, end, &m->start) || !take_char(&s, end, '-') ||
	    !take_hex(&s, end, &m->end) || !take_char(&s, end, ' '))
		return false;
	if (end - s < 5 || m->end < m->start)
		return false;
	memcpy(m->perms, s, 4);
	s += 4;
	if (!take_char(&s, end, ' ') || !take_hex(&s, end, &m->offset) || !take_char(&s, end, ' ') ||
	    !take_hex(&s, end, &major) || !take_char(&s, end, ':') || !take_hex(&s, end, &minor) ||
	    !take_char(&s, end, ' ') || !take_dec(&s, end, &m->inode))
		return false;
	if (major > 0xfff || minor > 0xfffff)
		return false;
	m->dev_major = (unsigned)major;
	m->dev_minor = (unsigned)minor;
	skip_spaces(&s, end);
	if (s < end) {
		m->path = strndup(s, (size_t)(end - s));
		if (!m->path)
			return false;
	}
	return true;
}

int maps_parse(const char *text, size_t len, struct maps *out)
{
	const char *p = text, *end = text + len;
	size_t cap = 0;

	out->v = NULL;
	out->n = 0;
	while (p < end) {
		const char *nl = memchr(p, '\n', (size_t)(end - p));
		const char *line_end = nl ? nl : end;
		struct mapping m;

		if (parse_maps_line(p, line_end, &m)) {
			if (out->n == cap) {
				size_t ncap = cap ? cap * 2 : 64;
				struct mapping *nv = realloc(out->v, ncap * sizeof *nv);
				if (!nv) {
					free(m.path);
					maps_free(out);
					return -1;
				}
				out->v = nv;
				cap = ncap;
			}
			out->v[out->n++] = m;
		}
		p = nl ? nl + 1 : end;
	}
	return 0;
}

void maps_free(struct maps *maps)
{
	for (size_t i = 0; i < maps->n; i++)
		free(maps->v[i].path);
	free(maps->v);
	maps->v = NULL;
	maps->n = 0;
}

const char *mapping_basename(const struct mapping *m)
{
	const char *slash;

	if (!m->path)
		return "";
	slash = strrchr(m->path, '/');
	return slash ? slash + 1 : m->path;
}

bool mapping_is_file(const struct mapping *m)
{
	size_t len;

	if (!m->path || m->path[0] != '/' || m->inode == 0)
		return false;
	len = strlen(m->path);
	return !(len >= 10 && strcmp(m->path + len - 10, " (deleted)") == 0);
}

const struct mapping *maps_first_of_file(const struct maps *maps, const struct mapping *m)
{
	for (size_t i = 0; i < maps->n; i++) {
		const struct mapping *c = &maps->v[i];
		if (c->inode == m->inode && c->dev_major == m->dev_major && c->dev_minor == m->dev_minor)
			return c;
	}
	return m;
}

/* Skips n space-separated fields. */
static bool skip_fields(const char **p, const char *end, int n)
{
	for (int i = 0; i < n; i++) {
		skip_spaces(p, end);
		if (*p >= end)
			return false;
		while (*p < end && **p != ' ')
			(*p)++;
	}
	skip_spaces(p, end);
	return *p < end;
}

int proc_stat_parse(const char *text, size_t len, struct proc_stat *out)
{
	const char *end = text + len, *open, *close = NULL;
	uint64_t v;

	memset(out, 0, sizeof *out);
	open = memchr(text, '(', len);
	/* The command may itself contain ')': the last one ends it. */
	for (const char *c = end; c > text; c--)
		if (c[-1] == ')') {
			close = c - 1;
			break;
		}
	if (!open || !close || close < open)
		return -1;
	size_t clen = (size_t)(close - open - 1);
	if (clen >= sizeof out->comm)
		clen = sizeof out->comm - 1;
	memcpy(out->comm, open + 1, clen);
	out->comm[clen] = '\0';

	const char *p = close + 1;
	skip_spaces(&p, end);
	if (p >= end)
		return -1;
	out->state = *p++;
	skip_spaces(&p, end);
	if (!take_dec(&p, end, &v) || v > INT32_MAX) /* 4: ppid */
		return -1;
	out->ppid = (int)v;
	if (!skip_fields(&p, end, 4)) /* pgrp session tty_nr tpgid */
		return -1;
	if (!take_dec(&p, end, &v) || v > UINT32_MAX) /* 9: flags */
		return -1;
	out->flags = (unsigned)v;
	if (!skip_fields(&p, end, 4) || !take_dec(&p, end, &out->utime)) /* 14 */
		return -1;
	skip_spaces(&p, end);
	if (!take_dec(&p, end, &out->stime)) /* 15 */
		return -1;
	if (!skip_fields(&p, end, 6) || !take_dec(&p, end, &out->start_time)) /* 22 */
		return -1;
	return 0;
}

int status_innermost_nspid(const char *text)
{
	const char *line = strstr(text, "\nNSpid:");
	const char *p, *end;
	uint64_t v = 0;

	if (!line)
		return 0;
	p = line + strlen("\nNSpid:");
	end = strchr(p, '\n');
	if (!end)
		end = p + strlen(p);
	/* Outermost first, innermost last. */
	for (;;) {
		uint64_t id;
		skip_spaces(&p, end);
		if (!take_dec(&p, end, &id) || id > INT32_MAX)
			break;
		v = id;
	}
	return (int)v;
}

static bool has_prefix(const char *s, const char *prefix)
{
	return strncmp(s, prefix, strlen(prefix)) == 0;
}

bool is_libc_name(const char *b)
{
	return strcmp(b, "libc.so.6") == 0 || (has_prefix(b, "libc-2.") && strstr(b, ".so"));
}

bool is_libpthread_name(const char *b)
{
	return strcmp(b, "libpthread.so.0") == 0 || (has_prefix(b, "libpthread-2.") && strstr(b, ".so"));
}

bool libpython_name_version(const char *b, int *major, int *minor)
{
	uint64_t ma, mi;
	const char *p = b, *end = b + strlen(b);

	if (!has_prefix(b, "libpython"))
		return false;
	p += strlen("libpython");
	if (!take_dec(&p, end, &ma) || !take_char(&p, end, '.') || !take_dec(&p, end, &mi))
		return false;
	while (p < end && strchr("dmut", *p)) /* ABI flags: debug, pymalloc, wide, free-threaded */
		p++;
	if (!has_prefix(p, ".so") || ma < 2 || ma > 9 || mi > 99)
		return false;
	*major = (int)ma;
	*minor = (int)mi;
	return true;
}

unsigned cpu_list_slots(const char *text)
{
	const char *p = text, *end = text + strlen(text);
	uint64_t highest = 0, a, b;
	bool any = false;

	while (p < end && *p != '\n') {
		if (!take_dec(&p, end, &a))
			return 0;
		b = a;
		if (take_char(&p, end, '-') && !take_dec(&p, end, &b))
			return 0;
		if (b < a || b >= 65536)
			return 0;
		if (b >= highest)
			highest = b;
		any = true;
		if (!take_char(&p, end, ','))
			break;
	}
	return any ? (unsigned)highest + 1 : 0;
}
