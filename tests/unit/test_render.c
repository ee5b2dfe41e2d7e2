#include "config.h"

#include <json-c/json.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "suites.h"
#include "tool/report/format.h"
#include "tool/report/render.h"

static void json_plain(FILE *f, const struct report *r)
{
	render_json(f, r, NULL, false);
}

/* Captures what a renderer writes of a copy of given, its figures
 * computed first (the tests change inputs between renders). */
static char *render_to_string(void (*render)(FILE *, const struct report *), const struct report *given)
{
	/* Static: open_memstream keeps their address until fclose. */
	static char *buf;
	static size_t len;
	struct report r = *given;
	FILE *f;

	r.entries = calloc(r.nthreads + 1, sizeof *r.entries);
	ck_assert_ptr_nonnull(r.entries);
	report_compute(&r);
	buf = NULL;
	f = open_memstream(&buf, &len);

	render(f, &r);
	fclose(f);
	free(r.entries);
	return buf;
}

static struct thread_stats thread(pid_t tid, const char *name, uint64_t gil_ns, uint64_t count, bool alive)
{
	struct thread_stats t;

	memset(&t, 0, sizeof t);
	t.tid = tid;
	snprintf(t.name, sizeof t.name, "%s", name);
	t.alive = alive;
	t.interval.gil = (struct wait_figures){ gil_ns, count, gil_ns / (count ? count : 1) };
	t.run.gil = (struct wait_figures){ gil_ns * 3, count * 3, gil_ns };
	t.interval.sw = (struct wait_figures){ 1000000, 4, 500000 };
	t.run.sw = t.interval.sw;
	return t;
}

static const struct report_target target = {
	.pid = 4242, .comm = "python3", .python_version = "3.11.2", .gil_address = 0xa5b8c8,
	.gil_method = "exact", .probe = "futex", .attach_s = 0.2, .gil_enabled = true,
};

START_TEST(json_line_has_the_contract_fields)
{
	struct thread_stats a = thread(4243, "worker-1", 734000000, 147, true);
	struct thread_stats b = thread(4244, "we\"ird\\\n\xff", 5, 1, false);
	struct thread_stats *order[] = { &a, &b };
	struct report r = { .target = &target, .interval_s = 1.0, .elapsed_s = 2.0, .threads = order,
			    .nthreads = 2, 
			    .counts = { .total = { [GS_COUNT_ENTRY_HITS] = 300 }, .counted = 1u << GS_COUNT_ENTRY_HITS } };
	char *text;

	a.interval.alive_ns = 1000000000;
	a.interval.cpu_ns = 200000000;
	text = render_to_string(json_plain, &r);
	json_object *obj, *threads, *t;

	/* One line, newline-terminated. */
	ck_assert_ptr_eq(strchr(text, '\n'), text + strlen(text) - 1);
	obj = json_tokener_parse(text);
	ck_assert_msg(obj != NULL, "not JSON: %s", text);
	ck_assert_int_eq(json_object_get_int(json_object_object_get(obj, "pid")), 4242);
	ck_assert_str_eq(json_object_get_string(json_object_object_get(obj, "python_version")), "3.11.2");
	ck_assert_str_eq(json_object_get_string(json_object_object_get(obj, "gil_address")), "0xa5b8c8");
	ck_assert_str_eq(json_object_get_string(json_object_object_get(obj, "gil_method")), "exact");
	ck_assert(!json_object_get_boolean(json_object_object_get(obj, "summary")));
	ck_assert_double_eq_tol(json_object_get_double(json_object_object_get(obj, "interval_s")), 1.0, 1e-9);
	ck_assert_double_eq_tol(json_object_get_double(json_object_object_get(obj, "elapsed_s")), 2.0, 1e-9);
	/* The contract's version, the verdict's kind and the GIL's queue. */
	ck_assert_int_eq(json_object_get_int(json_object_object_get(obj, "schema_version")), RENDER_SCHEMA_VERSION);
	ck_assert_str_eq(json_object_get_string(json_object_object_get(obj, "verdict_kind")), "moderate");
	ck_assert_double_eq_tol(json_object_get_double(json_object_object_get(obj, "gil_queue")), 0.734, 1e-6);
	threads = json_object_object_get(obj, "threads");
	ck_assert_uint_eq(json_object_array_length(threads), 2);
	t = json_object_array_get_idx(threads, 0);
	ck_assert_int_eq(json_object_get_int(json_object_object_get(t, "tid")), 4243);
	/* 1 s alive - 0.734 s waiting - 0.2 s running - 1 ms switching. */
	ck_assert_double_eq_tol(json_object_get_double(json_object_object_get(t, "blocked_other_s")), 0.065, 1e-6);
	ck_assert_double_eq_tol(json_object_get_double(json_object_object_get(t, "alive_s")), 1.0, 1e-6);
	ck_assert_str_eq(json_object_get_string(json_object_object_get(t, "name")), "worker-1");
	ck_assert_double_eq_tol(json_object_get_double(json_object_object_get(t, "gil_wait_s")), 0.734, 1e-9);
	ck_assert_int_eq(json_object_get_int(json_object_object_get(t, "gil_waits")), 147);
	ck_assert_double_eq_tol(json_object_get_double(json_object_object_get(t, "switch_wait_s")), 0.001, 1e-9);
	/* Names are escaped; invalid UTF-8 becomes U+FFFD. */
	t = json_object_array_get_idx(threads, 1);
	ck_assert_str_eq(json_object_get_string(json_object_object_get(t, "name")), "we\"ird\\\n\xef\xbf\xbd");
	ck_assert(!json_object_get_boolean(json_object_object_get(t, "alive")));
	json_object_put(obj);
	free(text);
}
END_TEST

