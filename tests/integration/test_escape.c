/* Names a traced process chooses (any process on the host can name its
 * threads) reach no sink raw: the text table, the live view and the
 * summary printed after q, and Prometheus labels. */
#include "config.h"

#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "suites.h"

/* The CPU threads' names, as prctl(PR_SET_NAME) sets them, and how a
 * terminal must see them (cut to the NAME column's 15). */
static const struct {
	const char *hex, *raw, *shown;
} hostile[] = {
	{ "1b5b33316d5245441b5b306d", "\x1b[31mRED", "\\x1b[31mRED\\x1b" },
	{ "6e65770a6c696e65", "new\nline", "new\\x0aline" },
	{ "7461620968657265", "tab\there", "tab\\x09here" },
	{ "fffefd", "\xff\xfe\xfd", "\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd" },
};
#define NHOSTILE (sizeof hostile / sizeof hostile[0])

static void start_hostile(struct workload *w)
{
	const char *args[2 * NHOSTILE + 6] = { "--cpu-threads", "4", "--io-threads", "0" };
	struct workload_options o = { .args = args };
	size_t n = 4;

	for (size_t i = 0; i < NHOSTILE; i++) {
		args[n++] = "--name-hex";
		args[n++] = hostile[i].hex;
	}
	workload_start(w, &default_python, &o);
}

/* The tid the workload gave the i-th hostile name. */
static int hostile_tid(const struct workload *w, size_t i)
{
	json_object *named = json_object_object_get(w->report, "named");

	json_object_object_foreach(named, tid, hex)
	{
		if (strcmp(json_object_get_string(hex), hostile[i].hex) == 0)
			return atoi(tid);
	}
	ck_abort_msg("workload did not report a thread named %s", hostile[i].hex);
	return 0;
}

/* Output a terminal shows: the escapes are there as text, and no control
 * byte a name carried (a newline only ends lines). */
static void assert_inert(const char *out, const struct workload *w)
{
	for (size_t i = 0; i < NHOSTILE; i++) {
		char row[64];
		snprintf(row, sizeof row, "\n%7d %s", hostile_tid(w, i), hostile[i].shown);
		ck_assert_msg(strstr(out, row) != NULL, "no one-line row \"%s\" in:\n%s", row + 1, out);
		ck_assert_msg(strstr(out, hostile[i].raw) == NULL, "name %zu written raw:\n%s", i, out);
	}
	ck_assert_msg(strpbrk(out, "\x1b\t\x7f") == NULL, "a control byte reached the text:\n%s", out);
}

START_TEST(text_tables_escape_thread_names)
{
	struct workload w;
	struct tool_run r;

	start_hostile(&w);
	tool_run(&r, (const char *[]){ "-C", workload_pid_arg(&w), "0.5", "2", NULL }, 60, 0, 0);
	ck_assert_msg(r.exit_code == 0, "exit %d: %s", r.exit_code, r.err);
	assert_inert(r.out, &w);
	tool_run_free(&r);
	workload_stop(&w);
}
END_TEST

static char *read_text_file(const char *path)
{
	char cmd[400];

	snprintf(cmd, sizeof cmd, "cat %s 2>/dev/null", path);
	return shell(cmd);
}

/* Everything gilstats wrote to a real terminal, the live view and the
 * summary after q, recorded raw from the pane. */
