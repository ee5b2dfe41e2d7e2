/* Many processes in one run (-p, --children, --all) and the Prometheus
 * metrics: checked with promtool and scraped by a real Prometheus server
 * on loopback. Real CPython workloads, real eBPF. */
#include "config.h"

#include <check.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "suites.h"

static void start(struct workload *w, const char *const *args)
{
	struct workload_options o = { .args = args };

	workload_start(w, &default_python, &o);
}

/* Two workloads of CPU-bound threads, and their pids as arguments. */
static void start_two(struct workload *a, struct workload *b, char pa[16], char pb[16], const char *threads)
{
	const char *args[] = { "--cpu-threads", threads, "--io-threads", "0", NULL };

	start(a, args);
	start(b, args);
	snprintf(pa, 16, "%d", (int)a->pid);
	snprintf(pb, 16, "%d", (int)b->pid);
}

/* The lines of one process, in order. */
static size_t lines_of(const struct tool_run *r, pid_t pid, json_object **out, size_t max)
{
	size_t n = 0;

	for (size_t i = 0; i < r->nlines && n < max; i++)
		if ((pid_t)field_double(r->lines[i], "pid") == pid)
			out[n++] = r->lines[i];
	return n;
}

/* Every thread of a line carries its process's pid. */
static void assert_thread_pids(json_object *line)
{
	json_object *threads = json_object_object_get(line, "threads");
	int pid = (int)field_double(line, "pid");

	for (size_t i = 0; i < json_object_array_length(threads); i++)
		ck_assert_int_eq((int)field_double(json_object_array_get_idx(threads, i), "pid"), pid);
}

/* The shared programs' cost is the host's: on the first line of each
 * interval's pair only, known and above 0, and on one summary. */
static void assert_cost_once(const struct tool_run *r, size_t intervals)
{
	size_t summaries = 0;

	ck_assert_uint_eq(r->nlines, 2 * intervals + 2);
	for (size_t i = 0; i < 2 * intervals; i += 2) {
		ck_assert_msg(field_double(r->lines[i], "bpf_cpu_s") > 0, "line %zu: no bpf cost", i);
		ck_assert_msg(!json_object_object_get_ex(r->lines[i + 1], "bpf_cpu_s", NULL), "line %zu: bpf cost twice",
			      i + 1);
		ck_assert(!json_object_object_get_ex(r->lines[i + 1], "bpf_programs", NULL));
	}
	for (size_t i = 2 * intervals; i < r->nlines; i++)
		summaries += json_object_object_get_ex(r->lines[i], "bpf_cpu_s", NULL) ? 1 : 0;
	ck_assert_uint_eq(summaries, 1);
}

/* Two processes, one BPF program: each process's lines have its own
 * threads and its own waits, as if traced alone — what the kernel saw each
 * process's CPU threads blocked over the same window. */
START_TEST(two_processes_in_one_run)
{
	struct kernel_truth *k = truth_start();
	struct workload w[2];
	struct tool_run r;
	char pa[16], pb[16];
	size_t idx[2][8];

	start_two(&w[0], &w[1], pa, pb, "3");
	truth_watch(k, w[0].pid);
	truth_watch(k, w[1].pid);
	tool_run(&r, (const char *[]){ "--json", "-p", pa, "-p", pb, "1", "3", NULL }, 60, 0, 0);
	ck_assert_msg(r.exit_code == 0, "exit %d: %s", r.exit_code, r.err);
	for (size_t p = 0; p < 2; p++) {
		json_object *cpu = json_object_object_get(w[p].report, "cpu");

		ck_assert_uint_eq(lines_of_pid(&r, w[p].pid, idx[p], 8), 4);
		for (size_t i = 0; i < 4; i++) {
			json_object *line = r.lines[idx[p][i]];

			assert_thread_pids(line);
			ck_assert_str_eq(field_string(line, "gil_method"), "exact");
			ck_assert_int_eq(field_bool(line, "summary"), i == 3);
			assert_waits_match_kernel(p ? "second" : "first", k, &r, idx[p][i], cpu, 0.10);
		}
	}
	assert_cost_once(&r, 3);
	truth_stop(k);
	tool_run_free(&r);
	workload_stop(&w[0]);
	workload_stop(&w[1]);
}
END_TEST