/* Every counter, the process's own since attach: lost_waits sums both
 * full maps; one the back end does not count is null, never 0. */
START_TEST(json_counters)
{
	struct thread_stats a = thread(4243, "worker-1", 1000, 1, true);
	struct thread_stats *order[] = { &a };
	struct report r = { .target = &target, .interval_s = 1.0, .elapsed_s = 1.0, .threads = order, .nthreads = 1 };
	char *text;
	json_object *obj;

	r.counts.counted = 1u << GS_COUNT_ENTRY_HITS | 1u << GS_COUNT_RETURN_HITS | 1u << GS_COUNT_ROWS_FULL |
			   1u << GS_COUNT_INFLIGHT_FULL | 1u << GS_COUNT_CPU_FULL;
	r.counts.total[GS_COUNT_ENTRY_HITS] = 300;
	r.counts.total[GS_COUNT_RETURN_HITS] = 298;
	r.counts.total[GS_COUNT_ROWS_FULL] = 3;
	r.counts.total[GS_COUNT_INFLIGHT_FULL] = 4;
	r.counts.total[GS_COUNT_CPU_FULL] = 5;
	r.counts.total[GS_COUNT_HELD_FULL] = 9; /* not counted here: not shown */
	text = render_to_string(json_plain, &r);
	obj = json_tokener_parse(text);
	ck_assert_msg(obj != NULL, "not JSON: %s", text);
	ck_assert_int_eq(json_object_get_int(json_object_object_get(obj, "probe_hits")), 300);
	ck_assert_int_eq(json_object_get_int(json_object_object_get(obj, "return_hits")), 298);
	ck_assert_int_eq(json_object_get_int(json_object_object_get(obj, "lost_waits")), 7);
	ck_assert_int_eq(json_object_get_int(json_object_object_get(obj, "lost_waits_rows_full")), 3);
	ck_assert_int_eq(json_object_get_int(json_object_object_get(obj, "lost_waits_inflight_full")), 4);
	ck_assert_int_eq(json_object_get_int(json_object_object_get(obj, "lost_cpu_slices")), 5);
	for (const char *const *name = (const char *const[]){ "switch_hits", "lost_held_periods", "lost_runq_periods",
								 NULL };
	     *name; name++) {
		json_object *v = NULL;
		ck_assert_msg(json_object_object_get_ex(obj, *name, &v) && v == NULL, "%s not null: %s", *name, text);
	}
	json_object_put(obj);
	free(text);
}
END_TEST

/* One warning line for what the period lost, kinds that lost nothing left
 * out; losses of earlier periods only (in the totals) warn no more. */
