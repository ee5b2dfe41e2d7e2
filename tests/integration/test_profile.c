/* Which code: the GIL holders' Python stacks on every interpreter on the
 * machine, against tests/workloads/profile.py's own clocks over the same
 * window (its CPU time in each hog, its wall time blocked in flush); the
 * waiters' stacks against tests/workloads/nappers.py's known line and the
 * waits gilstats measured. */
#include "config.h"

#include <check.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "suites.h"

#define MAX_PYTHONS 32
#define MAX_TRUTH 512

static struct interpreter pythons[MAX_PYTHONS];
static size_t npythons;

/* The workload's cumulative figures at a moment. */
struct truth_point {
	double t, hog_a, hog_b, flush;
};

/* The workload's points up to the first past until (it writes one every
 * 0.3 s or so, for as long as it runs). */
static size_t read_truth(struct workload *w, double until, struct truth_point *out, size_t max)
{
	size_t n = 0;
	json_object *line;

	while (n < max && (n == 0 || out[n - 1].t < until) && (line = workload_next_line(w, 5))) {
		out[n++] = (struct truth_point){ field_double(line, "t"), field_double(line, "hog_a"),
						 field_double(line, "hog_b"), field_double(line, "flush") };
		json_object_put(line);
	}
	return n;
}

/* The figures at t, linearly between the points around it. */
static struct truth_point truth_at(const struct truth_point *p, size_t n, double t)
{
	size_t i = 1;

	ck_assert_msg(n >= 2 && p[0].t <= t && p[n - 1].t >= t, "no ground truth around %.3f (%zu points)", t, n);
	while (p[i].t < t)
		i++;
	double f = p[i].t > p[i - 1].t ? (t - p[i - 1].t) / (p[i].t - p[i - 1].t) : 0;
	return (struct truth_point){ t, p[i - 1].hog_a + f * (p[i].hog_a - p[i - 1].hog_a),
				     p[i - 1].hog_b + f * (p[i].hog_b - p[i - 1].hog_b),
				     p[i - 1].flush + f * (p[i].flush - p[i - 1].flush) };
}

struct folded_sums {
	double hog_a, hog_b, flush, all;
	size_t lines;
};

/* The folded file: every line "pid;thread (tid);outer;...;inner count",
 * summed by the innermost function. Lines whose frames are the exact
 * markers of the workload are counted in flush_exact. */
static void read_folded(const char *path, pid_t pid, const struct interpreter *py, json_object *lines,
			struct folded_sums *s)
{
	FILE *f = fopen(path, "r");
	char line[8192], prefix[32], flush_at[64];

	ck_assert_ptr_nonnull(f);
	memset(s, 0, sizeof *s);
	snprintf(prefix, sizeof prefix, "%d;", (int)pid);
	snprintf(flush_at, sizeof flush_at, "profile.py:%d)",
		 json_object_get_int(json_object_array_get_idx(json_object_object_get(lines, "flush"), 0)));
	while (fgets(line, sizeof line, f)) {
		char *space = strrchr(line, ' '), *inner;
		ck_assert_msg(space && line[strlen(line) - 1] == '\n', "%s: not a folded line: %s", py->label, line);
		double count = strtod(space + 1, NULL);
		*space = '\0';
		ck_assert_msg(strncmp(line, prefix, strlen(prefix)) == 0, "%s: folded line of another pid: %s", py->label,
			      line);
		ck_assert_msg(strchr(line + strlen(prefix), ';') && strstr(line, " ("), "%s: no thread in %s", py->label,
			      line);
		inner = strrchr(line, ';') + 1;
		s->all += count;
		s->lines++;
		if (strncmp(inner, "hog_a (", 7) == 0)
			s->hog_a += count;
		else if (strncmp(inner, "hog_b (", 7) == 0)
			s->hog_b += count;
		else if (strncmp(inner, "flush (", 7) == 0) {
			ck_assert_msg(strstr(inner, flush_at), "%s: flush's frame is %s, not at %s", py->label, inner,
				      flush_at);
			s->flush += count;
		}
	}
	fclose(f);
}