START_TEST(live_view_and_summary_escape_thread_names)
{
	char session[32], log[64], cmd[1024], *screen, *raw, *summary;
	struct workload w;

	start_hostile(&w);
	snprintf(session, sizeof session, "gilstats-names-%d", (int)getpid());
	snprintf(log, sizeof log, "/tmp/gilstats-names-%d.log", (int)getpid());
	snprintf(cmd, sizeof cmd,
		 "tmux new-session -d -s %s -x 150 -y 40 'sleep 0.5; %s %s; echo EXIT=$?; sleep 60' && "
		 "tmux pipe-pane -o -t %s 'cat > %s'",
		 session, gilstats_binary(), workload_pid_arg(&w), session, log);
	ck_assert_int_eq(system(cmd), 0);
	screen = tmux_wait_for(session, (const char *[]){ "TID NAME", NULL }, 30);
	ck_assert_msg(strstr(screen, "\\x1b[31mRED") != NULL, "live view:\n%s", screen);
	free(screen);
	snprintf(cmd, sizeof cmd, "tmux send-keys -t %s q", session);
	ck_assert_int_eq(system(cmd), 0);
	free(tmux_wait_for(session, (const char *[]){ "EXIT=", NULL }, 30));
	snprintf(cmd, sizeof cmd, "tmux kill-session -t %s", session);
	ck_assert_int_eq(system(cmd), 0);
	raw = read_text_file(log);
	unlink(log);
	summary = strstr(raw, "Summary over");
	ck_assert_msg(summary != NULL, "no summary in what the terminal got:\n%s", raw);
	/* The screen's own escapes come before the summary; from there on
	 * only the summary's text, which is plain but for CR LF. */
	for (char *cr; (cr = strchr(summary, '\r'));)
		memmove(cr, cr + 1, strlen(cr));
	assert_inert(summary, &w);
	for (size_t i = 0; i < NHOSTILE; i++)
		ck_assert_msg(strstr(raw, hostile[i].raw) == NULL, "name %zu reached the terminal raw", i);
	free(raw);
	workload_stop(&w);
}
END_TEST

/* promtool accepts the exposition, and the hostile names are labels. */
static void assert_valid_metrics(const char *where, const char *text)
{
	char *check;

	ck_assert_msg(text != NULL, "%s: nothing", where);
	ck_assert_msg(promtool_check_metrics(text, &check) == 0, "%s: promtool: %s\n%s", where, check, text);
	ck_assert_msg(strstr(text, "thread=\"\\\\x1b[31mRED\\\\x1b[0m\"") != NULL, "%s:\n%s", where, text);
	ck_assert_msg(strstr(text, "thread=\"new\\nline\"") != NULL, "%s:\n%s", where, text);
	ck_assert_msg(strstr(text, "thread=\"\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd\"") != NULL, "%s:\n%s", where, text);
	free(check);
}

/* One bad name must not make Prometheus reject the whole scrape, served
 * (/metrics) or written (--textfile). */
START_TEST(metrics_labels_stay_valid)
{
	char dir[] = "/tmp/gilstats-names-XXXXXX", path[300], *text;
	struct tool_handle *h;
	struct workload w;
	struct tool_run r;
	int port;

	ck_assert_ptr_nonnull(mkdtemp(dir));
	start_hostile(&w);
	h = tool_start((const char *[]){ "--json", "--textfile", dir, "--per-thread-metrics", "--listen",
					 "127.0.0.1:0", workload_pid_arg(&w), "0.5", "4", NULL });
	port = tool_listen_port(h, 30);
	ck_assert_msg(port > 0, "no listening line");
	ck_assert(tool_wait_lines(h, 2, 30));
	text = http_get(port, "/metrics");
	assert_valid_metrics("/metrics", text);
	free(text);
	tool_wait(h, &r, 60);
	ck_assert_msg(r.exit_code == 0, "exit %d: %s", r.exit_code, r.err);
	snprintf(path, sizeof path, "%s/gilstats.prom", dir);
	text = read_text_file(path);
	assert_valid_metrics("--textfile", text);
	free(text);
	unlink(path);
	rmdir(dir);
	tool_run_free(&r);
	workload_stop(&w);
}
END_TEST

Suite *escape_suite(void)
{
	Suite *s = suite_create("escape");
	TCase *tc = tcase_create("escape");

	tcase_set_timeout(tc, 120);
	tcase_add_test(tc, text_tables_escape_thread_names);
	tcase_add_test(tc, live_view_and_summary_escape_thread_names);
	tcase_add_test(tc, metrics_labels_stay_valid);
	suite_add_tcase(s, tc);
	return s;
}