START_TEST(text_lost_warning)
{
	struct thread_stats a = thread(4243, "worker-1", 1000, 1, true);
	struct thread_stats *order[] = { &a };
	struct report r = { .target = &target, .interval_s = 1.0, .elapsed_s = 1.0, .threads = order, .nthreads = 1 };
	char *text;

	r.counts.counted = (1u << GS_COUNTERS) - 1;
	r.counts.total[GS_COUNT_ROWS_FULL] = r.counts.period[GS_COUNT_ROWS_FULL] = 2;
	r.counts.total[GS_COUNT_INFLIGHT_FULL] = r.counts.period[GS_COUNT_INFLIGHT_FULL] = 1;
	r.counts.total[GS_COUNT_SCHED_FULL] = r.counts.period[GS_COUNT_SCHED_FULL] = 6;
	r.counts.total[GS_COUNT_HELD_FULL] = 4;
	text = render_to_string(render_text, &r);
	ck_assert_msg(strstr(text, "\nwarning: lost: 3 waits (map full), 6 run-queue periods\n") != NULL, "%s", text);
	/* One line only. */
	ck_assert_ptr_null(strstr(strstr(text, "warning") + 1, "warning"));
	free(text);
	memset(r.counts.period, 0, sizeof r.counts.period);
	text = render_to_string(render_text, &r);
	ck_assert_msg(strstr(text, "warning") == NULL, "%s", text);
	free(text);
	/* Not counted by the back end: nothing to warn of, whatever the slot. */
	r.counts.period[GS_COUNT_CPU_FULL] = 8;
	r.counts.counted &= ~(1u << GS_COUNT_CPU_FULL);
	text = render_to_string(render_text, &r);
	ck_assert_msg(strstr(text, "warning") == NULL, "%s", text);
	free(text);
}
END_TEST

/* Hold figures: null (never 0) while unknown; with them, a thread's stacks. */
START_TEST(json_hold_figures)
{
	struct thread_stats a = thread(4243, "holder", 0, 0, true);
	struct thread_stats *order[] = { &a };
	char *frames[] = { strdup("clock_nanosleep"), strdup("usleep") };
	struct hold_stack stack = { .tid = 4243, .stackid = 3, .interval = { 400000000 }, .run = { 400000000 },
				    .frames = frames, .nframes = 2 };
	struct hold_state hold = { .interval = { .samples = 1000, .held = 950 }, .stacks = &stack, .nstacks = 1 };
	struct report r = { .target = &target, .interval_s = 1.0, .elapsed_s = 1.0, .threads = order, .nthreads = 1,
			    .hold = &hold };
	json_object *obj, *t, *stacks;
	char *text;

	a.interval.hold_ns = 900000000;
	a.interval.blocked_ns = 400000000;
	text = render_to_string(json_plain, &r);
	obj = json_tokener_parse(text);
	t = json_object_array_get_idx(json_object_object_get(obj, "threads"), 0);
	ck_assert(json_object_object_get_ex(obj, "gil_held_pct", NULL));
	ck_assert_ptr_null(json_object_object_get(obj, "gil_held_pct")); /* not sampling */
	ck_assert(json_object_object_get_ex(t, "gil_hold_s", NULL));
	ck_assert_ptr_null(json_object_object_get(t, "gil_hold_s"));
	ck_assert_ptr_null(json_object_object_get(t, "gil_held_blocked_s"));
	ck_assert(!json_object_object_get_ex(t, "held_blocked_stacks", NULL));
	json_object_put(obj);
	free(text);

	hold.sampling = hold.blocked_available = hold.confirmed = true;
	text = render_to_string(json_plain, &r);
	obj = json_tokener_parse(text);
	t = json_object_array_get_idx(json_object_object_get(obj, "threads"), 0);
	ck_assert_double_eq_tol(json_object_get_double(json_object_object_get(obj, "gil_held_pct")), 95.0, 1e-9);
	ck_assert_double_eq_tol(json_object_get_double(json_object_object_get(t, "gil_hold_s")), 0.9, 1e-9);
	ck_assert_double_eq_tol(json_object_get_double(json_object_object_get(t, "gil_held_blocked_s")), 0.4, 1e-9);
	stacks = json_object_object_get(t, "held_blocked_stacks");
	ck_assert_uint_eq(json_object_array_length(stacks), 1);
	json_object *first = json_object_array_get_idx(stacks, 0);
	ck_assert_str_eq(json_object_get_string(json_object_array_get_idx(json_object_object_get(first, "stack"), 1)),
			 "usleep");
	ck_assert_double_eq_tol(json_object_get_double(json_object_object_get(first, "s")), 0.4, 1e-9);
	json_object_put(obj);
	free(text);
	free(frames[0]);
	free(frames[1]);
}
END_TEST

