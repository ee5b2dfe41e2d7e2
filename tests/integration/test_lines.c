/* Line tables against the interpreters themselves: every interpreter on
 * the machine compiles a sample of its standard library
 * (tests/workloads/dump_lines.py) and prints each code object's table
 * with the line it gives each instruction (co_lines(), or
 * dis.findlinestarts() before 3.10); tool/python/line_table.c must give the same
 * line at every byte of every instruction (3.11+: its cache entries too).
 * No BPF: only the interpreters. */
#include "config.h"

#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "suites.h"
#include "tool/python/line_table.h"

#define MAX_PYTHONS 32
/* Files of the standard library each interpreter compiles (of ~1,400-1,800,
 * every k-th of the sorted list): ~1-2 s each, all interpreters within a
 * minute. */
#define SAMPLE_FILES "150"
#define MAX_REPORTED 5

static struct interpreter pythons[MAX_PYTHONS];
static size_t npythons;

struct tally {
	size_t codes, instructions, offsets, mismatches;
	size_t bad_lines; /* of the dump itself */
};

static int hex_digit(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	return -1;
}

/* The table's hex ("-": empty) into a new buffer; NULL when it is not hex.
 * (No ck_assert in the loops: in fork mode each one writes to libcheck's
 * pipe, millions of system calls.) */
static uint8_t *parse_hex(const char *hex, size_t *len)
{
	size_t n = strcmp(hex, "-") == 0 ? 0 : strlen(hex);
	uint8_t *t = malloc(n / 2 + 1);

	if (!t || n % 2 != 0) {
		free(t);
		return NULL;
	}
	for (size_t i = 0; i < n / 2; i++) {
		int hi = hex_digit(hex[2 * i]), lo = hex_digit(hex[2 * i + 1]);
		if (hi < 0 || lo < 0) {
			free(t);
			return NULL;
		}
		t[i] = (uint8_t)(hi << 4 | lo);
	}
	*len = n / 2;
	return t;
}

/* One instruction ("OFF:SIZE:LINE") against its line: at its start, and
 * 3.11+ at each code unit of its cache entries too (a frame's last
 * instruction pointer can be left on one). Before, frames point at the
 * start of an instruction only. */
static void check_instruction(const char *label, enum line_table_format fmt, const uint8_t *t, size_t len,
			      int first, const char *triple, struct tally *n)
{
	unsigned off, size, step = fmt == LINE_TABLE_LOCATION ? 2 : 0;
	int want;

	if (sscanf(triple, "%u:%u:%d", &off, &size, &want) != 3 || size == 0) {
		n->bad_lines++;
		return;
	}
	n->instructions++;
	for (unsigned b = off; b < off + size; b += step ? step : size) {
		int got = line_table_line(fmt, t, len, first, b);
		n->offsets++;
		if (got == want)
			continue;
		if (++n->mismatches <= MAX_REPORTED)
			fprintf(stderr, "%s: first line %d, offset %u of instruction %u+%u: line %d, the interpreter "
				"says %d (table of %zu bytes)\n", label, first, b, off, size, got, want, len);
	}
}

/* "C FIRSTLINE HEX OFF:SIZE:LINE ..." */
static void check_code(const char *label, enum line_table_format fmt, char *line, struct tally *n)
{
	char *save, *tok = strtok_r(line, " \n", &save);
	char *first = strtok_r(NULL, " \n", &save), *hex = strtok_r(NULL, " \n", &save);
	size_t len;
	uint8_t *t;

	if (!tok || strcmp(tok, "C") != 0 || !first || !hex || !(t = parse_hex(hex, &len))) {
		n->bad_lines++;
		return;
	}
	n->codes++;
	while ((tok = strtok_r(NULL, " \n", &save)))
		check_instruction(label, fmt, t, len, atoi(first), tok, n);
	free(t);
}

static const char *format_name(enum line_table_format fmt)
{
	switch (fmt) {
	case LINE_TABLE_LNOTAB_UNSIGNED:
		return "co_lnotab, unsigned";
	case LINE_TABLE_LNOTAB:
		return "co_lnotab";
	case LINE_TABLE_3_10:
		return "3.10 co_linetable";
	case LINE_TABLE_LOCATION:
		return "location table";
	}
	return "?";
}

START_TEST(every_instruction_agrees)
{
	const struct interpreter *py = &pythons[_i];
	const char *args[] = { "--files", SAMPLE_FILES, NULL };
	struct workload_options o = { .script = "dump_lines.py", .args = args };
	struct tally n = { 0 };
	unsigned long compiled = 0, skipped = 0, codes = 0, instructions = 0;
	char *line = NULL;
	size_t cap = 0;
	bool ended = false;
	struct workload w;
	FILE *f;

	workload_start(&w, py, &o);
	int major = (int)field_double(w.report, "major"), minor = (int)field_double(w.report, "minor");
	enum line_table_format fmt = line_table_format_of(major, minor);
	f = fdopen(dup(w.out_fd), "r");
	ck_assert_ptr_nonnull(f);
	while (!ended && getline(&line, &cap, f) > 0) {
		if (strncmp(line, "END ", 4) == 0)
			ended = sscanf(line, "END %lu %lu %lu %lu", &compiled, &skipped, &codes, &instructions) == 4;
		else
			check_code(py->label, fmt, line, &n);
	}
	free(line);
	fclose(f);
	fprintf(stderr, "%s (%s, %s): %lu of %d sampled files (%d in its library, %lu not compiled): "
		"%zu code objects, %zu instructions, %zu offsets, %zu disagree\n", py->label,
		field_string(w.report, "version"), format_name(fmt), compiled, (int)field_double(w.report, "files_sampled"),
		(int)field_double(w.report, "files_total"), skipped, n.codes, n.instructions, n.offsets,
		n.mismatches);
	workload_stop(&w);
	ck_assert_msg(ended, "%s: dump_lines.py did not finish", py->label);
	ck_assert_msg(n.bad_lines == 0, "%s: %zu lines of the dump unreadable", py->label, n.bad_lines);
	ck_assert_msg(n.codes == codes && n.instructions == instructions, "%s: read %zu/%zu of %lu/%lu", py->label,
		      n.codes, n.instructions, codes, instructions);
	ck_assert_msg(compiled > 0 && n.codes > 100, "%s: only %zu code objects", py->label, n.codes);
	ck_assert_msg(n.mismatches == 0, "%s: %zu offsets disagree with the interpreter", py->label, n.mismatches);
}
END_TEST

Suite *lines_suite(void)
{
	Suite *s = suite_create("lines");
	TCase *tc = tcase_create("lines");

	npythons = discover_interpreters(pythons, MAX_PYTHONS);
	tcase_set_timeout(tc, 60);
	tcase_add_loop_test(tc, every_instruction_agrees, 0, (int)npythons);
	suite_add_tcase(s, tc);
	return s;
}
