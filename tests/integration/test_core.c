/* End to end: the built gilstats traces real CPython workloads with real
 * eBPF, and the figures it prints are checked against what the workload
 * must have waited. Run as root; skipped (77) only without root or BPF. */
#include "config.h"

#include <check.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "suites.h"

#define CPU_THREADS 4

static void assert_exact(json_object *line, const struct workload *w)
{
	const char *version = field_string(w->report, "python_version");

	ck_assert_str_eq(field_string(line, "gil_method"), "exact");
	ck_assert_ptr_nonnull(field_string(line, "gil_address"));
	ck_assert_str_eq(field_string(line, "python_version"), version);
	ck_assert_int_eq((int)field_double(line, "pid"), (int)w->pid);
}

static void start(struct workload *w, const char *const *args, bool decoy)
{
	struct workload_options o = { .args = args, .decoy = decoy };

	workload_start(w, &default_python, &o);
}

START_TEST(cpu_threads_wait_n_minus_one)
{
	const char *extra[] = { "--cpu-threads", "4", "--io-threads", "1", NULL };
	struct workload w;
	struct tool_run r;

	start(&w, extra, false);
	tool_run(&r, (const char *[]){ "--json", workload_pid_arg(&w), "1", "3", NULL }, 60, 0, 0);
	ck_assert_msg(r.exit_code == 0, "exit %d, stderr: %s", r.exit_code, r.err);
	ck_assert_uint_eq(r.nlines, 4);
	json_object *cpu = json_object_object_get(w.report, "cpu");
	for (size_t i = 0; i < 3; i++) {
		ck_assert(!json_object_get_boolean(json_object_object_get(r.lines[i], "summary")));
		assert_exact(r.lines[i], &w);
		assert_cpu_wait(default_python.label, r.lines[i], cpu, CPU_THREADS, 0.15);
		/* Every wait is one 5 ms slice at most (plus scheduling). */
		json_object *t = find_thread(r.lines[i], json_object_get_int(json_object_array_get_idx(cpu, 0)));
		ck_assert_ptr_nonnull(t);
		ck_assert(field_double(t, "gil_waits") > 0);
		ck_assert(field_double(t, "gil_wait_max_s") > 0 && field_double(t, "gil_wait_max_s") < 0.2);
	}
	json_object *summary = r.lines[3];
	ck_assert(json_object_get_boolean(json_object_object_get(summary, "summary")));
	assert_cpu_wait(default_python.label, summary, cpu, CPU_THREADS, 0.15);
	/* The sleeping thread waits for the GIL at every wake-up too. */
	json_object *io = json_object_object_get(w.report, "io");
	ck_assert(sum_over_threads(summary, "gil_waits", io) > 0);
	tool_run_free(&r);
	workload_stop(&w);
}
END_TEST

START_TEST(decoy_condvar_is_not_the_gil)
{
	const char *extra[] = { "--cpu-threads", "4", "--io-threads", "0", NULL };
	struct workload w;
	struct tool_run r;

	start(&w, extra, true);
	tool_run(&r, (const char *[]){ "--json", workload_pid_arg(&w), "1", "2", NULL }, 60, 0, 0);
	ck_assert_msg(r.exit_code == 0, "exit %d, stderr: %s", r.exit_code, r.err);
	ck_assert_uint_eq(r.nlines, 3);
	json_object *decoy = json_object_object_get(w.report, "decoy");
	ck_assert_uint_eq(json_object_array_length(decoy), 2);
	for (size_t i = 0; i < r.nlines; i++) {
		assert_exact(r.lines[i], &w);
		ck_assert(sum_over_threads(r.lines[i], "gil_waits", decoy) == 0);
		ck_assert(sum_over_threads(r.lines[i], "switch_waits", decoy) == 0);
	}
	/* The decoy really waits, more often than all GIL waiters together. */
	ck_assert(field_double(r.lines[2], "probe_hits") > 2 * sum_over_threads(r.lines[2], "gil_waits",
			json_object_object_get(w.report, "cpu")));
	assert_cpu_wait(default_python.label, r.lines[2], json_object_object_get(w.report, "cpu"), CPU_THREADS, 0.15);
	tool_run_free(&r);
	workload_stop(&w);
}
END_TEST

START_TEST(sigint_prints_the_summary)
{
	const char *extra[] = { "--cpu-threads", "4", NULL };
	struct workload w;
	struct tool_run r;

	start(&w, extra, false);
	tool_run(&r, (const char *[]){ "--json", workload_pid_arg(&w), "0.5", NULL }, 60, SIGINT, 1.2);
	ck_assert_msg(r.exit_code == 0, "exit %d, stderr: %s", r.exit_code, r.err);
	ck_assert_uint_ge(r.nlines, 3);
	json_object *summary = r.lines[r.nlines - 1];
	ck_assert(json_object_get_boolean(json_object_object_get(summary, "summary")));
	/* The summary covers the whole run: the intervals add up to it. */
	json_object *cpu = json_object_object_get(w.report, "cpu");
	double sum = 0;
	for (size_t i = 0; i + 1 < r.nlines; i++)
		sum += sum_over_threads(r.lines[i], "gil_wait_s", cpu);
	double total = sum_over_threads(summary, "gil_wait_s", cpu);
	ck_assert_msg(total > sum - 1e-3 && total < sum + 1e-3, "summary %.6f != sum of intervals %.6f", total, sum);
	ck_assert(workload_alive(&w));
	tool_run_free(&r);
	workload_stop(&w);
}
END_TEST

