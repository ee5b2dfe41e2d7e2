#include "config.h"

#include "tool/cli.h"
#include "tool/bpf/probe_backend.h"

#include <argp.h>
#include <ctype.h>
#include <errno.h>
#include <limits.h>
#include <math.h>
#include <pwd.h>
#include <regex.h>
#include <stdlib.h>
#include <string.h>


#define PID_MAX_LIMIT 4194304 /* the kernel's ceiling for pid_max */

enum {
	OPT_KERNEL_HEADERS = 0x100,
	OPT_USAGE,
	OPT_PROBE,
	OPT_SVG,
	OPT_FOLDED,
	OPT_FLAMEGRAPH,
	OPT_FOLDED_WAITS,
	OPT_NO_CACHE,
	OPT_COMPILE_ONLY,
	OPT_HOLD_RATE,
	OPT_CHILDREN,
	OPT_ALL,
	OPT_MATCH,
	OPT_USER,
	OPT_LISTEN,
	OPT_TEXTFILE,
	OPT_PER_THREAD_METRICS,
	OPT_GROUP,
	OPT_TOP,
};

static const char doc[] =
	"Measure how long each thread of a running CPython process waits for the GIL.\n"
	"\n"
	"Attaches eBPF probes to process PID (no restart, no code change), or starts\n"
	"COMMAND and traces it from its first line of Python, and every INTERVAL\n"
	"seconds (default 1) shows, per thread, its CPU use and the time it waited for\n"
	"the GIL, with a one-line verdict; after COUNT intervals, on Ctrl-C/SIGTERM or\n"
	"when the target exits it prints a summary of the whole run. On a terminal the\n"
	"view is live (q quits, s changes the sort, h shows the histogram)."
	"\v"
	"EXAMPLES:\n"
	"    gilstats 4242              # a live view, refreshed every second\n"
	"    gilstats 4242 5            # every 5 seconds\n"
	"    gilstats -C 4242 1 10      # ten plain-text tables, then the summary\n"
	"    gilstats --json 4242 1 10  # JSON Lines, one object per interval\n"
	"    gilstats -H -T 4242        # with histograms of the waits, per thread\n"
	"    gilstats --svg gil.svg -o gil.txt 4242 1 60   # a chart after a minute\n"
	"    gilstats --flamegraph held.svg --folded held.txt 4242 1 30  # where the GIL goes\n"
	"    gilstats -- python3 app.py # run app.py and trace it from the start\n"
	"    gilstats --probe=uprobe 4242   # time the libc wait functions instead\n"
	"    gilstats --hold-rate 100 4242  # sample the GIL's holder less often\n"
	"    gilstats --kernel-headers /usr/src/linux-headers-6.1.0-13-amd64 4242\n"
	"    gilstats -p 4242 -p 4343 5     # two processes, every 5 seconds\n"
	"    gilstats --children -p 4242    # a gunicorn master and its workers\n"
	"    gilstats --all --listen 127.0.0.1:9150   # every CPython process, for Prometheus\n"
	"    gilstats --all --textfile /var/lib/prometheus/node-exporter\n"
	"    gilstats --all --match 'gunicorn|celery' --user www-data   # some of them\n"
	"\n"
	"Exit status: 0 ok, 1 runtime failure, 2 usage error, 3 target is not a\n"
	"traceable CPython process, 4 missing privileges or kernel support; in launch\n"
	"mode, COMMAND's own exit status. See gilstats(8).\n";

