/* Targets that change under gilstats or hide what they are: a process
 * that execs into another python, one whose executable was deleted, one
 * in its own PID namespace, and a daemon whose parent exits as it forks.
 * Each is compared with the kernel's own figures over the same window. */
#include "config.h"

#include <check.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "suites.h"

#define MAX_PYTHONS 32

static bool host_python3(const struct interpreter *py)
{
	return !py->root[0] && py->major == 3 && py->minor >= 7 && !py->free_threaded;
}

/* Two interpreters of the host, of different versions: 3.11 -> 3.12 when
 * there are, as a pyenv user's program would run. */
static bool two_pythons(struct interpreter *from, struct interpreter *to)
{
	static struct interpreter all[MAX_PYTHONS];
	size_t n = discover_interpreters(all, MAX_PYTHONS);
	const struct interpreter *a = NULL, *b = NULL;

	for (size_t i = 0; i < n; i++)
		if (host_python3(&all[i]) && (!a || (a->minor != 11 && all[i].minor == 11)))
			a = &all[i];
	for (size_t i = 0; a && i < n; i++)
		if (host_python3(&all[i]) && all[i].minor != a->minor && (!b || all[i].minor == a->minor + 1))
			b = &all[i];
	if (!a || !b)
		return false;
	*from = *a;
	*to = *b;
	return true;
}

/* The index of the first line of r whose python_version is version. */
static size_t first_line_of_version(const struct tool_run *r, const char *version)
{
	for (size_t i = 0; i < r->nlines; i++)
		if (strcmp(field_string(r->lines[i], "python_version"), version) == 0)
			return i;
	return r->nlines;
}

/* os.execv into another python (same pid, a new image): located again,
 * reported with the new version and GIL, its waits as the kernel saw
 * them. */
START_TEST(exec_into_another_python)
{
	struct interpreter from, to;
	struct kernel_truth *k = truth_start();
	struct workload w;
	struct tool_handle *h;
	struct tool_run r;

	if (!two_pythons(&from, &to)) {
		fprintf(stderr, "exec: skipped, no two python3 versions on the host\n");
		ck_assert_msg(!getenv("CI"), "CI must have two python3 versions (pyenv)");
		truth_stop(k);
		return;
	}
	const char *args[] = { "--cpu-threads", "2", "--io-threads", "0", "--exec-on-usr1", to.python, NULL };
	struct workload_options o = { .args = args };
	workload_start(&w, &from, &o);
	truth_watch(k, w.pid);
	h = tool_start((const char *[]){ "--json", workload_pid_arg(&w), "0.5", "14", NULL });
	ck_assert_msg(tool_wait_lines(h, 2, 90), "gilstats wrote no line");
	ck_assert_int_eq(kill(w.pid, SIGUSR1), 0);
	json_object *after = workload_final_report(&w, 60);
	/* The new image's threads run from here on. */
	double reported = monotonic_now();
	tool_wait(h, &r, 120);
	ck_assert_msg(r.exit_code == 0, "exit %d: %s", r.exit_code, r.err);
	const char *old_version = field_string(w.report, "python_version");
	const char *new_version = field_string(after, "python_version");
	ck_assert_str_ne(old_version, new_version);
	ck_assert_str_eq(field_string(r.lines[0], "python_version"), old_version);
	size_t first = first_line_of_version(&r, new_version);
	fprintf(stderr, "exec: %s -> %s, reported from line %zu of %zu\n", from.label, to.label, first, r.nlines);
	ck_assert_msg(first + 3 < r.nlines, "python %s never reported after the exec (%zu lines): %s", new_version,
		      r.nlines, r.err);
	ck_assert_str_ne(field_string(r.lines[first], "gil_address"), field_string(r.lines[0], "gil_address"));
	/* The line the exec fell in mixes both images; the next ones are the
	 * new one's alone, and compared with the kernel from the first that
	 * begins once its threads ran. The last interval is not: a wait in
	 * progress as the run ends is bounded by no longest wait recorded. */
	json_object *cpu = json_object_object_get(after, "cpu");
	size_t compared = 0;
	for (size_t i = first + 1; i + 1 < r.nlines; i++) {
		double t0, t1;
		ck_assert_str_eq(field_string(r.lines[i], "python_version"), new_version);
		ck_assert_str_eq(field_string(r.lines[i], "gil_method"), "exact");
		line_window(r.lines[i], &t0, &t1);
		if (t0 < reported + 0.05 || i + 2 >= r.nlines)
			continue;
		assert_waits_match_kernel(to.label, k, &r, i, cpu, 0.10);
		compared++;
	}
	ck_assert_msg(compared >= 2, "only %zu lines after the new threads started", compared);
	json_object_put(after);
	tool_run_free(&r);
	truth_stop(k);
	workload_stop(&w);
}
END_TEST