START_TEST(summary_uses_whole_run_figures)
{
	struct thread_stats a = thread(7, "main", 1000000, 2, true);
	struct thread_stats *order[] = { &a };
	struct report_target heuristic = target;
	struct report r = { .target = &heuristic, .interval_s = 3.0, .elapsed_s = 3.0, .summary = true,
			    .threads = order, .nthreads = 1 };
	char *text;
	json_object *obj, *t;

	heuristic.gil_address = 0;
	heuristic.gil_method = "heuristic";
	text = render_to_string(json_plain, &r);
	obj = json_tokener_parse(text);
	ck_assert_ptr_nonnull(obj);
	ck_assert(json_object_get_boolean(json_object_object_get(obj, "summary")));
	ck_assert(json_object_object_get_ex(obj, "gil_address", NULL));
	ck_assert_ptr_null(json_object_object_get(obj, "gil_address"));
	t = json_object_array_get_idx(json_object_object_get(obj, "threads"), 0);
	ck_assert_double_eq_tol(json_object_get_double(json_object_object_get(t, "gil_wait_s")), 0.003, 1e-9);
	ck_assert_int_eq(json_object_get_int(json_object_object_get(t, "gil_waits")), 6);
	json_object_put(obj);
	free(text);
}
END_TEST

/* The folded ended threads carry a thread's figures, so the listed
 * threads and the fold add up to the process. */
START_TEST(summary_folded_threads_add_up)
{
	struct thread_stats a = thread(7, "main", 1000000, 2, true);
	struct thread_stats *order[] = { &a };
	struct folded_threads folded = { .threads = 1500 };
	struct report_target known = target;
	struct report r = { .target = &known, .interval_s = 3.0, .elapsed_s = 3.0, .summary = true,
			    .threads = order, .nthreads = 1, .folded = &folded };
	json_object *obj, *f;
	char *text;

	known.cpu_wait_known = known.steal_known = true;
	folded.run.cpu_ns = 2500000000;
	folded.run.steal_ns = 300000000;
	folded.run.cpu_wait_ns = 700000000;
	folded.run.alive_ns = 4000000000;
	folded.run.hold_ns = 2000000000;
	folded.run.blocked_other_ns = 800000000;
	text = render_to_string(json_plain, &r);
	obj = json_tokener_parse(text);
	ck_assert_ptr_nonnull(obj);
	f = json_object_object_get(obj, "folded_threads");
	ck_assert_ptr_nonnull(f);
	ck_assert_int_eq(json_object_get_int(json_object_object_get(f, "threads")), 1500);
	ck_assert_double_eq_tol(json_object_get_double(json_object_object_get(f, "cpu_s")), 2.5, 1e-9);
	ck_assert_double_eq_tol(json_object_get_double(json_object_object_get(f, "cpu_wait_s")), 0.7, 1e-9);
	ck_assert_double_eq_tol(json_object_get_double(json_object_object_get(f, "steal_s")), 0.3, 1e-9);
	ck_assert_double_eq_tol(json_object_get_double(json_object_object_get(f, "alive_s")), 4.0, 1e-9);
	ck_assert_double_eq_tol(json_object_get_double(json_object_object_get(f, "blocked_other_s")), 0.8, 1e-9);
	json_object_put(obj);
	free(text);
	/* Without the run queue's figures, null as a thread's, and blocked
	 * elsewhere is what alive time the other figures (steal too) leave. */
	known.cpu_wait_known = false;
	text = render_to_string(json_plain, &r);
	obj = json_tokener_parse(text);
	f = json_object_object_get(obj, "folded_threads");
	ck_assert(json_object_object_get_ex(f, "cpu_wait_s", NULL));
	ck_assert_ptr_null(json_object_object_get(f, "cpu_wait_s"));
	ck_assert_double_eq_tol(json_object_get_double(json_object_object_get(f, "blocked_other_s")), 1.2, 1e-9);
	json_object_put(obj);
	free(text);
}
END_TEST

