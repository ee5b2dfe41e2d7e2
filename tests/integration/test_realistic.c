/* Realistic programs nobody here tuned for gilstats (tests/workloads/
 * realistic.py): a thread pool, CPU-bound threads, a thread-per-request
 * server under load, numpy and gunicorn when Debian's packages are there.
 * Each asserts the verdict's kind of the summary and of at least two
 * thirds of the intervals after the first, and that no figure is above
 * its interval. */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "suites.h"

#define INTERVALS "7"

/* Starts py on realistic.py (copied into its chroot if it has one) with
 * args; its first line is its report: {"pid": ..., "port": ...}. */
static void program_start_with(struct workload *p, const struct interpreter *py, const char *const *args)
{
	workload_start(p, py, &(struct workload_options){ .script = "realistic.py", .args = args });
}

static void program_start(struct workload *p, const char *python, const char *const *args)
{
	struct interpreter py = { .root = "" };

	snprintf(py.label, sizeof py.label, "%.90s", python);
	snprintf(py.python, sizeof py.python, "%s", python);
	program_start_with(p, &py, args);
}

static void trace_json(struct tool_run *r, pid_t pid, const char *const *extra)
{
	char pid_arg[16];
	const char *args[16] = { "--json" };
	size_t n = 1;

	for (; extra && *extra; extra++)
		args[n++] = *extra;
	snprintf(pid_arg, sizeof pid_arg, "%d", (int)pid);
	args[n++] = pid_arg;
	args[n++] = "1";
	args[n++] = INTERVALS;
	args[n] = NULL;
	tool_run(r, args, 90, 0, 0);
	ck_assert_msg(r->exit_code == 0, "exit %d: %s", r->exit_code, r->err);
}

/* A ThreadPoolExecutor(8) hashing 100-byte buffers: hashlib keeps the GIL
 * for buffers this small, and eight threads queue for it. */
START_TEST(thread_pool_hashing_small_buffers)
{
	struct workload p;
	struct tool_run r;

	program_start(&p, default_python.python, (const char *[]){ "pool-hash", "--seconds", "60", NULL });
	trace_json(&r, p.pid, NULL);
	assert_verdict_kinds("pool-hash", &r, p.pid, "bottleneck", NULL, false);
	tool_run_free(&r);
	workload_stop(&p);
}
END_TEST

/* A ThreadPoolExecutor(8) hashing 1 MB buffers: hashlib releases the GIL
 * for buffers this large, so the pool hardly waits for it (on a host with
 * fewer CPUs than threads it waits for CPUs): neither a bottleneck nor a
 * convoy. The figures that make the case against the kernel's over each
 * line's window: the pool's CPU time, and its time blocked, which is all
 * GIL wait (the threads neither sleep nor do I/O). */
START_TEST(thread_pool_hashing_large_buffers)
{
	struct kernel_truth *k = truth_start();
	struct workload p;
	struct tool_run r;

	workload_start(&p, &default_python,
		       &(struct workload_options){ .script = "hashpool.py",
						   .args = (const char *[]){ "--threads", "8", NULL } });
	truth_watch(k, p.pid);
	trace_json(&r, p.pid, NULL);
	usleep(300 * 1000); /* the kernel's figures a moment past the last line */
	assert_verdict_kinds("pool-hash 1 MB", &r, p.pid, "bottleneck", "convoy", true);
	json_object *pool = json_object_object_get(p.report, "pool");
	for (size_t i = 0; i < r.nlines; i++) {
		assert_cpu_matches_kernel("pool-hash 1 MB", k, r.lines[i], pool, 0.10);
		assert_waits_match_kernel("pool-hash 1 MB", k, &r, i, pool, 0.10);
	}
	tool_run_free(&r);
	truth_stop(k);
	workload_stop(&p);
}
END_TEST

/* Pure-Python loops in 4 threads: the GIL saturated. */
START_TEST(pure_python_cpu_loop)
{
	struct workload p;
	struct tool_run r;

	program_start(&p, default_python.python, (const char *[]){ "cpu-loop", "--seconds", "60", NULL });
	trace_json(&r, p.pid, NULL);
	assert_verdict_kinds("cpu-loop", &r, p.pid, "bottleneck", NULL, false);
	tool_run_free(&r);
	workload_stop(&p);
}
END_TEST

