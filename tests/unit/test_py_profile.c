#include "config.h"

#include <libxml/parser.h>
#include <libxml/tree.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "suites.h"
#include "xml_count.h"
#include "tool/report/flamegraph.h"
#include "tool/report/stacks_render.h"

static struct py_code_info code_a = { .function = "Pool.hog_a", .file = "/srv/app/work.py", .first_line = 10 };
static struct py_code_info code_b = { .function = "hog_b", .file = "/srv/app/work.py", .first_line = 20 };
static struct py_code_info code_main = { .function = "main", .file = "/srv/app/main.py", .first_line = 1 };
static struct py_code_info code_evil = { .function = "f;g\nh", .file = "/tmp/x\x1b[2J.py", .first_line = 1 };

static int add(struct py_profile *p, pid_t tid, const struct py_code_info *inner, int line, bool blocked)
{
	struct py_profile_frame frames[2] = { { inner, line }, { &code_main, 5 } };

	return py_profile_add(p, tid, frames, 2, false, blocked);
}

START_TEST(samples_become_time_by_share)
{
	struct py_profile p = { 0 };
	const struct py_profile_entry *top[4];

	/* 100 samples in a 2 s interval: 30 of hog_a, 10 of hog_b (3 blocked). */
	for (int i = 0; i < 30; i++)
		ck_assert_int_eq(add(&p, 7, &code_a, 12, false), 0);
	for (int i = 0; i < 10; i++)
		ck_assert_int_eq(add(&p, 7, &code_b, 22, i < 3), 0);
	py_profile_torn(&p);
	py_profile_close_interval(&p, 100, 2.0);
	ck_assert_uint_eq(p.n, 2);
	ck_assert_uint_eq(py_profile_top(&p, 7, false, false, top, 4), 2);
	ck_assert_str_eq(top[0]->frames[0].code->function, "Pool.hog_a");
	ck_assert_double_eq_tol(py_profile_seconds(top[0], false, false), 0.6, 1e-9);
	ck_assert_double_eq_tol(py_profile_seconds(top[1], false, false), 0.2, 1e-9);
	ck_assert_double_eq_tol(py_profile_seconds(top[1], false, true), 0.06, 1e-9);
	ck_assert_uint_eq(py_profile_top(&p, 7, false, true, top, 4), 1);
	ck_assert_uint_eq(p.interval.torn, 1);
	/* A second interval adds to the run, not to the interval. */
	add(&p, 7, &code_a, 12, false);
	py_profile_close_interval(&p, 10, 1.0);
	ck_assert_uint_eq(py_profile_top(&p, 0, false, false, top, 4), 1);
	ck_assert_double_eq_tol(py_profile_seconds(top[0], false, false), 0.1, 1e-9);
	ck_assert_double_eq_tol(py_profile_seconds(top[0], true, false), 0.7, 1e-9);
	ck_assert_uint_eq(top[0]->run.n, 31);
	py_profile_free(&p);
}
END_TEST

START_TEST(same_stack_of_many_threads_is_one_group)
{
	struct py_profile p = { 0 };
	struct py_profile_group top[4];

	/* Eight pool threads in hog_a, one thread in hog_b most of all. */
	for (pid_t tid = 100; tid < 108; tid++)
		for (int i = 0; i < 5; i++)
			add(&p, tid, &code_a, 12, false);
	for (int i = 0; i < 20; i++)
		add(&p, 200, &code_b, 22, false);
	/* Another line of hog_a is another stack. */
	add(&p, 100, &code_a, 13, false);
	py_profile_close_interval(&p, 61, 1.0);
	ck_assert_int_eq(py_profile_top_stacks(&p, false, false, top, 4), 3);
	ck_assert_str_eq(top[0].stack->frames[0].code->function, "Pool.hog_a");
	ck_assert_uint_eq(top[0].nthreads, 8);
	ck_assert_double_eq_tol(top[0].s, 40.0 / 61, 1e-9);
	ck_assert_str_eq(top[1].stack->frames[0].code->function, "hog_b");
	ck_assert_int_eq(top[2].stack->frames[0].line, 13);
	py_profile_free(&p);
}
END_TEST