/* The BPF counters are each process's own: beside a process whose threads
 * fight for the GIL, one with no thread but its sleeping main one makes
 * no futex wait, and counts none (host-wide counters gave it the other's).
 * The busy one's ended waits cover the GIL waits it reports. No map can
 * be made to overflow on demand here, so no loss is shown: every lost_*
 * counter is the process's own 0 where its back end counts it. */
START_TEST(counters_are_per_process)
{
	const char *busy_args[] = { "--cpu-threads", "3", "--io-threads", "1", NULL };
	const char *idle_args[] = { "--cpu-threads", "0", "--io-threads", "0", NULL };
	static const char *const lost[] = { "lost_waits", "lost_waits_rows_full", "lost_waits_inflight_full",
					    "lost_held_periods", "lost_cpu_slices", "lost_runq_periods" };
	struct workload busy, idle;
	struct tool_run r;
	char pa[16], pb[16];
	size_t idx[2][8];

	start(&busy, busy_args);
	start(&idle, idle_args);
	snprintf(pa, sizeof pa, "%d", (int)busy.pid);
	snprintf(pb, sizeof pb, "%d", (int)idle.pid);
	tool_run(&r, (const char *[]){ "--json", "-p", pa, "-p", pb, "1", "2", NULL }, 60, 0, 0);
	ck_assert_msg(r.exit_code == 0, "exit %d: %s", r.exit_code, r.err);
	ck_assert_uint_eq(lines_of_pid(&r, busy.pid, idx[0], 8), 3);
	ck_assert_uint_eq(lines_of_pid(&r, idle.pid, idx[1], 8), 3);
	for (size_t i = 0; i < 3; i++) {
		json_object *b = r.lines[idx[0][i]], *q = r.lines[idx[1][i]];
		double hits = field_double(b, "probe_hits"), ended = field_double(b, "return_hits");
		double waits = sum_over_every_thread(b, "gil_waits");

		fprintf(stderr, "counters line %zu: busy probe_hits %.0f return_hits %.0f gil_waits %.0f; idle %.0f\n", i,
			hits, ended, waits, field_double(q, "probe_hits"));
		ck_assert_msg(hits > 0 && ended > 0, "busy process: %.0f hits, %.0f returns", hits, ended);
		ck_assert_msg(ended <= hits && ended >= waits, "busy: %.0f ended of %.0f, %.0f GIL waits", ended, hits, waits);
		ck_assert_int_eq((int)field_double(q, "probe_hits"), 0);
		ck_assert_int_eq((int)field_double(q, "return_hits"), 0);
		for (size_t k = 0; k < sizeof lost / sizeof lost[0]; k++) {
			json_object *v = NULL;
			ck_assert_msg(json_object_object_get_ex(b, lost[k], &v), "no %s", lost[k]);
			ck_assert_msg(v == NULL || json_object_get_int64(v) == 0, "busy %s: %s", lost[k],
				      json_object_to_json_string(v));
		}
	}
	tool_run_free(&r);
	workload_stop(&busy);
	workload_stop(&idle);
}
END_TEST

/* Text groups the rows by process: each process's line, its verdict and
 * its threads, one block after the other. */
START_TEST(text_groups_by_process)
{
	struct workload a, b;
	struct tool_run r;
	char pa[16], pb[16], head_a[32], head_b[32];

	start_two(&a, &b, pa, pb, "2");
	tool_run(&r, (const char *[]){ "-C", "-p", pa, "-p", pb, "1", "1", NULL }, 60, 0, 0);
	ck_assert_msg(r.exit_code == 0, "exit %d: %s", r.exit_code, r.err);
	snprintf(head_a, sizeof head_a, "pid %d (", (int)a.pid);
	snprintf(head_b, sizeof head_b, "pid %d (", (int)b.pid);
	const char *block_a = strstr(r.out, head_a), *block_b = strstr(r.out, head_b);
	ck_assert_msg(block_a && block_b, "%s", r.out);
	/* Between the two headers: a's verdict, its table and its threads. */
	const char *first = block_a < block_b ? block_a : block_b, *second = block_a < block_b ? block_b : block_a;
	const char *table = strstr(first, "    TID NAME"), *row = strstr(first, "cpu-1");
	ck_assert_msg(table && table < second && row && row < second, "%s", r.out);
	ck_assert_ptr_nonnull(strstr(second, "cpu-1"));
	tool_run_free(&r);
	workload_stop(&a);
	workload_stop(&b);
}
END_TEST