START_TEST(text_table_columns)
{
	struct thread_stats a = thread(4243, "a-very-long-thread-name", 734000000, 147, true);
	struct thread_stats b = thread(99, "gone", 0, 0, false);
	struct thread_stats *order[] = { &a, &b };
	struct report r = { .target = &target, .interval_s = 1.0, .elapsed_s = 1.0, .threads = order,
			    .nthreads = 2 };
	char *text, *header, *row;

	a.interval.cpu_ns = 250000000; /* 0.25 s of CPU in 1 s */
	a.cpu_sampled = true;
	a.interval.alive_ns = 1000000000;
	b.interval.alive_ns = 500000000; /* ended half way */
	text = render_to_string(render_text, &r);
	header = strstr(text, "    TID NAME");
	row = strstr(text, "   4243 a-very-long-thr ");
	ck_assert_ptr_nonnull(header);
	ck_assert_msg(row != NULL, "%s", text);
	/* TID first, then NAME, CPU%, GIL WAIT%: numbers right-aligned under them. */
	ck_assert_int_eq((int)(strstr(row, " 25.0 ") - row) + 5, (int)(strstr(header, "CPU%") - header) + 4);
	ck_assert_int_eq((int)(strstr(row, " 73.4 ") - row) + 5, (int)(strstr(header, "GIL WAIT%") - header) + 9);
	ck_assert_ptr_nonnull(strstr(text, "(ended)"));
	/* The queue over the interval, the share over the 1.5 thread-seconds alive. */
	ck_assert_ptr_nonnull(strstr(text, "threads 1 alive / 2 seen  waiting for the GIL: 0.73 threads' worth (48.9%)"));
	/* What is traced first, the totals, then the verdict. */
	ck_assert_msg(strncmp(text, "pid 4242 (python3)  Python 3.11.2  GIL 0xa5b8c8 (exact, futex probe)\n", 68) == 0,
		      "%s", text);
	ck_assert_ptr_nonnull(strstr(text, " seen  waiting for the GIL: 0.73 threads' worth (48.9%)\nGIL contention is "
					   "moderate"));
	ck_assert_ptr_null(strchr(text, '\033'));
	free(text);
}
END_TEST

/* The BPF programs' cost: on the line it is given to (one per period in a
 * fleet), absent from the others; after the verdict in text. */
START_TEST(bpf_cost_on_its_line_only)
{
	struct thread_stats a = thread(4243, "worker-1", 734000000, 147, true);
	struct thread_stats *order[] = { &a };
	struct report r = { .target = &target, .interval_s = 1.0, .elapsed_s = 1.0, .threads = order, .nthreads = 1 };
	struct bpf_prog_stat s = { .name = "gs_futex_enter", .loaded = true };
	struct bpf_cost cost;
	json_object *obj, *v;
	char *text;

	bpf_cost_start(&cost, true, 0);
	bpf_cost_read(&cost, &s, 1, 1.0);
	s.runs = 1000;
	s.ns = 150000;
	bpf_cost_read(&cost, &s, 1, 2.0);
	text = render_to_string(json_plain, &r);
	obj = json_tokener_parse(text);
	ck_assert(!json_object_object_get_ex(obj, "bpf_cpu_s", NULL));
	ck_assert(!json_object_object_get_ex(obj, "bpf_programs", NULL));
	json_object_put(obj);
	free(text);
	r.bpf = &cost;
	text = render_to_string(json_plain, &r);
	obj = json_tokener_parse(text);
	ck_assert_msg(json_object_object_get_ex(obj, "bpf_cpu_s", &v), "%s", text);
	ck_assert_double_eq_tol(json_object_get_double(v), 150e-6, 1e-12);
	ck_assert_uint_eq(json_object_array_length(json_object_object_get(obj, "bpf_programs")), 1);
	json_object_put(obj);
	free(text);
	text = render_to_string(render_text, &r);
	ck_assert_msg(strstr(text, "\ngilstats' bpf programs: 0.15 ms CPU in 1.00 s (0.01% of a CPU), 1000 runs, 150 ns "
				   "a run\n    TID NAME") != NULL, "%s", text);
	free(text);
}
END_TEST

