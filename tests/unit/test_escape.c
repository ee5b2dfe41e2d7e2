#include "config.h"

#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "suites.h"
#include "tool/util/escape.h"
#include "tool/figures/stats.h"
#include "tool/report/table.h"

static char *captured(void (*write)(FILE *, const char *), const char *s)
{
	char *text = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&text, &len);

	ck_assert_ptr_nonnull(f);
	write(f, s);
	fclose(f);
	return text;
}

/* What a thread can name itself in 15 bytes reaches a terminal inert:
 * C0, DEL and C1 controls as \xHH, bytes that are not UTF-8 as U+FFFD,
 * printable UTF-8 as it is. */
START_TEST(text_escapes_controls)
{
	static const struct {
		const char *in, *out;
	} cases[] = {
		{ "\x1b[31mRED\x1b[0m", "\\x1b[31mRED\\x1b[0m" },
		{ "new\nline", "new\\x0aline" },
		{ "tab\there", "tab\\x09here" },
		{ "bell\a\x7f", "bell\\x07\\x7f" },
		{ "\xc2\x9b" "2J", "\\x9b2J" },              /* C1 CSI, as UTF-8 */
		{ "\x9b" "2J", "\xef\xbf\xbd" "2J" },         /* a lone C1 byte: not UTF-8 */
		{ "\xff\xfe\xfd", "\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd" },
		{ "\xc0\xaf", "\xef\xbf\xbd\xef\xbf\xbd" },   /* overlong '/' */
		{ "caf\xc3\xa9 \xe2\x82\xac", "caf\xc3\xa9 \xe2\x82\xac" },
		{ "\xc2\xa0nbsp", "\xc2\xa0nbsp" },           /* U+00A0 is not C1 */
		{ "plain-1", "plain-1" },
	};
	char buf[128];

	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		size_t n = escape_text(buf, sizeof buf, cases[i].in);
		ck_assert_str_eq(buf, cases[i].out);
		ck_assert_uint_eq(n, strlen(cases[i].out));
	}
	ck_assert_uint_eq(escape_text(buf, sizeof buf, NULL), 0);
}
END_TEST

/* A short buffer never ends inside an escape or a UTF-8 sequence. */
START_TEST(text_cut_whole_pieces)
{
	char buf[6];

	ck_assert_uint_eq(escape_text(buf, sizeof buf, "ab\x1b" "cd"), 2);
	ck_assert_str_eq(buf, "ab");
	ck_assert_uint_eq(escape_text(buf, sizeof buf, "abcd\xe2\x82\xac"), 4);
	ck_assert_str_eq(buf, "abcd");
	ck_assert_uint_eq(escape_text(buf, 1, "x"), 0);
	ck_assert_str_eq(buf, "");
}
END_TEST

/* Table cells count columns, not bytes. */
START_TEST(cells_pad_and_cut_by_columns)
{
	char buf[64];

	escape_text_cell(buf, sizeof buf, "caf\xc3\xa9", 6);
	ck_assert_str_eq(buf, "caf\xc3\xa9  ");
	escape_text_cell(buf, sizeof buf, "\x1b[31mRED", 6);
	ck_assert_str_eq(buf, "\\x1b[3");
	escape_text_cell(buf, sizeof buf, "\xe2\x82\xac\xe2\x82\xac\xe2\x82\xac", 2);
	ck_assert_str_eq(buf, "\xe2\x82\xac\xe2\x82\xac");
	ck_assert_uint_eq(text_columns("caf\xc3\xa9"), 4);
}
END_TEST

/* A table row holds one line whatever the thread calls itself. */
START_TEST(table_row_is_one_inert_line)
{
	struct thread_stats t = { .tid = 42, .alive = true };
	struct row_figures f = { 0 };
	char row[512];

	memcpy(t.name, "new\nline\x1b]0;x\a", 15);
	table_row(row, sizeof row, &t, &f, 0);
	ck_assert_ptr_null(strpbrk(row, "\n\x1b\a"));
	ck_assert_ptr_nonnull(strstr(row, "new\\x0aline\\x1b "));
	table_row(row, sizeof row, &t, &f, 40);
	ck_assert_uint_eq(text_columns(row), 40);
}
END_TEST

/* Label values: valid UTF-8, the exposition format's three escapes, other
 * controls as the text \xHH (its backslash escaped). */
START_TEST(prometheus_labels)
{
	char *text = captured(escape_prom_label, "\xff\xfe\xfd");
	ck_assert_str_eq(text, "\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd");
	free(text);
	text = captured(escape_prom_label, "a\"b\\c\nd\x1b[0m\xc2\x85");
	ck_assert_str_eq(text, "a\\\"b\\\\c\\nd\\\\x1b[0m\\\\x85");
	free(text);
}
END_TEST

START_TEST(json_and_xml)
{
	char *text = captured(json_write_string, "a\"\\\x1b\xff");
	ck_assert_str_eq(text, "\"a\\\"\\\\\\u001b\\ufffd\"");
	free(text);
	text = captured(xml_write_escaped, "<a&'\x1b\xff>");
	ck_assert_str_eq(text, "&lt;a&amp;&apos;\xef\xbf\xbd&gt;");
	free(text);
}
END_TEST

Suite *escape_suite(void)
{
	Suite *s = suite_create("escape");
	TCase *tc = tcase_create("escape");

	tcase_add_test(tc, text_escapes_controls);
	tcase_add_test(tc, text_cut_whole_pieces);
	tcase_add_test(tc, cells_pad_and_cut_by_columns);
	tcase_add_test(tc, table_row_is_one_inert_line);
	tcase_add_test(tc, prometheus_labels);
	tcase_add_test(tc, json_and_xml);
	suite_add_tcase(s, tc);
	return s;
}
