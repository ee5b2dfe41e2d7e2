#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "suites.h"
#include "tool/cli.h"
#include "tool/bpf/probe_backend.h"

static int parse(struct options *o, struct gs_error *err, const char *const *args)
{
	char *argv[16] = { "gilstats" };
	int argc = 1;
	FILE *out = fopen("/dev/null", "w");
	int rc;

	for (; *args; args++)
		argv[argc++] = (char *)(uintptr_t)*args; /* argp's argv takes no const */
	rc = cli_parse(argc, argv, o, out, err);
	fclose(out);
	return rc;
}

START_TEST(pid_interval_count)
{
	struct options o;
	struct gs_error err;

	ck_assert_int_eq(parse(&o, &err, (const char *[]){ "4242", NULL }), 0);
	ck_assert_int_eq(o.pid, 4242);
	ck_assert_double_eq(o.interval_s, 1.0);
	ck_assert_int_eq(o.count, 0);
	ck_assert(!o.json);
	ck_assert_int_eq(parse(&o, &err, (const char *[]){ "--json", "7", "0.5", "10", NULL }), 0);
	ck_assert_int_eq(o.pid, 7);
	ck_assert_double_eq(o.interval_s, 0.5);
	ck_assert_int_eq(o.count, 10);
	ck_assert(o.json);
	ck_assert_int_eq(parse(&o, &err, (const char *[]){ "--kernel-headers", "/x", "7", NULL }), 0);
	ck_assert_str_eq(o.kernel_headers, "/x");
}
END_TEST

/* Each bad command line: exit code 2 and one line naming the problem. */
static void assert_usage_error(const char *const *args, const char *expected)
{
	struct options o;
	struct gs_error err;

	ck_assert_int_eq(parse(&o, &err, args), -1);
	ck_assert_int_eq(err.exit_code, GS_EXIT_USAGE);
	ck_assert_msg(strstr(err.msg, expected) != NULL, "message '%s' lacks '%s'", err.msg, expected);
	ck_assert_ptr_null(strchr(err.msg, '\n'));
	ck_assert_msg(err.msg[0] >= 'a' && err.msg[0] <= 'z', "message not lowercase: %s", err.msg);
}

START_TEST(bad_arguments)
{
	assert_usage_error((const char *[]){ NULL }, "missing pid");
	assert_usage_error((const char *[]){ "0", NULL }, "invalid pid '0'");
	assert_usage_error((const char *[]){ "-5", NULL }, "invalid pid '-5'");
	assert_usage_error((const char *[]){ "abc", NULL }, "invalid pid 'abc': not a number");
	assert_usage_error((const char *[]){ "99999999999999999999", NULL }, "invalid pid");
	assert_usage_error((const char *[]){ "4194305", NULL }, "must be between 1 and 4194304");
	assert_usage_error((const char *[]){ "1", "0", NULL }, "invalid interval '0'");
	assert_usage_error((const char *[]){ "1", "-1", NULL }, "invalid interval '-1'");
	assert_usage_error((const char *[]){ "1", "nan", NULL }, "invalid interval 'nan': not a number");
	assert_usage_error((const char *[]){ "1", "1e9", NULL }, "invalid interval '1e9'");
	assert_usage_error((const char *[]){ "1", "inf", NULL }, "invalid interval 'inf'");
	assert_usage_error((const char *[]){ "1", "x", NULL }, "invalid interval 'x': not a number");
	assert_usage_error((const char *[]){ "1", "1", "0", NULL }, "invalid count '0'");
	assert_usage_error((const char *[]){ "1", "1", "-3", NULL }, "invalid count '-3'");
	assert_usage_error((const char *[]){ "1", "1", "2.5", NULL }, "invalid count '2.5'");
	assert_usage_error((const char *[]){ "1", "1", "1", "1", NULL }, "unexpected argument '1'");
	assert_usage_error((const char *[]){ "--frobnicate", "1", NULL }, "unknown option '--frobnicate'");
	assert_usage_error((const char *[]){ "-z", "1", NULL }, "unknown option '-z'");
}
END_TEST

/* Whitespace is refused wherever it is in a number: strtol skips it
 * before one, so " 22240" was a pid while "22240 " was not. */
START_TEST(whitespace_in_numbers)
{
	assert_usage_error((const char *[]){ " 22240", NULL }, "invalid pid ' 22240': not a number");
	assert_usage_error((const char *[]){ "22240 ", NULL }, "invalid pid '22240 ': not a number");
	assert_usage_error((const char *[]){ "\t7", NULL }, "invalid pid '\t7': not a number");
	assert_usage_error((const char *[]){ "-p", " 7", NULL }, "invalid pid ' 7': not a number");
	assert_usage_error((const char *[]){ "7", " 1", NULL }, "invalid interval ' 1': not a number");
	assert_usage_error((const char *[]){ "7", "1 ", NULL }, "invalid interval '1 ': not a number");
	assert_usage_error((const char *[]){ "7", "1", " 2", NULL }, "invalid count ' 2': not a number");
	assert_usage_error((const char *[]){ "7", "1", "2\t", NULL }, "invalid count '2\t': not a number");
	assert_usage_error((const char *[]){ "--hold-rate", " 100", "7", NULL }, "invalid --hold-rate ' 100'");
	assert_usage_error((const char *[]){ "--listen", "127.0.0.1: 9150", "7", NULL },
			   "invalid --listen '127.0.0.1: 9150'");
}
END_TEST