/* --children follows a pre-fork server: workers forked after gilstats
 * started are traced, each with its own threads. */
START_TEST(children_of_a_forking_parent)
{
	const char *args[] = { "--cpu-threads", "0", "--io-threads", "1", "--fork", "2", "--fork-after", "1.5", NULL };
	struct workload w;
	struct tool_handle *h;
	struct tool_run r;
	json_object *kids, *lines[16];

	start(&w, args);
	h = tool_start((const char *[]){ "--json", "--children", "-p", workload_pid_arg(&w), "1", "5", NULL });
	kids = workload_final_report(&w, 10);
	tool_wait(h, &r, 60);
	ck_assert_msg(r.exit_code == 0, "exit %d: %s", r.exit_code, r.err);
	json_object *children = json_object_object_get(kids, "children");
	ck_assert_uint_eq(json_object_array_length(children), 2);
	for (size_t k = 0; k < 2; k++) {
		pid_t child = json_object_get_int(json_object_array_get_idx(children, k));
		size_t n = lines_of(&r, child, lines, 16);
		ck_assert_msg(n >= 2, "child %d: %zu lines", (int)child, n);
		json_object *summary = lines[n - 1];
		ck_assert(field_bool(summary, "summary"));
		assert_thread_pids(summary);
		/* Two CPU-bound threads: one waits while the other runs. */
		double waited = sum_over_every_thread(summary, "gil_wait_s");
		fprintf(stderr, "children: pid %d waited %.3f s in %.3f s\n", (int)child, waited,
			field_double(summary, "interval_s"));
		ck_assert(waited > 0.3 * field_double(summary, "interval_s"));
	}
	json_object_put(kids);
	tool_run_free(&r);
	workload_stop(&w);
}
END_TEST

/* --all finds a CPython process it was not told about. */
START_TEST(all_finds_python_processes)
{
	const char *args[] = { "--cpu-threads", "2", "--io-threads", "0", NULL };
	struct workload w;
	struct tool_run r;
	json_object *lines[16];

	start(&w, args);
	tool_run(&r, (const char *[]){ "--json", "--all", "1", "2", NULL }, 60, 0, 0);
	ck_assert_msg(r.exit_code == 0, "exit %d: %s", r.exit_code, r.err);
	size_t n = lines_of(&r, w.pid, lines, 16);
	ck_assert_msg(n == 3, "pid %d: %zu lines of %zu", (int)w.pid, n, r.nlines);
	ck_assert(sum_over_every_thread(lines[2], "gil_wait_s") > 0.3 * field_double(lines[2], "interval_s"));
	tool_run_free(&r);
	workload_stop(&w);
}
END_TEST

/* Lines of one process in a run of --all with these filters. */
static size_t lines_with(const char *const *filters, pid_t pid)
{
	const char *args[12] = { "--json", "--all" };
	size_t n = 2, found;
	struct tool_run r;
	json_object *lines[16];

	for (; *filters; filters++)
		args[n++] = *filters;
	args[n++] = "1";
	args[n++] = "2";
	args[n] = NULL;
	tool_run(&r, args, 60, 0, 0);
	ck_assert_msg(r.exit_code == 0, "exit %d: %s", r.exit_code, r.err);
	found = lines_of(&r, pid, lines, 16);
	tool_run_free(&r);
	return found;
}

/* --match and --user choose among the python processes --all finds: the
 * one whose command line matches, the ones running as the user. */
