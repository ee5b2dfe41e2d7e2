/* Robustness: bad input gets one line and a documented exit code, missing
 * privileges are named before anything is compiled, every way of ending
 * prints the summary (or fails cleanly) and leaves no BPF program behind,
 * the target keeps running, and thread churn keeps everything bounded. */
#include "config.h"

#include <check.h>
#include <ctype.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "suites.h"

/* tool/stats.h: ended threads kept one by one. */
#define STATS_MAX_ENDED_IN_TESTS 1024

/* BPF programs loaded by any gilstats (they are all named gs_*). */
static int our_programs(void)
{
	char *out = shell("bpftool -j prog show 2>/dev/null");
	json_object *progs = json_tokener_parse(out);
	int n = 0;

	ck_assert_msg(progs != NULL, "bpftool -j prog show gave no JSON: %s", out);
	for (size_t i = 0; i < json_object_array_length(progs); i++) {
		const char *name = field_string(json_object_array_get_idx(progs, i), "name");
		n += name && strncmp(name, "gs_", 3) == 0;
	}
	json_object_put(progs);
	free(out);
	return n;
}

static uint64_t cpu_ticks(pid_t pid)
{
	char path[64], buf[1024];
	unsigned long long utime = 0, stime = 0;
	FILE *f;

	snprintf(path, sizeof path, "/proc/%d/stat", (int)pid);
	f = fopen(path, "r");
	if (!f)
		return 0;
	if (fgets(buf, sizeof buf, f)) {
		const char *p = strrchr(buf, ')');
		sscanf(p + 2, "%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %llu %llu", &utime, &stime);
	}
	fclose(f);
	return utime + stime;
}

/* No gilstats program remains. The kernel frees a program a moment after
 * its last reference goes (deferred work), so this waits a little. */
static void assert_nothing_left(void)
{
	int n = our_programs();

	for (int i = 0; n && i < 50; i++) {
		usleep(100000);
		n = our_programs();
	}
	ck_assert_msg(n == 0, "%d gilstats bpf programs remain", n);
}

/* The target kept running undisturbed: alive and still using its CPU. */
static void assert_undisturbed(const struct workload *w)
{
	uint64_t before = cpu_ticks(w->pid);

	usleep(300000);
	ck_assert(workload_alive(w));
	ck_assert_msg(cpu_ticks(w->pid) > before, "the target stopped running");
}

static void assert_one_line(const struct tool_run *r, int code, const char *expected)
{
	ck_assert_msg(r->exit_code == code, "exit %d, want %d; stderr: %s", r->exit_code, code, r->err);
	ck_assert_msg(strstr(r->err, expected) != NULL, "stderr lacks '%s': %s", expected, r->err);
	ck_assert_msg(strncmp(r->err, "gilstats: ", 10) == 0 && !isupper((unsigned char)r->err[10]),
		      "not one lowercase line: %s", r->err);
	ck_assert_msg(strchr(r->err, '\n') == r->err + strlen(r->err) - 1, "more than one line: %s", r->err);
}

START_TEST(bad_command_lines)
{
	static const struct {
		const char *args[4];
		const char *expected;
	} cases[] = {
		{ { NULL }, "missing pid" },
		{ { "0" }, "invalid pid '0'" },
		{ { "-7" }, "invalid pid '-7'" },
		{ { "abc" }, "invalid pid 'abc': not a number" },
		{ { "4194305" }, "must be between 1 and 4194304" },
		{ { "99999999999999999999" }, "invalid pid" },
		{ { "1", "0" }, "invalid interval '0'" },
		{ { "1", "-1" }, "invalid interval '-1'" },
		{ { "1", "nan" }, "invalid interval 'nan'" },
		{ { "1", "1e12" }, "invalid interval '1e12'" },
		{ { "1", "soon" }, "invalid interval 'soon'" },
		{ { "1", "1", "0" }, "invalid count '0'" },
		{ { "1", "1", "-2" }, "invalid count '-2'" },
		{ { "1", "1", "many" }, "invalid count 'many'" },
		{ { "--frobnicate", "1" }, "unknown option '--frobnicate'" },
		{ { "--probe=magic", "1" }, "invalid --probe 'magic'" },
	};
	struct tool_run r;

	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		tool_run(&r, cases[i].args, 30, 0, 0);
		assert_one_line(&r, 2, cases[i].expected);
		ck_assert_str_eq(r.out, "");
		tool_run_free(&r);
	}
}
END_TEST

