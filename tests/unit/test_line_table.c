/* Line tables (tool/line_table.h): hand-built tables of every format, as
 * CPython's notes describe them, and malformed or cut ones. */
#include "config.h"

#include <limits.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "suites.h"
#include "tool/python/line_table.h"

#define LINE(fmt, t, first, off) line_table_line(fmt, t, sizeof t, first, off)

START_TEST(format_per_version)
{
	ck_assert_int_eq(line_table_format_of(2, 7), LINE_TABLE_LNOTAB_UNSIGNED);
	ck_assert_int_eq(line_table_format_of(3, 5), LINE_TABLE_LNOTAB_UNSIGNED);
	ck_assert_int_eq(line_table_format_of(3, 6), LINE_TABLE_LNOTAB);
	ck_assert_int_eq(line_table_format_of(3, 9), LINE_TABLE_LNOTAB);
	ck_assert_int_eq(line_table_format_of(3, 10), LINE_TABLE_3_10);
	ck_assert_int_eq(line_table_format_of(3, 11), LINE_TABLE_LOCATION);
	ck_assert_int_eq(line_table_format_of(3, 15), LINE_TABLE_LOCATION);
}
END_TEST

/* lnotab_notes.txt's example: offsets 0, 6, 50, 350, 361 start lines 1,
 * 2, 7, 207, 208; the 300-byte and 200-line jumps take several pairs. */
START_TEST(lnotab_example)
{
	static const uint8_t t[] = { 6, 1, 44, 5, 255, 0, 45, 127, 0, 73, 11, 1 };
	const uint32_t off[] = { 0, 5, 6, 49, 50, 349, 350, 360, 361, 100000, UINT32_MAX };
	const int want[] = { 1, 1, 2, 2, 7, 7, 207, 207, 208, 208, 208 };

	for (size_t i = 0; i < sizeof off / sizeof off[0]; i++)
		ck_assert_int_eq(LINE(LINE_TABLE_LNOTAB, t, 1, off[i]), want[i]);
}
END_TEST

/* 3.6 made line increments signed; 2.7's are not (it writes a jump of 201
 * lines as one pair 0xc9, 3.6 as 0x7f then 0x4a). */
START_TEST(lnotab_signedness)
{
	static const uint8_t t[] = { 4, 0xfd };
	static const uint8_t jump[] = { 0, 1, 6, 0xc9 };

	ck_assert_int_eq(LINE(LINE_TABLE_LNOTAB, t, 10, 4), 7);
	ck_assert_int_eq(LINE(LINE_TABLE_LNOTAB_UNSIGNED, t, 10, 4), 263);
	ck_assert_int_eq(LINE(LINE_TABLE_LNOTAB_UNSIGNED, jump, 1, 5), 2);
	ck_assert_int_eq(LINE(LINE_TABLE_LNOTAB_UNSIGNED, jump, 1, 6), 203);
	ck_assert_int_eq(LINE(LINE_TABLE_LNOTAB, jump, 1, 6), -1); /* 2 - 55 */
}
END_TEST

START_TEST(lnotab_malformed)
{
	static const uint8_t odd[] = { 6, 1, 44 };
	static const uint8_t below[] = { 2, 0x80 };
	static const uint8_t t[] = { 2, 1 };

	/* An empty table: every instruction on the first line. */
	ck_assert_int_eq(line_table_line(LINE_TABLE_LNOTAB, NULL, 0, 5, 100), 5);
	ck_assert_int_eq(line_table_line(LINE_TABLE_LNOTAB, NULL, 2, 5, 100), -1);
	ck_assert_int_eq(LINE(LINE_TABLE_LNOTAB, odd, 1, 0), -1);
	ck_assert_int_eq(LINE(LINE_TABLE_LNOTAB, below, 1, 0), 1);
	ck_assert_int_eq(LINE(LINE_TABLE_LNOTAB, below, 1, 2), -1);
	ck_assert_int_eq(LINE(LINE_TABLE_LNOTAB, t, INT_MAX, 2), -1);
	ck_assert_int_eq(LINE(LINE_TABLE_LNOTAB, t, INT_MAX, 1), INT_MAX);
}
END_TEST

/* lnotab_notes.txt (3.10)'s example, from a first line of 0: 0-6 line 1,
 * 6-50 line 2, 50-350 line 7, 350-360 none, 360-376 line 8, 376-380 line
 * 208 (through an empty range of line 135). */
