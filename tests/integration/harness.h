/* Integration test harness: real CPython workloads traced by the built
 * gilstats binary, its JSON Lines parsed with json-c. */
#ifndef GILSTATS_TEST_HARNESS_H
#define GILSTATS_TEST_HARNESS_H

#include <json-c/json.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
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
	/* A workload of tests/workloads/ other than contention.py (its first
	 * line on stdout is its report; no --report, --native-lib or decoy);
	 * NULL: contention.py. */
	const char *script;
	const char *const *args;  /* the script's arguments, NULL-terminated */
	const char *const *env;   /* extra NAME=VALUE, NULL-terminated */
	bool pid_namespace;       /* in a new PID namespace (unshare --pid) */
	bool decoy;               /* load the native decoy library */
	double report_s;          /* how long its report may take (0: 60 s) */
};

struct workload {
	pid_t pid;           /* the interpreter's pid as the host sees it */
	pid_t launcher;      /* what we forked (unshare), when not the interpreter */
	json_object *report; /* {"cpu": [tids], "io": [...], "decoy": [...], ...} */
	int out_fd;          /* its stdout */
};

/* Starts contention.py --report (or o->script) under py, inside its
 * chroot if it has one, and waits for its report (its first line). */
void workload_start(struct workload *w, const struct interpreter *py, const struct workload_options *o);
void workload_stop(struct workload *w);
/* The line contention.py --final-report writes as it ends (the caller
 * frees it with json_object_put). */
json_object *workload_final_report(struct workload *w, double timeout_s);
/* The workload's next line on stdout, parsed; NULL when none came within
 * timeout_s (the caller frees it with json_object_put). */
json_object *workload_next_line(struct workload *w, double timeout_s);
/* Is the workload's process still running? */
bool workload_alive(const struct workload *w);
/* Its pid as a string, for gilstats' command line. */
const char *workload_pid_arg(const struct workload *w);

/* BPF object ids (programs or maps) a process held. */
struct bpf_ids {
	unsigned *ids;
	size_t n;
};

struct tool_run {
	int exit_code;  /* exit status, or 128 + signal */
	char *out, *err;
	json_object **lines;
	size_t nlines;
	/* The BPF programs and maps this gilstats process held while it ran,
	 * read from its /proc/PID/fdinfo (prog_id:, map_id:) as it ran. */
	struct bpf_ids progs, maps;
};

/* How to run gilstats: under a wrapper that execs it in the same process
 * (setpriv ...), or with a stdout nobody reads (EPIPE at the first line). */
struct tool_options {
	const char *const *wrapper; /* NULL-terminated argv before gilstats' */
	bool broken_stdout;
};

/* Runs gilstats with args (NULL-terminated, without argv[0]). When
 * signal_no is nonzero, sends it signal_after_s seconds after the first
 * line of output. Fails the test after timeout_s. */
void tool_run(struct tool_run *r, const char *const *args, double timeout_s, int signal_no,
	      double signal_after_s);
void tool_run_with(struct tool_run *r, const struct tool_options *o, const char *const *args, double timeout_s);
void tool_run_free(struct tool_run *r);

/* Starts gilstats in the background; tool_wait collects it like tool_run. */
struct tool_handle;
struct tool_handle *tool_start(const char *const *args);
struct tool_handle *tool_start_with(const struct tool_options *o, const char *const *args);
void tool_wait(struct tool_handle *h, struct tool_run *r, double timeout_s);
pid_t tool_pid(const struct tool_handle *h);

/* Readiness, instead of sleeping: wait (at most timeout_s) until the tool
 * has written n JSON lines (the first means its probes are attached), or
 * a line containing needle on stderr (a copy, the caller frees; NULL on
 * timeout), or until it holds a BPF program. */
bool tool_wait_lines(struct tool_handle *h, size_t n, double timeout_s);
size_t tool_lines_so_far(struct tool_handle *h);
char *tool_wait_stderr(struct tool_handle *h, const char *needle, double timeout_s);
bool tool_wait_attached(struct tool_handle *h, double timeout_s);
/* The port of --listen HOST:0, from the "listening on HOST:PORT" line. */
int tool_listen_port(struct tool_handle *h, double timeout_s);

/* Every program (and map) the run held is gone once it ended: each id no
 * longer resolves (BPF_PROG_GET_FD_BY_ID), after the kernel's deferred
 * free. When it attached (expect_some), it must have held some: a run
 * whose programs were never seen proves nothing. */
void assert_programs_released(const struct tool_run *r, bool expect_some);
/* The id of the map named name among those a running tool holds; 0: none. */
unsigned tool_map_named(struct tool_handle *h, const char *name);
/* The BPF ids a live process holds now (added to progs, maps). */
void collect_bpf_ids(pid_t pid, struct bpf_ids *progs, struct bpf_ids *maps);

/* Waits for cond(arg) to become true, polling every 10 ms; false on timeout. */
bool wait_until(bool (*cond)(const void *arg), const void *arg, double timeout_s);
/* pid has exec'd a program whose comm is comm. */
bool wait_for_comm(pid_t pid, const char *comm, double timeout_s);
bool wait_for_file(const char *path, double timeout_s);
/* The TCP port pid listens on (from its socket inodes and /proc/net/tcp*);
 * -1: none yet. */