/* The summary's stacks name the workload's functions at their lines. */
static void assert_stack_lines(const struct interpreter *py, json_object *summary, json_object *lines)
{
	json_object *stacks = json_object_object_get(summary, "gil_held_stacks");
	static const char *const funcs[] = { "hog_a", "hog_b" };
	size_t seen = 0;

	ck_assert_msg(stacks && json_object_array_length(stacks) > 0, "%s: no gil_held_stacks", py->label);
	for (size_t i = 0; i < json_object_array_length(stacks); i++) {
		json_object *stack = json_object_object_get(json_object_array_get_idx(stacks, i), "stack");
		const char *inner = json_object_get_string(json_object_array_get_idx(stack, 0));
		for (size_t k = 0; inner && k < 2; k++) {
			json_object *marks = json_object_object_get(lines, funcs[k]);
			char want[64];
			bool at_marker = false;
			if (strncmp(inner, funcs[k], strlen(funcs[k])) != 0 || inner[strlen(funcs[k])] != ' ')
				continue;
			for (size_t m = 0; m < json_object_array_length(marks); m++) {
				snprintf(want, sizeof want, "profile.py:%d)",
					 json_object_get_int(json_object_array_get_idx(marks, m)));
				at_marker |= strstr(inner, want) != NULL;
			}
			ck_assert_msg(at_marker, "%s: %s is not at one of %s's lines", py->label, inner, funcs[k]);
			/* Its caller is the thread's loop. */
			ck_assert_msg(strncmp(json_object_get_string(json_object_array_get_idx(stack, 1)), "hogs (", 6) == 0,
				      "%s: %s called from %s", py->label, inner,
				      json_object_get_string(json_object_array_get_idx(stack, 1)));
			seen++;
		}
	}
	ck_assert_msg(seen > 0, "%s: no stack in hog_a or hog_b", py->label);
}

/* One gilstats run of 6 s over the workload: its stacks, folded lines and
 * verdict are checked; whether the shares are within 5 points of the
 * workload's own clocks is returned (why not in why). */
static bool measure(const struct interpreter *py, struct workload *w, const char *folded, char *why, size_t len)
{
	json_object *lines = json_object_object_get(w->report, "lines");
	struct truth_point truth[MAX_TRUTH];
	struct folded_sums sums;
	struct tool_run r;
	double t0, t1;

	tool_run(&r, (const char *[]){ "--json", "--folded", folded, workload_pid_arg(w), "1", "6", NULL }, 120, 0, 0);
	ck_assert_msg(r.exit_code == 0, "%s: exit %d, stderr: %s", py->label, r.exit_code, r.err);
	json_object *summary = r.lines[r.nlines - 1];
	line_window(summary, &t0, &t1);
	size_t ntruth = read_truth(w, t1, truth, MAX_TRUTH);
	struct truth_point a = truth_at(truth, ntruth, t0), b = truth_at(truth, ntruth, t1);
	double hog_a = b.hog_a - a.hog_a, hog_b = b.hog_b - a.hog_b, flush = b.flush - a.flush;

	ck_assert_msg(json_object_get_type(json_object_object_get(summary, "gil_held_stacks")) == json_type_array,
		      "%s: stacks not read: %s", py->label, field_string(summary, "python_stacks_error"));
	double samples = field_double(summary, "gil_hold_samples"), torn = field_double(summary, "torn_samples");
	ck_assert_msg(torn <= 0.02 * samples + 2, "%s: %.0f of %.0f samples torn", py->label, torn, samples);
	assert_stack_lines(py, summary, lines);
	read_folded(folded, w->pid, py, lines, &sums);
	ck_assert_msg(sums.hog_a + sums.hog_b >= 20, "%s: only %.0f samples in the hogs", py->label,
		      sums.hog_a + sums.hog_b);
	/* The culprit is named with its Python caller, at the exact line (the
	 * path's last two parts: the chroots have the script elsewhere). */
	const char *verdict = field_string(summary, "verdict"), *caller = strstr(verdict, ", called from flush (");
	char want[64];
	snprintf(want, sizeof want, "/profile.py:%d)",
		 json_object_get_int(json_object_array_get_idx(json_object_object_get(lines, "flush"), 0)));
	ck_assert_msg(caller && strstr(caller, want), "%s: verdict \"%s\" names no caller flush (...%s", py->label,
		      verdict, want);
	double share_a = sums.hog_a / (sums.hog_a + sums.hog_b), truth_a = hog_a / (hog_a + hog_b);
	/* Held blocked in flush: samples as a share of the window, against
	 * its own wall clock (a sample is 1/rate s of the window). */
	double flush_share = sums.flush / samples, truth_flush = flush / (t1 - t0);
	snprintf(why, len, "%s: hog_a %.1f%% of the hogs' samples (its CPU time: %.1f%%), flush %.1f%% of the samples "
		 "(%.1f%% of the time), %.0f samples, %.0f torn", py->label, 100 * share_a, 100 * truth_a,
		 100 * flush_share, 100 * truth_flush, samples, torn);
	fprintf(stderr, "%s\n", why);
	tool_run_free(&r);
	return fabs(share_a - truth_a) <= 0.05 && fabs(flush_share - truth_flush) <= 0.05;
}