START_TEST(all_filters_choose_processes)
{
	const char *two[] = { "--cpu-threads", "2", "--io-threads", "0", NULL };
	const char *three[] = { "--cpu-threads", "3", "--io-threads", "0", NULL };
	struct workload a, b;
	char uid[16];

	start(&a, two);
	start(&b, three);
	snprintf(uid, sizeof uid, "%d", (int)geteuid());
	ck_assert_uint_eq(lines_with((const char *[]){ "--match", "cpu-threads 3 ", NULL }, b.pid), 3);
	ck_assert_uint_eq(lines_with((const char *[]){ "--match", "cpu-threads 3 ", NULL }, a.pid), 0);
	/* Another uid than the workloads' (the tests run as root). */
	ck_assert_uint_eq(lines_with((const char *[]){ "--user", "65534", NULL }, a.pid), 0);
	ck_assert_uint_eq(lines_with((const char *[]){ "--user", uid, "--match", "contention", NULL }, a.pid), 3);
	workload_stop(&a);
	workload_stop(&b);
}
END_TEST

/* --all picks a python up within moments of its start, not at the end of
 * the interval: started just after a boundary, its first figures come at
 * the next one, under a second later (before, at the end of the interval
 * after: nearly two). The bound leaves half a second for a busy machine. */
START_TEST(all_finds_a_new_python_within_an_interval)
{
	const char *args[] = { "--cpu-threads", "2", "--io-threads", "0", NULL };
	struct tool_handle *h = tool_start((const char *[]){ "--json", "--all", "1", "4", NULL });
	struct tool_run r;
	struct workload w;
	json_object *lines[16];
	double started;

	ck_assert_msg(tool_wait_attached(h, 60), "gilstats --all attached nothing");
	usleep(1050000); /* just past the first boundary */
	started = monotonic_now();
	start(&w, args);
	tool_wait(h, &r, 60);
	ck_assert_msg(r.exit_code == 0, "exit %d: %s", r.exit_code, r.err);
	size_t n = lines_of(&r, w.pid, lines, 16);
	ck_assert_msg(n >= 2, "pid %d: %zu lines", (int)w.pid, n);
	double first = field_double(lines[0], "monotonic_s") - started;
	fprintf(stderr, "new python: first figures %.3f s after its start\n", first);
	ck_assert_msg(first <= 1.5, "first figures %.3f s after its start (1 s intervals)", first);
	tool_run_free(&r);
	workload_stop(&w);
}
END_TEST

/* The value of the series name{pid="PID",...} in an exposition; -1: none. */
static double sample_of(const char *text, const char *name, pid_t pid)
{
	char prefix[128];
	const char *p = text;

	snprintf(prefix, sizeof prefix, "%s{pid=\"%d\",", name, (int)pid);
	while ((p = strstr(p, prefix))) {
		if (p == text || p[-1] == '\n') {
			const char *value = strstr(p, "} ");
			return value ? strtod(value + 2, NULL) : -1;
		}
		p++;
	}
	return -1;
}

/* Both processes' gilstats_gil_wait_seconds_total above floor on gilstats'
 * /metrics, polled until timeout_s: the text of the scrape that showed it,
 * or the last one (callers free). */
static char *scrape_until_waits(int port, pid_t a, pid_t b, double floor_a, double floor_b, double timeout_s)
{
	double until = monotonic_now() + timeout_s;
	char *text = NULL;

	for (;;) {
		free(text);
		text = http_get(port, "/metrics");
		if (text && sample_of(text, "gilstats_gil_wait_seconds_total", a) > floor_a &&
		    sample_of(text, "gilstats_gil_wait_seconds_total", b) > floor_b)
			return text;
		if (monotonic_now() >= until)
			return text;
		usleep(100000);
	}
}

/* /metrics: promtool accepts it, counters grow, each process has its
 * series; per-thread series only when asked for. */
