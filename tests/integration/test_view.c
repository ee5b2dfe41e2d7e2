/* What a person sees: the live screen in a real terminal (tmux), clean
 * piped text, launch mode, the chart and the histograms. */
#include "config.h"

#include <check.h>
#include <libxml/parser.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "suites.h"

static void start(struct workload *w, const char *const *args)
{
	struct workload_options o = { .args = args };

	workload_start(w, &default_python, &o);
}

static char *tmux_screen(const char *session)
{
	char cmd[256];

	snprintf(cmd, sizeof cmd, "tmux capture-pane -p -t %s", session);
	return shell(cmd);
}


START_TEST(live_screen_in_a_terminal)
{
	const char *args[] = { "--cpu-threads", "3", "--io-threads", "1", NULL };
	char cmd[1024], session[32];
	struct workload w;
	char *screen, *header, *row;

	start(&w, args);
	snprintf(session, sizeof session, "gilstats-test-%d", (int)getpid());
	snprintf(cmd, sizeof cmd,
		 "tmux new-session -d -s %s -x 110 -y 30 '%s %s; echo EXIT=$?; sleep 60'", session,
		 gilstats_binary(), workload_pid_arg(&w));
	ck_assert_int_eq(system(cmd), 0);
	screen = tmux_wait_for(session, (const char *[]){ "GIL is the bottleneck", "cpu-1", "io-1", NULL }, 30);
	/* The header, the verdict, and one row per thread, TID first. */
	ck_assert_msg(strstr(screen, "Python ") != NULL, "no header:\n%s", screen);
	ck_assert_msg(strstr(screen, "GIL is the bottleneck") != NULL, "no verdict:\n%s", screen);
	header = strstr(screen, "    TID NAME");
	ck_assert_msg(header != NULL, "no table:\n%s", screen);
	ck_assert_ptr_nonnull(strstr(header, "CPU%"));
	ck_assert_ptr_nonnull(strstr(header, "GIL WAIT%"));
	row = strstr(screen, "cpu-1");
	ck_assert_ptr_nonnull(row);
	ck_assert_ptr_nonnull(strstr(screen, "io-1"));
	free(screen);
	/* s sorts by another column, h shows the histogram, p where the GIL
	 * goes: the CPU threads' function. */
	snprintf(cmd, sizeof cmd, "tmux send-keys -t %s s h p", session);
	ck_assert_int_eq(system(cmd), 0);
	screen = tmux_wait_for(session, (const char *[]){ "sorted by CPU%", "usecs", "GIL held in:", "cpu_bound (", NULL },
			       15);
	ck_assert_msg(strstr(screen, "sorted by CPU%") != NULL, "sort did not change:\n%s", screen);
	ck_assert_msg(strstr(screen, "usecs") != NULL, "no histogram:\n%s", screen);
	ck_assert_msg(strstr(screen, "GIL held in:") && strstr(strstr(screen, "GIL held in:"), "cpu_bound (workloads/contention.py:"),
		      "no stacks pane:\n%s", screen);
	free(screen);
	/* q quits: the summary lands on the normal screen. */
	snprintf(cmd, sizeof cmd, "tmux send-keys -t %s q", session);
	ck_assert_int_eq(system(cmd), 0);
	screen = tmux_wait_for(session, (const char *[]){ "Summary over", "EXIT=", NULL }, 15);
	ck_assert_msg(strstr(screen, "Summary over") != NULL, "no summary:\n%s", screen);
	ck_assert_msg(strstr(screen, "EXIT=0") != NULL, "bad exit:\n%s", screen);
	free(screen);
	snprintf(cmd, sizeof cmd, "tmux kill-session -t %s", session);
	ck_assert_int_eq(system(cmd), 0);
	workload_stop(&w);
}
END_TEST

/* Several processes on one screen: a block each (its line, verdict and
 * table), one status line on top. */