/* The number of group rows in a text table ("  N thr NAME"), and the
 * largest N. */
static size_t group_rows(const char *text, long *largest)
{
	size_t n = 0;

	*largest = 0;
	for (const char *l = text; l && *l; l = strchr(l, '\n') ? strchr(l, '\n') + 1 : NULL) {
		long count;
		char word[8];
		if (sscanf(l, "%ld %7s", &count, word) == 2 && strcmp(word, "thr") == 0) {
			n++;
			*largest = count > *largest ? count : *largest;
		}
	}
	return n;
}

/* A ThreadingHTTPServer with a CPU-heavy handler, loaded from another
 * process over loopback: a thread per request, each short-lived, and the
 * GIL saturated; the grouped view shows the handlers as one role row. */
START_TEST(threading_http_server_under_load)
{
	struct workload server, load;
	struct tool_run r, text;
	char port[16], pid_arg[16];
	long largest;

	program_start(&server, default_python.python, (const char *[]){ "http-server", "--seconds", "60", NULL });
	snprintf(port, sizeof port, "%d", json_object_get_int(json_object_object_get(server.report, "port")));
	snprintf(pid_arg, sizeof pid_arg, "%d", (int)server.pid);
	/* Traced once the load is on: every client had a response. */
	program_start(&load, default_python.python,
		      (const char *[]){ "http-load", "--port", port, "--seconds", "40", "--concurrency", "16", NULL });
	trace_json(&r, server.pid, NULL);
	assert_verdict_kinds("http-server", &r, server.pid, "bottleneck", NULL, false);
	tool_run(&text, (const char *[]){ "-C", "--group", pid_arg, "1", "2", NULL }, 60, 0, 0);
	ck_assert_msg(text.exit_code == 0, "exit %d: %s", text.exit_code, text.err);
	fprintf(stderr, "http-server grouped:\n%s\n", text.out);
	/* Every handler in one row: a few role rows, one of many threads. */
	size_t rows = group_rows(text.out, &largest);
	/* The output is above: Check's messages are short. */
	ck_assert_msg(rows >= 3 && rows <= 3 * 4 && largest >= 5, "%zu group rows, the largest of %ld", rows, largest);
	ck_assert_msg(strstr(text.out, "pid ") == text.out, "the block does not start with its pid line");
	tool_run_free(&text);
	tool_run_free(&r);
	workload_stop(&load);
	workload_stop(&server);
}
END_TEST

/* Debian's python3 with numpy: matrix products release the GIL. */
START_TEST(numpy_matmul_is_never_bottleneck)
{
	struct workload p;
	struct tool_run r;

	if (system("/usr/bin/python3 -c 'import numpy' 2>/dev/null") != 0) {
		fprintf(stderr, "numpy: python3-numpy is not installed, skipped\n");
		return;
	}
	program_start(&p, "/usr/bin/python3", (const char *[]){ "numpy-matmul", "--seconds", "60", NULL });
	trace_json(&r, p.pid, NULL);
	assert_verdict_kinds("numpy-matmul", &r, p.pid, "bottleneck", NULL, true);
	tool_run_free(&r);
	workload_stop(&p);
}
END_TEST

/* The worker processes of a gunicorn master, once there are n. */
static size_t children_of(pid_t parent, pid_t *out, size_t max)
{
	char path[64], *text;
	size_t n = 0;

	snprintf(path, sizeof path, "cat /proc/%d/task/%d/children 2>/dev/null", (int)parent, (int)parent);
	text = shell(path);
	for (char *tok = text ? strtok(text, " \n") : NULL; tok && n < max; tok = strtok(NULL, " \n"))
		out[n++] = (pid_t)atoi(tok);
	free(text);
	return n;
}

struct master {
	pid_t pid;
};