START_TEST(metrics_over_http)
{
	struct workload a, b;
	struct tool_handle *h;
	struct tool_run r;
	char pa[16], pb[16], *first, *second, *check;

	start_two(&a, &b, pa, pb, "2");
	h = tool_start((const char *[]){ "--json", "-p", pa, "-p", pb, "--listen", "127.0.0.1:0",
					 "--per-thread-metrics", "0.5", "16", NULL });
	int port = tool_listen_port(h, 30);
	first = scrape_until_waits(port, a.pid, b.pid, 0, 0, 30);
	ck_assert_ptr_nonnull(first);
	double before[2] = { sample_of(first, "gilstats_gil_wait_seconds_total", a.pid),
			     sample_of(first, "gilstats_gil_wait_seconds_total", b.pid) };
	second = scrape_until_waits(port, a.pid, b.pid, before[0], before[1], 30);
	ck_assert_ptr_nonnull(second);
	ck_assert_msg(promtool_check_metrics(second, &check) == 0, "promtool: %s\n%s", check, second);
	free(check);
	for (int i = 0; i < 2; i++) {
		pid_t pid = i ? b.pid : a.pid;
		double after = sample_of(second, "gilstats_gil_wait_seconds_total", pid);
		fprintf(stderr, "metrics: pid %d gil_wait_seconds_total %.3f then %.3f\n", (int)pid, before[i], after);
		ck_assert(before[i] > 0 && after > before[i]);
		ck_assert(sample_of(second, "gilstats_gil_waits_total", pid) > 0);
		ck_assert(sample_of(second, "gilstats_threads", pid) >= 3);
		ck_assert(sample_of(second, "gilstats_thread_gil_wait_seconds_total", pid) >= 0);
	}
	ck_assert_ptr_nonnull(strstr(second, "gilstats_build_info{version=\"" PACKAGE_VERSION "\"} 1"));
	/* gilstats' own cost: per program, host-wide (no pid). */
	ck_assert_msg(strstr(second, "\ngilstats_bpf_seconds_total{program=\"gs_switch_waits\"} ") != NULL, "%s", second);
	ck_assert_ptr_nonnull(strstr(second, "\ngilstats_bpf_runs_total{program=\"gs_sched_wakeup\"} "));
	/* The sched back end loads no program on the host's system calls. */
	ck_assert_msg(strstr(second, "gs_futex_enter") == NULL, "%s", second);
	free(first);
	free(second);
	kill(tool_pid(h), SIGINT);
	tool_wait(h, &r, 30);
	ck_assert_msg(r.exit_code == 0, "exit %d: %s", r.exit_code, r.err);
	tool_run_free(&r);
	workload_stop(&a);
	workload_stop(&b);
}
END_TEST

/* --textfile: written whole every interval, accepted by promtool. */
START_TEST(metrics_textfile)
{
	const char *args[] = { "--cpu-threads", "2", "--io-threads", "0", NULL };
	char dir[] = "/tmp/gilstats-textfile-XXXXXX", path[256], cmd[300], *text, *check;
	struct workload w;
	struct tool_run r;

	ck_assert_ptr_nonnull(mkdtemp(dir));
	start(&w, args);
	tool_run(&r, (const char *[]){ "--json", "--textfile", dir, workload_pid_arg(&w), "0.5", "3", NULL }, 60, 0, 0);
	ck_assert_msg(r.exit_code == 0, "exit %d: %s", r.exit_code, r.err);
	snprintf(path, sizeof path, "%s/gilstats.prom", dir);
	snprintf(cmd, sizeof cmd, "cat %s", path);
	text = shell(cmd);
	ck_assert_msg(promtool_check_metrics(text, &check) == 0, "promtool: %s\n%s", check, text);
	ck_assert(sample_of(text, "gilstats_gil_wait_seconds_total", w.pid) > 0);
	/* No per-thread series unless asked for. */
	ck_assert_ptr_null(strstr(text, "gilstats_thread_"));
	free(check);
	free(text);
	snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
	free(shell(cmd));
	tool_run_free(&r);
	workload_stop(&w);
}
END_TEST

/* Prometheus's HTTP API on port: what a query returned (callers free). */
static char *prometheus_query(int port, const char *query)
{
	char path[256];

	snprintf(path, sizeof path, "/api/v1/query?query=%s", query);
	return http_get(port, path);
}

/* How many of the two pids have a series above 0 in a Prometheus answer. */
static int processes_seen(const char *reply, const char *pa, const char *pb)
{
	json_object *answer = reply ? json_tokener_parse(reply) : NULL;
	int seen = 0;

	if (!answer)
		return 0;
	json_object *result = json_object_object_get(json_object_object_get(answer, "data"), "result");
	for (size_t i = 0; i < json_object_array_length(result); i++) {
		json_object *series = json_object_array_get_idx(result, i);
		const char *pid = field_string(json_object_object_get(series, "metric"), "pid");
		double value = atof(json_object_get_string(
			json_object_array_get_idx(json_object_object_get(series, "value"), 1)));
		if ((strcmp(pid, pa) == 0 || strcmp(pid, pb) == 0) && value > 0)
			seen++;
	}
	json_object_put(answer);
	return seen;
}