static const struct argp_option option_table[] = {
	{ "json", 'j', NULL, 0, "Print JSON Lines (one object per interval, then a summary)", 0 },
	{ "pid", 'p', "PID", 0, "Trace PID too (repeatable; then INTERVAL and COUNT are the positional arguments)", 0 },
	{ "children", OPT_CHILDREN, NULL, 0, "Trace the descendants of the given PIDs too, as they start", 0 },
	{ "all", OPT_ALL, NULL, 0, "Trace every CPython process on the host, as they start", 0 },
	{ "match", OPT_MATCH, "ERE", 0,
	  "With --all: only processes whose command line (arguments joined by spaces) matches ERE", 0 },
	{ "user", OPT_USER, "NAME|UID", 0, "With --all: only processes running as this user (effective uid)", 0 },
	{ "listen", OPT_LISTEN, "HOST:PORT", 0, "Serve Prometheus metrics on http://HOST:PORT/metrics", 0 },
	{ "textfile", OPT_TEXTFILE, "DIR", 0,
	  "Write the metrics to DIR/gilstats.prom every interval (node_exporter's textfile collector)", 0 },
	{ "per-thread-metrics", OPT_PER_THREAD_METRICS, NULL, 0, "Metrics per thread too (tid and thread labels)", 0 },
	{ "no-clear", 'C', NULL, 0, "Plain text tables, one per interval, even on a terminal", 0 },
	{ "verbose", 'v', NULL, 0, "Say on standard error which back end traces each process, and why", 0 },
	{ "output", 'o', "FILE", 0, "Write the output (text or JSON) to FILE instead of stdout", 0 },
	{ "histogram", 'H', NULL, 0, "Log2 histogram of individual GIL wait durations", 0 },
	{ "per-thread", 'T', NULL, 0, "Histograms per thread too (implies -H)", 0 },
	{ "group", OPT_GROUP, NULL, 0,
	  "Rows by role (the thread name with its numbers as *), one row per role; in JSON too", 0 },
	{ "top", OPT_TOP, "N", 0, "Show at most N rows per process (text and live view)", 0 },
	{ "svg", OPT_SVG, "FILE", 0, "At the end, write a chart of GIL wait over time to FILE", 0 },
	{ "folded", OPT_FOLDED, "FILE", 0,
	  "At the end, write the GIL holders' Python stacks to FILE, folded (pid;thread;outer;...;inner samples) "
	  "for flamegraph.pl, speedscope or inferno", 0 },
	{ "flamegraph", OPT_FLAMEGRAPH, "FILE", 0, "At the end, write a flame graph (SVG) of the GIL holders' Python stacks to FILE", 0 },
	{ "folded-waits", OPT_FOLDED_WAITS, "FILE", 0,
	  "At the end, write the Python stacks threads waited for the GIL in to FILE, folded as --folded "
	  "(the count in waiter samples, a quarter of the hold rate)", 0 },
	{ "hold-rate", OPT_HOLD_RATE, "HZ", 0,
	  "Sample who holds the GIL HZ times a second (default 200; 0: off)", 0 },
	{ "kernel-headers", OPT_KERNEL_HEADERS, "DIR", 0,
	  "Kernel headers to compile the probes against (default: searched)", 0 },
	{ "probe", OPT_PROBE, "KIND", 0,
	  "sched: in-kernel, the GIL's own futex words seen at the scheduler's switches (default when the GIL's "
	  "address is exact and the kernel allows it); futex: the same words timed at system calls (the default "
	  "where the kernel refuses sched); uprobe: on the libc wait functions (default otherwise)", 0 },
	{ "no-cache", OPT_NO_CACHE, NULL, 0,
	  "Compile the probes even when a compiled copy is cached (" GILSTATS_CACHE_DIR ")", 0 },
	{ "compile-only", OPT_COMPILE_ONLY, NULL, 0,
	  "Compile the probes into the cache and exit (so the next start is fast: for packages and services)", 0 },
	{ "help", 'h', NULL, 0, "Give this help list", -1 },
	{ "usage", OPT_USAGE, NULL, 0, "Give a short usage message", -1 },
	{ "version", 'V', NULL, 0, "Print program version", -1 },
	{ 0 },
};

/* One rule for every number: digits (and what strtol/strtod take) only,
 * whitespace nowhere. strtol would skip it before a number, not after. */
static bool is_number_text(const char *s)
{
	if (!*s)
		return false;
	for (; *s; s++)
		if (isspace((unsigned char)*s))
			return false;
	return true;
}

struct parse_state {
	struct options *o;
	struct gs_error *err;
	FILE *out;
	int positional;
};