static bool two_workers_listening(const void *arg)
{
	const struct master *m = arg;
	pid_t kids[8];

	return children_of(m->pid, kids, 8) >= 2 && listening_port(m->pid) > 0;
}

/* gunicorn --threads 8 --workers 2, a CPU-bound endpoint under load,
 * traced with --children from its master: each worker's GIL saturated
 * by its eight handler threads (which get little CPU each, and are not
 * I/O threads). */
START_TEST(gunicorn_threads_workers_children)
{
	char dir[1024], port[16], master_arg[16];
	struct master m;
	struct workload load;
	struct tool_run r;
	pid_t kids[8];

	if (system("/usr/bin/python3 -c 'import gunicorn' 2>/dev/null") != 0) {
		fprintf(stderr, "gunicorn: python3-gunicorn is not installed, skipped\n");
		return;
	}
	snprintf(dir, sizeof dir, "%s/tests/workloads", getenv("GILSTATS_SRCDIR") ?: ".");
	m.pid = fork();
	ck_assert_int_ge(m.pid, 0);
	if (m.pid == 0) {
		int null = open("/dev/null", O_WRONLY);
		dup2(null, 1);
		dup2(null, 2);
		execl("/usr/bin/python3", "python3", "-m", "gunicorn", "--threads", "8", "--workers", "2", "--bind",
		      "127.0.0.1:0", "--chdir", dir, "realistic:wsgi_app", (char *)NULL);
		_exit(127);
	}
	ck_assert_msg(wait_until(two_workers_listening, &m, 60), "gunicorn did not start two workers");
	snprintf(port, sizeof port, "%d", listening_port(m.pid));
	snprintf(master_arg, sizeof master_arg, "%d", (int)m.pid);
	program_start(&load, default_python.python,
		      (const char *[]){ "http-load", "--port", port, "--seconds", "40", "--concurrency", "16", NULL });
	ck_assert_uint_eq(children_of(m.pid, kids, 8), 2);
	tool_run(&r, (const char *[]){ "--json", "--children", "-p", master_arg, "1", INTERVALS, NULL }, 90, 0, 0);
	ck_assert_msg(r.exit_code == 0, "exit %d: %s", r.exit_code, r.err);
	assert_verdict_kinds("gunicorn worker 1", &r, kids[0], "bottleneck", NULL, false);
	assert_verdict_kinds("gunicorn worker 2", &r, kids[1], "bottleneck", NULL, false);
	tool_run_free(&r);
	workload_stop(&load);
	kill(m.pid, SIGTERM);
	waitpid(m.pid, NULL, 0);
}
END_TEST

/* The screen of tmux session, polled until it holds needle (NULL: not
 * within timeout_s); the caller frees it. */
static char *screen_with(const char *session, const char *needle, double timeout_s)
{
	char cmd[128];
	double end = monotonic_now() + timeout_s;

	snprintf(cmd, sizeof cmd, "tmux capture-pane -p -t %s", session);
	while (monotonic_now() < end) {
		char *screen = shell(cmd);
		if (screen && strstr(screen, needle))
			return screen;
		free(screen);
		usleep(100000);
	}
	return NULL;
}

/* A thread pool in a small terminal: the header at once, before the first
 * figures; then its rows grouped to fit, and h still finds room for the
 * histogram. */