START_TEST(several_gils_namespaces_and_a_disabled_gil)
{
	struct thread_stats a = thread(4243, "in-sub", 10, 1, true);
	struct thread_stats *order[] = { &a };
	struct report_target tg = target;
	struct report r = { .target = &tg, .interval_s = 1.0, .elapsed_s = 1.0, .threads = order, .nthreads = 1 };
	json_object *obj, *t;
	char *text;

	a.gil_address = 0x7f0000001020;
	a.ns_tid = 12;
	tg.several_gils = true;
	text = render_to_string(json_plain, &r);
	obj = json_tokener_parse(text);
	ck_assert(json_object_get_boolean(json_object_object_get(obj, "gil_enabled")));
	t = json_object_array_get_idx(json_object_object_get(obj, "threads"), 0);
	ck_assert_str_eq(json_object_get_string(json_object_object_get(t, "gil_address")), "0x7f0000001020");
	ck_assert_int_eq(json_object_get_int(json_object_object_get(t, "ns_tid")), 12);
	json_object_put(obj);
	free(text);
	/* One GIL, same namespace: neither field. */
	tg.several_gils = false;
	a.ns_tid = a.tid;
	text = render_to_string(json_plain, &r);
	ck_assert_ptr_null(strstr(text, "ns_tid"));
	/* Only the process-level gil_address remains. */
	ck_assert_ptr_nonnull(strstr(text, "gil_address"));
	ck_assert_ptr_null(strstr(strstr(text, "gil_address") + 1, "gil_address"));
	free(text);
	/* Free-threaded without its GIL: said plainly, no empty table. */
	tg.gil_enabled = false;
	text = render_to_string(render_text, &r);
	ck_assert_ptr_nonnull(strstr(text, "free-threaded build: the GIL is disabled"));
	ck_assert_ptr_null(strstr(text, "TID"));
	free(text);
	text = render_to_string(json_plain, &r);
	ck_assert_ptr_nonnull(strstr(text, "\"gil_enabled\": false"));
	free(text);
}
END_TEST

/* --group: JSON has one object per role instead of the threads. */
START_TEST(json_grouped_by_role)
{
	struct thread_stats a = thread(4243, "Thread-1 (handler)", 300000000, 60, true);
	struct thread_stats b = thread(4244, "Thread-2 (handler)", 100000000, 20, false);
	struct thread_stats c = thread(4245, "MainThread", 0, 0, true);
	struct thread_stats *order[] = { &a, &b, &c };
	struct report r = { .target = &target, .interval_s = 1.0, .elapsed_s = 1.0, .threads = order, .nthreads = 3,
			    .group = true, .short_s = 0.5 };
	json_object *obj, *roles, *g;
	char *text;

	a.interval.alive_ns = c.interval.alive_ns = 1000000000;
	b.interval.alive_ns = 400000000;
	a.interval.cpu_ns = 200000000;
	text = render_to_string(json_plain, &r);
	obj = json_tokener_parse(text);
	ck_assert_msg(obj != NULL, "not JSON: %s", text);
	ck_assert_ptr_null(json_object_object_get(obj, "threads"));
	roles = json_object_object_get(obj, "roles");
	ck_assert_uint_eq(json_object_array_length(roles), 2);
	g = json_object_array_get_idx(roles, 0);
	ck_assert_str_eq(json_object_get_string(json_object_object_get(g, "role")), "Thread-* (handler)");
	ck_assert_int_eq(json_object_get_int(json_object_object_get(g, "threads")), 2);
	ck_assert_int_eq(json_object_get_int(json_object_object_get(g, "alive")), 1);
	ck_assert_double_eq_tol(json_object_get_double(json_object_object_get(g, "gil_wait_s")), 0.4, 1e-6);
	ck_assert_double_eq_tol(json_object_get_double(json_object_object_get(g, "alive_s")), 1.4, 1e-6);
	ck_assert_int_eq(json_object_get_int(json_object_object_get(g, "gil_waits")), 80);
	/* Unknown holding is null, never 0. */
	ck_assert(json_object_is_type(json_object_object_get(g, "gil_hold_s"), json_type_null));
	ck_assert_int_eq(json_object_get_int(json_object_object_get(obj, "threads_seen")), 3);
	json_object_put(obj);
	free(text);
}
END_TEST

