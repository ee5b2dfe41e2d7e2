/* Integration test harness: real CPython workloads traced by the built
 * gilstats binary, its JSON Lines parsed with json-c. */
#ifndef GILSTATS_TEST_HARNESS_H
#define GILSTATS_TEST_HARNESS_H

#include <json-c/json.h>
#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

/* Exits 77 (skip) without root or BPF; under CI=true that is a failure. */
void require_root_and_bpf(void);

/* Paths from the environment make check sets. */
const char *gilstats_binary(void);

/* An interpreter to trace: an executable, maybe inside a chroot. */
struct interpreter {
	char label[96];    /* "pyenv 3.9.18", "trixie chroot python3.13" */
	char python[512];  /* the executable, as seen inside root */
	char root[512];    /* chroot directory, "" for the host's */
	int major, minor;  /* from the executable's real name (python3.12) */
	bool free_threaded;
};

/* Every interpreter on the machine: python3 and python2.7 on PATH,
 * /usr/bin/python3, $(pyenv root)/versions/x, and the chroots and the
 * free-threaded build tests/targets/prepare made ($GILSTATS_TARGETS). */
size_t discover_interpreters(struct interpreter *out, size_t max);

/* The first python3 on PATH, as a user would run it. */
bool default_interpreter(struct interpreter *out);

struct workload_options {
	const char *const *args;  /* contention.py arguments, NULL-terminated */
	const char *const *env;   /* extra NAME=VALUE, NULL-terminated */
	bool pid_namespace;       /* in a new PID namespace (unshare --pid) */
	bool decoy;               /* load the native decoy library */
};

struct workload {
	pid_t pid;           /* the interpreter's pid as the host sees it */
	pid_t launcher;      /* what we forked (unshare), when not the interpreter */
	json_object *report; /* {"cpu": [tids], "io": [...], "decoy": [...], ...} */
	int out_fd;          /* its stdout */
};

/* Starts contention.py --report under py and waits for its report. */
void workload_start(struct workload *w, const struct interpreter *py, const struct workload_options *o);
void workload_stop(struct workload *w);
/* The line contention.py --final-report writes as it ends (the caller
 * frees it with json_object_put). */
json_object *workload_final_report(struct workload *w, double timeout_s);
/* Is the workload's process still running? */
bool workload_alive(const struct workload *w);
/* Its pid as a string, for gilstats' command line. */
const char *workload_pid_arg(const struct workload *w);

struct tool_run {
	int exit_code;  /* exit status, or 128 + signal */
	char *out, *err;
	json_object **lines;
	size_t nlines;
};

/* Runs gilstats with args (NULL-terminated, without argv[0]). When
 * signal_no is nonzero, sends it signal_after_s seconds after the first
 * line of output. Fails the test after timeout_s. */
void tool_run(struct tool_run *r, const char *const *args, double timeout_s, int signal_no,
	      double signal_after_s);
void tool_run_free(struct tool_run *r);

/* Starts gilstats in the background; tool_wait collects it like tool_run. */
struct tool_handle;
struct tool_handle *tool_start(const char *const *args);
void tool_wait(struct tool_handle *h, struct tool_run *r, double timeout_s);
pid_t tool_pid(const struct tool_handle *h);

/* Runs a shell command, returns its output (callers free). */
char *shell(const char *cmd);

/* promtool check metrics on text: 0 when it passes; *out (callers free)
 * holds what promtool said. */
int promtool_check_metrics(const char *text, char **out);

/* Sum of a numeric field over the threads of one line whose tid is in tids
 * (a JSON array of ints). */
double sum_over_threads(json_object *line, const char *field, json_object *tids);
json_object *find_thread(json_object *line, int tid);
double field_double(json_object *obj, const char *key);
const char *field_string(json_object *obj, const char *key);
bool field_bool(json_object *obj, const char *key);

/* With n CPU-bound threads one holds the GIL and n-1 wait: over an interval
 * of T seconds the CPU threads wait (n-1)*T in all. Checks that within
 * tolerance and logs the ratio. */
void assert_cpu_wait(const char *label, json_object *line, json_object *cpu, int n, double tolerance);

#endif