/* Several processes: -p repeatable, then INTERVAL and COUNT. */
START_TEST(fleet_options)
{
	struct options o;
	struct gs_error err;
	char host[64];
	unsigned port;

	ck_assert_int_eq(parse(&o, &err, (const char *[]){ "-p", "10", "-p", "11", "--children", "2", "5", NULL }), 0);
	ck_assert_uint_eq(o.npids, 2);
	ck_assert_int_eq(o.pids[0], 10);
	ck_assert_int_eq(o.pids[1], 11);
	ck_assert(o.children && cli_fleet(&o));
	ck_assert_double_eq(o.interval_s, 2.0);
	ck_assert_int_eq(o.count, 5);
	ck_assert_int_eq(parse(&o, &err, (const char *[]){ "--all", "--listen", "127.0.0.1:9150", "3", NULL }), 0);
	ck_assert(o.all && o.npids == 0);
	ck_assert_double_eq(o.interval_s, 3.0);
	ck_assert_int_eq(parse(&o, &err, (const char *[]){ "4242", NULL }), 0);
	ck_assert(!cli_fleet(&o) && o.npids == 1 && o.pids[0] == 4242);
	ck_assert_int_eq(cli_parse_listen("[::1]:9150", host, sizeof host, &port, &err), 0);
	ck_assert_str_eq(host, "::1");
	ck_assert_uint_eq(port, 9150);
	assert_usage_error((const char *[]){ "--listen", "9150", "1", NULL }, "invalid --listen '9150'");
	assert_usage_error((const char *[]){ "--listen", "localhost:65536", "1", NULL }, "between 0 and 65535");
	assert_usage_error((const char *[]){ "--listen", "localhost:-1", "1", NULL }, "between 0 and 65535");
	/* 0: the kernel picks a free port. */
	ck_assert_int_eq(cli_parse_listen("127.0.0.1:0", host, sizeof host, &port, &err), 0);
	ck_assert_uint_eq(port, 0);
	assert_usage_error((const char *[]){ "--children", "--all", NULL }, "nothing for --children to follow");
	assert_usage_error((const char *[]){ "-p", "1", "-p", "2", "--svg", "x.svg", NULL }, "one --svg chart shows one process");
	assert_usage_error((const char *[]){ "--all", "--", "python3", NULL }, "launch mode (-- COMMAND) traces that command only");
	assert_usage_error((const char *[]){ "-p", "x", NULL }, "invalid pid 'x'");
}
END_TEST

/* --all's filters: checked as they are parsed, with --all only. */
START_TEST(all_filters)
{
	struct options o;
	struct gs_error err;

	ck_assert_int_eq(parse(&o, &err, (const char *[]){ "--all", "--match", "gunicorn|celery", "--user", "0", NULL }), 0);
	ck_assert_str_eq(o.match, "gunicorn|celery");
	ck_assert(o.has_user && o.user == 0);
	ck_assert_int_eq(parse(&o, &err, (const char *[]){ "--all", "--user", "root", NULL }), 0);
	ck_assert(o.has_user && o.user == 0 && !o.match);
	ck_assert_int_eq(parse(&o, &err, (const char *[]){ "--all", "--user", "4000000", NULL }), 0);
	ck_assert_uint_eq(o.user, 4000000);
	assert_usage_error((const char *[]){ "--all", "--match", "(unclosed", NULL }, "bad --match expression '(unclosed'");
	assert_usage_error((const char *[]){ "--all", "--user", "no-such-user-here", NULL },
			   "unknown user 'no-such-user-here' for --user");
	assert_usage_error((const char *[]){ "--all", "--user", "-1", NULL }, "unknown user '-1'");
	assert_usage_error((const char *[]){ "--all", "--user", " 7", NULL }, "unknown user ' 7'");
	assert_usage_error((const char *[]){ "--match", "x", "4242", NULL }, "filters --match and --user choose among --all's");
	assert_usage_error((const char *[]){ "-p", "1", "--user", "0", NULL }, "filters --match and --user choose among --all's");
}
END_TEST