/* The text CPU WAIT% column of the role row named role, of r. */
static void group_row_cpu_wait(const struct report *r, const char *role, char *out, size_t len)
{
	char *text = render_to_string(render_text, r), *header = strstr(text, "    TID NAME"), *row = strstr(text, role);
	int end;

	ck_assert_msg(header && row, "%s", text);
	while (row > text && row[-1] != '\n')
		row--;
	end = (int)(strstr(header, "CPU WAIT%") - header) + 9;
	/* Right-aligned under its header: the word that ends there. */
	int begin = end;
	while (begin > 0 && row[begin - 1] != ' ')
		begin--;
	snprintf(out, len, "%.*s", end - begin, row + begin);
	free(text);
}

/* A role row in text shows CPU WAIT% over the thread-seconds alive,
 * measured or '-' (never 0.0 for unknown). */
START_TEST(text_group_row_cpu_wait)
{
	struct thread_stats a = thread(4243, "Thread-1 (handler)", 300000000, 60, true);
	struct thread_stats b = thread(4244, "Thread-2 (handler)", 100000000, 20, true);
	struct thread_stats *order[] = { &a, &b };
	struct report_target tg = target;
	struct report r = { .target = &tg, .interval_s = 1.0, .elapsed_s = 1.0, .threads = order, .nthreads = 2,
			    .group = true, .short_s = 0.5 };
	char figure[16];

	a.interval.alive_ns = b.interval.alive_ns = 1000000000;
	a.interval.cpu_wait_ns = 500000000;
	b.interval.cpu_wait_ns = 100000000; /* 0.6 s of 2 thread-seconds */
	tg.cpu_wait_known = true;
	group_row_cpu_wait(&r, "Thread-* (handl", figure, sizeof figure);
	ck_assert_str_eq(figure, "30.0");
	tg.cpu_wait_known = false;
	group_row_cpu_wait(&r, "Thread-* (handl", figure, sizeof figure);
	ck_assert_str_eq(figure, "-");
}
END_TEST

START_TEST(durations)
{
	char b[16];

	format_duration(0, b, sizeof b);
	ck_assert_str_eq(b, "0us");
	format_duration(12400, b, sizeof b);
	ck_assert_str_eq(b, "12us");
	format_duration(5100000, b, sizeof b);
	ck_assert_str_eq(b, "5.10ms");
	format_duration(734000000, b, sizeof b);
	ck_assert_str_eq(b, "734.0ms");
	format_duration(1234000000, b, sizeof b);
	ck_assert_str_eq(b, "1.23s");
	format_duration(12345000000000ull, b, sizeof b);
	ck_assert_str_eq(b, "12345s");
}
END_TEST

START_TEST(selection_and_order)
{
	struct stats st = { 0 };
	struct thread_stats v[4];
	struct thread_stats *order[4];
	struct table_entry entries[4];
	struct report r = { .target = &target, .interval_s = 1.0, .threads = order, .entries = entries };

	v[0] = thread(10, "idle", 0, 0, true);
	v[1] = thread(11, "busy", 900, 9, true);
	v[2] = thread(12, "ended-long-ago", 5000, 5, false);
	v[3] = thread(13, "just-ended", 100, 1, false);
	v[3].ended_now = true;
	v[0].interval.cpu_ns = 900000000;
	st.threads = v;
	st.nthreads = 4;
	report_select(&r, &st, false);
	ck_assert_uint_eq(r.nthreads, 3);
	ck_assert_int_eq(order[0]->tid, 11);
	ck_assert_int_eq(order[1]->tid, 13);
	ck_assert_int_eq(order[2]->tid, 10);
	/* The live screen keeps ended threads, marked. */
	report_select(&r, &st, true);
	ck_assert_uint_eq(r.nthreads, 4);
	r.sort = SORT_CPU;
	report_select(&r, &st, false);
	ck_assert_int_eq(order[0]->tid, 10);
	r.sort = SORT_TID;
	report_select(&r, &st, false);
	ck_assert_int_eq(order[0]->tid, 10);
	ck_assert_int_eq(order[2]->tid, 13);
	r.summary = true;
	r.sort = SORT_GIL_WAIT;
	report_select(&r, &st, false);
	ck_assert_uint_eq(r.nthreads, 4);
	ck_assert_int_eq(order[0]->tid, 12);
}
END_TEST

