#include "config.h"

#include <check.h>
#include <errno.h>
#include <json-c/json.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "suites.h"
#include "tool/bpf/bpf_cost.h"

static struct bpf_prog_stat prog(const char *name, bool loaded, uint64_t runs, uint64_t ns)
{
	struct bpf_prog_stat s = { .loaded = loaded, .runs = runs, .ns = ns };

	snprintf(s.name, sizeof s.name, "%s", name);
	return s;
}

/* The members bpf_cost_json writes, as an object json-c parses. */
static json_object *as_json(const struct bpf_cost *c, bool summary)
{
	char *text = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&text, &len);
	json_object *o;

	ck_assert_ptr_nonnull(f);
	fputs("{\"x\": 0", f);
	bpf_cost_json(f, c, summary);
	fputc('}', f);
	fclose(f);
	o = json_tokener_parse(text);
	ck_assert_msg(o != NULL, "not JSON: %s", text);
	free(text);
	return o;
}

static char *as_metrics(const struct bpf_cost *c)
{
	char *text = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&text, &len);

	ck_assert_ptr_nonnull(f);
	bpf_cost_metrics(f, c);
	fclose(f);
	return text;
}

/* Differences between reads, totals since the baseline; the runs before
 * the baseline never count. */
START_TEST(intervals_and_run)
{
	struct bpf_cost c;
	struct bpf_prog_stat s[2] = { prog("gs_futex_enter", true, 1000, 500000), prog("gs_futex_exit", true, 10, 90) };

	bpf_cost_start(&c, true, 0);
	bpf_cost_read(&c, s, 2, 100.0);
	ck_assert_uint_eq(bpf_cost_ns(&c, false), 0);
	ck_assert_uint_eq(bpf_cost_ns(&c, true), 0);
	s[0] = prog("gs_futex_enter", true, 3000, 900000);
	s[1] = prog("gs_futex_exit", true, 20, 1090);
	bpf_cost_read(&c, s, 2, 101.0);
	ck_assert_uint_eq(bpf_cost_ns(&c, false), 400000 + 1000);
	ck_assert_uint_eq(bpf_cost_runs(&c, false), 2000 + 10);
	s[0] = prog("gs_futex_enter", true, 3500, 1000000);
	bpf_cost_read(&c, s, 2, 102.5);
	ck_assert_uint_eq(bpf_cost_ns(&c, false), 100000);
	ck_assert_uint_eq(bpf_cost_runs(&c, false), 500);
	ck_assert_uint_eq(bpf_cost_ns(&c, true), 501000);
	ck_assert_uint_eq(bpf_cost_runs(&c, true), 2510);
	ck_assert(c.interval_s > 1.49 && c.interval_s < 1.51);
	ck_assert(c.last_s - c.baseline_s > 2.49 && c.last_s - c.baseline_s < 2.51);
}
END_TEST

/* A program loaded after the baseline (sched_switch for a later holder)
 * was loaded with the statistics on: every run of it counts. One whose
 * counters went back is another program in its slot: from 0. */
START_TEST(late_and_reloaded_programs)
{
	struct bpf_cost c;
	struct bpf_prog_stat s[3] = { prog("gs_futex_enter", true, 100, 1000), prog("gs_futex_exit", true, 100, 1000),
				      prog("gs_sched_switch", false, 0, 0) };

	bpf_cost_start(&c, true, 0);
	bpf_cost_read(&c, s, 3, 1.0);
	s[2] = prog("gs_sched_switch", true, 40, 8000);
	bpf_cost_read(&c, s, 3, 2.0);
	ck_assert_uint_eq(bpf_cost_runs(&c, false), 40);
	ck_assert_uint_eq(bpf_cost_ns(&c, false), 8000);
	s[0] = prog("gs_futex_enter", true, 5, 50);
	bpf_cost_read(&c, s, 3, 3.0);
	ck_assert_uint_eq(bpf_cost_runs(&c, false), 5);
	ck_assert_uint_eq(bpf_cost_ns(&c, false), 50);
	ck_assert_uint_eq(bpf_cost_ns(&c, true), 8050);
}
END_TEST