static bool keep_odd(pid_t tid, void *ctx)
{
	(void)ctx;
	return tid % 2;
}

START_TEST(ended_threads_fold_into_one_keeping_time)
{
	struct py_profile p = { 0 };
	const struct py_profile_entry *top[8];

	for (pid_t tid = 1; tid <= 6; tid++)
		add(&p, tid, &code_a, 12, tid == 2);
	py_profile_close_interval(&p, 6, 6.0);
	ck_assert_int_eq(py_profile_fold_threads(&p, keep_odd, NULL), 0);
	ck_assert_uint_eq(p.n, 4); /* 1, 3, 5 and the ended 2, 4, 6 as one */
	ck_assert_uint_eq(py_profile_top(&p, 0, true, false, top, 8), 4);
	ck_assert_int_eq(top[0]->tid, 0);
	ck_assert_double_eq_tol(py_profile_seconds(top[0], true, false), 3.0, 1e-9);
	ck_assert_double_eq_tol(py_profile_seconds(top[0], true, true), 1.0, 1e-9);
	ck_assert_uint_eq(top[0]->run.n, 3);
	/* Still one entry per (thread, stack): a new sample of 3 finds its own. */
	add(&p, 3, &code_a, 12, false);
	ck_assert_uint_eq(p.n, 4);
	py_profile_free(&p);
}
END_TEST

START_TEST(entries_are_bounded)
{
	struct py_profile p = { 0 };

	for (int i = 0; i < PY_PROFILE_MAX_ENTRIES + 10; i++)
		add(&p, 1, &code_a, i + 1, false);
	ck_assert_uint_eq(p.n, PY_PROFILE_MAX_ENTRIES);
	ck_assert_uint_eq(p.current.dropped, 10);
	py_profile_free(&p);
}
END_TEST

/* Parses one folded line into frames and a count: what flamegraph.pl does. */
static size_t parse_folded(char *line, char **frames, size_t max, unsigned long *count)
{
	char *space = strrchr(line, ' '), *save = NULL;
	size_t n = 0;

	ck_assert_ptr_nonnull(space);
	*space = '\0';
	*count = strtoul(space + 1, NULL, 10);
	for (char *f = strtok_r(line, ";", &save); f && n < max; f = strtok_r(NULL, ";", &save))
		frames[n++] = f;
	return n;
}

START_TEST(folded_lines_parse_back)
{
	struct hold_state h = { .python_stacks = true };
	struct thread_stats t = { .tid = 7, .name = "worker;1" };
	struct thread_stats *threads[] = { &t };
	struct py_profile_frame evil[2] = { { &code_evil, 3 }, { &code_main, 5 } };
	char *text = NULL, *line, *save = NULL, *frames[8];
	size_t len, lines = 0;
	unsigned long count;
	FILE *f = open_memstream(&text, &len);

	for (int i = 0; i < 4; i++)
		add(&h.profile, 7, &code_a, 12, false);
	py_profile_add(&h.profile, 7, evil, 2, false, false);
	py_profile_close_interval(&h.profile, 5, 1.0);
	ck_assert_int_eq(stacks_write_folded(f, &h, 4242, threads, 1, false), 0);
	fclose(f);
	for (line = strtok_r(text, "\n", &save); line; line = strtok_r(NULL, "\n", &save), lines++) {
		size_t n = parse_folded(line, frames, 8, &count);
		ck_assert_uint_eq(n, 4);
		ck_assert_str_eq(frames[0], "4242");
		ck_assert_str_eq(frames[1], "worker:1 (7)");
		ck_assert_str_eq(frames[2], "main (/srv/app/main.py:5)");
		if (count == 4)
			ck_assert_str_eq(frames[3], "Pool.hog_a (/srv/app/work.py:12)");
		else
			ck_assert_str_eq(frames[3], "f:g?h (/tmp/x?[2J.py:3)");
	}
	ck_assert_uint_eq(lines, 2);
	free(text);
	py_profile_free(&h.profile);
}
END_TEST