START_TEST(linetable_3_10_example)
{
	static const uint8_t t[] = { 6, 1, 44, 1, 254, 5, 46, 0, 10, 0x80, 16, 1, 0, 127, 4, 73 };
	const uint32_t off[] = { 0, 5, 6, 49, 50, 303, 304, 349, 350, 359, 360, 375, 376, 379, 380, UINT32_MAX };
	const int want[] = { 1, 1, 2, 2, 7, 7, 7, 7, 0, 0, 8, 8, 208, 208, -1, -1 };

	for (size_t i = 0; i < sizeof off / sizeof off[0]; i++)
		ck_assert_int_eq(LINE(LINE_TABLE_3_10, t, 0, off[i]), want[i]);
}
END_TEST

START_TEST(linetable_3_10_malformed)
{
	static const uint8_t odd[] = { 6, 1, 44 };
	static const uint8_t empty_tail[] = { 6, 1, 0, 5, 0, 0x80 };
	static const uint8_t negative[] = { 2, 0xf0 };

	ck_assert_int_eq(line_table_line(LINE_TABLE_3_10, NULL, 0, 5, 0), -1);
	ck_assert_int_eq(LINE(LINE_TABLE_3_10, odd, 1, 0), -1);
	ck_assert_int_eq(LINE(LINE_TABLE_3_10, empty_tail, 1, 5), 2);
	ck_assert_int_eq(LINE(LINE_TABLE_3_10, empty_tail, 1, 6), -1);
	ck_assert_int_eq(LINE(LINE_TABLE_3_10, negative, 1, 0), -1);
}
END_TEST

/* One entry of each form, 3.11+ (Objects/locations.md), from line 10:
 * short form, 2 units, same line; one-line form 11, 1 unit, +1; no
 * columns, 3 units, svarint -1; long form, 4 units (an instruction and
 * its caches), svarint +100 (varint 200 = 0x48 0x03); no location, 1
 * unit; short form, 1 unit, the running line (110). */
static const uint8_t locations[] = {
	0x81, 0x15,
	0xd8, 4, 10,
	0xea, 0x03,
	0xf3, 0x48, 0x03, 0x02, 0x05, 0x3f,
	0xf8,
	0x98, 0x12,
};

START_TEST(locations_every_form)
{
	const int want[] = { 10, 10, 11, 10, 10, 10, 110, 110, 110, 110, 0, 110 };

	/* Offsets in bytes: each code unit's two, the odd byte included. */
	for (uint32_t off = 0; off < 24; off++)
		ck_assert_msg(LINE(LINE_TABLE_LOCATION, locations, 10, off) == want[off / 2], "offset %u: %d", off,
			      LINE(LINE_TABLE_LOCATION, locations, 10, off));
	ck_assert_int_eq(LINE(LINE_TABLE_LOCATION, locations, 10, 24), -1);
	ck_assert_int_eq(LINE(LINE_TABLE_LOCATION, locations, 10, UINT32_MAX), -1);
}
END_TEST

/* A long instruction: CPython writes entries of 8 units at most, the
 * rest in more entries of the same line (delta 0). Every cache unit has
 * the instruction's line. */
START_TEST(locations_long_instruction)
{
	static const uint8_t t[] = { 0xdf, 4, 10, 0xd1, 4, 10, 0xd0, 4, 10, 0xe8, 0x02 };

	for (uint32_t off = 0; off < 22; off++)
		ck_assert_int_eq(LINE(LINE_TABLE_LOCATION, t, 7, off), 8);
	ck_assert_int_eq(LINE(LINE_TABLE_LOCATION, t, 7, 22), 9);
	ck_assert_int_eq(LINE(LINE_TABLE_LOCATION, t, 7, 24), -1);
}
END_TEST

