#include "config.h"

#include <libxml/parser.h>
#include <libxml/tree.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "suites.h"
#include "xml_count.h"
#include "tool/report/svg.h"

static char *svg_of(const struct history *h, const char *title, size_t *len)
{
	static char *buf;
	FILE *f;

	buf = NULL;
	f = open_memstream(&buf, len);
	svg_write(f, h, title);
	fclose(f);
	return buf;
}

START_TEST(well_formed_one_series_per_thread)
{
	struct history h = { 0 };
	pid_t tids[] = { 11, 12, 13 };
	char names[3][64] = { "cpu-1", "io <&> \"1\"", "bad\xff" };
	double values[3] = { 70, 30, 5 };
	size_t len;
	char *svg;
	xmlDoc *doc;

	for (int k = 0; k < 10; k++)
		ck_assert_int_eq(history_add(&h, k + 1.0, tids, names, values, k < 5 ? 3 : 2), 0);
	svg = svg_of(&h, "GIL is the bottleneck: 2 threads <50%> & more", &len);
	doc = xmlReadMemory(svg, (int)len, "chart.svg", NULL, XML_PARSE_NONET);
	ck_assert_msg(doc != NULL, "not well-formed XML:\n%s", svg);
	ck_assert_str_eq((const char *)xmlDocGetRootElement(doc)->name, "svg");
	ck_assert_uint_eq(count_elements(xmlDocGetRootElement(doc), "polyline"), 3);
	ck_assert_ptr_nonnull(strstr(svg, "GIL is the bottleneck: 2 threads &lt;50%&gt; &amp; more"));
	/* The legend names each thread by TID and name. */
	ck_assert_ptr_nonnull(strstr(svg, ">11 cpu-1</text>"));
	ck_assert_ptr_nonnull(strstr(svg, ">12 io &lt;&amp;&gt; &quot;1&quot;</text>"));
	xmlFreeDoc(doc);
	free(svg);
	history_free(&h);
}
END_TEST

START_TEST(busiest_threads_only_and_long_runs)
{
	struct history h = { 0 };
	pid_t tids[12];
	char names[12][64];
	double values[12];
	size_t len;
	char *svg;
	xmlDoc *doc;

	for (int i = 0; i < 12; i++) {
		tids[i] = 100 + i;
		snprintf(names[i], sizeof names[i], "t%d", i);
		values[i] = i;
	}
	for (int k = 0; k < HISTORY_MAX_POINTS + 10; k++)
		ck_assert_int_eq(history_add(&h, k, tids, names, values, 12), 0);
	/* Points beyond the cap are merged, not dropped. */
	ck_assert_uint_le(h.npoints, HISTORY_MAX_POINTS);
	ck_assert_double_eq_tol(h.times[h.npoints - 1], HISTORY_MAX_POINTS + 9.0, 1e-9);
	svg = svg_of(&h, "title", &len);
	doc = xmlReadMemory(svg, (int)len, "chart.svg", NULL, XML_PARSE_NONET);
	ck_assert_ptr_nonnull(doc);
	ck_assert_uint_eq(count_elements(xmlDocGetRootElement(doc), "polyline"), SVG_MAX_SERIES);
	/* The busiest (t11) is drawn; the idlest (t0) is not. */
	ck_assert_ptr_nonnull(strstr(svg, ">111 t11</text>"));
	ck_assert_ptr_null(strstr(svg, ">100 t0</text>"));
	xmlFreeDoc(doc);
	free(svg);
	history_free(&h);
}
END_TEST

/* The time axis' labels for a run of span seconds (one point per
 * interval): distinct, increasing, round, from 0 to no more than one step
 * short of the end. */
static void assert_time_ticks(double span, double interval)
{
	struct history h = { 0 };
	pid_t tid = 7;
	char names[1][64] = { "t" };
	double v = 50, ticks[16], step;
	size_t len, n = 0;
	char *svg;

	for (double t = interval; t <= span + 1e-9; t += interval)
		ck_assert_int_eq(history_add(&h, t, &tid, names, &v, 1), 0);
	svg = svg_of(&h, "ticks", &len);
	for (const char *p = svg; (p = strstr(p, "class=\"tick\"")); p++) {
		const char *label = strchr(p, '>');
		ck_assert_uint_lt(n, 16);
		ck_assert_msg(label && sscanf(label + 1, "%lf s<", &ticks[n]) == 1, "tick without a time:\n%s", svg);
		n++;
	}
	ck_assert_msg(n >= 2 && n <= 7, "%zu ticks for %g s:\n%s", n, span, svg);
	ck_assert_double_eq(ticks[0], 0);
	step = ticks[1] - ticks[0];
	for (size_t i = 1; i < n; i++) {
		ck_assert_msg(ticks[i] > ticks[i - 1], "ticks not increasing for %g s:\n%s", span, svg);
		ck_assert_double_eq_tol(ticks[i] - ticks[i - 1], step, 1e-9);
	}
	ck_assert_double_le_tol(ticks[n - 1], span, 1e-9);
	ck_assert_double_gt(ticks[n - 1] + step, span);
	/* 1, 2 or 5 times a power of ten. */
	double mantissa = step / pow(10, floor(log10(step) + 1e-9));
	ck_assert_msg(fabs(mantissa - 1) < 1e-6 || fabs(mantissa - 2) < 1e-6 || fabs(mantissa - 5) < 1e-6,
		      "step %g for %g s", step, span);
	free(svg);
	history_free(&h);
}

START_TEST(time_ticks_distinct_and_round)
{
	assert_time_ticks(2, 1);
	assert_time_ticks(2, 0.5);
	assert_time_ticks(1, 0.1);
	assert_time_ticks(3, 1);
	assert_time_ticks(7, 1);
	assert_time_ticks(60, 1);
	assert_time_ticks(3600, 15);
}
END_TEST


Suite *svg_suite(void)
{
	Suite *s = suite_create("svg");
	TCase *tc = tcase_create("chart");

	tcase_add_test(tc, well_formed_one_series_per_thread);
	tcase_add_test(tc, busiest_threads_only_and_long_runs);
	tcase_add_test(tc, time_ticks_distinct_and_round);
	suite_add_tcase(s, tc);
	return s;
}
