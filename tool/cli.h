/* The command line: gilstats [OPTIONS] PID [INTERVAL [COUNT]]. */
#ifndef GILSTATS_CLI_H
#define GILSTATS_CLI_H

#include <stdbool.h>
#include <stdio.h>
#include <sys/types.h>

#include "tool/util/error.h"

#define CLI_MAX_INTERVAL_S 86400.0 /* one day */
#define CLI_MIN_INTERVAL_S 0.01
#define CLI_DEFAULT_HOLD_RATE 200
#define CLI_MAX_HOLD_RATE 10000
#define CLI_MAX_PIDS 64

struct options {
	pid_t pid;          /* the positional PID, or 0 */
	pid_t pids[CLI_MAX_PIDS]; /* every PID given (-p and the positional one) */
	size_t npids;
	bool children;      /* and their descendants, as they come */
	bool all;           /* every CPython process on the host */
	const char *match;  /* --match: --all takes those whose command line matches this ERE */
	bool has_user;      /* --user: --all takes those running as user (effective uid) */
	uid_t user;
	const char *listen; /* HOST:PORT serving /metrics, or NULL */
	const char *textfile; /* directory for node_exporter's textfile collector */
	bool per_thread_metrics;
	double interval_s;
	long count; /* intervals to print; 0 = until stopped */
	bool json;
	bool no_clear;     /* plain text even on a terminal */
	bool histogram, per_thread;
	bool group;         /* rows by role always, in JSON too */
	long top;           /* text and live view: at most this many rows; 0: all */
	const char *output; /* -o FILE, or NULL for stdout */
	const char *svg;    /* --svg FILE, or NULL */
	const char *folded;     /* --folded FILE: the holders' stacks, folded; or NULL */
	const char *folded_waits; /* --folded-waits FILE: the waiters' stacks, folded; or NULL */
	const char *flamegraph; /* --flamegraph FILE: the same as an SVG flame graph; or NULL */
	const char *kernel_headers;
	const char *probe;  /* a name of probe_backend.h, or NULL for the default */
	bool verbose;       /* -v: say on stderr which back end traces a process, and why */
	bool no_cache;      /* compile the probes even if they are cached */
	const char *cache_dir; /* $GILSTATS_CACHE_DIR, else the configured cache; NULL: none */
	bool compile_only;  /* fill the cache and exit */
	long hold_rate_hz;  /* samples of the GIL's holder per second; 0: none */
	char **command;     /* launch mode: the command after "--", NULL-terminated */
	bool exit_now; /* --help or --version was printed: exit 0 */
};

/* Parses argv. On failure returns -1 with err set (GS_EXIT_USAGE and one
 * line); --help and --version print to out and set exit_now. */
int cli_parse(int argc, char **argv, struct options *o, FILE *out, struct gs_error *err);

/* Whether more than one process may be traced (-p twice, --children, --all). */
bool cli_fleet(const struct options *o);

/* HOST:PORT of --listen ("[::1]:9150" for IPv6); host and port are
 * written to host/port. Returns 0 or -1 (err set). */
int cli_parse_listen(const char *s, char *host, size_t host_size, unsigned *port, struct gs_error *err);

/* Strict number parsers shared by the positional arguments. */
int cli_parse_pid(const char *s, pid_t *pid, struct gs_error *err);
int cli_parse_interval(const char *s, double *seconds, struct gs_error *err);
int cli_parse_count(const char *s, long *count, struct gs_error *err);

#endif
