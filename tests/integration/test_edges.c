/* Edges of the command line and of gilstats' own state: files named for
 * the output that cannot be written (told at once, not at the end), a
 * busy --listen port (one line), a cache entry that is intact but the
 * wrong program (replaced, not fatal forever), UTF-8 names in the live
 * view. */
#include "config.h"

#include <arpa/inet.h>
#include <check.h>
#include <ctype.h>
#include <dirent.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "suites.h"

/* A usage error told before anything was compiled or attached: one
 * lowercase line, nothing on stdout, no BPF program ever held. */
static void assert_refused_up_front(const struct tool_run *r, int code, const char *expected)
{
	ck_assert_msg(r->exit_code == code, "exit %d, want %d; stderr: %s", r->exit_code, code, r->err);
	ck_assert_msg(strstr(r->err, expected) != NULL, "stderr lacks '%s': %s", expected, r->err);
	ck_assert_msg(strncmp(r->err, "gilstats: ", 10) == 0 && !isupper((unsigned char)r->err[10]),
		      "not one lowercase line: %s", r->err);
	ck_assert_msg(strchr(r->err, '\n') == r->err + strlen(r->err) - 1, "more than one line: %s", r->err);
	ck_assert_msg(r->out[0] == '\0', "output before the error: %s", r->out);
	ck_assert_msg(r->progs.n == 0, "%zu bpf programs loaded before the error", r->progs.n);
}

START_TEST(output_paths_checked_up_front)
{
	char dir[] = "/tmp/gilstats-edges-XXXXXX", file[300], missing[300];
	const char *args[] = { "--cpu-threads", "1", "--io-threads", "0", NULL };
	struct workload_options o = { .args = args };
	struct workload w;
	struct tool_run r;
	FILE *f;

	ck_assert_ptr_nonnull(mkdtemp(dir));
	snprintf(file, sizeof file, "%s/a-file", dir);
	snprintf(missing, sizeof missing, "%s/missing/chart.svg", dir);
	ck_assert_ptr_nonnull(f = fopen(file, "w"));
	fclose(f);
	workload_start(&w, &default_python, &o);
	/* Before: the chart's error came after the whole run, with exit 0. */
	tool_run(&r, (const char *[]){ "--svg", missing, "-C", workload_pid_arg(&w), "0.5", "2", NULL }, 60, 0, 0);
	assert_refused_up_front(&r, 2, "cannot write the chart to");
	tool_run_free(&r);
	snprintf(missing, sizeof missing, "%s/missing", dir);
	/* Before: one error line per interval, and exit 0. */
	tool_run(&r, (const char *[]){ "--textfile", missing, "-C", workload_pid_arg(&w), "0.5", "2", NULL }, 60, 0,
		 0);
	assert_refused_up_front(&r, 2, "cannot write metrics to --textfile");
	tool_run_free(&r);
	tool_run(&r, (const char *[]){ "--textfile", file, "-C", workload_pid_arg(&w), "0.5", "2", NULL }, 60, 0, 0);
	assert_refused_up_front(&r, 2, "Not a directory");
	tool_run_free(&r);
	snprintf(missing, sizeof missing, "%s/missing/out.txt", dir);
	tool_run(&r, (const char *[]){ "-o", missing, workload_pid_arg(&w), "0.5", "2", NULL }, 60, 0, 0);
	assert_refused_up_front(&r, 2, "cannot write the output to");
	tool_run_free(&r);
	workload_stop(&w);
	unlink(file);
	rmdir(dir);
}
END_TEST

/* A port the test holds: gilstats says so in one line of its own
 * (libmicrohttpd printed its own first). */
START_TEST(busy_listen_port_one_line)
{
	struct sockaddr_in addr = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	socklen_t len = sizeof addr;
	int s = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	char listen_arg[64], expected[128];
	struct workload w;
	struct tool_run r;

	ck_assert_int_ge(s, 0);
	ck_assert_int_eq(bind(s, (struct sockaddr *)&addr, sizeof addr), 0);
	ck_assert_int_eq(listen(s, 1), 0);
	ck_assert_int_eq(getsockname(s, (struct sockaddr *)&addr, &len), 0);
	snprintf(listen_arg, sizeof listen_arg, "127.0.0.1:%u", (unsigned)ntohs(addr.sin_port));
	snprintf(expected, sizeof expected, "gilstats: cannot listen on %s: Address already in use\n", listen_arg);
	workload_start(&w, &default_python, &(struct workload_options){ 0 });
	tool_run(&r, (const char *[]){ "--listen", listen_arg, "-C", workload_pid_arg(&w), "0.5", "2", NULL }, 60, 0,
		 0);
	ck_assert_msg(r.exit_code == 1, "exit %d; stderr: %s", r.exit_code, r.err);
	ck_assert_str_eq(r.err, expected);
	assert_programs_released(&r, false);
	tool_run_free(&r);
	workload_stop(&w);
	close(s);
}
END_TEST