/* An exec into something that is no python: dropped with one line saying
 * why and its summary, instead of being reported with the old image's GIL
 * until the end. */
START_TEST(exec_into_no_python)
{
	const char *args[] = { "--cpu-threads", "2", "--io-threads", "0", "--exec-sleep-on-usr1", NULL };
	struct workload_options o = { .args = args };
	struct workload w;
	struct tool_handle *h;
	struct tool_run r;

	workload_start(&w, &default_python, &o);
	h = tool_start((const char *[]){ "--json", workload_pid_arg(&w), "0.5", "40", NULL });
	ck_assert_msg(tool_wait_lines(h, 2, 90), "gilstats wrote no line");
	ck_assert_int_eq(kill(w.pid, SIGUSR1), 0);
	ck_assert(wait_for_comm(w.pid, "sleep", 30));
	double execd = monotonic_now();
	tool_wait(h, &r, 60);
	double ended = monotonic_now();
	fprintf(stderr, "exec into sleep: gilstats ended %.2f s after, %zu lines; stderr: %s", ended - execd, r.nlines,
		r.err);
	ck_assert_msg(r.exit_code == 0, "exit %d: %s", r.exit_code, r.err);
	/* One line, naming the process and why. */
	ck_assert_msg(strchr(r.err, '\n') == strrchr(r.err, '\n') && strstr(r.err, "no longer traced") &&
			      strstr(r.err, "(sleep) is not a python process"),
		      "stderr: %s", r.err);
	ck_assert(field_bool(r.lines[r.nlines - 1], "summary"));
	/* It leaves within the time an interpreter gets to start (5 s), not
	 * after the 20 s of COUNT. */
	ck_assert_msg(field_double(r.lines[r.nlines - 1], "elapsed_s") < 15, "traced %.1f s",
		      field_double(r.lines[r.nlines - 1], "elapsed_s"));
	tool_run_free(&r);
	workload_stop(&w);
}
END_TEST

/* An interpreter whose executable holds the interpreter (no libpython),
 * as a deleted file would be the only copy of it. */
static bool static_python(struct interpreter *out)
{
	static struct interpreter all[MAX_PYTHONS];
	size_t n = discover_interpreters(all, MAX_PYTHONS);

	for (size_t i = 0; i < n; i++) {
		char cmd[1200], *libs;
		bool linked;
		if (!host_python3(&all[i]))
			continue;
		snprintf(cmd, sizeof cmd, "ldd '%s' 2>&1", all[i].python);
		libs = shell(cmd);
		linked = strstr(libs, "libpython") != NULL;
		free(libs);
		if (!linked) {
			*out = all[i];
			return true;
		}
	}
	return false;
}

static bool maps_contain(pid_t pid, const char *needle)
{
	char cmd[128], *maps;
	bool found;

	snprintf(cmd, sizeof cmd, "cat /proc/%d/maps", (int)pid);
	maps = shell(cmd);
	found = strstr(maps, needle) != NULL;
	free(maps);
	return found;
}

/* A python started from a file deleted since (a service after a package
 * upgrade): read through /proc/PID/map_files like a deleted libpython. */