/* --user: a name from the user database, or a uid (which need not have one). */
static int parse_user(const char *s, uid_t *uid, struct gs_error *err)
{
	char *end;
	unsigned long n;
	const struct passwd *pw;

	errno = 0;
	n = strtoul(s, &end, 10);
	if (is_number_text(s) && !*end && errno == 0 && isdigit((unsigned char)*s) && n < (unsigned long)(uid_t)-1) {
		*uid = (uid_t)n;
		return 0;
	}
	if (!*s || !(pw = getpwnam(s)))
		return gs_fail(err, GS_EXIT_USAGE, "unknown user '%s' for --user: give a name or a uid", s);
	*uid = pw->pw_uid;
	return 0;
}

/* --match and --user, checked now so a bad one fails before anything runs. */
static int parse_filter(struct parse_state *ps, int key, const char *arg)
{
	regex_t re;
	int rc;

	if (key == OPT_USER) {
		ps->o->has_user = true;
		return parse_user(arg, &ps->o->user, ps->err);
	}
	if ((rc = regcomp(&re, arg, REG_EXTENDED | REG_NOSUB)) != 0) {
		char why[128];
		regerror(rc, &re, why, sizeof why);
		return gs_fail(ps->err, GS_EXIT_USAGE, "bad --match expression '%s': %s", arg, why);
	}
	regfree(&re);
	ps->o->match = arg;
	return 0;
}

int cli_parse_pid(const char *s, pid_t *pid, struct gs_error *err)
{
	char *end;
	long v;

	errno = 0;
	v = strtol(s, &end, 10);
	if (!is_number_text(s) || end == s || *end || (errno == ERANGE && v == LONG_MIN))
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
	if (!is_number_text(s) || end == s || *end || isnan(v))
		return gs_fail(err, GS_EXIT_USAGE, "invalid interval '%s': not a number", s);
	if (!(v >= CLI_MIN_INTERVAL_S && v <= CLI_MAX_INTERVAL_S))
		return gs_fail(err, GS_EXIT_USAGE, "invalid interval '%s': must be between %g and %g seconds",
			       s, CLI_MIN_INTERVAL_S, CLI_MAX_INTERVAL_S);
	*seconds = v;
	return 0;
}

static int parse_hold_rate(const char *s, long *hz, struct gs_error *err)
{
	char *end;
	long v;

	errno = 0;
	v = strtol(s, &end, 10);
	if (!is_number_text(s) || end == s || *end || v < 0 || v > CLI_MAX_HOLD_RATE || errno == ERANGE)
		return gs_fail(err, GS_EXIT_USAGE, "invalid --hold-rate '%s': must be between 0 and %d", s,
			       CLI_MAX_HOLD_RATE);
	*hz = v;
	return 0;
}

int cli_parse_count(const char *s, long *count, struct gs_error *err)
{
	char *end;
	long v;

	errno = 0;
	v = strtol(s, &end, 10);
	if (!is_number_text(s) || end == s || *end)
		return gs_fail(err, GS_EXIT_USAGE, "invalid count '%s': not a number", s);
	if (v <= 0 || errno == ERANGE)
		return gs_fail(err, GS_EXIT_USAGE, "invalid count '%s': must be a positive integer", s);
	*count = v;
	return 0;
}

static int add_pid(struct options *o, pid_t pid, struct gs_error *err)
{
	for (size_t i = 0; i < o->npids; i++)
		if (o->pids[i] == pid)
			return 0;
	if (o->npids == CLI_MAX_PIDS)
		return gs_fail(err, GS_EXIT_USAGE, "too many pids: at most %d", CLI_MAX_PIDS);
	o->pids[o->npids++] = pid;
	return 0;
}