START_TEST(live_screen_groups_processes)
{
	const char *args[] = { "--cpu-threads", "2", "--io-threads", "0", NULL };
	char cmd[1024], session[32], head_a[32], head_b[32];
	struct workload a, b;
	char *screen;

	start(&a, args);
	start(&b, args);
	snprintf(session, sizeof session, "gilstats-fleet-%d", (int)getpid());
	snprintf(cmd, sizeof cmd, "tmux new-session -d -s %s -x 120 -y 40 '%s -p %d -p %d; echo EXIT=$?; sleep 60'",
		 session, gilstats_binary(), (int)a.pid, (int)b.pid);
	ck_assert_int_eq(system(cmd), 0);
	snprintf(head_a, sizeof head_a, "pid %d (", (int)a.pid);
	snprintf(head_b, sizeof head_b, "pid %d (", (int)b.pid);
	/* Both blocks with their tables: a thread row under the later header. */
	screen = tmux_wait_for(session, (const char *[]){ head_a, head_b, "sorted by", NULL }, 30);
	for (double until = monotonic_now() + 15; monotonic_now() < until; usleep(200000)) {
		const char *pa = strstr(screen, head_a), *pb = strstr(screen, head_b);
		if (pa && pb && strstr(pa > pb ? pa : pb, "cpu-1"))
			break;
		free(screen);
		screen = tmux_screen(session);
	}
	const char *block_a = strstr(screen, head_a), *block_b = strstr(screen, head_b);
	ck_assert_msg(block_a && block_b, "not both processes:\n%s", screen);
	const char *first = block_a < block_b ? block_a : block_b, *second = block_a < block_b ? block_b : block_a;
	const char *table = strstr(first, "    TID NAME"), *row = strstr(first, "cpu-1");
	ck_assert_msg(table && table < second && row && row < second, "first block has no table:\n%s", screen);
	ck_assert_msg(strstr(second, "    TID NAME") && strstr(second, "cpu-1"), "second block:\n%s", screen);
	const char *status = strstr(screen, "sorted by");
	ck_assert_msg(status && status < first, "no status line on top:\n%s", screen);
	free(screen);
	snprintf(cmd, sizeof cmd, "tmux send-keys -t %s q", session);
	ck_assert_int_eq(system(cmd), 0);
	screen = tmux_wait_for(session, (const char *[]){ "EXIT=", NULL }, 15);
	ck_assert_msg(strstr(screen, "EXIT=0") != NULL, "bad exit:\n%s", screen);
	free(screen);
	snprintf(cmd, sizeof cmd, "tmux kill-session -t %s", session);
	ck_assert_int_eq(system(cmd), 0);
	workload_stop(&a);
	workload_stop(&b);
}
END_TEST

START_TEST(piped_output_is_plain_text)
{
	const char *args[] = { "--cpu-threads", "2", NULL };
	char cmd[512];
	struct workload w;
	char *out;

	start(&w, args);
	snprintf(cmd, sizeof cmd, "%s %s 0.5 2 | cat", gilstats_binary(), workload_pid_arg(&w));
	out = shell(cmd);
	ck_assert_ptr_nonnull(strstr(out, "    TID NAME"));
	ck_assert_ptr_nonnull(strstr(out, "Summary over"));
	for (const char *p = out; *p; p++)
		ck_assert_msg(*p == '\n' || (*p >= 0x20 && *p < 0x7f), "control byte 0x%02x in piped output",
			      (unsigned char)*p);
	free(out);
	workload_stop(&w);
}
END_TEST

