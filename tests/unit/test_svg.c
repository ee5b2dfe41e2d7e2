#include "config.h"

#include <libxml/parser.h>
#include <libxml/tree.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "suites.h"
#include "tool/svg.h"

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

static size_t count_elements(xmlNode *node, const char *name)
{
	size_t n = 0;

	for (; node; node = node->next)
		n += (node->type == XML_ELEMENT_NODE && strcmp((const char *)node->name, name) == 0) +
		     count_elements(node->children, name);
	return n;
}

START_TEST(well_formed_one_series_per_thread)
{
	struct history h = { 0 };
	pid_t tids[] = { 11, 12, 13 };
	char names[3][32] = { "cpu-1", "io <&> \"1\"", "bad\xff" };
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
	char names[12][32];
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

Suite *svg_suite(void)
{
	Suite *s = suite_create("svg");
	TCase *tc = tcase_create("chart");

	tcase_add_test(tc, well_formed_one_series_per_thread);
	tcase_add_test(tc, busiest_threads_only_and_long_runs);
	suite_add_tcase(s, tc);
	return s;
}