int listening_port(pid_t pid);
/* GET http://127.0.0.1:port/path; the body (caller frees), NULL on error. */
char *http_get(int port, const char *path);
double monotonic_now(void);

/* Ground truth from the kernel: /proc/PID/task/TID/schedstat (ns on a CPU,
 * ns runnable in a run queue, timeslices). */
struct schedstat {
	uint64_t exec_ns, run_delay_ns, slices;
};
bool schedstat_read(pid_t pid, pid_t tid, struct schedstat *out);
/* CPU time of every thread of pid, summed (ns). */
uint64_t process_exec_ns(pid_t pid);

/* A background thread samples the schedstat of every thread of the
 * watched processes every few ms, stamped with CLOCK_MONOTONIC (the clock
 * of gilstats' "monotonic_s"), so the kernel's figures can be read over
 * exactly the window a JSON line covers. */
struct kernel_truth;
struct kernel_truth *truth_start(void);
void truth_watch(struct kernel_truth *k, pid_t pid);
void truth_stop(struct kernel_truth *k);

/* One thread (or a sum) over [t0, t1]: blocked = wall - exec - run_delay,
 * the time off the CPU and not runnable. uncertainty_s bounds the error of
 * interpolating between samples at the two ends. */
struct thread_truth {
	double wall_s, exec_s, run_delay_s, blocked_s, slices, uncertainty_s;
	size_t threads;
};
void truth_of(struct kernel_truth *k, pid_t tid, double t0, double t1, struct thread_truth *out);
void truth_of_tids(struct kernel_truth *k, json_object *tids, double t0, double t1, struct thread_truth *out);
/* A thread's time in a run queue over [t0, t1] from its schedstat
 * run_delay, which grows only as each queue period ends: the part of the
 * periods in progress at t0 and t1 is taken from the jumps after them.
 * *uncertainty_s bounds the error (sampling gaps). */
void truth_run_queue(struct kernel_truth *k, pid_t tid, double t0, double t1, double *run_delay_s,
		     double *uncertainty_s);
/* The window a gilstats JSON line measured: [monotonic_s - interval_s,
 * monotonic_s]. */
void line_window(json_object *line, double *t0, double *t1);

/* Runs a shell command, returns its output (callers free). */
char *shell(const char *cmd);

/* The cache directory gilstats --version names (callers free), or NULL
 * when it was built without one (make distcheck). */
char *tool_cache_dir(void);

/* Polls a tmux pane until it shows every needle (NULL-terminated) or
 * timeout_s passes: the last screen (callers free). No fixed sleeps, so a
 * slow machine only takes longer. */
char *tmux_wait_for(const char *session, const char *const *needles, double timeout_s);

/* promtool check metrics on text: 0 when it passes; *out (callers free)
 * holds what promtool said. */
int promtool_check_metrics(const char *text, char **out);

/* Sum of a numeric field over the threads of one line whose tid is in tids
 * (a JSON array of ints). */
double sum_over_threads(json_object *line, const char *field, json_object *tids);
/* field summed over every thread of a line. */
double sum_over_every_thread(json_object *line, const char *field);
json_object *find_thread(json_object *line, int tid);
double field_double(json_object *obj, const char *key);
const char *field_string(json_object *obj, const char *key);
bool field_bool(json_object *obj, const char *key);

/* A CPU-bound thread is off its CPU only waiting: for the GIL, for the
 * switch after dropping it (both blocked, not runnable), or in a run queue.
 * So over line i's window the CPU threads' gil_wait_s + switch_wait_s is
 * the kernel's blocked time, within tolerance (relative) plus the
 * sampling's uncertainty and, at each end of the window, one wait in
 * progress (a wait counts in the interval it ends in; bounded by the run's
 * longest, from the summary). While gil_wait_s includes the run-queue
 * tail of a wait it may be up to blocked + run_delay; once "cpu_wait_s"
 * is reported apart, it must match blocked alone. Logs the figures. */
void assert_waits_match_kernel(const char *label, struct kernel_truth *k, const struct tool_run *r, size_t i,
			       json_object *cpu, double tolerance);
/* gilstats' cpu_s for tids over line's window against the kernel's
 * sum_exec_runtime, within tolerance plus the sampling's uncertainty and
 * cpu_s's rounding (1 ms). */
void assert_cpu_matches_kernel(const char *label, struct kernel_truth *k, json_object *line, json_object *tids,
			       double tolerance);
/* No thread's figure above its line's interval: split at the boundaries,
 * a figure exceeds it by at most the map reads' time (read_s) and the
 * clock's granularity; the states a thread is in one at a time (on a CPU,
 * in a run queue, blocked waiting for the GIL or in drop_gil) add up to
 * at most the interval; the queue is at most the threads seen. */
void assert_figures_within_interval(const char *label, json_object *line);
/* The verdict_kind of pid's summary in r is want (or, with want2,
 * either; with negate: neither), and so is that of at least two thirds
 * of the intervals after the first (which may have begun as the program
 * did); every line's figures within its interval. Logs the verdicts. */
void assert_verdict_kinds(const char *label, const struct tool_run *r, pid_t pid, const char *want, const char *want2,
			  bool negate);
/* The lines of process pid in r, in order (fleet runs mix several). */
size_t lines_of_pid(const struct tool_run *r, pid_t pid, size_t *idx, size_t max);

#endif