START_TEST(deleted_executable)
{
	struct interpreter py, copy;
	char dir[] = "/tmp/gilstats-hostile-XXXXXX", cmd[2048], home[1100], *prefix;
	struct kernel_truth *k = truth_start();
	struct workload w;
	struct tool_run r;

	ck_assert_msg(static_python(&py), "no python3 with the interpreter in its executable (Debian's has)");
	ck_assert_ptr_nonnull(mkdtemp(dir));
	copy = py;
	snprintf(copy.python, sizeof copy.python, "%s/python3", dir);
	snprintf(copy.label, sizeof copy.label, "deleted copy of %.60s", py.label);
	snprintf(cmd, sizeof cmd, "cp '%s' '%s' && '%s' -c 'import sys; sys.stdout.write(sys.prefix)'", py.python,
		 copy.python, py.python);
	prefix = shell(cmd);
	/* Its library next to where it was started from is gone: say where. */
	snprintf(home, sizeof home, "PYTHONHOME=%s", prefix);
	free(prefix);
	const char *args[] = { "--cpu-threads", "3", "--io-threads", "0", NULL };
	const char *env[] = { home, NULL };
	struct workload_options o = { .args = args, .env = env };
	workload_start(&w, &copy, &o);
	ck_assert_int_eq(unlink(copy.python), 0);
	ck_assert_int_eq(rmdir(dir), 0);
	ck_assert_msg(maps_contain(w.pid, "/python3 (deleted)"), "the executable is not mapped deleted");
	ck_assert_msg(!maps_contain(w.pid, "libpython"), "%s maps a libpython", py.label);
	truth_watch(k, w.pid);
	tool_run(&r, (const char *[]){ "--json", workload_pid_arg(&w), "0.5", "3", NULL }, 90, 0, 0);
	ck_assert_msg(r.exit_code == 0, "exit %d: %s", r.exit_code, r.err);
	ck_assert_uint_eq(r.nlines, 4);
	json_object *cpu = json_object_object_get(w.report, "cpu");
	for (size_t i = 0; i < r.nlines; i++) {
		ck_assert_str_eq(field_string(r.lines[i], "gil_method"), "exact");
		ck_assert_str_eq(field_string(r.lines[i], "python_version"), field_string(w.report, "python_version"));
		assert_waits_match_kernel(copy.label, k, &r, i, cpu, 0.10);
	}
	tool_run_free(&r);
	truth_stop(k);
	workload_stop(&w);
}
END_TEST

/* The thread of line whose id in the target's namespace is ns_tid. */
static json_object *thread_by_ns_tid(json_object *line, int ns_tid)
{
	json_object *threads = json_object_object_get(line, "threads");

	for (size_t i = 0; i < json_object_array_length(threads); i++) {
		json_object *t = json_object_array_get_idx(threads, i);
		json_object *ns = json_object_object_get(t, "ns_tid");
		if (ns && json_object_get_int(ns) == ns_tid)
			return t;
	}
	return NULL;
}

/* In its own PID namespace a python's thread states hold its namespace's
 * tids: hold time goes to the host's threads, and the holder's time
 * blocked off the CPU is the kernel's (holding while asleep, or waiting). */
START_TEST(pid_namespace_holders)
{
	const char *args[] = { "--cpu-threads", "1", "--io-threads", "0", "--holders", "1", NULL };
	struct workload_options o = { .args = args, .pid_namespace = true };
	struct kernel_truth *k = truth_start();
	struct workload w;
	struct tool_run r;

	workload_start(&w, &default_python, &o);
	ck_assert_int_eq((int)field_double(w.report, "pid"), 1);
	truth_watch(k, w.pid);
	tool_run(&r, (const char *[]){ "--json", workload_pid_arg(&w), "0.5", "4", NULL }, 90, 0, 0);
	ck_assert_msg(r.exit_code == 0, "exit %d: %s", r.exit_code, r.err);
	int holder_ns = json_object_get_int(json_object_array_get_idx(json_object_object_get(w.report, "holders"), 0));
	int cpu_ns = json_object_get_int(json_object_array_get_idx(json_object_object_get(w.report, "cpu"), 0));
	for (size_t i = 0; i + 1 < r.nlines; i++) {
		json_object *line = r.lines[i], *holder = thread_by_ns_tid(line, holder_ns);
		json_object *spinner = thread_by_ns_tid(line, cpu_ns), *threads = json_object_object_get(line, "threads");
		struct thread_truth kt;
		double t0, t1, held = 0;
		ck_assert_ptr_nonnull(holder);
		ck_assert_ptr_nonnull(spinner);
		ck_assert_int_ne((int)field_double(holder, "tid"), holder_ns);
		for (size_t t = 0; t < json_object_array_length(threads); t++)
			held += field_double(json_object_array_get_idx(threads, t), "gil_hold_s");
		double pct = field_double(line, "gil_held_pct"), wall = field_double(line, "interval_s");
		line_window(line, &t0, &t1);
		truth_of(k, (pid_t)field_double(holder, "tid"), t0, t1, &kt);
		double blocked_holding = field_double(holder, "gil_held_blocked_s");
		double off = blocked_holding + field_double(holder, "gil_wait_s") + field_double(holder, "switch_wait_s");
		/* A 20 ms sleep (or a wait) in progress at each end counts in
		 * the interval it ends in; a wait for the GIL ends once the
		 * thread runs again, after its time in a run queue. */
		double slack = kt.uncertainty_s + 2 * 0.02 + 2 * field_double(holder, "gil_wait_max_s");
		double high = (kt.blocked_s + kt.run_delay_s) * 1.1 + slack;
		fprintf(stderr, "pid namespace: line %zu: threads held %.3f s of %.3f s (GIL held %.1f%%); holder held "
				"while blocked %.3f s, off the CPU %.3f s, the kernel's blocked %.3f s (+-%.3f s)\n",
			i, held, wall, pct, blocked_holding, off, kt.blocked_s, slack);
		/* Every sample of a held GIL names a thread of the target. */
		ck_assert_msg(held >= 0.9 * pct / 100 * wall, "held %.3f s attributed of %.1f%% of %.3f s", held, pct,
			      wall);
		/* Known (not null) for every thread, the spinner's too. */
		ck_assert_msg(json_object_object_get(spinner, "gil_hold_s") != NULL, "the spinner's hold time is null");
		ck_assert_msg(blocked_holding > 0.5 * kt.blocked_s - slack, "held while blocked %.3f s, blocked %.3f s",
			      blocked_holding, kt.blocked_s);
		ck_assert_msg(off >= kt.blocked_s * 0.9 - slack && off <= high,
			      "the holder was off the CPU %.3f s by gilstats, blocked %.3f s and runnable %.3f s by the "
			      "kernel", off, kt.blocked_s, kt.run_delay_s);
	}
	tool_run_free(&r);
	truth_stop(k);
	workload_stop(&w);
}
END_TEST