START_TEST(locations_malformed)
{
	static const uint8_t no_start[] = { 0x15, 0x81 };
	static const uint8_t short_cut[] = { 0x81 };
	static const uint8_t short_then_entry[] = { 0x81, 0x81, 0x15 };
	static const uint8_t extra[] = { 0x81, 0x15, 0x15, 0x81, 0x15 };
	static const uint8_t long_cut[] = { 0x81, 0x15, 0xf3, 0x48 };
	static const uint8_t varint_endless[] = { 0xe8, 0x7f, 0x7f, 0x7f, 0x7f, 0x7f, 0x7f, 0x7f, 0x01 };
	static const uint8_t varint_33_bits[] = { 0xe8, 0x40, 0x40, 0x40, 0x40, 0x40, 0x0f };
	static const uint8_t varint_32_bits[] = { 0xe8, 0x40, 0x40, 0x40, 0x40, 0x40, 0x03 };
	static const uint8_t negative[] = { 0xe8, 0x0b };
	static const uint8_t up2[] = { 0xe0, 4, 10 };

	ck_assert_int_eq(line_table_line(LINE_TABLE_LOCATION, NULL, 0, 1, 0), -1);
	ck_assert_int_eq(LINE(LINE_TABLE_LOCATION, no_start, 1, 0), -1);
	ck_assert_int_eq(LINE(LINE_TABLE_LOCATION, short_cut, 1, 0), -1);
	ck_assert_int_eq(LINE(LINE_TABLE_LOCATION, short_then_entry, 1, 0), -1);
	ck_assert_int_eq(LINE(LINE_TABLE_LOCATION, extra, 1, 0), 1);
	ck_assert_int_eq(LINE(LINE_TABLE_LOCATION, extra, 1, 4), -1);
	/* Cut inside the long form: what comes before still reads. */
	ck_assert_int_eq(LINE(LINE_TABLE_LOCATION, long_cut, 1, 3), 1);
	ck_assert_int_eq(LINE(LINE_TABLE_LOCATION, long_cut, 1, 4), -1);
	ck_assert_int_eq(LINE(LINE_TABLE_LOCATION, varint_endless, 1, 0), -1);
	ck_assert_int_eq(LINE(LINE_TABLE_LOCATION, varint_33_bits, 1, 0), -1);
	/* 3 * 2^30, sign bit clear: +3 * 2^29 lines, within int. */
	ck_assert_int_eq(LINE(LINE_TABLE_LOCATION, varint_32_bits, 1, 0), 1 + (3 << 29));
	ck_assert_int_eq(LINE(LINE_TABLE_LOCATION, negative, 1, 0), -1);
	ck_assert_int_eq(LINE(LINE_TABLE_LOCATION, negative, 6, 0), 1);
	ck_assert_int_eq(LINE(LINE_TABLE_LOCATION, up2, INT_MAX - 1, 0), -1);
	ck_assert_int_eq(LINE(LINE_TABLE_LOCATION, up2, INT_MAX - 2, 0), INT_MAX);
}
END_TEST

/* Every prefix of every table above, ending at a page with no access
 * behind it: a read past the table faults. */
static void prefixes_at_guard(enum line_table_format fmt, const uint8_t *t, size_t len, uint8_t *page_end)
{
	for (size_t n = 0; n <= len; n++) {
		uint8_t *copy = page_end - n;
		memcpy(copy, t, n);
		for (uint32_t off = 0; off < 4 * len + 8; off++)
			ck_assert_int_ge(line_table_line(fmt, copy, n, 3, off), -1);
	}
}

START_TEST(never_reads_past_the_table)
{
	static const uint8_t lnotab[] = { 6, 1, 44, 5, 255, 0, 45, 127, 0, 73, 11, 1 };
	static const uint8_t t310[] = { 6, 1, 44, 1, 254, 5, 46, 0, 10, 0x80, 16, 1, 0, 127, 4, 73 };
	static const uint8_t varint[] = { 0xe8, 0x7f, 0x7f, 0x7f, 0xf3, 0x48, 0x43 };
	long page = sysconf(_SC_PAGESIZE);
	uint8_t *map = mmap(NULL, (size_t)page * 2, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);

	ck_assert_ptr_ne(map, MAP_FAILED);
	ck_assert_int_eq(mprotect(map + page, (size_t)page, PROT_NONE), 0);
	prefixes_at_guard(LINE_TABLE_LNOTAB, lnotab, sizeof lnotab, map + page);
	prefixes_at_guard(LINE_TABLE_LNOTAB_UNSIGNED, lnotab, sizeof lnotab, map + page);
	prefixes_at_guard(LINE_TABLE_3_10, t310, sizeof t310, map + page);
	prefixes_at_guard(LINE_TABLE_LOCATION, locations, sizeof locations, map + page);
	prefixes_at_guard(LINE_TABLE_LOCATION, varint, sizeof varint, map + page);
	munmap(map, (size_t)page * 2);
}
END_TEST

Suite *line_table_suite(void)
{
	Suite *s = suite_create("line_table");
	TCase *tc = tcase_create("line_table");

	tcase_add_test(tc, format_per_version);
	tcase_add_test(tc, lnotab_example);
	tcase_add_test(tc, lnotab_signedness);
	tcase_add_test(tc, lnotab_malformed);
	tcase_add_test(tc, linetable_3_10_example);
	tcase_add_test(tc, linetable_3_10_malformed);
	tcase_add_test(tc, locations_every_form);
	tcase_add_test(tc, locations_long_instruction);
	tcase_add_test(tc, locations_malformed);
	tcase_add_test(tc, never_reads_past_the_table);
	suite_add_tcase(s, tc);
	return s;
}