START_TEST(flame_graph_is_svg_with_a_box_per_frame)
{
	const char *folded = "1;t (1);main;hog_a <&> 30\n1;t (1);main;hog_b 10\nnot a line\n2;u (2);\xc3\xbcnicode 10\n";
	char *svg = NULL;
	size_t len;
	FILE *f = open_memstream(&svg, &len);
	xmlDoc *doc;

	ck_assert_int_eq(flamegraph_write(f, folded, strlen(folded), "GIL <held>"), 0);
	fclose(f);
	doc = xmlReadMemory(svg, (int)len, "flame.svg", NULL, XML_PARSE_NONET);
	ck_assert_msg(doc != NULL, "not well-formed XML:\n%s", svg);
	/* Frames: 1, t (1), main, hog_a, hog_b, 2, u (2), ünicode; and the background. */
	ck_assert_uint_eq(count_elements(xmlDocGetRootElement(doc), "rect"), 9);
	ck_assert_ptr_nonnull(strstr(svg, "hog_a &lt;&amp;&gt; (30 samples, 60.00%)"));
	ck_assert_ptr_nonnull(strstr(svg, "GIL &lt;held&gt; (50 samples)"));
	/* hog_a is three times as wide as hog_b. */
	double wa = 0, wb = 0;
	sscanf(strstr(strstr(svg, "hog_a &lt;"), "width=\"") + 7, "%lf", &wa);
	sscanf(strstr(strstr(svg, "<title>hog_b"), "width=\"") + 7, "%lf", &wb);
	ck_assert_double_eq_tol(wa, 3 * wb, 0.05);
	xmlFreeDoc(doc);
	free(svg);
}
END_TEST

START_TEST(text_names_the_top_stacks_with_shares)
{
	struct hold_state h = { .python_stacks = true };
	char *text = NULL;
	size_t len;
	FILE *f = open_memstream(&text, &len);

	for (pid_t tid = 1; tid <= 3; tid++)
		for (int i = 0; i < 25; i++)
			add(&h.profile, tid, &code_a, 12, false);
	for (int i = 0; i < 25; i++)
		add(&h.profile, 9, &code_evil, 3, false);
	py_profile_close_interval(&h.profile, 100, 1.0);
	stacks_text(f, &h, true);
	fclose(f);
	ck_assert_ptr_nonnull(strstr(text, "GIL held in"));
	ck_assert_ptr_nonnull(strstr(text, "  75.0%  Pool.hog_a (app/work.py:12) <- main (app/main.py:5)  [3 threads]\n"));
	ck_assert_ptr_nonnull(strstr(text, "  25.0%  f;g\\x0ah (tmp/x\\x1b[2J.py:3)"));
	free(text);
	py_profile_free(&h.profile);
}
END_TEST

/* Waiter samples: two of five waiters read, each standing for 2.5; the
 * share of the waiter samples is threads' worth of seconds. */
