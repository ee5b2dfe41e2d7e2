/* libFuzzer target: line tables read from a target's memory. The input is
 * one byte of format (mod 4), co_firstlineno (4 bytes, little endian) and
 * the table, in a buffer of its exact size (ASan sees any read past it). */
#include "config.h"

#include <stdlib.h>
#include <string.h>

#include "tool/python/line_table.h"

#define HEADER 5

/* Each offset below 256, then doubling: every entry gets read (the last
 * offset walks the whole table), and an input stays quick. */
static void lookups(enum line_table_format fmt, const uint8_t *table, size_t len, int first)
{
	for (uint64_t off = 0; off <= UINT32_MAX; off = off < 256 ? off + 1 : off * 2)
		if (line_table_line(fmt, table, len, first, (uint32_t)off) < -1)
			abort();
	if (line_table_line(fmt, table, len, first, UINT32_MAX) < -1)
		abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const enum line_table_format formats[] = { LINE_TABLE_LNOTAB, LINE_TABLE_3_10, LINE_TABLE_LOCATION,
						   LINE_TABLE_LNOTAB_UNSIGNED };
	size_t len = size > HEADER ? size - HEADER : 0;
	uint8_t *table;
	uint32_t first;

	if (size < HEADER)
		return 0;
	table = malloc(len ? len : 1);
	if (!table)
		return 0;
	memcpy(table, data + HEADER, len);
	first = (uint32_t)data[1] | (uint32_t)data[2] << 8 | (uint32_t)data[3] << 16 | (uint32_t)data[4] << 24;
	lookups(formats[data[0] % 4], table, len, (int)first);
	free(table);
	return 0;
}
