/* Line numbers from a code object's line table, for every format CPython
 * has used: co_lnotab (2.7, 3.6-3.9), the 3.10 co_linetable, and the 3.11+
 * location table (Objects/locations.md). Pure: bytes in, a line out; the
 * bytes come from the target and are untrusted (fuzzed). */
#ifndef GILSTATS_LINE_TABLE_H
#define GILSTATS_LINE_TABLE_H

#include <stddef.h>
#include <stdint.h>

enum line_table_format {
	LINE_TABLE_LNOTAB,   /* 3.6-3.9: (byte increment, signed line increment) pairs */
	LINE_TABLE_3_10,     /* 3.10: (start delta, line delta) pairs, -128: no line */
	LINE_TABLE_LOCATION, /* 3.11+: the location table, code units of 2 bytes */
	/* 2.7 (and 3.0-3.5): co_lnotab with unsigned line increments (2.7
	 * writes a jump of 200 lines as one pair, 3.6 as two) */
	LINE_TABLE_LNOTAB_UNSIGNED,
};

/* The format a CPython major.minor uses. */
enum line_table_format line_table_format_of(int major, int minor);

/* The line of the instruction at byte offset `offset` (from the start of the
 * bytecode; 3.11+: code units * 2) in a table of len bytes, for a code object
 * whose co_firstlineno is first_line. Returns the line (> 0), 0 when the
 * instruction has no line (an artificial one), -1 when the table is
 * malformed or ends before offset. Never reads past table[len - 1]. */
int line_table_line(enum line_table_format fmt, const uint8_t *table, size_t len, int first_line, uint32_t offset);

#endif