START_TEST(json_members)
{
	struct bpf_cost c;
	struct bpf_prog_stat s[3] = { prog("gs_futex_enter", true, 0, 0), prog("gs_futex_exit", true, 0, 0),
				      prog("gs_sched_switch", false, 0, 0) };
	json_object *o, *progs, *p;

	bpf_cost_start(&c, true, 0);
	bpf_cost_read(&c, s, 3, 1.0);
	s[0] = prog("gs_futex_enter", true, 4, 1000);
	bpf_cost_read(&c, s, 3, 2.0);
	o = as_json(&c, false);
	ck_assert_double_eq_tol(json_object_get_double(json_object_object_get(o, "bpf_cpu_s")), 1e-6, 1e-12);
	progs = json_object_object_get(o, "bpf_programs");
	/* The slot with no program is left out. */
	ck_assert_uint_eq(json_object_array_length(progs), 2);
	p = json_object_array_get_idx(progs, 0);
	ck_assert_str_eq(json_object_get_string(json_object_object_get(p, "name")), "gs_futex_enter");
	ck_assert_int_eq(json_object_get_int64(json_object_object_get(p, "runs")), 4);
	ck_assert_double_eq_tol(json_object_get_double(json_object_object_get(p, "ns_per_run")), 250.0, 1e-9);
	/* No run: no figure per run, not 0. */
	p = json_object_array_get_idx(progs, 1);
	ck_assert(json_object_object_get_ex(p, "ns_per_run", NULL));
	ck_assert_ptr_null(json_object_object_get(p, "ns_per_run"));
	json_object_put(o);
}
END_TEST

/* Statistics refused (EPERM): null, never 0; no series; the text says why. */
START_TEST(unknown_is_null)
{
	struct bpf_cost c;
	struct bpf_prog_stat s[1] = { prog("gs_futex_enter", true, 10, 100) };
	json_object *o;
	char line[200], *text;

	bpf_cost_start(&c, false, EPERM);
	bpf_cost_read(&c, s, 1, 1.0);
	s[0] = prog("gs_futex_enter", true, 20, 200);
	bpf_cost_read(&c, s, 1, 2.0);
	o = as_json(&c, true);
	ck_assert(json_object_object_get_ex(o, "bpf_cpu_s", NULL));
	ck_assert_ptr_null(json_object_object_get(o, "bpf_cpu_s"));
	ck_assert(json_object_object_get_ex(o, "bpf_programs", NULL));
	ck_assert_ptr_null(json_object_object_get(o, "bpf_programs"));
	json_object_put(o);
	bpf_cost_text(line, sizeof line, &c, false);
	ck_assert_msg(strstr(line, "unknown") && strstr(line, strerror(EPERM)), "%s", line);
	text = as_metrics(&c);
	ck_assert_ptr_nonnull(strstr(text, "# TYPE gilstats_bpf_seconds_total counter\n"));
	ck_assert_ptr_null(strstr(text, "gilstats_bpf_seconds_total{"));
	ck_assert_ptr_null(strstr(text, "gilstats_bpf_runs_total{"));
	free(text);
}
END_TEST

START_TEST(text_and_metrics)
{
	struct bpf_cost c;
	struct bpf_prog_stat s[2] = { prog("gs_futex_enter", true, 0, 0), prog("gs_sched_switch", true, 0, 0) };
	char line[200], *text;

	bpf_cost_start(&c, true, 0);
	bpf_cost_read(&c, s, 2, 10.0);
	s[0] = prog("gs_futex_enter", true, 10000, 1500000);
	s[1] = prog("gs_sched_switch", true, 2000, 1500000);
	bpf_cost_read(&c, s, 2, 12.0);
	/* 3 ms in 2 s: 0.15% of a CPU; 12000 runs, 250 ns each. */
	bpf_cost_text(line, sizeof line, &c, false);
	ck_assert_msg(strstr(line, "3.00 ms CPU in 2.00 s (0.15% of a CPU), 12000 runs, 250 ns a run") != NULL, "%s",
		      line);
	text = as_metrics(&c);
	ck_assert_msg(strstr(text, "gilstats_bpf_seconds_total{program=\"gs_futex_enter\"} 0.0015\n") != NULL, "%s",
		      text);
	ck_assert_ptr_nonnull(strstr(text, "gilstats_bpf_seconds_total{program=\"gs_sched_switch\"} 0.0015\n"));
	ck_assert_ptr_nonnull(strstr(text, "gilstats_bpf_runs_total{program=\"gs_futex_enter\"} 10000\n"));
	ck_assert_ptr_nonnull(strstr(text, "# TYPE gilstats_bpf_runs_total counter\n"));
	free(text);
}
END_TEST

Suite *bpf_cost_suite(void)
{
	Suite *s = suite_create("bpf_cost");
	TCase *tc = tcase_create("bpf_cost");

	tcase_add_test(tc, intervals_and_run);
	tcase_add_test(tc, late_and_reloaded_programs);
	tcase_add_test(tc, json_members);
	tcase_add_test(tc, unknown_is_null);
	tcase_add_test(tc, text_and_metrics);
	suite_add_tcase(s, tc);
	return s;
}
