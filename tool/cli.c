#include "config.h"

#include "cli.h"

#include <argp.h>
#include <errno.h>
#include <limits.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>


#define PID_MAX_LIMIT 4194304 /* the kernel's ceiling for pid_max */

enum { OPT_KERNEL_HEADERS = 0x100, OPT_USAGE };

static const char doc[] =
	"Measure how long each thread of a running CPython process waits for the GIL.\n"
	"\n"
	"Attaches eBPF probes to process PID (no restart, no code change) and every\n"
	"INTERVAL seconds (default 1) prints, per thread, the time spent waiting for\n"
	"the GIL, the number of waits and the longest one; after COUNT intervals, on\n"
	"Ctrl-C/SIGTERM or when the target exits it prints a summary of the whole run."
	"\v"
	"EXAMPLES:\n"
	"    gilstats 4242              # a table every second until Ctrl-C\n"
	"    gilstats 4242 5            # every 5 seconds\n"
	"    gilstats 4242 1 10         # ten 1-second intervals, then the summary\n"
	"    gilstats --json 4242 1 10  # JSON Lines, one object per interval\n"
	"    gilstats --kernel-headers /usr/src/linux-headers-6.1.0-13-amd64 4242\n"
	"\n"
	"Exit status: 0 ok, 1 runtime failure, 2 usage error, 3 target is not a\n"
	"traceable CPython process, 4 missing privileges or kernel support.";

static const struct argp_option option_table[] = {
	{ "json", 'j', NULL, 0, "Print JSON Lines (one object per interval, then a summary)", 0 },
	{ "kernel-headers", OPT_KERNEL_HEADERS, "DIR", 0,
	  "Kernel headers to compile the probes against (default: searched)", 0 },
	{ "help", 'h', NULL, 0, "Give this help list", -1 },
	{ "usage", OPT_USAGE, NULL, 0, "Give a short usage message", -1 },
	{ "version", 'V', NULL, 0, "Print program version", -1 },
	{ 0 },
};

struct parse_state {
	struct options *o;
	struct gs_error *err;
	FILE *out;
	int positional;
};

int cli_parse_pid(const char *s, pid_t *pid, struct gs_error *err)
{
	char *end;
	long v;

	errno = 0;
	v = strtol(s, &end, 10);
	if (end == s || *end || (errno == ERANGE && v == LONG_MIN))
		return gs_fail(err, GS_EXIT_USAGE, "invalid pid '%s': not a number", s);
	if (v <= 0 || v > PID_MAX_LIMIT || errno == ERANGE)
		return gs_fail(err, GS_EXIT_USAGE, "invalid pid '%s': must be between 1 and %d", s,
			       PID_MAX_LIMIT);
	*pid = (pid_t)v;
	return 0;
}

int cli_parse_interval(const char *s, double *seconds, struct gs_error *err)
{
	char *end;
	double v;

	errno = 0;
	v = strtod(s, &end);
	if (end == s || *end || isnan(v))
		return gs_fail(err, GS_EXIT_USAGE, "invalid interval '%s': not a number", s);
	if (!(v >= CLI_MIN_INTERVAL_S && v <= CLI_MAX_INTERVAL_S))
		return gs_fail(err, GS_EXIT_USAGE, "invalid interval '%s': must be between %g and %g seconds",
			       s, CLI_MIN_INTERVAL_S, CLI_MAX_INTERVAL_S);
	*seconds = v;
	return 0;
}

int cli_parse_count(const char *s, long *count, struct gs_error *err)
{
	char *end;
	long v;

	errno = 0;
	v = strtol(s, &end, 10);
	if (end == s || *end)
		return gs_fail(err, GS_EXIT_USAGE, "invalid count '%s': not a number", s);
	if (v <= 0 || errno == ERANGE)
		return gs_fail(err, GS_EXIT_USAGE, "invalid count '%s': must be a positive integer", s);
	*count = v;
	return 0;
}

static int parse_positional(struct parse_state *ps, const char *arg)
{
	struct options *o = ps->o;

	switch (ps->positional++) {
	case 0:
		return cli_parse_pid(arg, &o->pid, ps->err) ? EINVAL : 0;
	case 1:
		return cli_parse_interval(arg, &o->interval_s, ps->err) ? EINVAL : 0;
	case 2:
		return cli_parse_count(arg, &o->count, ps->err) ? EINVAL : 0;
	default:
		gs_fail(ps->err, GS_EXIT_USAGE, "unexpected argument '%s' (usage: gilstats PID [INTERVAL [COUNT]])",
			arg);
		return EINVAL;
	}
}

static error_t parse_option(int key, char *arg, struct argp_state *state)
{
	struct parse_state *ps = state->input;

	switch (key) {
	case 'j':
		ps->o->json = true;
		return 0;
	case OPT_KERNEL_HEADERS:
		ps->o->kernel_headers = arg;
		return 0;
	case 'h':
		argp_state_help(state, ps->out, ARGP_HELP_STD_HELP & ~ARGP_HELP_EXIT_OK);
		ps->o->exit_now = true;
		return 0;
	case OPT_USAGE:
		argp_state_help(state, ps->out, ARGP_HELP_USAGE);
		ps->o->exit_now = true;
		return 0;
	case 'V':
		fprintf(ps->out, "%s\n", PACKAGE_STRING);
		ps->o->exit_now = true;
		return 0;
	case ARGP_KEY_ARG:
		return parse_positional(ps, arg);
	case ARGP_KEY_END:
		if (ps->positional == 0 && !ps->o->exit_now) {
			gs_fail(ps->err, GS_EXIT_USAGE, "missing pid (usage: gilstats PID [INTERVAL [COUNT]])");
			return EINVAL;
		}
		return 0;
	default:
		return ARGP_ERR_UNKNOWN;
	}
}

int cli_parse(int argc, char **argv, struct options *o, FILE *out, struct gs_error *err)
{
	static const struct argp argp = { option_table, parse_option, "PID [INTERVAL [COUNT]]", doc,
					   NULL, NULL, NULL };
	struct parse_state ps = { .o = o, .err = err, .out = out };
	int index = 0;

	memset(o, 0, sizeof *o);
	o->interval_s = 1.0;
	err->msg[0] = '\0';
	/* Our own errors and help: one line on failure, never a usage dump. */
	if (argp_parse(&argp, argc, argv, ARGP_NO_ERRS | ARGP_NO_HELP | ARGP_IN_ORDER, &index, &ps) == 0)
		return 0;
	if (o->exit_now)
		return 0;
	if (err->msg[0] == '\0') {
		const char *bad = index > 0 && index <= argc ? argv[index - 1] : "?";
		/* getopt takes "-5" for an option; it is a negative number. */
		if (bad[0] == '-' && strspn(bad + 1, "0123456789.") == strlen(bad + 1) && bad[1])
			parse_positional(&ps, bad);
		else
			gs_fail(err, GS_EXIT_USAGE, "unknown option '%s' (see gilstats --help)", bad);
	}
	return -1;
}