START_TEST(launch_mode_passes_the_exit_status)
{
	char script[] = "import threading, sys\n"
			"def spin():\n"
			"    n = 0\n"
			"    for i in range(4000000): n += i\n"
			"ts = [threading.Thread(target=spin) for _ in range(3)]\n"
			"[t.start() for t in ts]\n"
			"[t.join() for t in ts]\n"
			"sys.exit(7)\n";
	struct tool_run r;

	tool_run(&r, (const char *[]){ "--json", "--", default_python.python, "-c", script, NULL }, 120, 0, 0);
	ck_assert_msg(r.exit_code == 7, "exit %d, stderr: %s", r.exit_code, r.err);
	ck_assert_uint_ge(r.nlines, 1);
	json_object *summary = r.lines[r.nlines - 1];
	ck_assert(field_bool(summary, "summary"));
	ck_assert_str_eq(field_string(summary, "gil_method"), "exact");
	/* Traced from its first line: three spinning threads waited. */
	json_object *threads = json_object_object_get(summary, "threads");
	double waited = 0;
	for (size_t i = 0; i < json_object_array_length(threads); i++)
		waited += field_double(json_object_array_get_idx(threads, i), "gil_wait_s");
	ck_assert_msg(waited > 0.1, "the threads waited only %.3f s", waited);
	tool_run_free(&r);
	/* A command that cannot run: 127, one line. */
	tool_run(&r, (const char *[]){ "--", "/nonexistent/python", NULL }, 60, 0, 0);
	ck_assert_int_eq(r.exit_code, 127);
	ck_assert_ptr_nonnull(strstr(r.err, "cannot run /nonexistent/python"));
	tool_run_free(&r);
}
END_TEST

START_TEST(chart_file_and_histograms)
{
	const char *args[] = { "--cpu-threads", "3", "--io-threads", "1", NULL };
	char svg[64], txt[64];
	struct workload w;
	struct tool_run r;
	xmlDoc *doc;

	snprintf(svg, sizeof svg, "/tmp/gilstats-test-%d.svg", (int)getpid());
	snprintf(txt, sizeof txt, "/tmp/gilstats-test-%d.json", (int)getpid());
	start(&w, args);
	tool_run(&r, (const char *[]){ "--json", "-T", "--svg", svg, "-o", txt, workload_pid_arg(&w), "0.5", "4", NULL },
		 60, 0, 0);
	ck_assert_msg(r.exit_code == 0, "exit %d: %s", r.exit_code, r.err);
	ck_assert_str_eq(r.out, ""); /* -o: nothing on stdout */
	doc = xmlReadFile(svg, NULL, XML_PARSE_NONET);
	ck_assert_msg(doc != NULL, "%s is not well-formed", svg);
	xmlFreeDoc(doc);
	tool_run_free(&r);
	/* The histogram counts every GIL wait the table counts. */
	char cmd[128];
	snprintf(cmd, sizeof cmd, "cat %s", txt);
	r.out = shell(cmd);
	struct tool_run parsed = { 0 };
	char *save = NULL;
	for (char *line = strtok_r(r.out, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
		json_object *obj = json_tokener_parse(line);
		json_object *hist = json_object_object_get(obj, "histogram"), *threads;
		double counted = 0, waits = 0;
		ck_assert_ptr_nonnull(hist);
		for (size_t i = 0; i < json_object_array_length(hist); i++)
			counted += field_double(json_object_array_get_idx(hist, i), "count");
		threads = json_object_object_get(obj, "threads");
		for (size_t i = 0; i < json_object_array_length(threads); i++) {
			json_object *t = json_object_array_get_idx(threads, i);
			waits += field_double(t, "gil_waits");
			ck_assert_ptr_nonnull(json_object_object_get(t, "histogram"));
		}
		/* Read a moment apart, so a few waits may land in between. */
		ck_assert_msg(counted >= waits * 0.97 - 3 && counted <= waits * 1.03 + 3,
			      "histogram %.0f waits, table %.0f", counted, waits);
		parsed.nlines++;
		json_object_put(obj);
	}
	ck_assert_uint_eq(parsed.nlines, 5);
	free(r.out);
	unlink(svg);
	unlink(txt);
	workload_stop(&w);
}
END_TEST

Suite *view_suite(void)
{
	Suite *s = suite_create("view");
	TCase *tc = tcase_create("view");

	tcase_set_timeout(tc, 150);
	tcase_add_test(tc, live_screen_in_a_terminal);
	tcase_add_test(tc, live_screen_groups_processes);
	tcase_add_test(tc, piped_output_is_plain_text);
	tcase_add_test(tc, launch_mode_passes_the_exit_status);
	tcase_add_test(tc, chart_file_and_histograms);
	suite_add_tcase(s, tc);
	return s;
}