START_TEST(target_exit_ends_the_run)
{
	const char *extra[] = { "--cpu-threads", "2", "--seconds", "2.5", NULL };
	struct workload w;
	struct tool_run r;

	start(&w, extra, false);
	tool_run(&r, (const char *[]){ "--json", workload_pid_arg(&w), "1", NULL }, 30, 0, 0);
	ck_assert_msg(r.exit_code == 0, "exit %d, stderr: %s", r.exit_code, r.err);
	ck_assert_uint_ge(r.nlines, 2);
	json_object *summary = r.lines[r.nlines - 1];
	ck_assert(json_object_get_boolean(json_object_object_get(summary, "summary")));
	/* Noticed within an interval of the exit, not at some later timeout. */
	ck_assert(field_double(summary, "elapsed_s") < 4.0);
	/* Every thread has ended by then. */
	json_object *threads = json_object_object_get(summary, "threads");
	for (size_t i = 0; i < json_object_array_length(threads); i++)
		ck_assert(!json_object_get_boolean(
			json_object_object_get(json_object_array_get_idx(threads, i), "alive")));
	tool_run_free(&r);
	workload_stop(&w);
}
END_TEST

START_TEST(text_output_is_a_table)
{
	const char *extra[] = { "--cpu-threads", "2", NULL };
	struct workload w;
	struct tool_run r;

	start(&w, extra, false);
	tool_run(&r, (const char *[]){ workload_pid_arg(&w), "0.5", "2", NULL }, 60, 0, 0);
	ck_assert_msg(r.exit_code == 0, "exit %d, stderr: %s", r.exit_code, r.err);
	ck_assert_ptr_nonnull(strstr(r.out, "TID"));
	ck_assert_ptr_nonnull(strstr(r.out, "GIL WAIT"));
	ck_assert_ptr_nonnull(strstr(r.out, "Summary over"));
	ck_assert_ptr_nonnull(strstr(r.out, "cpu-1"));
	ck_assert_ptr_null(strchr(r.out, '\033'));
	tool_run_free(&r);
	workload_stop(&w);
}
END_TEST

START_TEST(not_a_python_process)
{
	pid_t child = fork();
	char pid[16];
	struct tool_run r;

	ck_assert_int_ge(child, 0);
	if (child == 0) {
		execlp("sleep", "sleep", "30", (char *)NULL);
		_exit(127);
	}
	usleep(200000);
	snprintf(pid, sizeof pid, "%d", (int)child);
	tool_run(&r, (const char *[]){ pid, NULL }, 30, 0, 0);
	kill(child, SIGKILL);
	ck_assert_int_eq(r.exit_code, 3);
	ck_assert_ptr_nonnull(strstr(r.err, "not a python process"));
	ck_assert_ptr_eq(strchr(r.err, '\n'), r.err + strlen(r.err) - 1);
	tool_run_free(&r);
}
END_TEST

/* CPU time comes from the kernel's switches: a thread that runs alone
 * is on a CPU the whole interval, one that sleeps nearly never. */
START_TEST(cpu_time_of_a_spinner_and_a_sleeper)
{
	const char *extra[] = { "--cpu-threads", "1", "--io-threads", "1", NULL };
	struct workload w;
	struct tool_run r;

	start(&w, extra, false);
	tool_run(&r, (const char *[]){ "--json", workload_pid_arg(&w), "1", "3", NULL }, 60, 0, 0);
	ck_assert_msg(r.exit_code == 0, "exit %d, stderr: %s", r.exit_code, r.err);
	ck_assert_uint_eq(r.nlines, 4);
	for (size_t i = 0; i < r.nlines; i++) {
		double t = field_double(r.lines[i], "interval_s");
		double spin = sum_over_threads(r.lines[i], "cpu_s", json_object_object_get(w.report, "cpu"));
		double nap = sum_over_threads(r.lines[i], "cpu_s", json_object_object_get(w.report, "io"));
		fprintf(stderr, "cpu time in %.3f s: spinner %.3f s, sleeper %.3f s\n", t, spin, nap);
		/* Two CPUs: the spinner shares its own with little but the
		 * sleeper's wake-ups; the interval itself is measured to 1 ms. */
		ck_assert_msg(spin > 0.85 * t && spin < t + 0.01, "spinner on a CPU %.3f s of %.3f s", spin, t);
		ck_assert_msg(nap < 0.1 * t, "sleeper on a CPU %.3f s of %.3f s", nap, t);
	}
	workload_stop(&w);
	tool_run_free(&r);
}
END_TEST

Suite *core_suite(void)
{
	Suite *s = suite_create("core");
	TCase *tc = tcase_create("core");

	tcase_set_timeout(tc, 120);
	tcase_add_test(tc, cpu_threads_wait_n_minus_one);
	tcase_add_test(tc, cpu_time_of_a_spinner_and_a_sleeper);
	tcase_add_test(tc, decoy_condvar_is_not_the_gil);
	tcase_add_test(tc, sigint_prints_the_summary);
	tcase_add_test(tc, target_exit_ends_the_run);
	tcase_add_test(tc, text_output_is_a_table);
	tcase_add_test(tc, not_a_python_process);
	suite_add_tcase(s, tc);
	return s;
}
