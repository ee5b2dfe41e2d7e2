/* End to end: the built gilstats traces real CPython workloads with real
 * eBPF, and the figures it prints are checked against what the workload
 * must have waited. Run as root; skipped (77) only without root or BPF. */
#include "config.h"

#include <check.h>
#include <inttypes.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
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

/* The longest wait is at most the total, and at least the mean of the
 * waits that ended and the one still in progress at the boundary (the
 * total has its part so far, the count only the ended ones). */
static void assert_longest_wait(json_object *t)
{
	double total = field_double(t, "gil_wait_s"), n = field_double(t, "gil_waits");
	double longest = field_double(t, "gil_wait_max_s");

	ck_assert(n > 0);
	ck_assert_msg(longest >= total / (n + 1) - 1e-6 && longest <= total + 1e-6,
		      "longest wait %.6f s; %.0f waits, %.6f s", longest, n, total);
}

/* The CPU threads' waits are what the kernel saw them blocked, in every
 * interval and over the run. */
START_TEST(cpu_threads_wait_n_minus_one)
{
	const char *extra[] = { "--cpu-threads", "4", "--io-threads", "1", NULL };
	struct kernel_truth *k = truth_start();
	struct workload w;
	struct tool_run r;

	start(&w, extra, false);
	truth_watch(k, w.pid);
	tool_run(&r, (const char *[]){ "--json", workload_pid_arg(&w), "1", "3", NULL }, 60, 0, 0);
	ck_assert_msg(r.exit_code == 0, "exit %d, stderr: %s", r.exit_code, r.err);
	ck_assert_uint_eq(r.nlines, 4);
	json_object *cpu = json_object_object_get(w.report, "cpu");
	for (size_t i = 0; i < 3; i++) {
		ck_assert(!json_object_get_boolean(json_object_object_get(r.lines[i], "summary")));
		assert_exact(r.lines[i], &w);
		assert_waits_match_kernel(default_python.label, k, &r, i, cpu, 0.10);
		json_object *t = find_thread(r.lines[i], json_object_get_int(json_object_array_get_idx(cpu, 0)));
		ck_assert_ptr_nonnull(t);
		assert_longest_wait(t);
	}
	json_object *summary = r.lines[3];
	ck_assert(json_object_get_boolean(json_object_object_get(summary, "summary")));
	assert_waits_match_kernel(default_python.label, k, &r, 3, cpu, 0.10);
	/* The sleeping thread waits for the GIL at every wake-up too. */
	json_object *io = json_object_object_get(w.report, "io");
	ck_assert(sum_over_threads(summary, "gil_waits", io) > 0);
	tool_run_free(&r);
	truth_stop(k);
	workload_stop(&w);
}
END_TEST

/* The decoy's threads block on their condvar thousands of times a second
 * (the kernel counts their switches); none of it is a GIL wait. */