/* gilstats with a cache of its own: private to this test, bind-mounted
 * over the real one in a mount namespace of the run (gilstats is exec'd
 * in the same process), so the machine's cache is never touched. */
static const char *const *private_cache_wrapper(const char *real, const char *mine)
{
	static const char *argv[11]; /* ten and the NULL that ends them */
	static char real_copy[512], mine_copy[512];

	snprintf(real_copy, sizeof real_copy, "%s", real);
	snprintf(mine_copy, sizeof mine_copy, "%s", mine);
	argv[0] = "unshare";
	argv[1] = "--mount";
	argv[2] = "--propagation";
	argv[3] = "private";
	argv[4] = "sh";
	argv[5] = "-c";
	argv[6] = "mkdir -p \"$1\" && mount --bind \"$2\" \"$1\" && shift 2 && exec \"$@\"";
	argv[7] = "sh";
	argv[8] = real_copy;
	argv[9] = mine_copy;
	return argv;
}

#define CACHED_BACKENDS 3 /* sched, futex, uprobe */

struct cache_entries {
	char name[CACHED_BACKENDS][64];
	char *bytes[CACHED_BACKENDS];
	size_t len[CACHED_BACKENDS];
};

static char *slurp(const char *path, size_t *len)
{
	FILE *f = fopen(path, "rb");
	char *buf = NULL;

	ck_assert_msg(f != NULL, "cannot read %s", path);
	ck_assert_int_eq(fseek(f, 0, SEEK_END), 0);
	*len = (size_t)ftell(f);
	rewind(f);
	buf = malloc(*len + 1);
	ck_assert_uint_eq(fread(buf, 1, *len, f), *len);
	fclose(f);
	return buf;
}

static void spill(const char *path, const char *bytes, size_t len)
{
	FILE *f = fopen(path, "wb");

	ck_assert_msg(f != NULL, "cannot write %s", path);
	ck_assert_uint_eq(fwrite(bytes, 1, len, f), len);
	ck_assert_int_eq(fclose(f), 0);
	ck_assert_int_eq(chmod(path, 0600), 0);
}

/* The compiled programs (sched, futex and uprobe) --compile-only left. */
static void read_entries(const char *dir, struct cache_entries *e)
{
	DIR *d = opendir(dir);
	struct dirent *de;
	char path[700];
	size_t n = 0;

	ck_assert_ptr_nonnull(d);
	while ((de = readdir(d))) {
		size_t l = strlen(de->d_name);
		if (l < 5 || strcmp(de->d_name + l - 4, ".bpf") != 0)
			continue;
		ck_assert_msg(n < CACHED_BACKENDS, "more than %d compiled programs in %s", CACHED_BACKENDS, dir);
		snprintf(e->name[n], sizeof e->name[n], "%s", de->d_name);
		snprintf(path, sizeof path, "%s/%s", dir, de->d_name);
		e->bytes[n] = slurp(path, &e->len[n]);
		n++;
	}
	closedir(d);
	ck_assert_msg(n == CACHED_BACKENDS, "%zu compiled programs in %s, want sched, futex and uprobe", n, dir);
}

/* Each entry holds the next one's program: intact (checksummed), but the
 * wrong program for its key (sched's and futex's differ in one name). */
static void plant_swapped(const char *dir, const struct cache_entries *e)
{
	char path[700];

	for (int i = 0; i < CACHED_BACKENDS; i++) {
		snprintf(path, sizeof path, "%s/%s", dir, e->name[i]);
		spill(path, e->bytes[(i + 1) % CACHED_BACKENDS], e->len[(i + 1) % CACHED_BACKENDS]);
	}
}

/* How many entries no longer hold the planted (wrong) program. */
static int entries_replaced(const char *dir, const struct cache_entries *e)
{
	char path[700];
	int replaced = 0;

	for (int i = 0; i < CACHED_BACKENDS; i++) {
		size_t len, planted = (size_t)(i + 1) % CACHED_BACKENDS;
		char *now;
		snprintf(path, sizeof path, "%s/%s", dir, e->name[i]);
		now = slurp(path, &len);
		replaced += len != e->len[planted] || memcmp(now, e->bytes[planted], len) != 0;
		free(now);
	}
	return replaced;
}

