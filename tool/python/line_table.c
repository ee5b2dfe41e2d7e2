#include "config.h"

#include "tool/python/line_table.h"

#include <limits.h>
#include <stdbool.h>

enum line_table_format line_table_format_of(int major, int minor)
{
	if (major < 3 || (major == 3 && minor < 6))
		return LINE_TABLE_LNOTAB_UNSIGNED;
	if (major == 3 && minor < 10)
		return LINE_TABLE_LNOTAB;
	if (major == 3 && minor == 10)
		return LINE_TABLE_3_10;
	return LINE_TABLE_LOCATION;
}

/* A running line out of int's range can only come from a hostile table:
 * each step moves it by at most a few hundred (or a 32-bit varint), so the
 * check after each step keeps the 64-bit sum from overflowing. */
static bool line_in_range(int64_t line)
{
	return line >= -(int64_t)INT_MAX && line <= INT_MAX;
}

/* The line as the API returns it: 0 is CPython's "no line"; a negative
 * line is never written by a compiler. */
static int line_result(int64_t line)
{
	return line >= 0 && line <= INT_MAX ? (int)line : -1;
}

/* co_lnotab: (byte increment, line increment) pairs; an instruction has
 * the line of the last pair whose address is at or before it, the first
 * line before any. The table does not say where the bytecode ends: any
 * offset past the last pair has its line. CPython reads len / 2 pairs; an
 * odd length is no table it wrote. */
static int lnotab_line(const uint8_t *t, size_t len, int first_line, uint32_t offset, bool signed_lines)
{
	uint64_t addr = 0;
	int64_t line = first_line;

	if (len % 2 != 0)
		return -1;
	for (size_t i = 0; i < len; i += 2) {
		addr += t[i];
		if (addr > offset)
			break;
		line += signed_lines ? (int8_t)t[i + 1] : t[i + 1];
		if (!line_in_range(line))
			return -1;
	}
	return line_result(line);
}

/* 3.10: (length, line delta) pairs, each a range from where the previous
 * one ended; a delta of -128 marks a range without a line and leaves the
 * running line as it was. Empty ranges only carry line deltas too large
 * for one byte. */
static int table_3_10_line(const uint8_t *t, size_t len, int first_line, uint32_t offset)
{
	uint64_t end = 0;
	int64_t line = first_line;

	if (len % 2 != 0)
		return -1;
	for (size_t i = 0; i < len; i += 2) {
		int8_t delta = (int8_t)t[i + 1];
		end += t[i];
		if (delta != -128)
			line += delta;
		if (!line_in_range(line))
			return -1;
		if (end > offset)
			return delta == -128 ? 0 : line_result(line);
	}
	return -1;
}

/* 3.11+ (Objects/locations.md): entries of a first byte with bit 7 set
 * (4 bits of form, 3 bits of length in code units - 1) and bytes with it
 * clear. A set bit 7 inside an entry means it was cut short. */
struct cursor {
	const uint8_t *t;
	size_t len, pos;
};

static bool next_byte(struct cursor *c, uint8_t *b)
{
	if (c->pos >= c->len || (c->t[c->pos] & 0x80))
		return false;
	*b = c->t[c->pos++];
	return true;
}

/* 6-bit chunks, least significant first, bit 6 set on all but the last;
 * CPython's are 32-bit, so a seventh chunk is no table it wrote. */
static bool read_varint(struct cursor *c, uint32_t *out)
{
	uint64_t v = 0;
	uint8_t b;

	for (unsigned shift = 0; shift <= 30; shift += 6) {
		if (!next_byte(c, &b))
			return false;
		v |= (uint64_t)(b & 63) << shift;
		if (!(b & 64)) {
			*out = (uint32_t)v;
			return v <= UINT32_MAX;
		}
	}
	return false;
}

/* The sign in bit 0, the magnitude above it. */
static bool read_svarint(struct cursor *c, int64_t *out)
{
	uint32_t u;

	if (!read_varint(c, &u))
		return false;
	*out = u & 1 ? -(int64_t)(u >> 1) : (int64_t)(u >> 1);
	return true;
}

enum {
	LOC_SHORT_LAST = 9,   /* 0-9: same line, one byte of columns */
	LOC_ONE_LINE0 = 10,   /* 10-12: line + (form - 10), two column bytes */
	LOC_ONE_LINE2 = 12,
	LOC_NO_COLUMNS = 13,  /* svarint line delta */
	LOC_LONG = 14,        /* svarint line delta, varint end line, columns */
	LOC_NONE = 15,        /* no location: the running line stays */
};

/* Reads the rest of an entry of the given form (its first byte read),
 * all of it, so the next entry starts where it ends: its line delta. */
static bool entry_line_delta(struct cursor *c, unsigned form, int64_t *delta)
{
	uint32_t skip;
	uint8_t b;

	*delta = 0;
	if (form <= LOC_SHORT_LAST)
		return next_byte(c, &b);
	if (form <= LOC_ONE_LINE2) {
		*delta = form - LOC_ONE_LINE0;
		return next_byte(c, &b) && next_byte(c, &b);
	}
	if (form == LOC_NO_COLUMNS)
		return read_svarint(c, delta);
	if (form == LOC_LONG)
		return read_svarint(c, delta) && read_varint(c, &skip) && read_varint(c, &skip) &&
		       read_varint(c, &skip);
	return true;
}

/* The entries cover the code units in order, cache entries included: an
 * offset inside an instruction's caches has the instruction's line. */
static int location_line(const uint8_t *t, size_t len, int first_line, uint32_t offset)
{
	struct cursor c = { t, len, 0 };
	uint64_t end = 0;
	int64_t line = first_line, delta;

	while (c.pos < len) {
		uint8_t first = t[c.pos++];
		unsigned form = (first >> 3) & 15;
		if (!(first & 0x80) || !entry_line_delta(&c, form, &delta))
			return -1;
		line += delta;
		if (!line_in_range(line))
			return -1;
		end += 2 * ((uint64_t)(first & 7) + 1);
		if (end > offset)
			return form == LOC_NONE ? 0 : line_result(line);
	}
	return -1;
}

int line_table_line(enum line_table_format fmt, const uint8_t *table, size_t len, int first_line, uint32_t offset)
{
	if (!table && len)
		return -1;
	switch (fmt) {
	case LINE_TABLE_LNOTAB_UNSIGNED:
		return lnotab_line(table, len, first_line, offset, false);
	case LINE_TABLE_LNOTAB:
		return lnotab_line(table, len, first_line, offset, true);
	case LINE_TABLE_3_10:
		return table_3_10_line(table, len, first_line, offset);
	case LINE_TABLE_LOCATION:
		return location_line(table, len, first_line, offset);
	}
	return -1;
}