START_TEST(targets_that_cannot_be_traced)
{
	const char *args[] = { "--cpu-threads", "2", NULL };
	struct workload_options o = { .args = args };
	struct workload w;
	struct tool_run r;
	char pid[16];
	pid_t child;

	tool_run(&r, (const char *[]){ "2", NULL }, 30, 0, 0); /* kthreadd */
	assert_one_line(&r, 3, "kernel thread");
	tool_run_free(&r);
	tool_run(&r, (const char *[]){ "4194000", NULL }, 30, 0, 0);
	assert_one_line(&r, 3, "no process with pid 4194000");
	tool_run_free(&r);
	/* Not Python. */
	child = fork();
	if (child == 0) {
		execlp("sleep", "sleep", "30", (char *)NULL);
		_exit(127);
	}
	usleep(200000);
	snprintf(pid, sizeof pid, "%d", (int)child);
	tool_run(&r, (const char *[]){ pid, NULL }, 30, 0, 0);
	assert_one_line(&r, 3, "is not a python process");
	tool_run_free(&r);
	kill(child, SIGKILL);
	waitpid(child, NULL, 0);
	/* A zombie: exited, not reaped yet. */
	child = fork();
	if (child == 0)
		_exit(0);
	usleep(200000);
	snprintf(pid, sizeof pid, "%d", (int)child);
	tool_run(&r, (const char *[]){ pid, NULL }, 30, 0, 0);
	assert_one_line(&r, 3, "zombie");
	tool_run_free(&r);
	waitpid(child, NULL, 0);
	/* A stopped Python: refused, and left stopped, as it was. */
	workload_start(&w, &default_python, &o);
	kill(w.pid, SIGSTOP);
	usleep(100000);
	tool_run(&r, (const char *[]){ workload_pid_arg(&w), NULL }, 30, 0, 0);
	assert_one_line(&r, 3, "is stopped: resume it with kill -CONT");
	tool_run_free(&r);
	kill(w.pid, SIGCONT);
	assert_undisturbed(&w);
	tool_run(&r, (const char *[]){ "--kernel-headers", "/nonexistent", workload_pid_arg(&w), NULL }, 30, 0, 0);
	assert_one_line(&r, 2, "--kernel-headers /nonexistent: no such directory");
	tool_run_free(&r);
	assert_nothing_left();
	workload_stop(&w);
}
END_TEST

/* Missing capabilities are named before anything is compiled (setpriv
 * from util-linux drops them). */