/* Whether a comes before b by key, as the table sorts: largest first
 * (TID: ascending), ties by TID; from the figures afresh. */
static bool sorted_before(const struct thread_stats *a, const struct thread_stats *b, enum sort_key key)
{
	struct row_figures fa, fb;
	int c = 0;

	row_figures(a, false, 2.0, &fa);
	row_figures(b, false, 2.0, &fb);
	if (key == SORT_GIL_WAIT)
		c = wait_figures_compare(&b->interval.gil, &a->interval.gil);
	else if (key == SORT_CPU)
		c = (fb.cpu_pct > fa.cpu_pct) - (fb.cpu_pct < fa.cpu_pct);
	else if (key == SORT_WAITS)
		c = (fb.waits_per_s > fa.waits_per_s) - (fb.waits_per_s < fa.waits_per_s);
	else if (key == SORT_MAX_WAIT)
		c = (fb.max_ns > fa.max_ns) - (fb.max_ns < fa.max_ns);
	return c ? c < 0 : a->tid < b->tid;
}

/* The rows' figures are computed once, before the sort: the order is the
 * one the figures give, and each row keeps its thread's figures. */
START_TEST(selection_sorts_on_computed_figures)
{
	enum { N = 200 };
	static struct thread_stats v[N];
	struct thread_stats *order[N];
	struct table_entry entries[N];
	struct stats st = { .threads = v, .nthreads = N };
	struct report r = { .target = &target, .interval_s = 2.0, .threads = order, .entries = entries };
	uint64_t x = 7;

	for (int i = 0; i < N; i++) {
		x = x * 6364136223846793005ull + 1442695040888963407ull;
		v[i] = thread(100 + i, "w", (x >> 40) % 7 * 1000000, (x >> 20) % 5, true);
		v[i].interval.cpu_ns = (x >> 30) % 4 * 250000000; /* many ties: by TID */
	}
	for (int key = 0; key < SORT_KEYS; key++) {
		r.sort = (enum sort_key)key;
		report_select(&r, &st, false);
		ck_assert_uint_eq(r.nthreads, N);
		for (size_t i = 0; i < N; i++) {
			struct row_figures f;
			row_figures(order[i], false, 2.0, &f);
			ck_assert_ptr_eq(entries[i].thread, order[i]);
			ck_assert_double_eq(entries[i].fig.cpu_pct, f.cpu_pct);
			ck_assert_double_eq(entries[i].fig.wait_pct, f.wait_pct);
			ck_assert(i == 0 || sorted_before(order[i - 1], order[i], r.sort));
		}
	}
}
END_TEST

Suite *render_suite(void)
{
	Suite *s = suite_create("render");
	TCase *tc = tcase_create("format");

	tcase_add_test(tc, json_line_has_the_contract_fields);
	tcase_add_test(tc, summary_uses_whole_run_figures);
	tcase_add_test(tc, summary_folded_threads_add_up);
	tcase_add_test(tc, text_table_columns);
	tcase_add_test(tc, bpf_cost_on_its_line_only);
	tcase_add_test(tc, several_gils_namespaces_and_a_disabled_gil);
	tcase_add_test(tc, durations);
	tcase_add_test(tc, json_grouped_by_role);
	tcase_add_test(tc, text_group_row_cpu_wait);
	tcase_add_test(tc, json_hold_figures);
	tcase_add_test(tc, json_counters);
	tcase_add_test(tc, text_lost_warning);
	tcase_add_test(tc, selection_and_order);
	tcase_add_test(tc, selection_sorts_on_computed_figures);
	suite_add_tcase(s, tc);
	return s;
}