/* A traced run with the planted cache: it works, says nothing of the
 * verifier, and its back end's entry is repaired. */
static void assert_traces_despite_cache(const struct tool_options *o, const struct workload *w, const char *extra)
{
	const char *args[8] = { "--json" };
	size_t n = 1;
	struct tool_run r;

	if (extra)
		args[n++] = extra;
	args[n++] = workload_pid_arg(w);
	args[n++] = "0.5";
	args[n++] = "2";
	tool_run_with(&r, o, args, 90);
	ck_assert_msg(r.exit_code == 0, "%s: exit %d; stderr: %s", extra ? extra : "cached", r.exit_code, r.err);
	ck_assert_msg(r.err[0] == '\0', "%s: stderr: %s", extra ? extra : "cached", r.err);
	ck_assert_uint_eq(r.nlines, 3);
	ck_assert_str_eq(field_string(r.lines[0], "gil_method"), "exact");
	ck_assert_str_eq(field_string(r.lines[0], "probe"), "sched");
	ck_assert_str_eq(field_string(r.lines[0], "probe_reason"),
			 "the gil's address is exact: its futex words are recognised where its threads block, at the "
			 "scheduler's switches");
	assert_programs_released(&r, true);
	tool_run_free(&r);
}

START_TEST(wrong_program_in_cache_is_replaced)
{
	char mine[] = "/tmp/gilstats-cache-XXXXXX", *real = tool_cache_dir();
	struct tool_options o = { 0 };
	struct cache_entries e = { 0 };
	struct workload w;
	struct tool_run r;

	if (!real) {
		fprintf(stderr, "edges: gilstats was built without a cache, skipped\n");
		return;
	}
	ck_assert_ptr_nonnull(mkdtemp(mine));
	o.wrapper = private_cache_wrapper(real, mine);
	tool_run_with(&r, &o, (const char *[]){ "--compile-only", NULL }, 120);
	ck_assert_msg(r.exit_code == 0, "--compile-only: exit %d: %s", r.exit_code, r.err);
	tool_run_free(&r);
	read_entries(mine, &e);
	workload_start(&w, &default_python, &(struct workload_options){ 0 });
	/* Before: 28 lines of the verifier's log and exit 1, every run. */
	plant_swapped(mine, &e);
	assert_traces_despite_cache(&o, &w, NULL);
	ck_assert_int_eq(entries_replaced(mine, &e), 1);
	assert_traces_despite_cache(&o, &w, NULL);
	/* --no-cache reads nothing from the cache (and refreshes it). */
	plant_swapped(mine, &e);
	assert_traces_despite_cache(&o, &w, "--no-cache");
	ck_assert_int_eq(entries_replaced(mine, &e), 1);
	/* --compile-only replaces every one, whatever they held. */
	plant_swapped(mine, &e);
	tool_run_with(&r, &o, (const char *[]){ "--compile-only", NULL }, 120);
	ck_assert_msg(r.exit_code == 0, "--compile-only: exit %d: %s", r.exit_code, r.err);
	tool_run_free(&r);
	ck_assert_int_eq(entries_replaced(mine, &e), CACHED_BACKENDS);
	workload_stop(&w);
	for (int i = 0; i < CACHED_BACKENDS; i++) {
		char path[700];
		snprintf(path, sizeof path, "%s/%s", mine, e.name[i]);
		unlink(path);
		free(e.bytes[i]);
	}
	rmdir(mine);
	free(real);
}
END_TEST

/* A thread named in UTF-8 shows as itself in the live view of a UTF-8
 * terminal (before: "gr  n-" from ncurses in the C locale). */
START_TEST(live_view_shows_utf8_names)
{
	/* "grün-λ" */
	const char *args[] = { "--cpu-threads", "1", "--io-threads", "0", "--name-hex", "6772c3bc6e2dcebb", NULL };
	char session[32], cmd[1024], *screen;
	struct workload w;

	workload_start(&w, &default_python, &(struct workload_options){ .args = args });
	snprintf(session, sizeof session, "gilstats-utf8-%d", (int)getpid());
	snprintf(cmd, sizeof cmd,
		 "tmux new-session -d -s %s -x 150 -y 30 'sleep 0.5; LANG=C.UTF-8 LC_ALL= %s %s; sleep 60'", session,
		 gilstats_binary(), workload_pid_arg(&w));
	ck_assert_int_eq(system(cmd), 0);
	screen = tmux_wait_for(session, (const char *[]){ "gr\xc3\xbcn-\xce\xbb", NULL }, 30);
	snprintf(cmd, sizeof cmd, "tmux kill-session -t %s", session);
	ck_assert_int_eq(system(cmd), 0);
	ck_assert_msg(strstr(screen, "TID NAME") != NULL, "no live view:\n%s", screen);
	ck_assert_msg(strstr(screen, "gr\xc3\xbcn-\xce\xbb") != NULL, "the name is garbled:\n%s", screen);
	free(screen);
	workload_stop(&w);
}
END_TEST