START_TEST(missing_privileges)
{
	const char *args[] = { "--cpu-threads", "2", NULL };
	struct workload_options o = { .args = args };
	struct workload w;
	char cmd[1024];
	char *out;
	double start;
	struct timespec ts;

	workload_start(&w, &default_python, &o);
	clock_gettime(CLOCK_MONOTONIC, &ts);
	start = (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
	snprintf(cmd, sizeof cmd,
		 "setpriv --reuid=65534 --regid=65534 --clear-groups --inh-caps=-all %s %s 2>&1; echo \"exit=$?\"",
		 gilstats_binary(), workload_pid_arg(&w));
	out = shell(cmd);
	ck_assert_msg(strstr(out, "gilstats: missing capabilities CAP_BPF and CAP_PERFMON (or CAP_SYS_ADMIN)") != NULL,
		      "%s", out);
	ck_assert_ptr_nonnull(strstr(out, "exit=4"));
	free(out);
	/* Root without CAP_SYS_PTRACE cannot read the interpreter's memory. */
	snprintf(cmd, sizeof cmd, "setpriv --bounding-set=-all,+bpf,+perfmon --inh-caps=-all %s %s 2>&1; echo \"exit=$?\"",
		 gilstats_binary(), workload_pid_arg(&w));
	out = shell(cmd);
	ck_assert_msg(strstr(out, "missing capability CAP_SYS_PTRACE") != NULL, "%s", out);
	ck_assert_ptr_nonnull(strstr(out, "exit=4"));
	free(out);
	clock_gettime(CLOCK_MONOTONIC, &ts);
	/* Well under the time clang takes to compile the probes. */
	ck_assert((double)ts.tv_sec + (double)ts.tv_nsec / 1e9 - start < 5.0);
	assert_nothing_left();
	assert_undisturbed(&w);
	workload_stop(&w);
}
END_TEST

/* SIGINT, SIGTERM, SIGHUP: summary, exit 0, nothing left attached. */
START_TEST(stop_signals_print_the_summary)
{
	static const int signals[] = { SIGINT, SIGTERM, SIGHUP };
	const char *args[] = { "--cpu-threads", "3", NULL };
	struct workload_options o = { .args = args };
	struct workload w;
	struct tool_run r;

	workload_start(&w, &default_python, &o);
	for (size_t i = 0; i < 3; i++) {
		tool_run(&r, (const char *[]){ "--json", workload_pid_arg(&w), "0.5", NULL }, 60, signals[i], 0.7);
		ck_assert_msg(r.exit_code == 0, "signal %d: exit %d, %s", signals[i], r.exit_code, r.err);
		ck_assert_uint_ge(r.nlines, 2);
		ck_assert(field_bool(r.lines[r.nlines - 1], "summary"));
		tool_run_free(&r);
		assert_nothing_left();
	}
	assert_undisturbed(&w);
	workload_stop(&w);
}
END_TEST

/* A second Ctrl-C exits at once; the kernel detaches with our fds. */
START_TEST(second_interrupt_exits_at_once)
{
	const char *args[] = { "--cpu-threads", "2", NULL };
	struct workload_options o = { .args = args };
	struct workload w;
	struct tool_handle *h;
	struct tool_run r;
	int status;

	workload_start(&w, &default_python, &o);
	/* Blocked in the wait for the first interval; the first SIGINT is
	 * taken there, and the second arrives while the summary is made. */
	h = tool_start((const char *[]){ "--json", workload_pid_arg(&w), "30", NULL });
	sleep(2);
	ck_assert_int_eq(kill(tool_pid(h), SIGINT), 0);
	ck_assert_int_eq(kill(tool_pid(h), SIGINT), 0);
	tool_wait(h, &r, 10);
	status = r.exit_code;
	ck_assert_msg(status == 0 || status == 128 + SIGINT, "exit %d", status);
	tool_run_free(&r);
	usleep(200000);
	assert_nothing_left();
	assert_undisturbed(&w);
	workload_stop(&w);
}
END_TEST

/* Errors after the probes were attached still leave nothing behind. */
START_TEST(errors_after_attach_leave_nothing)
{
	const char *args[] = { "--cpu-threads", "2", NULL };
	struct workload_options o = { .args = args };
	struct workload w;
	struct tool_run r;
	char cmd[1024];
	char *out;

	workload_start(&w, &default_python, &o);
	/* Output into a pipe nobody reads: EPIPE on the first line. */
	snprintf(cmd, sizeof cmd, "bash -c '%s --json %s 0.3 | true; echo \"exit=${PIPESTATUS[0]}\"' 2>&1",
		 gilstats_binary(), workload_pid_arg(&w));
	out = shell(cmd);
	ck_assert_msg(strstr(out, "cannot write the output") != NULL && strstr(out, "exit=1") != NULL, "%s", out);
	free(out);
	assert_nothing_left();
	/* A command that cannot be executed, after the probes were attached. */
	tool_run(&r, (const char *[]){ "--", "/nonexistent/app", NULL }, 60, 0, 0);
	assert_one_line(&r, 127, "cannot run /nonexistent/app");
	tool_run_free(&r);
	assert_nothing_left();
	assert_undisturbed(&w);
	workload_stop(&w);
}
END_TEST

/* Two gilstats on one target at once: both work and both clean up. */
START_TEST(two_at_once)
{
	const char *args[] = { "--cpu-threads", "3", NULL };
	struct workload_options o = { .args = args };
	struct workload w;
	struct tool_handle *h;
	struct tool_run a, b;

	workload_start(&w, &default_python, &o);
	h = tool_start((const char *[]){ "--json", workload_pid_arg(&w), "1", "2", NULL });
	tool_run(&b, (const char *[]){ "--json", workload_pid_arg(&w), "1", "2", NULL }, 60, 0, 0);
	tool_wait(h, &a, 60);
	ck_assert_int_eq(a.exit_code, 0);
	ck_assert_int_eq(b.exit_code, 0);
	ck_assert_uint_eq(a.nlines, 3);
	ck_assert_uint_eq(b.nlines, 3);
	assert_cpu_wait("first of two", a.lines[2], json_object_object_get(w.report, "cpu"), 3, 0.15);
	assert_cpu_wait("second of two", b.lines[2], json_object_object_get(w.report, "cpu"), 3, 0.15);
	tool_run_free(&a);
	tool_run_free(&b);
	assert_nothing_left();
	assert_undisturbed(&w);
	workload_stop(&w);
}
END_TEST

static long rss_kb(pid_t pid)
{
	char path[64], line[256];
	long kb = 0;
	FILE *f;

	snprintf(path, sizeof path, "/proc/%d/status", (int)pid);
	if (!(f = fopen(path, "r")))
		return 0;
	while (fgets(line, sizeof line, f))
		if (sscanf(line, "VmRSS: %ld kB", &kb) == 1)
			break;
	fclose(f);
	return kb;
}

/* 10,000 threads created and ended while traced: the maps and gilstats'
 * memory stay bounded, no wait is lost, every thread is accounted for. */
/* Rows in the BPF map of waits (there is one such map: ours). */
static size_t rows_in_map(void)
{
	char *dump = shell("bpftool -j map dump name waits 2>/dev/null");
	json_object *rows = json_tokener_parse(dump);
	size_t n = rows ? json_object_array_length(rows) : 0;

	json_object_put(rows);
	free(dump);
	return n;
}

/* 10,000 threads created and ended while traced, each waiting for the GIL
 * behind the others: the maps and gilstats' memory stay bounded, no wait
 * is lost, and every thread that waited is accounted for. */
START_TEST(thread_churn_stays_bounded)
{
	const char *args[] = { "--cpu-threads", "0", "--io-threads", "1", "--churn", "10000", "--churn-work", "30000",
			       NULL };
	struct workload_options o = { .args = args };
	struct workload w;
	struct tool_handle *h;
	struct tool_run r;
	long rss_first = 0, rss_last = 0;
	size_t most_rows = 0;

	assert_nothing_left(); /* one map named waits: ours */
	workload_start(&w, &default_python, &o);
	h = tool_start((const char *[]){ "--json", workload_pid_arg(&w), "0.25", NULL });
	/* gilstats ends when the workload has made its threads and exits. */
	for (int i = 0; i < 240 && workload_alive(&w); i++) {
		size_t rows = rows_in_map();
		most_rows = rows > most_rows ? rows : most_rows;
		rss_last = rss_kb(tool_pid(h));
		if (i == 8) /* attached and running for a while */
			rss_first = rss_last;
		usleep(250000);
	}
	tool_wait(h, &r, 60);
	ck_assert_msg(r.exit_code == 0, "exit %d: %s", r.exit_code, r.err);
	json_object *summary = r.lines[r.nlines - 1];
	json_object *folded = json_object_object_get(summary, "folded_threads");
	size_t listed = json_object_array_length(json_object_object_get(summary, "threads"));
	double total = (double)listed + (folded ? field_double(folded, "threads") : 0);
	fprintf(stderr, "churn: %zu threads listed, %.0f in all; at most %zu rows in the map; "
			"gilstats rss %ld kB early, %ld kB at the end\n",
		listed, total, most_rows, rss_first, rss_last);
	ck_assert(field_bool(summary, "summary"));
	/* The kept ended threads, and those of the last interval (each
	 * interval lists the threads that ended in it: ~700 here). */
	ck_assert_uint_ge(r.nlines, 2);
	size_t last = json_object_array_length(json_object_object_get(r.lines[r.nlines - 2], "threads"));
	ck_assert_uint_le(listed, STATS_MAX_ENDED_IN_TESTS + last);
	/* Most of them waited, far more than are kept one by one. */
	ck_assert_msg(total >= 5000 && folded != NULL, "only %.0f threads accounted for", total);
	ck_assert_msg(most_rows < 5000, "%zu rows in the map", most_rows);
	ck_assert_int_eq((int)field_double(summary, "lost_waits"), 0);
	ck_assert_msg(rss_last < rss_first + 16 * 1024, "rss grew from %ld to %ld kB", rss_first, rss_last);
	tool_run_free(&r);
	assert_nothing_left();
	workload_stop(&w);
}
END_TEST

/* The cache gilstats --version names, or "" when there is none. */
static char *cache_dir(void)
{
	char cmd[1024], *out, *dir;

	snprintf(cmd, sizeof cmd, "%s --version", gilstats_binary());
	out = shell(cmd);
	dir = strstr(out, "cached in: ");
	dir = dir && dir[11] == '/' ? strndup(dir + 11, strcspn(dir + 11, "\n")) : strdup("");
	free(out);
	return dir;
}

static double attach_time(const struct workload *w)
{
	struct tool_run r;
	double s;

	tool_run(&r, (const char *[]){ "--json", workload_pid_arg(w), "0.2", "1", NULL }, 60, 0, 0);
	ck_assert_msg(r.exit_code == 0, "exit %d: %s", r.exit_code, r.err);
	ck_assert_str_eq(field_string(r.lines[0], "gil_method"), "exact");
	s = field_double(r.lines[0], "attach_s");
	tool_run_free(&r);
	return s;
}

/* Compiled probes are cached: private to root, checked before use, a
 * damaged or foreign entry ignored and replaced. */
START_TEST(compiled_probes_are_cached_privately)
{
	const char *args[] = { "--cpu-threads", "2", NULL };
	struct workload_options o = { .args = args };
	char *dir = cache_dir(), cmd[1200], *out;
	double cold, warm, again;
	struct workload w;

	if (!dir[0]) { /* configured --with-cache-dir=no (make distcheck) */
		free(dir);
		return;
	}
	workload_start(&w, &default_python, &o);
	snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
	ck_assert_int_eq(system(cmd), 0);
	cold = attach_time(&w);
	warm = attach_time(&w);
	fprintf(stderr, "cache: attached in %.3f s cold, %.3f s warm\n", cold, warm);
	ck_assert_msg(warm < 0.25 && warm < cold / 3, "cold %.3f s, warm %.3f s", cold, warm);
	snprintf(cmd, sizeof cmd, "stat -c '%%a %%U %%n' '%s' '%s'/*", dir, dir);
	out = shell(cmd);
	ck_assert_msg(strncmp(out, "700 root ", 9) == 0 && strstr(out, "\n600 root ") != NULL, "%s", out);
	free(out);
	/* Damaged: every entry's bytes flipped. Still exact, recompiled. */
	snprintf(cmd, sizeof cmd, "for f in '%s'/*.bpf; do printf 'XXXXXXXX' | dd of=\"$f\" bs=1 seek=100 conv=notrunc 2>/dev/null; done",
		 dir);
	ck_assert_int_eq(system(cmd), 0);
	again = attach_time(&w);
	ck_assert_msg(again > warm * 2, "a damaged cache was used: %.3f s", again);
	/* Writable by others: not trusted either. */
	snprintf(cmd, sizeof cmd, "chmod 0666 '%s'/*.bpf", dir);
	ck_assert_int_eq(system(cmd), 0);
	again = attach_time(&w);
	ck_assert_msg(again > warm * 2, "a world-writable cache entry was used: %.3f s", again);
	/* Replaced by a good one. */
	again = attach_time(&w);
	ck_assert_msg(again < 0.25, "the cache was not refilled: %.3f s", again);
	free(dir);
	assert_nothing_left();
	workload_stop(&w);
}
END_TEST

Suite *robust_suite(void)
{
	Suite *s = suite_create("robust");
	TCase *tc = tcase_create("robust");

	tcase_set_timeout(tc, 180);
	tcase_add_test(tc, bad_command_lines);
	tcase_add_test(tc, targets_that_cannot_be_traced);
	tcase_add_test(tc, missing_privileges);
	tcase_add_test(tc, stop_signals_print_the_summary);
	tcase_add_test(tc, second_interrupt_exits_at_once);
	tcase_add_test(tc, errors_after_attach_leave_nothing);
	tcase_add_test(tc, two_at_once);
	tcase_add_test(tc, thread_churn_stays_bounded);
	tcase_add_test(tc, compiled_probes_are_cached_privately);
	suite_add_tcase(s, tc);
	return s;
}