/* Only async-signal-safe calls in the child (the test may run threads). */
static pid_t start_prometheus(const char *dir, const char *config)
{
	char storage[300];
	pid_t prom;

	snprintf(storage, sizeof storage, "--storage.tsdb.path=%s/data", dir);
	prom = fork();
	if (prom == 0) {
		int null = open("/dev/null", O_WRONLY);
		if (null < 0 || dup2(null, 1) < 0 || dup2(null, 2) < 0)
			_exit(127);
		execlp("prometheus", "prometheus", "--config.file", config, storage,
		       "--web.listen-address=127.0.0.1:0", (char *)NULL);
		_exit(127);
	}
	ck_assert_int_gt(prom, 0);
	return prom;
}

static bool has_listening_port(const void *arg)
{
	return listening_port(*(const pid_t *)arg) > 0;
}

/* A real Prometheus server scrapes gilstats on loopback, with its own
 * configuration and data directory, both on ports from the kernel, and its
 * API returns every process's series with values above 0. */
START_TEST(prometheus_scrapes_gilstats)
{
	char dir[] = "/tmp/gilstats-prometheus-XXXXXX", config[256], cmd[1024], *reply = NULL;
	struct workload a, b;
	struct tool_handle *h;
	struct tool_run r;
	char pa[16], pb[16];
	FILE *f;
	pid_t prom;

	ck_assert_ptr_nonnull(mkdtemp(dir));
	start_two(&a, &b, pa, pb, "2");
	h = tool_start((const char *[]){ "-C", "-o", "/dev/null", "-p", pa, "-p", pb, "--listen", "127.0.0.1:0",
					 "1", "60", NULL });
	int port = tool_listen_port(h, 30);
	snprintf(config, sizeof config, "%s/prometheus.yml", dir);
	ck_assert_ptr_nonnull(f = fopen(config, "w"));
	fprintf(f, "global:\n  scrape_interval: 1s\nscrape_configs:\n  - job_name: gilstats\n"
		   "    static_configs:\n      - targets: ['127.0.0.1:%d']\n", port);
	fclose(f);
	prom = start_prometheus(dir, config);
	ck_assert_msg(wait_until(has_listening_port, &prom, 60), "prometheus did not listen");
	int prom_port = listening_port(prom);
	/* Scrapes every second; both processes show once two have happened. */
	int seen = 0;
	for (double until = monotonic_now() + 60; seen < 2 && monotonic_now() < until;) {
		usleep(500000);
		free(reply);
		reply = prometheus_query(prom_port, "gilstats_gil_wait_seconds_total");
		seen = processes_seen(reply, pa, pb);
	}
	kill(prom, SIGTERM);
	waitpid(prom, NULL, 0);
	fprintf(stderr, "prometheus: %s\n", reply ? reply : "(nothing)");
	ck_assert_msg(seen == 2, "%d of 2 processes with values above 0: %s", seen, reply ? reply : "(nothing)");
	free(reply);
	snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
	free(shell(cmd));
	kill(tool_pid(h), SIGINT);
	tool_wait(h, &r, 30);
	ck_assert_msg(r.exit_code == 0, "exit %d: %s", r.exit_code, r.err);
	tool_run_free(&r);
	workload_stop(&a);
	workload_stop(&b);
}
END_TEST

Suite *fleet_suite(void)
{
	Suite *s = suite_create("fleet");
	TCase *tc = tcase_create("fleet");

	tcase_set_timeout(tc, 120);
	tcase_add_test(tc, two_processes_in_one_run);
	tcase_add_test(tc, counters_are_per_process);
	tcase_add_test(tc, text_groups_by_process);
	tcase_add_test(tc, children_of_a_forking_parent);
	tcase_add_test(tc, all_finds_python_processes);
	tcase_add_test(tc, all_filters_choose_processes);
	tcase_add_test(tc, all_finds_a_new_python_within_an_interval);
	tcase_add_test(tc, metrics_over_http);
	tcase_add_test(tc, metrics_textfile);
	tcase_add_test(tc, prometheus_scrapes_gilstats);
	suite_add_tcase(s, tc);
	return s;
}
