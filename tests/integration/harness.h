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
const char *workload_script(void);
const char *decoy_library(void);

struct workload {
	pid_t pid;
	json_object *report; /* {"cpu": [tids], "io": [...], "decoy": [...], ...} */
};

/* Starts python running contention.py --report with extra arguments
 * (NULL-terminated) and waits for its report line. */
void workload_start(struct workload *w, const char *python, const char *const *extra);
void workload_stop(struct workload *w);
/* Is the workload's process still running? */
bool workload_alive(const struct workload *w);

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

/* Sum of a numeric field over the threads of one line whose tid is in tids
 * (a JSON array of ints). */
double sum_over_threads(json_object *line, const char *field, json_object *tids);
json_object *find_thread(json_object *line, int tid);
double field_double(json_object *obj, const char *key);
const char *field_string(json_object *obj, const char *key);

/* Interpreters to test: python3 from PATH and /usr/bin/python3. */
size_t discover_pythons(const char **out, size_t max);

#endif