/* hog_a spends three times hog_b's CPU time; flush blocks half the time
 * holding the GIL: gilstats' samples of the holder say the same, within 5
 * points. A busy host can still make a run lumpy (the VM's CPUs stolen):
 * a second run decides, and a second miss fails. */
START_TEST(holder_stacks_match_the_workload)
{
	const struct interpreter *py = &pythons[_i];
	const char *env[] = { "PYTHON_GIL=1", NULL };
	struct workload_options o = { .script = "profile.py", .env = py->free_threaded ? env : NULL };
	char folded[] = "/tmp/gilstats-profile-XXXXXX", why[512];
	struct workload w;
	bool ok = false;
	int fd = mkstemp(folded);

	ck_assert_int_ge(fd, 0);
	close(fd);
	workload_start(&w, py, &o);
	for (int attempt = 0; attempt < 2 && !ok; attempt++)
		ok = measure(py, &w, folded, why, sizeof why);
	ck_assert_msg(ok, "%s", why);
	unlink(folded);
	workload_stop(&w);
}
END_TEST

static bool is_napper(json_object *nappers, int tid)
{
	for (size_t i = 0; i < json_object_array_length(nappers); i++)
		if (json_object_get_int(json_object_array_get_idx(nappers, i)) == tid)
			return true;
	return false;
}

/* The nappers' waiting stacks in JSON: each in napper at the sleep's line;
 * returns their seconds. */
static double napper_wait_stacks(const struct interpreter *py, json_object *summary, json_object *nappers,
				 const char *nap_at)
{
	json_object *stacks = json_object_object_get(summary, "gil_wait_stacks");
	double s = 0;
	size_t seen = 0;

	ck_assert_msg(json_object_get_type(stacks) == json_type_array, "%s: no gil_wait_stacks", py->label);
	for (size_t i = 0; i < json_object_array_length(stacks); i++) {
		json_object *e = json_object_array_get_idx(stacks, i);
		const char *inner = json_object_get_string(json_object_array_get_idx(json_object_object_get(e, "stack"), 0));
		if (!is_napper(nappers, (int)field_double(e, "tid")))
			continue;
		ck_assert_msg(inner && strncmp(inner, "napper (", 8) == 0 && strstr(inner, nap_at),
			      "%s: a napper waited in %s, not napper at %s", py->label, inner ? inner : "(no frame)", nap_at);
		s += field_double(e, "s");
		seen++;
	}
	ck_assert_msg(seen > 0, "%s: no napper's stack among the waiters'", py->label);
	return s;
}

/* The folded waiters' stacks: lines of the pid, the nappers' innermost
 * frame napper at the sleep's line; returns how many lines. */
static size_t napper_folded_lines(const struct interpreter *py, const char *path, pid_t pid, const char *nap_at)
{
	FILE *f = fopen(path, "r");
	char line[8192], prefix[32];
	size_t n = 0;

	ck_assert_ptr_nonnull(f);
	snprintf(prefix, sizeof prefix, "%d;napper", (int)pid);
	while (fgets(line, sizeof line, f)) {
		char *space = strrchr(line, ' ');
		ck_assert_msg(space && strtod(space + 1, NULL) > 0, "%s: not a folded line: %s", py->label, line);
		*space = '\0';
		if (strncmp(line, prefix, strlen(prefix)) != 0)
			continue;
		ck_assert_msg(strncmp(strrchr(line, ';') + 1, "napper (", 8) == 0 && strstr(strrchr(line, ';'), nap_at),
			      "%s: folded napper line ends in %s", py->label, strrchr(line, ';') + 1);
		n++;
	}
	fclose(f);
	return n;
}