START_TEST(decoy_condvar_is_not_the_gil)
{
	const char *extra[] = { "--cpu-threads", "4", "--io-threads", "0", NULL };
	struct kernel_truth *k = truth_start();
	struct workload w;
	struct tool_run r;

	start(&w, extra, true);
	truth_watch(k, w.pid);
	tool_run(&r, (const char *[]){ "--json", workload_pid_arg(&w), "1", "2", NULL }, 60, 0, 0);
	ck_assert_msg(r.exit_code == 0, "exit %d, stderr: %s", r.exit_code, r.err);
	ck_assert_uint_eq(r.nlines, 3);
	json_object *decoy = json_object_object_get(w.report, "decoy"), *cpu = json_object_object_get(w.report, "cpu");
	ck_assert_uint_eq(json_object_array_length(decoy), 2);
	for (size_t i = 0; i < r.nlines; i++) {
		struct thread_truth kt;
		double t0, t1;
		assert_exact(r.lines[i], &w);
		line_window(r.lines[i], &t0, &t1);
		truth_of_tids(k, decoy, t0, t1, &kt);
		fprintf(stderr, "decoy: %.0f times on a CPU in %.3f s, %.0f GIL waits counted\n", kt.slices, t1 - t0,
			sum_over_threads(r.lines[i], "gil_waits", decoy));
		/* It really waited: blocked and woken, again and again. */
		ck_assert_msg(kt.slices > 100, "the decoy ran only %.0f times", kt.slices);
		ck_assert(sum_over_threads(r.lines[i], "gil_waits", decoy) == 0);
		ck_assert(sum_over_threads(r.lines[i], "switch_waits", decoy) == 0);
		assert_waits_match_kernel(default_python.label, k, &r, i, cpu, 0.10);
	}
	tool_run_free(&r);
	truth_stop(k);
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

struct exited {
	const struct workload *w;
};

static bool has_exited(const void *arg)
{
	const struct workload *w = ((const struct exited *)arg)->w;
	siginfo_t info = { 0 };

	/* WNOWAIT: left a zombie, as an unreaped exit is to gilstats. */
	return waitid(P_PID, (id_t)w->pid, &info, WEXITED | WNOHANG | WNOWAIT) == 0 && info.si_pid == w->pid;
}

struct tool_done {
	struct tool_handle *h;
};

static bool tool_has_exited(const void *arg)
{
	pid_t pid = tool_pid(((const struct tool_done *)arg)->h);
	siginfo_t info = { 0 };

	return waitid(P_PID, (id_t)pid, &info, WEXITED | WNOHANG | WNOWAIT) == 0 && info.si_pid == pid;
}

START_TEST(target_exit_ends_the_run)
{
	const char *extra[] = { "--cpu-threads", "2", NULL };
	struct workload w;
	struct tool_run r;
	struct tool_handle *h;

	start(&w, extra, false);
	h = tool_start((const char *[]){ "--json", workload_pid_arg(&w), "1", NULL });
	/* The target ends after gilstats' first figures, however long
	 * attaching took on a busy machine. */
	ck_assert_msg(tool_wait_lines(h, 1, 90), "no first interval");
	ck_assert_int_eq(kill(w.pid, SIGTERM), 0);
	ck_assert(wait_until(has_exited, &(struct exited){ &w }, 60));
	double exited = monotonic_now();
	ck_assert(wait_until(tool_has_exited, &(struct tool_done){ h }, 60));
	double ended = monotonic_now();
	tool_wait(h, &r, 10);
	ck_assert_msg(r.exit_code == 0, "exit %d, stderr: %s", r.exit_code, r.err);
	ck_assert_uint_ge(r.nlines, 2);
	json_object *summary = r.lines[r.nlines - 1];
	ck_assert(json_object_get_boolean(json_object_object_get(summary, "summary")));
	/* Noticed within an interval of the exit (1 s), plus a second for a
	 * loaded machine to run it, not at some later timeout. */
	fprintf(stderr, "target exit: gilstats ended %.3f s after its target\n", ended - exited);
	ck_assert_msg(ended - exited < 1.0 + 1.0, "gilstats ended %.3f s after its target", ended - exited);
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
	ck_assert(wait_for_comm(child, "sleep", 30));
	snprintf(pid, sizeof pid, "%d", (int)child);
	tool_run(&r, (const char *[]){ pid, NULL }, 30, 0, 0);
	kill(child, SIGKILL);
	waitpid(child, NULL, 0);
	ck_assert_int_eq(r.exit_code, 3);
	ck_assert_ptr_nonnull(strstr(r.err, "not a python process"));
	ck_assert_ptr_eq(strchr(r.err, '\n'), r.err + strlen(r.err) - 1);
	tool_run_free(&r);
}
END_TEST

/* CPU time comes from the kernel's switches: the spinner's and the
 * sleeper's are what the kernel's sum_exec_runtime says, over the same
 * windows, however busy the machine is. */
START_TEST(cpu_time_of_a_spinner_and_a_sleeper)
{
	const char *extra[] = { "--cpu-threads", "1", "--io-threads", "1", NULL };
	struct kernel_truth *k = truth_start();
	struct workload w;
	struct tool_run r;

	start(&w, extra, false);
	truth_watch(k, w.pid);
	tool_run(&r, (const char *[]){ "--json", workload_pid_arg(&w), "1", "3", NULL }, 60, 0, 0);
	ck_assert_msg(r.exit_code == 0, "exit %d, stderr: %s", r.exit_code, r.err);
	ck_assert_uint_eq(r.nlines, 4);
	for (size_t i = 0; i < r.nlines; i++) {
		json_object *spinner = json_object_object_get(w.report, "cpu");
		json_object *sleeper = json_object_object_get(w.report, "io");
		assert_cpu_matches_kernel("spinner", k, r.lines[i], spinner, 0.03);
		assert_cpu_matches_kernel("sleeper", k, r.lines[i], sleeper, 0.03);
		/* They differ, so the two are not mixed up. */
		ck_assert(sum_over_threads(r.lines[i], "cpu_s", spinner) > sum_over_threads(r.lines[i], "cpu_s", sleeper));
	}
	truth_stop(k);
	workload_stop(&w);
	tool_run_free(&r);
}
END_TEST

/* What bpftool says gilstats' programs (by id) have run, read at some
 * moment in [before, after]; false when one of them was not listed. */
struct prog_sample {
	double before, after;
	uint64_t ns, runs;
};

static bool held(const struct bpf_ids *ids, unsigned id)
{
	for (size_t k = 0; k < ids->n; k++)
		if (ids->ids[k] == id)
			return true;
	return false;
}

static bool bpftool_sample(const struct bpf_ids *ids, struct prog_sample *s)
{
	char *out;
	json_object *all;
	size_t found = 0;

	s->before = monotonic_now();
	out = shell("bpftool -j prog show 2>/dev/null");
	s->after = monotonic_now();
	all = json_tokener_parse(out);
	s->ns = s->runs = 0;
	for (size_t i = 0; all && i < json_object_array_length(all); i++) {
		json_object *p = json_object_array_get_idx(all, i);
		if (!held(ids, (unsigned)json_object_get_int64(json_object_object_get(p, "id"))))
			continue;
		found++;
		/* bpftool leaves both out while they are 0. */
		s->ns += (uint64_t)json_object_get_int64(json_object_object_get(p, "run_time_ns"));
		s->runs += (uint64_t)json_object_get_int64(json_object_object_get(p, "run_cnt"));
	}
	json_object_put(all);
	free(out);
	return found == ids->n;
}

/* The kernel's counters only grow, so what gilstats read between a read
 * at some moment in [a0, a1] and one in [b0, b1] lies between bpftool's
 * difference over samples taken wholly inside (lo) and wholly outside
 * (hi) those moments. false when no sample lies outside at either end. */
static bool bracket(const struct prog_sample *s, size_t n, const double a[2], const double b[2],
		    struct prog_sample *lo, struct prog_sample *hi)
{
	const struct prog_sample *in0 = NULL, *in1 = NULL, *out0 = NULL, *out1 = NULL;

	for (size_t i = 0; i < n; i++) {
		if (s[i].after <= a[0])
			out0 = &s[i];
		if (!out1 && s[i].before >= b[1])
			out1 = &s[i];
		if (!in0 && s[i].before >= a[1])
			in0 = &s[i];
		if (s[i].after <= b[0])
			in1 = &s[i];
	}
	if (!out0 || !out1)
		return false;
	*lo = (struct prog_sample){ 0 };
	if (in0 && in1 && in1 > in0)
		*lo = (struct prog_sample){ .ns = in1->ns - in0->ns, .runs = in1->runs - in0->runs };
	*hi = (struct prog_sample){ .ns = out1->ns - out0->ns, .runs = out1->runs - out0->runs };
	return true;
}

static uint64_t line_runs(json_object *line)
{
	json_object *progs = json_object_object_get(line, "bpf_programs");
	uint64_t runs = 0;

	for (size_t i = 0; i < json_object_array_length(progs); i++)
		runs += (uint64_t)json_object_get_int64(
			json_object_object_get(json_object_array_get_idx(progs, i), "runs"));
	return runs;
}

/* gilstats reads the counters just before a line's maps: at a moment in
 * [monotonic_s - read_s - slack, monotonic_s], slack for what runs between
 * (the GIL's addresses checked, and on a loaded 2-vCPU machine a few
 * scheduler periods of preemption). It only loosens the lower bound. */
#define COST_READ_SLACK_S 0.2

/* bpftool takes 5-30 ms a sample depending on the machine: paced, so the
 * samples last the whole run (8 intervals) wherever it runs; at most
 * 20 s of them. */
#define COST_SAMPLE_PERIOD_S 0.01
#define COST_SAMPLES_MAX 2000

/* Lines i0..i1's figures, summed, against bpftool's over the same window;
 * true when the samples bracketed it. */
static bool cost_matches_bpftool(const struct tool_run *r, size_t i0, size_t i1, const struct prog_sample *s,
				 size_t n)
{
	double a[2], b[2], end, cpu_s = 0;
	struct prog_sample lo, hi;
	uint64_t runs = 0;

	for (size_t i = i0; i <= i1; i++) {
		cpu_s += field_double(r->lines[i], "bpf_cpu_s");
		runs += line_runs(r->lines[i]);
	}
	line_window(r->lines[i0], &a[1], &end);
	line_window(r->lines[i1], &end, &b[1]);
	a[0] = a[1] - field_double(r->lines[i0 - 1], "read_s") - COST_READ_SLACK_S;
	b[0] = b[1] - field_double(r->lines[i1], "read_s") - COST_READ_SLACK_S;
	if (!bracket(s, n, a, b, &lo, &hi))
		return false;
	fprintf(stderr, "bpf cost, lines %zu-%zu: gilstats %.6f s in %" PRIu64 " runs; bpftool %.6f-%.6f s, %" PRIu64
		"-%" PRIu64 " runs\n", i0, i1, cpu_s, runs, (double)lo.ns / 1e9, (double)hi.ns / 1e9, lo.runs, hi.runs);
	/* 1 ns a line of slack: bpf_cpu_s is printed to the nanosecond. */
	ck_assert_msg(cpu_s * 1e9 >= (double)lo.ns - 1.0 * (double)(i1 - i0 + 1) &&
			      cpu_s * 1e9 <= (double)hi.ns + 1.0 * (double)(i1 - i0 + 1),
		      "lines %zu-%zu: bpf_cpu_s %.9f outside bpftool's %.9f-%.9f", i0, i1, cpu_s, (double)lo.ns / 1e9,
		      (double)hi.ns / 1e9);
	ck_assert_msg(runs >= lo.runs && runs <= hi.runs, "lines %zu-%zu: %" PRIu64 " runs outside bpftool's %" PRIu64
		      "-%" PRIu64, i0, i1, runs, lo.runs, hi.runs);
	return true;
}

/* Every line's cost is known and above 0, the programs listed are the
 * ones the tool holds (no other program's counters), and the summary is
 * the sum of the intervals. */
static void assert_cost_lines(const struct tool_run *r, const struct bpf_ids *ids)
{
	double sum = 0;

	for (size_t i = 0; i + 1 < r->nlines; i++) {
		json_object *progs = json_object_object_get(r->lines[i], "bpf_programs");
		ck_assert_msg(json_object_get_type(json_object_object_get(r->lines[i], "bpf_cpu_s")) == json_type_double,
			      "line %zu: bpf_cpu_s is not a number", i);
		ck_assert_msg(field_double(r->lines[i], "bpf_cpu_s") > 0, "line %zu: bpf_cpu_s is 0", i);
		ck_assert_uint_eq(json_object_array_length(progs), ids->n);
		for (size_t k = 0; k < ids->n; k++)
			ck_assert(strncmp(field_string(json_object_array_get_idx(progs, k), "name"), "gs_", 3) == 0);
		sum += field_double(r->lines[i], "bpf_cpu_s");
	}
	double total = field_double(r->lines[r->nlines - 1], "bpf_cpu_s");
	ck_assert_msg(total > sum - 1e-6 && total < sum + 1e-6, "summary bpf_cpu_s %.9f, intervals %.9f", total, sum);
}

/* What gilstats says its own programs cost is what the kernel counted for
 * exactly those programs (bpftool, by the ids the tool's fds hold), over
 * the same windows: bracketed by bpftool samples taken wholly inside and
 * wholly outside each window, so the only tolerance is the sampling's
 * gap, which the bracket spells out. */
START_TEST(bpf_cost_matches_bpftool)
{
	const char *extra[] = { "--cpu-threads", "4", "--io-threads", "1", NULL };
	struct bpf_ids ids = { 0 };
	struct prog_sample *s = calloc(COST_SAMPLES_MAX, sizeof *s);
	size_t n = 0, first = 0, last = 0;
	struct workload w;
	struct tool_run r;
	struct tool_handle *h;

	start(&w, extra, false);
	h = tool_start((const char *[]){ "--json", workload_pid_arg(&w), "1", "8", NULL });
	ck_assert_msg(tool_wait_lines(h, 1, 90), "no first interval");
	/* Every program is loaded before the first line. */
	collect_bpf_ids(tool_pid(h), &ids, NULL);
	ck_assert_uint_gt(ids.n, 0);
	/* Bounded: a tool that ends early, or programs gone, end the sampling
	 * with a failure below rather than the test's timeout. */
	ck_assert_ptr_nonnull(s);
	for (double until = monotonic_now() + 90; tool_lines_so_far(h) < 9 && n < COST_SAMPLES_MAX &&
						   monotonic_now() < until;) {
		double next = monotonic_now() + COST_SAMPLE_PERIOD_S;
		if (bpftool_sample(&ids, &s[n]))
			n++;
		double left = next - monotonic_now();
		if (left > 0)
			usleep((useconds_t)(left * 1e6));
	}
	tool_wait(h, &r, 60);
	ck_assert_msg(r.exit_code == 0, "exit %d, stderr: %s", r.exit_code, r.err);
	ck_assert_uint_eq(r.nlines, 9);
	assert_cost_lines(&r, &ids);
	/* Sampling starts after the first line and ends with gilstats: the
	 * first and last intervals have no sample outside them. */
	for (size_t i = 1; i + 1 < r.nlines; i++)
		if (cost_matches_bpftool(&r, i, i, s, n)) {
			first = first ? first : i;
			last = i;
		}
	ck_assert_msg(first && last - first + 1 >= 4, "intervals %zu-%zu bracketed by %zu samples", first, last, n);
	/* Over several intervals the sampling's gap weighs less. */
	ck_assert(cost_matches_bpftool(&r, first, last, s, n));
	free(ids.ids);
	free(s);
	tool_run_free(&r);
	workload_stop(&w);
}
END_TEST

/* Root without CAP_SYS_ADMIN traces (CAP_BPF, CAP_PERFMON) but cannot turn
 * the kernel's run-time statistics on: the cost is null, never 0, and the
 * text says why. */
START_TEST(bpf_cost_unknown_without_cap_sys_admin)
{
	const char *extra[] = { "--cpu-threads", "2", "--io-threads", "0", NULL };
	const char *no_admin[] = { "setpriv", "--bounding-set=-all,+bpf,+perfmon,+sys_ptrace,+sys_resource,"
				   "+dac_override,+dac_read_search,+ipc_lock", "--inh-caps=-all", NULL };
	struct tool_options o = { .wrapper = no_admin };
	struct workload w;
	struct tool_run r;

	start(&w, extra, false);
	tool_run_with(&r, &o, (const char *[]){ "--json", workload_pid_arg(&w), "0.5", "2", NULL }, 60);
	ck_assert_msg(r.exit_code == 0, "exit %d, stderr: %s", r.exit_code, r.err);
	ck_assert_uint_eq(r.nlines, 3);
	for (size_t i = 0; i < r.nlines; i++) {
		json_object *v = NULL;
		ck_assert(json_object_object_get_ex(r.lines[i], "bpf_cpu_s", &v) && v == NULL);
		ck_assert(json_object_object_get_ex(r.lines[i], "bpf_programs", &v) && v == NULL);
		/* It traced all the same. */
		ck_assert(field_double(r.lines[i], "probe_hits") > 0);
	}
	tool_run_free(&r);
	tool_run_with(&r, &o, (const char *[]){ "-C", workload_pid_arg(&w), "0.5", "1", NULL }, 60);
	ck_assert_msg(strstr(r.out, "gilstats' bpf programs: cost unknown (cannot enable run-time statistics: "
			      "Operation not permitted)\n") != NULL, "%s", r.out);
	tool_run_free(&r);
	workload_stop(&w);
}
END_TEST

Suite *core_suite(void)
{
	Suite *s = suite_create("core");
	TCase *tc = tcase_create("core");

	tcase_set_timeout(tc, 300);
	tcase_add_test(tc, cpu_threads_wait_n_minus_one);
	tcase_add_test(tc, cpu_time_of_a_spinner_and_a_sleeper);
	tcase_add_test(tc, decoy_condvar_is_not_the_gil);
	tcase_add_test(tc, sigint_prints_the_summary);
	tcase_add_test(tc, target_exit_ends_the_run);
	tcase_add_test(tc, text_output_is_a_table);
	tcase_add_test(tc, not_a_python_process);
	tcase_add_test(tc, bpf_cost_matches_bpftool);
	tcase_add_test(tc, bpf_cost_unknown_without_cap_sys_admin);
	suite_add_tcase(s, tc);
	return s;
}
