#include "config.h"

#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "suites.h"
#include "tool/inspect/discover.h"
#include "tool/report/metrics.h"

static char *exposition(const struct metrics_process *p, size_t n, bool per_thread)
{
	char *text = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&text, &len);

	ck_assert_ptr_nonnull(f);
	metrics_write(f, p, n, per_thread);
	fclose(f);
	return text;
}

/* Counters sum the threads kept one by one and those folded away; label
 * values are escaped; hold figures appear only when measured. */
START_TEST(process_counters)
{
	struct thread_stats threads[2] = { { .tid = 11, .alive = true }, { .tid = 12, .alive = false } };
	struct stats st = { .threads = threads, .nthreads = 2 };
	struct report_target target = { .pid = 10, .comm = "we\"ird\\name", .python_version = "3.11.2",
					.gil_enabled = true };
	struct metrics_process p = { &target, &st, NULL, false, VERDICT_NONE, NULL };
	char *text;

	snprintf(threads[0].name, sizeof threads[0].name, "worker");
	threads[0].run.gil = (struct wait_figures){ 1500000000, 30, 0 };
	threads[1].run.gil = (struct wait_figures){ 500000000, 10, 0 };
	st.folded.run.gil = (struct wait_figures){ 250000000, 5, 0 };
	threads[0].run.cpu_ns = 2000000000;
	text = exposition(&p, 1, false);
	ck_assert_ptr_nonnull(strstr(text, "gilstats_processes 1\n"));
	ck_assert_ptr_nonnull(strstr(text, "# TYPE gilstats_gil_wait_seconds_total counter\n"));
	ck_assert_msg(strstr(text, "gilstats_gil_wait_seconds_total{pid=\"10\",comm=\"we\\\"ird\\\\name\","
				   "python_version=\"3.11.2\"} 2.25\n") != NULL, "%s", text);
	ck_assert_ptr_nonnull(strstr(text, "gilstats_gil_waits_total{pid=\"10\""));
	ck_assert_ptr_nonnull(strstr(text, "} 45\n"));
	ck_assert_ptr_nonnull(strstr(text, "gilstats_threads{pid=\"10\",comm=\"we\\\"ird\\\\name\",python_version=\"3.11.2\"} 1\n"));
	ck_assert_ptr_nonnull(strstr(text, "gilstats_cpu_seconds_total{pid=\"10\""));
	ck_assert_ptr_null(strstr(text, "gilstats_gil_hold_seconds_total{"));
	ck_assert_ptr_null(strstr(text, "gilstats_thread_"));
	free(text);
	text = exposition(&p, 1, true);
	/* Live threads only. */
	ck_assert_ptr_nonnull(strstr(text, ",tid=\"11\",thread=\"worker\"} 1.5\n"));
	ck_assert_ptr_null(strstr(text, "tid=\"12\""));
	free(text);
}
END_TEST

/* The BPF counters: one series per counter the process's back end counts,
 * by the JSON's names; none without counters. */
START_TEST(event_counters)
{
	struct stats st = { 0 };
	struct report_target target = { .pid = 10, .comm = "python3", .python_version = "3.12.3", .gil_enabled = true };
	struct report_counts counts = { .counted = 1u << GS_COUNT_ENTRY_HITS | 1u << GS_COUNT_ROWS_FULL |
						   1u << GS_COUNT_INFLIGHT_FULL };
	struct metrics_process p = { &target, &st, NULL, false, VERDICT_NONE, NULL };
	char *text = exposition(&p, 1, false);

	ck_assert_ptr_nonnull(strstr(text, "# TYPE gilstats_bpf_events_total counter\n"));
	ck_assert_ptr_null(strstr(text, "gilstats_bpf_events_total{"));
	free(text);
	counts.total[GS_COUNT_ENTRY_HITS] = 1234;
	counts.total[GS_COUNT_ROWS_FULL] = 2;
	counts.total[GS_COUNT_INFLIGHT_FULL] = 3;
	counts.total[GS_COUNT_CPU_FULL] = 7; /* not counted: no series */
	p.counts = &counts;
	text = exposition(&p, 1, false);
	ck_assert_msg(strstr(text, "gilstats_bpf_events_total{pid=\"10\",comm=\"python3\",python_version=\"3.12.3\","
				   "event=\"probe_hits\"} 1234\n") != NULL, "%s", text);
	ck_assert_ptr_nonnull(strstr(text, "event=\"lost_waits\"} 5\n"));
	ck_assert_ptr_nonnull(strstr(text, "event=\"lost_waits_rows_full\"} 2\n"));
	ck_assert_ptr_null(strstr(text, "event=\"lost_cpu_slices\""));
	ck_assert_ptr_null(strstr(text, "event=\"switch_hits\""));
	free(text);
}
END_TEST

/* One series per kind once an interval was decided: 1 for its kind. */
START_TEST(verdict_gauge)
{
	struct thread_stats threads[1] = { { .tid = 11, .alive = true } };
	struct stats st = { .threads = threads, .nthreads = 1 };
	struct report_target target = { .pid = 10, .comm = "python3", .python_version = "3.12.3", .gil_enabled = true };
	struct metrics_process p = { &target, &st, NULL, false, VERDICT_NONE, NULL };
	char *text = exposition(&p, 1, false);

	ck_assert_ptr_nonnull(strstr(text, "# TYPE gilstats_verdict gauge\n"));
	ck_assert_ptr_null(strstr(text, "gilstats_verdict{"));
	free(text);
	p.verdict_known = true;
	p.verdict = VERDICT_BOTTLENECK;
	text = exposition(&p, 1, false);
	ck_assert_msg(strstr(text, "gilstats_verdict{pid=\"10\",comm=\"python3\",python_version=\"3.12.3\","
				   "kind=\"bottleneck\"} 1\n") != NULL, "%s", text);
	ck_assert_ptr_nonnull(strstr(text, "kind=\"holder_blocked\"} 0\n"));
	ck_assert_ptr_nonnull(strstr(text, "kind=\"none\"} 0\n"));
	ck_assert_ptr_nonnull(strstr(text, "kind=\"cpu_starved\"} 0\n"));
	free(text);
}
END_TEST

/* Children, grandchildren, not the others; roots are not their own. */
START_TEST(descendants)
{
	struct proc_entry all[] = { { 1, 0, 0, 0 }, { 100, 1, 0, 0 }, { 101, 100, 0, 0 }, { 102, 101, 0, 0 },
				    { 200, 1, 0, 0 }, { 103, 100, 0, 0 } };
	pid_t roots[] = { 100 }, out[6];
	size_t n = discover_descendants(all, 6, roots, 1, out);

	ck_assert_uint_eq(n, 3);
	for (size_t i = 0; i < n; i++)
		ck_assert(out[i] == 101 || out[i] == 102 || out[i] == 103);
}
END_TEST

Suite *metrics_suite(void)
{
	Suite *s = suite_create("metrics");
	TCase *tc = tcase_create("metrics");

	tcase_add_test(tc, process_counters);
	tcase_add_test(tc, verdict_gauge);
	tcase_add_test(tc, event_counters);
	tcase_add_test(tc, descendants);
	suite_add_tcase(s, tc);
	return s;
}