/* --children on a parent that forks a daemon and exits at once: the
 * daemon is traced from the kernel's record of the fork, though it is no
 * longer a descendant in /proc. */
START_TEST(daemon_of_an_exiting_parent)
{
	const char *args[] = { "--cpu-threads", "1", "--io-threads", "0", "--daemonize-on-usr1", NULL };
	struct workload_options o = { .args = args };
	struct kernel_truth *k = truth_start();
	struct workload w;
	struct tool_handle *h;
	struct tool_run r;
	size_t idx[64];

	workload_start(&w, &default_python, &o);
	h = tool_start((const char *[]){ "--json", "--children", "-p", workload_pid_arg(&w), "0.5", "10", NULL });
	ck_assert_msg(tool_wait_lines(h, 1, 90), "gilstats wrote no line");
	ck_assert_int_eq(kill(w.pid, SIGUSR1), 0);
	json_object *daemon = workload_final_report(&w, 60);
	pid_t dpid = (pid_t)field_double(daemon, "daemon");
	truth_watch(k, dpid);
	tool_wait(h, &r, 120);
	kill(dpid, SIGKILL);
	ck_assert_msg(r.exit_code == 0, "exit %d: %s", r.exit_code, r.err);
	size_t n = lines_of_pid(&r, dpid, idx, 64);
	fprintf(stderr, "daemon: pid %d, %zu lines of %zu\n", (int)dpid, n, r.nlines);
	ck_assert_msg(n >= 4, "the daemon %d has %zu lines: %s", (int)dpid, n, r.err);
	ck_assert(field_bool(r.lines[idx[n - 1]], "summary"));
	/* Its first line may begin before the kernel's figures were watched;
	 * in its last interval a wait in progress as the run ends is bounded
	 * by no longest wait recorded. */
	json_object *cpu = json_object_object_get(daemon, "cpu");
	for (size_t i = 1; i + 2 < n; i++)
		assert_waits_match_kernel("daemon", k, &r, idx[i], cpu, 0.10);
	json_object_put(daemon);
	tool_run_free(&r);
	truth_stop(k);
	workload_stop(&w);
}
END_TEST

Suite *hostile_suite(void)
{
	Suite *s = suite_create("hostile");
	TCase *tc = tcase_create("targets");

	tcase_set_timeout(tc, 300);
	tcase_add_test(tc, exec_into_another_python);
	tcase_add_test(tc, exec_into_no_python);
	tcase_add_test(tc, deleted_executable);
	tcase_add_test(tc, pid_namespace_holders);
	tcase_add_test(tc, daemon_of_an_exiting_parent);
	suite_add_tcase(s, tc);
	return s;
}