/* Threads that wake from time.sleep into a GIL a hog holds wait for it
 * at the sleep's line: the waiters' stacks say so, and their seconds are
 * the nappers' gil_wait_s over the same summary. */
START_TEST(waiter_stacks_match_the_waits)
{
	const struct interpreter *py = &pythons[_i];
	const char *env[] = { "PYTHON_GIL=1", NULL };
	struct workload_options o = { .script = "nappers.py", .args = (const char *[]){ "4", NULL },
				      .env = py->free_threaded ? env : NULL };
	char folded[] = "/tmp/gilstats-waits-XXXXXX", nap_at[64];
	struct workload w;
	struct tool_run r;
	int fd = mkstemp(folded);

	ck_assert_int_ge(fd, 0);
	close(fd);
	workload_start(&w, py, &o);
	tool_run(&r, (const char *[]){ "--json", "--folded-waits", folded, workload_pid_arg(&w), "1", "4", NULL }, 120,
		 0, 0);
	ck_assert_msg(r.exit_code == 0, "%s: exit %d, stderr: %s", py->label, r.exit_code, r.err);
	json_object *summary = r.lines[r.nlines - 1], *nappers = json_object_object_get(w.report, "nappers");
	snprintf(nap_at, sizeof nap_at, "nappers.py:%d)",
		 json_object_get_int(json_object_array_get_idx(
			 json_object_object_get(json_object_object_get(w.report, "lines"), "nap"), 0)));
	ck_assert_msg(json_object_get_type(json_object_object_get(summary, "gil_wait_stacks")) == json_type_array,
		      "%s: stacks not read: %s", py->label, field_string(summary, "python_stacks_error"));
	double stacks_s = napper_wait_stacks(py, summary, nappers, nap_at);
	double waits_s = sum_over_threads(summary, "gil_wait_s", nappers);
	double samples = field_double(summary, "wait_samples"), torn = field_double(summary, "wait_torn_samples");
	size_t lines = napper_folded_lines(py, folded, w.pid, nap_at);
	fprintf(stderr, "%s: nappers waited %.3f s by their stacks, %.3f s by gil_wait_s; %.0f waiter samples, "
		"%.2f waiters on average, %.0f torn, %zu folded lines\n", py->label, stacks_s, waits_s, samples,
		field_double(summary, "waiters_mean"), torn, lines);
	ck_assert_msg(waits_s >= 0.5, "%s: the nappers waited only %.3f s", py->label, waits_s);
	/* 2.7 (the uprobe back end, waits in sem_wait, ~1 waiter at a time)
	 * read -28%, +26% and -50% of its gil_wait_s in three runs: not yet
	 * understood (issue 14's notes, the man page): its stacks and lines
	 * are checked, its seconds not until they are. */
	ck_assert_msg(py->major == 2 || fabs(stacks_s - waits_s) <= 0.25 * waits_s,
		      "%s: %.3f s waiting by the stacks, %.3f s gil_wait_s", py->label, stacks_s, waits_s);
	ck_assert_msg(torn <= 0.02 * samples + 2, "%s: %.0f of %.0f waiter samples torn", py->label, torn, samples);
	ck_assert_msg(lines > 0, "%s: no napper in the folded waiters' stacks", py->label);
	unlink(folded);
	tool_run_free(&r);
	workload_stop(&w);
}
END_TEST

Suite *profile_suite(void)
{
	Suite *s = suite_create("profile");
	TCase *tc = tcase_create("profile"), *waiters = tcase_create("waiters");

	npythons = discover_interpreters(pythons, MAX_PYTHONS);
	tcase_set_timeout(tc, 180);
	tcase_add_loop_test(tc, holder_stacks_match_the_workload, 0, (int)npythons);
	suite_add_tcase(s, tc);
	tcase_set_timeout(waiters, 180);
	tcase_add_loop_test(waiters, waiter_stacks_match_the_waits, 0, (int)npythons);
	suite_add_tcase(s, waiters);
	return s;
}