/* configure stops on another architecture, naming why (before: it went
 * on, and the tool would read x86_64 layouts on arm64). The source tree's
 * configure runs in a copy of what it needs before it would stop: the
 * tree itself may be configured already, or read-only (distcheck). */
START_TEST(configure_refuses_other_architectures)
{
	char dir[] = "/tmp/gilstats-configure-XXXXXX", cmd[2048], *out;
	const char *src = getenv("GILSTATS_SRCDIR") ? getenv("GILSTATS_SRCDIR") : ".";

	ck_assert_ptr_nonnull(mkdtemp(dir));
	snprintf(cmd, sizeof cmd,
		 "cd %s && cp '%s/configure' . && cp -r '%s/build-aux' . && mkdir tool && cp '%s/tool/main.c' tool/ && "
		 "chmod -R u+w . && ./configure --host=aarch64-linux-gnu >log 2>&1; echo rc=$?; tail -n 1 log; "
		 "cd / && rm -rf %s",
		 dir, src, src, src, dir);
	out = shell(cmd);
	ck_assert_msg(strstr(out, "rc=0") == NULL, "configure accepted aarch64:\n%s", out);
	ck_assert_msg(strstr(out, "error: gilstats supports x86_64 only, not aarch64") != NULL, "%s", out);
	free(out);
}
END_TEST

/* The README's first command on a minimal Debian where one is root and
 * sudo is not installed: run with stand-ins for apt-get, autogen.sh,
 * configure and make that log their arguments, and no sudo on PATH, each
 * step must run (before: "sudo: not found" at once). */
START_TEST(readme_first_command_without_sudo)
{
	char dir[] = "/tmp/gilstats-readme-XXXXXX", cmd[4096], path[400], *line, *log;
	const char *src = getenv("GILSTATS_SRCDIR") ? getenv("GILSTATS_SRCDIR") : ".";
	static const char *const stubs[] = { "bin/apt-get", "bin/make", "autogen.sh", "configure" };
	FILE *f;

	ck_assert_ptr_nonnull(mkdtemp(dir));
	snprintf(cmd, sizeof cmd, "grep -m1 '^    .*apt-get update' '%s/README.md'", src);
	line = shell(cmd);
	ck_assert_msg(strstr(line, "apt-get install") != NULL, "no install command in README.md: %s", line);
	line[strcspn(line, "\n")] = '\0';
	snprintf(path, sizeof path, "%s/bin", dir);
	ck_assert_int_eq(mkdir(path, 0755), 0);
	for (size_t i = 0; i < sizeof stubs / sizeof stubs[0]; i++) {
		snprintf(path, sizeof path, "%s/%s", dir, stubs[i]);
		ck_assert_ptr_nonnull(f = fopen(path, "w"));
		fprintf(f, "#!/bin/sh\necho \"${0##*/} $1 $2\" >> %s/log\n", dir);
		fclose(f);
		ck_assert_int_eq(chmod(path, 0755), 0);
	}
	snprintf(cmd, sizeof cmd, "cd %s && env -i PATH=%s/bin /bin/sh -c '%s' 2>&1; echo rc=$?; cat log", dir, dir,
		 line + 4);
	log = shell(cmd);
	ck_assert_msg(strstr(log, "rc=0\napt-get update \napt-get install -y\nautogen.sh  \nconfigure  \nmake  \n"
				  "make demo \n") != NULL,
		      "%s\nran:\n%s", line + 4, log);
	free(log);
	free(line);
	snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
	free(shell(cmd));
}
END_TEST

Suite *edges_suite(void)
{
	Suite *s = suite_create("edges");
	TCase *tc = tcase_create("edges");

	tcase_set_timeout(tc, 300);
	tcase_add_test(tc, output_paths_checked_up_front);
	tcase_add_test(tc, busy_listen_port_one_line);
	tcase_add_test(tc, wrong_program_in_cache_is_replaced);
	tcase_add_test(tc, live_view_shows_utf8_names);
	tcase_add_test(tc, configure_refuses_other_architectures);
	tcase_add_test(tc, readme_first_command_without_sudo);
	suite_add_tcase(s, tc);
	return s;
}
