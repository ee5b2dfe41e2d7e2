#include "config.h"

#include "cli.h"

#include <argp.h>
#include <errno.h>
#include <limits.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>


#define PID_MAX_LIMIT 4194304 /* the kernel's ceiling for pid_max */

enum { OPT_KERNEL_HEADERS = 0x100, OPT_USAGE, OPT_PROBE };

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
	"    gilstats --probe=uprobe 4242   # time the libc wait functions instead\n"
	"    gilstats --kernel-headers /usr/src/linux-headers-6.1.0-13-amd64 4242\n"
	"\n"
	"Exit status: 0 ok, 1 runtime failure, 2 usage error, 3 target is not a\n"
	"traceable CPython process, 4 missing privileges or kernel support.\n";

static const struct argp_option option_table[] = {
	{ "json", 'j', NULL, 0, "Print JSON Lines (one object per interval, then a summary)", 0 },
	{ "kernel-headers", OPT_KERNEL_HEADERS, "DIR", 0,
	  "Kernel headers to compile the probes against (default: searched)", 0 },
	{ "probe", OPT_PROBE, "KIND", 0,
	  "futex: in-kernel, on the GIL's own futex words (default when the GIL's address is exact); "
	  "uprobe: on the libc wait functions (default otherwise)", 0 },
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
	case OPT_PROBE:
		if (strcmp(arg, "futex") != 0 && strcmp(arg, "uprobe") != 0) {
			gs_fail(ps->err, GS_EXIT_USAGE, "invalid --probe '%s': futex or uprobe", arg);
			return EINVAL;
		}
		ps->o->probe = arg;
		return 0;
	case 'h':
		/* argp_state_help prints nothing under ARGP_NO_ERRS. */
		argp_help(state->root_argp, ps->out, ARGP_HELP_STD_HELP, "gilstats");
		ps->o->exit_now = true;
		return 0;
	case OPT_USAGE:
		argp_help(state->root_argp, ps->out, ARGP_HELP_USAGE, "gilstats");
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

/* Whether arg is an option of the table; *takes_value when the next
 * argument is its value. */
static bool is_known_option(const char *arg, bool *takes_value)
{
	*takes_value = false;
	for (const struct argp_option *op = option_table; op->name || op->key; op++) {
		size_t n = op->name ? strlen(op->name) : 0;
		if (op->name && strncmp(arg, "--", 2) == 0 && strncmp(arg + 2, op->name, n) == 0 &&
		    (arg[2 + n] == '\0' || (op->arg && arg[2 + n] == '='))) {
			*takes_value = op->arg && arg[2 + n] == '\0';
			return true;
		}
		if (op->key > 0 && op->key < 0x100 && arg[0] == '-' && arg[1] == op->key) {
			*takes_value = op->arg && arg[2] == '\0';
			return op->arg || arg[2] == '\0';
		}
	}
	return false;
}

/* argp reports no position for an unknown option: find it ourselves. */
static void name_unknown_option(int argc, char **argv, struct parse_state *ps)
{
	for (int i = 1; i < argc; i++) {
		const char *a = argv[i];
		bool takes_value;
		if (strcmp(a, "--") == 0)
			break;
		if (a[0] != '-' || a[1] == '\0') {
			ps->positional++;
			continue;
		}
		/* getopt takes "-5" for an option; it is a negative number. */
		if (strspn(a + 1, "0123456789.") == strlen(a + 1)) {
			parse_positional(ps, a);
			return;
		}
		if (!is_known_option(a, &takes_value)) {
			gs_fail(ps->err, GS_EXIT_USAGE, "unknown option '%s' (see gilstats --help)", a);
			return;
		}
		if (takes_value && i + 1 == argc) {
			gs_fail(ps->err, GS_EXIT_USAGE, "option '%s' needs a value (see gilstats --help)", a);
			return;
		}
		i += takes_value;
	}
	gs_fail(ps->err, GS_EXIT_USAGE, "invalid command line (see gilstats --help)");
}

int cli_parse(int argc, char **argv, struct options *o, FILE *out, struct gs_error *err)
{
	static const struct argp argp = { option_table, parse_option, "PID [INTERVAL [COUNT]]", doc,
					   NULL, NULL, NULL };
	struct parse_state ps = { .o = o, .err = err, .out = out };

	memset(o, 0, sizeof *o);
	o->interval_s = 1.0;
	err->msg[0] = '\0';
	/* Our own errors and help: one line on failure, never a usage dump. */
	if (argp_parse(&argp, argc, argv, ARGP_NO_ERRS | ARGP_NO_HELP | ARGP_IN_ORDER, NULL, &ps) == 0)
		return 0;
	if (o->exit_now)
		return 0;
	if (err->msg[0] == '\0') {
		ps.positional = 0;
		name_unknown_option(argc, argv, &ps);
	}
	return -1;
}