/* The back ends --probe names; several processes share an in-kernel one. */
START_TEST(probe_kinds)
{
	static const char *const kinds[] = { "sched", "futex", "uprobe" };
	struct options o;
	struct gs_error err;

	for (size_t i = 0; i < 3; i++) {
		ck_assert_int_eq(parse(&o, &err, (const char *[]){ "--probe", kinds[i], "7", NULL }), 0);
		ck_assert_str_eq(o.probe, kinds[i]);
	}
	ck_assert_int_eq(parse(&o, &err, (const char *[]){ "--probe=sched", "-p", "7", "-p", "8", NULL }), 0);
	assert_usage_error((const char *[]){ "--probe=kprobe", "7", NULL }, "invalid --probe 'kprobe': sched, futex or uprobe");
	assert_usage_error((const char *[]){ "--probe=uprobe", "-p", "7", "-p", "8", NULL },
			   "several processes are traced with --probe=sched or futex only");
	/* The loader's table and --probe share one list of names. */
	for (int b = 0; b < PROBE_BACKENDS; b++) {
		enum probe_backend named = PROBE_BACKENDS;
		ck_assert_int_eq(probe_backend_named(probe_backend_name((enum probe_backend)b), &named), 0);
		ck_assert_int_eq(named, b);
		ck_assert_int_eq(probe_in_kernel(named), named != PROBE_UPROBE);
	}
	ck_assert_int_eq(probe_backend_named("kprobe", &(enum probe_backend){ PROBE_FUTEX }), -1);
}
END_TEST

START_TEST(group_and_top)
{
	struct options o;
	struct gs_error err;

	ck_assert_int_eq(parse(&o, &err, (const char *[]){ "4242", NULL }), 0);
	ck_assert(!o.group);
	ck_assert(!o.verbose);
	ck_assert_int_eq(o.top, 0);
	ck_assert_int_eq(parse(&o, &err, (const char *[]){ "--group", "--top", "5", "-v", "4242", NULL }), 0);
	ck_assert(o.group);
	ck_assert(o.verbose);
	ck_assert_int_eq(o.top, 5);
	assert_usage_error((const char *[]){ "--top", "0", "4242", NULL }, "invalid --top '0': must be a positive integer");
	assert_usage_error((const char *[]){ "--top", "x", "4242", NULL }, "invalid --top 'x'");
}
END_TEST

START_TEST(help_and_version)
{
	struct options o;
	struct gs_error err;
	char *buf = NULL;
	size_t len = 0;
	FILE *out = open_memstream(&buf, &len);
	char *argv[] = { "gilstats", "--help", NULL };

	ck_assert_int_eq(cli_parse(2, argv, &o, out, &err), 0);
	fclose(out);
	ck_assert(o.exit_now);
	ck_assert_ptr_nonnull(strstr(buf, "EXAMPLES"));
	ck_assert_ptr_nonnull(strstr(buf, "--json"));
	ck_assert_ptr_nonnull(strstr(buf, "--kernel-headers"));
	free(buf);
	ck_assert_int_eq(parse(&o, &err, (const char *[]){ "--version", NULL }), 0);
	ck_assert(o.exit_now);
}
END_TEST

static char *version_of(struct options *o, struct gs_error *err)
{
	char *argv[] = { "gilstats", "--version", NULL }, *buf = NULL;
	size_t len = 0;
	FILE *out = open_memstream(&buf, &len);

	ck_assert_int_eq(cli_parse(2, argv, o, out, err), 0);
	fclose(out);
	return buf;
}

/* $GILSTATS_CACHE_DIR: a cache of the tests' own, named by --version. */
START_TEST(cache_dir_from_environment)
{
	struct options o;
	struct gs_error err;
	char *out;

	setenv("GILSTATS_CACHE_DIR", "/tmp/gilstats-test-cache", 1);
	out = version_of(&o, &err);
	ck_assert_str_eq(o.cache_dir, "/tmp/gilstats-test-cache");
	ck_assert_ptr_nonnull(strstr(out, "compiled probes cached in: /tmp/gilstats-test-cache\n"));
	free(out);
	setenv("GILSTATS_CACHE_DIR", "relative/cache", 1);
	assert_usage_error((const char *[]){ "4242", NULL }, "cache directory $GILSTATS_CACHE_DIR is not an absolute path");
	/* Empty or unset: the configured cache, or none. */
	setenv("GILSTATS_CACHE_DIR", "", 1);
	ck_assert_int_eq(parse(&o, &err, (const char *[]){ "4242", NULL }), 0);
	if (GILSTATS_CACHE_DIR[0])
		ck_assert_str_eq(o.cache_dir, GILSTATS_CACHE_DIR);
	else
		ck_assert_ptr_null(o.cache_dir);
	unsetenv("GILSTATS_CACHE_DIR");
	out = version_of(&o, &err);
	ck_assert_ptr_nonnull(strstr(out, GILSTATS_CACHE_DIR[0] ? GILSTATS_CACHE_DIR : "(no cache)"));
	free(out);
}
END_TEST

Suite *cli_suite(void)
{
	Suite *s = suite_create("cli");
	TCase *tc = tcase_create("parse");

	tcase_add_test(tc, pid_interval_count);
	tcase_add_test(tc, bad_arguments);
	tcase_add_test(tc, whitespace_in_numbers);
	tcase_add_test(tc, fleet_options);
	tcase_add_test(tc, all_filters);
	tcase_add_test(tc, probe_kinds);
	tcase_add_test(tc, group_and_top);
	tcase_add_test(tc, help_and_version);
	tcase_add_test(tc, cache_dir_from_environment);
	suite_add_tcase(s, tc);
	return s;
}