START_TEST(weighted_waiter_samples_are_threads_seconds)
{
	struct hold_state h = { .python_stacks = true };
	struct py_profile_frame frames[2] = { { &code_b, 22 }, { &code_main, 5 } };
	struct thread_stats t = { .tid = 7, .name = "napper" };
	struct thread_stats *threads[] = { &t };
	struct stats st = { 0 };
	char *text = NULL;
	size_t len;
	FILE *f;

	/* 10 waiter samples in 2 s, each finding 5 waiters, 2 read. */
	for (int i = 0; i < 10; i++) {
		ck_assert_int_eq(py_profile_add_weighted(&h.waits, 7, frames, 2, false, false, 2.5), 0);
		ck_assert_int_eq(py_profile_add_weighted(&h.waits, 8, frames, 2, false, false, 2.5), 0);
	}
	h.current.wait_samples = 10;
	h.current.waiters_seen = 50;
	ck_assert_ptr_nonnull(stats_thread(&st, 7));
	ck_assert_ptr_nonnull(stats_thread(&st, 8));
	ck_assert_int_eq(hold_update(&h, &st, NULL, 0, 2.0), 0);
	ck_assert_uint_eq(h.waits.n, 2);
	/* Five threads waited throughout: 10 s in all, 5 s by each entry. */
	ck_assert_double_eq_tol(py_profile_seconds(&h.waits.entries[0], false, false), 5.0, 1e-9);
	ck_assert_double_eq_tol(py_profile_seconds(&h.waits.entries[1], true, false), 5.0, 1e-9);
	ck_assert_uint_eq(h.waits.entries[0].run.n, 10);
	f = open_memstream(&text, &len);
	stacks_wait_json(f, &h, true);
	stacks_wait_text(f, &h, true);
	ck_assert_int_eq(stacks_write_folded_waits(f, &h, 4242, threads, 1), 0);
	fclose(f);
	ck_assert_ptr_nonnull(strstr(text, ", \"gil_wait_stacks\": [{\"stack\": [\"hog_b (/srv/app/work.py:22)\", "
					   "\"main (/srv/app/main.py:5)\"], \"s\": 5.000000, \"samples\": 10, \"tid\": "));
	ck_assert_ptr_nonnull(strstr(text, "\"wait_samples\": 10, \"waiters_mean\": 5.000, \"wait_torn_samples\": 0"));
	ck_assert_ptr_nonnull(strstr(text, "Waiting for the GIL in"));
	ck_assert_ptr_nonnull(strstr(text, " 100.0%  hog_b (app/work.py:22) <- main (app/main.py:5)  [2 threads]\n"));
	/* Folded: the weight, 25 waiter samples each. */
	ck_assert_ptr_nonnull(strstr(text, "4242;napper (7);main (/srv/app/main.py:5);hog_b (/srv/app/work.py:22) 25\n"));
	ck_assert_ptr_nonnull(strstr(text, "4242;? (8);main (/srv/app/main.py:5);hog_b (/srv/app/work.py:22) 25\n"));
	free(text);
	/* Without stacks, nulls. */
	h.python_stacks = false;
	f = open_memstream(&text, &len);
	stacks_wait_json(f, &h, false);
	fclose(f);
	ck_assert_str_eq(text, ", \"gil_wait_stacks\": null, \"wait_samples\": null, \"wait_torn_samples\": null");
	free(text);
	hold_free(&h);
	stats_free(&st);
}
END_TEST

static bool keep_none(pid_t tid, void *ctx)
{
	(void)tid, (void)ctx;
	return false;
}

/* Ended threads fold with their weights. */
START_TEST(folding_keeps_the_weights)
{
	struct py_profile p = { 0 };
	struct py_profile_frame frames[1] = { { &code_a, 12 } };
	const struct py_profile_entry *top[2];

	py_profile_add_weighted(&p, 3, frames, 1, false, false, 4);
	py_profile_add_weighted(&p, 4, frames, 1, false, false, 2);
	ck_assert_int_eq(py_profile_fold_threads(&p, keep_none, NULL), 0);
	ck_assert_uint_eq(p.n, 1);
	py_profile_close_interval(&p, 2, 1.0);
	ck_assert_uint_eq(py_profile_top(&p, 0, false, false, top, 2), 1);
	ck_assert_double_eq_tol(py_profile_seconds(top[0], false, false), 3.0, 1e-9);
	ck_assert_uint_eq(top[0]->interval.n, 2);
	py_profile_free(&p);
}
END_TEST

Suite *py_profile_suite(void)
{
	Suite *s = suite_create("py_profile");
	TCase *tc = tcase_create("core");

	tcase_add_test(tc, samples_become_time_by_share);
	tcase_add_test(tc, same_stack_of_many_threads_is_one_group);
	tcase_add_test(tc, ended_threads_fold_into_one_keeping_time);
	tcase_add_test(tc, entries_are_bounded);
	tcase_add_test(tc, folded_lines_parse_back);
	tcase_add_test(tc, flame_graph_is_svg_with_a_box_per_frame);
	tcase_add_test(tc, text_names_the_top_stacks_with_shares);
	tcase_add_test(tc, weighted_waiter_samples_are_threads_seconds);
	tcase_add_test(tc, folding_keeps_the_weights);
	suite_add_tcase(s, tc);
	return s;
}