START_TEST(live_view_of_a_thread_pool)
{
	char cmd[1024], session[48], head[32];
	struct workload p;
	char *screen;

	program_start(&p, default_python.python, (const char *[]){ "pool-hash", "--seconds", "60", NULL });
	snprintf(session, sizeof session, "gilstats-realistic-%d", (int)getpid());
	snprintf(cmd, sizeof cmd, "tmux new-session -d -s %s -x 120 -y 14 '%s %d 4; echo EXIT=$?; sleep 60'", session,
		 gilstats_binary(), (int)p.pid);
	ck_assert_int_eq(system(cmd), 0);
	screen = screen_with(session, "attached, first figures in 4 s", 30);
	ck_assert_msg(screen != NULL, "no header before the first figures");
	snprintf(head, sizeof head, "pid %d (", (int)p.pid);
	ck_assert_msg(strstr(screen, head) != NULL, "no pid line:\n%s", screen);
	free(screen);
	/* Nine threads do not fit in 14 lines with the histogram: a role row,
	 * the pool's (its threads' Python names, ThreadPoolExecutor-0_*). */
	screen = screen_with(session, " thr ThreadPoolExec", 30);
	ck_assert_msg(screen != NULL, "no grouped rows");
	free(screen);
	snprintf(cmd, sizeof cmd, "tmux send-keys -t %s h", session);
	ck_assert_int_eq(system(cmd), 0);
	screen = screen_with(session, "usecs", 10);
	ck_assert_msg(screen != NULL, "no histogram after h");
	ck_assert_msg(strstr(screen, " thr ThreadPoolExec") != NULL, "rows gone with the histogram:\n%s", screen);
	free(screen);
	snprintf(cmd, sizeof cmd, "tmux send-keys -t %s q", session);
	ck_assert_int_eq(system(cmd), 0);
	screen = screen_with(session, "EXIT=0", 20);
	ck_assert_msg(screen != NULL, "gilstats did not exit cleanly");
	free(screen);
	snprintf(cmd, sizeof cmd, "tmux kill-session -t %s", session);
	ck_assert_int_eq(system(cmd), 0);
	workload_stop(&p);
}
END_TEST

/* The interpreters the stdlib workloads also run on: Debian's python3,
 * pyenv 3.8 and 3.12, and the first chroot's (those that are there). */
static bool wanted_interpreter(const struct interpreter *py)
{
	static const char *const labels[] = { "debian python3", "pyenv 3.8.", "pyenv 3.12.", "trixie chroot python3.13" };

	if (py->free_threaded || (py->root[0] && strstr(py->label, "3.13t")))
		return false;
	for (size_t i = 0; i < sizeof labels / sizeof labels[0]; i++)
		if (strncmp(py->label, labels[i], strlen(labels[i])) == 0 && strcmp(py->label, "debian python2.7") != 0)
			return true;
	return false;
}

/* The pool and the CPU loop under each of those interpreters: the same
 * kinds, whatever the version. */
START_TEST(stdlib_workloads_across_versions)
{
	static const char *const workloads[] = { "pool-hash", "cpu-loop" };
	struct interpreter pythons[32];
	size_t n = discover_interpreters(pythons, 32), tried = 0;

	for (size_t i = 0; i < n; i++) {
		if (!wanted_interpreter(&pythons[i]))
			continue;
		for (size_t w = 0; w < sizeof workloads / sizeof workloads[0]; w++) {
			struct workload p;
			struct tool_run r;
			char label[160];
			snprintf(label, sizeof label, "%.96s %.32s", pythons[i].label, workloads[w]);
			program_start_with(&p, &pythons[i], (const char *[]){ workloads[w], "--seconds", "60", NULL });
			trace_json(&r, p.pid, NULL);
			assert_verdict_kinds(label, &r, p.pid, "bottleneck", NULL, false);
			tool_run_free(&r);
			workload_stop(&p);
		}
		tried++;
	}
	fprintf(stderr, "stdlib workloads on %zu interpreters\n", tried);
	ck_assert_msg(tried >= 1, "no interpreter to run the workloads on");
}
END_TEST

Suite *realistic_suite(void)
{
	Suite *s = suite_create("realistic");
	TCase *tc = tcase_create("realistic");

	tcase_set_timeout(tc, 400);
	tcase_add_test(tc, thread_pool_hashing_small_buffers);
	tcase_add_test(tc, thread_pool_hashing_large_buffers);
	tcase_add_test(tc, pure_python_cpu_loop);
	tcase_add_test(tc, threading_http_server_under_load);
	tcase_add_test(tc, numpy_matmul_is_never_bottleneck);
	tcase_add_test(tc, gunicorn_threads_workers_children);
	tcase_add_test(tc, live_view_of_a_thread_pool);
	tcase_add_test(tc, stdlib_workloads_across_versions);
	suite_add_tcase(s, tc);
	return s;
}