static int parse_positional(struct parse_state *ps, const char *arg)
{
	struct options *o = ps->o;

	/* With -p or --all the positional arguments start at INTERVAL. */
	if (ps->positional == 0 && (o->npids || o->all))
		ps->positional = 1;
	switch (ps->positional++) {
	case 0:
		if (cli_parse_pid(arg, &o->pid, ps->err) != 0)
			return EINVAL;
		return add_pid(o, o->pid, ps->err) ? EINVAL : 0;
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
	case 'C':
		ps->o->no_clear = true;
		return 0;
	case 'v':
		ps->o->verbose = true;
		return 0;
	case 'o':
		ps->o->output = arg;
		return 0;
	case 'p': {
		pid_t pid;
		if (cli_parse_pid(arg, &pid, ps->err) != 0 || add_pid(ps->o, pid, ps->err) != 0)
			return EINVAL;
		return 0;
	}
	case OPT_CHILDREN:
		ps->o->children = true;
		return 0;
	case OPT_ALL:
		ps->o->all = true;
		return 0;
	case OPT_MATCH:
	case OPT_USER:
		return parse_filter(ps, key, arg) == 0 ? 0 : EINVAL;
	case OPT_LISTEN: {
		char host[256];
		unsigned port;
		if (cli_parse_listen(arg, host, sizeof host, &port, ps->err) != 0)
			return EINVAL;
		ps->o->listen = arg;
		return 0;
	}
	case OPT_TEXTFILE:
		ps->o->textfile = arg;
		return 0;
	case OPT_PER_THREAD_METRICS:
		ps->o->per_thread_metrics = true;
		return 0;
	case 'T':
		ps->o->per_thread = true;
		ps->o->histogram = true;
		return 0;
	case 'H':
		ps->o->histogram = true;
		return 0;
	case OPT_GROUP:
		ps->o->group = true;
		return 0;
	case OPT_TOP:
		if (cli_parse_count(arg, &ps->o->top, ps->err) != 0) {
			gs_fail(ps->err, GS_EXIT_USAGE, "invalid --top '%s': must be a positive integer", arg);
			return EINVAL;
		}
		return 0;
	case OPT_SVG:
		ps->o->svg = arg;
		return 0;
	case OPT_FOLDED:
		ps->o->folded = arg;
		return 0;
	case OPT_FLAMEGRAPH:
		ps->o->flamegraph = arg;
		return 0;
	case OPT_FOLDED_WAITS:
		ps->o->folded_waits = arg;
		return 0;
	case OPT_NO_CACHE:
		ps->o->no_cache = true;
		return 0;
	case OPT_HOLD_RATE:
		return parse_hold_rate(arg, &ps->o->hold_rate_hz, ps->err) ? EINVAL : 0;
	case OPT_KERNEL_HEADERS:
		ps->o->kernel_headers = arg;
		return 0;
	case OPT_PROBE: {
		enum probe_backend named;
		if (probe_backend_named(arg, &named) != 0) {
			gs_fail(ps->err, GS_EXIT_USAGE, "invalid --probe '%s': sched, futex or uprobe", arg);
			return EINVAL;
		}
		ps->o->probe = arg;
		return 0;
	}
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
		fprintf(ps->out, "%s\ncompiled probes cached in: %s\n", PACKAGE_STRING,
			ps->o->cache_dir ? ps->o->cache_dir : "(no cache)");
		ps->o->exit_now = true;
		return 0;
	case OPT_COMPILE_ONLY:
		ps->o->compile_only = true;
		return 0;
	case ARGP_KEY_ARG:
		if (ps->o->command) {
			gs_fail(ps->err, GS_EXIT_USAGE, "give a pid or -- COMMAND, not both");
			return EINVAL;
		}
		return parse_positional(ps, arg);
	case ARGP_KEY_END:
		if (ps->o->command && (ps->o->npids || ps->o->all || ps->o->children)) {
			gs_fail(ps->err, GS_EXIT_USAGE, "launch mode (-- COMMAND) traces that command only: no -p, --children or --all");
			return EINVAL;
		}
		if (ps->o->probe && strcmp(ps->o->probe, "uprobe") == 0 && cli_fleet(ps->o)) {
			gs_fail(ps->err, GS_EXIT_USAGE, "several processes are traced with --probe=sched or futex only");
			return EINVAL;
		}
		if (ps->o->svg && cli_fleet(ps->o)) {
			gs_fail(ps->err, GS_EXIT_USAGE, "one --svg chart shows one process: not with several");
			return EINVAL;
		}
		if ((ps->o->match || ps->o->has_user) && !ps->o->all) {
			gs_fail(ps->err, GS_EXIT_USAGE, "filters --match and --user choose among --all's processes: add --all");
			return EINVAL;
		}
		if (ps->o->children && !ps->o->npids) {
			gs_fail(ps->err, GS_EXIT_USAGE, "nothing for --children to follow: give the parent with -p PID");
			return EINVAL;
		}
		if (!ps->o->npids && !ps->o->all && !ps->o->command && !ps->o->exit_now && !ps->o->compile_only) {
			gs_fail(ps->err, GS_EXIT_USAGE,
				"missing pid (usage: gilstats PID [INTERVAL [COUNT]] or gilstats -- COMMAND)");
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

bool cli_fleet(const struct options *o)
{
	return o->npids > 1 || o->children || o->all;
}

int cli_parse_listen(const char *s, char *host, size_t host_size, unsigned *port, struct gs_error *err)
{
	const char *colon = strrchr(s, ':'), *h = s;
	size_t hlen;
	char *end;
	long v;

	if (!colon || colon == s)
		return gs_fail(err, GS_EXIT_USAGE, "invalid --listen '%s': HOST:PORT, like 127.0.0.1:9150", s);
	hlen = (size_t)(colon - s);
	if (*h == '[' && hlen >= 2 && colon[-1] == ']') { /* [::1]:9150 */
		h++;
		hlen -= 2;
	}
	errno = 0;
	v = strtol(colon + 1, &end, 10);
	/* 0: a free port the kernel picks, printed once listening. */
	if (!is_number_text(colon + 1) || end == colon + 1 || *end || v < 0 || v > 65535 || errno == ERANGE)
		return gs_fail(err, GS_EXIT_USAGE, "invalid --listen '%s': the port must be between 0 and 65535", s);
	if (hlen == 0 || hlen >= host_size)
		return gs_fail(err, GS_EXIT_USAGE, "invalid --listen '%s': no host", s);
	memcpy(host, h, hlen);
	host[hlen] = '\0';
	*port = (unsigned)v;
	return 0;
}

/* The cache of compiled probes: $GILSTATS_CACHE_DIR overrides the
 * configured one, so that a test suite run against an installed gilstats
 * keeps a cache of its own and never touches the package's. */
static int cache_dir(struct options *o, struct gs_error *err)
{
	const char *env = getenv("GILSTATS_CACHE_DIR");

	if (env && env[0]) {
		if (env[0] != '/')
			return gs_fail(err, GS_EXIT_USAGE, "cache directory $GILSTATS_CACHE_DIR is not an absolute path");
		o->cache_dir = env;
	} else {
		o->cache_dir = GILSTATS_CACHE_DIR[0] ? GILSTATS_CACHE_DIR : NULL;
	}
	return 0;
}

int cli_parse(int argc, char **argv, struct options *o, FILE *out, struct gs_error *err)
{
	static const char usage[] = "PID [INTERVAL [COUNT]]\n"
				    "-p PID [-p PID...] [--children] [INTERVAL [COUNT]]\n"
				    "--all [INTERVAL [COUNT]]\n"
				    "-- COMMAND [ARGS...]";
	static const struct argp argp = { option_table, parse_option, usage, doc, NULL, NULL, NULL };
	struct parse_state ps = { .o = o, .err = err, .out = out };

	memset(o, 0, sizeof *o);
	o->interval_s = 1.0;
	o->hold_rate_hz = CLI_DEFAULT_HOLD_RATE;
	err->msg[0] = '\0';
	if (cache_dir(o, err) != 0)
		return -1;
	/* Launch mode: everything after "--" is the command to run. */
	for (int i = 1; i < argc; i++)
		if (strcmp(argv[i], "--") == 0) {
			if (i + 1 == argc)
				return gs_fail(err, GS_EXIT_USAGE, "missing command after --");
			o->command = argv + i + 1;
			argc = i;
			break;
		}
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
