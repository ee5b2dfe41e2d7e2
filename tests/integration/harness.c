#include "config.h"

#include "harness.h"

#include <check.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static const char *env_or(const char *name, const char *fallback)
{
	const char *v = getenv(name);

	return v && *v ? v : fallback;
}

const char *gilstats_binary(void)
{
	return env_or("GILSTATS", "./gilstats");
}

const char *workload_script(void)
{
	static char path[4096];

	snprintf(path, sizeof path, "%s/tests/workloads/contention.py", env_or("GILSTATS_SRCDIR", "."));
	return path;
}

const char *decoy_library(void)
{
	static char path[4096];

	snprintf(path, sizeof path, "%s/tests/libdecoy.so", env_or("GILSTATS_BUILDDIR", "."));
	return path;
}

void require_root_and_bpf(void)
{
	struct stat st;
	const char *why = NULL;

	if (geteuid() != 0)
		why = "not root";
	else if (stat("/sys/bus/event_source/devices/uprobe", &st) != 0)
		why = "no uprobe support in this kernel";
	if (!why)
		return;
	if (getenv("CI") && strcmp(getenv("CI"), "true") == 0) {
		fprintf(stderr, "integration tests cannot run in CI: %s\n", why);
		exit(1);
	}
	fprintf(stderr, "skipping integration tests: %s\n", why);
	exit(77);
}

/* Reads a line from fd (up to the newline) within timeout_s. */
static char *read_line(int fd, double timeout_s)
{
	size_t cap = 4096, len = 0;
	char *buf = malloc(cap);
	double deadline = now_s() + timeout_s;

	while (buf) {
		struct pollfd pfd = { .fd = fd, .events = POLLIN };
		int left = (int)((deadline - now_s()) * 1000);
		char c;
		if (left <= 0 || poll(&pfd, 1, left) <= 0 || read(fd, &c, 1) != 1)
			break;
		if (c == '\n') {
			buf[len] = '\0';
			return buf;
		}
		if (len + 2 >= cap) {
			char *nb = realloc(buf, cap * 2);
			if (!nb)
				break;
			buf = nb;
			cap *= 2;
		}
		buf[len++] = c;
	}
	free(buf);
	return NULL;
}

void workload_start(struct workload *w, const char *python, const char *const *extra)
{
	const char *argv[32] = { python, "-u", workload_script(), "--report" };
	size_t argc = 4;
	int out[2];
	char *line;

	for (; extra && *extra && argc < 31; extra++)
		argv[argc++] = *extra;
	argv[argc] = NULL;
	ck_assert_int_eq(pipe2(out, O_CLOEXEC), 0);
	w->pid = fork();
	ck_assert_int_ge(w->pid, 0);
	if (w->pid == 0) {
		dup2(out[1], 1);
		execvp(python, (char *const *)argv);
		_exit(127);
	}
	close(out[1]);
	line = read_line(out[0], 30);
	close(out[0]);
	ck_assert_msg(line != NULL, "workload %s did not report its threads", python);
	w->report = json_tokener_parse(line);
	ck_assert_msg(w->report != NULL, "workload report is not JSON: %s", line);
	free(line);
}

bool workload_alive(const struct workload *w)
{
	return waitpid(w->pid, NULL, WNOHANG) == 0;
}

void workload_stop(struct workload *w)
{
	if (w->pid > 0) {
		kill(w->pid, SIGKILL);
		waitpid(w->pid, NULL, 0);
	}
	json_object_put(w->report);
	memset(w, 0, sizeof *w);
}

struct capture {
	int fd;
	char *buf;
	size_t len, cap;
};

static bool capture_more(struct capture *c)
{
	char chunk[4096];
	ssize_t n = read(c->fd, chunk, sizeof chunk);

	if (n <= 0)
		return false;
	if (c->len + (size_t)n + 1 > c->cap) {
		c->cap = (c->len + (size_t)n + 1) * 2;
		c->buf = realloc(c->buf, c->cap);
		ck_assert_ptr_nonnull(c->buf);
	}
	memcpy(c->buf + c->len, chunk, (size_t)n);
	c->len += (size_t)n;
	c->buf[c->len] = '\0';
	return true;
}

static pid_t spawn_tool(const char *const *args, int *out_fd, int *err_fd)
{
	const char *argv[32] = { gilstats_binary() };
	size_t argc = 1;
	int out[2], err[2];
	pid_t pid;

	for (; *args && argc < 31; args++)
		argv[argc++] = *args;
	argv[argc] = NULL;
	ck_assert_int_eq(pipe2(out, O_CLOEXEC), 0);
	ck_assert_int_eq(pipe2(err, O_CLOEXEC), 0);
	pid = fork();
	ck_assert_int_ge(pid, 0);
	if (pid == 0) {
		dup2(out[1], 1);
		dup2(err[1], 2);
		execv(argv[0], (char *const *)argv);
		_exit(127);
	}
	close(out[1]);
	close(err[1]);
	*out_fd = out[0];
	*err_fd = err[0];
	return pid;
}

static void parse_lines(struct tool_run *r)
{
	char *save = NULL;
	char *copy = strdup(r->out ? r->out : "");

	for (char *line = strtok_r(copy, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
		json_object *obj = line[0] == '{' ? json_tokener_parse(line) : NULL;
		if (!obj)
			continue;
		r->lines = realloc(r->lines, (r->nlines + 1) * sizeof *r->lines);
		r->lines[r->nlines++] = obj;
	}
	free(copy);
}

void tool_run(struct tool_run *r, const char *const *args, double timeout_s, int signal_no,
	      double signal_after_s)
{
	struct capture out = { 0 }, err = { 0 };
	double deadline = now_s() + timeout_s, signal_at = 0;
	bool out_open = true, err_open = true;
	int status;
	pid_t pid;

	memset(r, 0, sizeof *r);
	pid = spawn_tool(args, &out.fd, &err.fd);
	while (out_open || err_open) {
		struct pollfd pfd[2] = { { .fd = out_open ? out.fd : -1, .events = POLLIN },
					 { .fd = err_open ? err.fd : -1, .events = POLLIN } };
		double t = now_s();
		if (t > deadline) {
			kill(pid, SIGKILL);
			waitpid(pid, NULL, 0);
			ck_abort_msg("gilstats did not finish within %.0f s; stderr: %s", timeout_s,
				     err.buf ? err.buf : "");
		}
		if (signal_no && !signal_at && out.len > 0)
			signal_at = t + signal_after_s;
		if (signal_at && t >= signal_at) {
			kill(pid, signal_no);
			signal_no = 0;
		}
		poll(pfd, 2, 50);
		if (pfd[0].revents)
			out_open = capture_more(&out);
		if (pfd[1].revents)
			err_open = capture_more(&err);
	}
	close(out.fd);
	close(err.fd);
	ck_assert_int_eq(waitpid(pid, &status, 0), pid);
	r->exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
	r->out = out.buf ? out.buf : strdup("");
	r->err = err.buf ? err.buf : strdup("");
	parse_lines(r);
}

void tool_run_free(struct tool_run *r)
{
	for (size_t i = 0; i < r->nlines; i++)
		json_object_put(r->lines[i]);
	free(r->lines);
	free(r->out);
	free(r->err);
	memset(r, 0, sizeof *r);
}

json_object *find_thread(json_object *line, int tid)
{
	json_object *threads = json_object_object_get(line, "threads");
	size_t n = json_object_array_length(threads);

	for (size_t i = 0; i < n; i++) {
		json_object *t = json_object_array_get_idx(threads, i);
		if (json_object_get_int(json_object_object_get(t, "tid")) == tid)
			return t;
	}
	return NULL;
}

double field_double(json_object *obj, const char *key)
{
	json_object *v = json_object_object_get(obj, key);

	ck_assert_msg(v != NULL, "field %s missing", key);
	return json_object_get_double(v);
}

const char *field_string(json_object *obj, const char *key)
{
	json_object *v = json_object_object_get(obj, key);

	return v ? json_object_get_string(v) : NULL;
}

double sum_over_threads(json_object *line, const char *field, json_object *tids)
{
	double sum = 0;

	for (size_t i = 0; i < json_object_array_length(tids); i++) {
		json_object *t = find_thread(line, json_object_get_int(json_object_array_get_idx(tids, i)));
		if (t)
			sum += field_double(t, field);
	}
	return sum;
}

static bool is_executable(const char *path)
{
	return access(path, X_OK) == 0;
}

size_t discover_pythons(const char **out, size_t max)
{
	static char from_path[4096];
	const char *path = getenv("PATH");
	size_t n = 0;

	/* The first python3 on PATH (as a user would run it), then Debian's. */
	for (const char *p = path; p && *p && n == 0;) {
		const char *colon = strchr(p, ':');
		size_t len = colon ? (size_t)(colon - p) : strlen(p);
		snprintf(from_path, sizeof from_path, "%.*s/python3", (int)len, p);
		if (is_executable(from_path) && n < max)
			out[n++] = from_path;
		p = colon ? colon + 1 : NULL;
	}
	if (is_executable("/usr/bin/python3") && n < max &&
	    !(n && strcmp(out[0], "/usr/bin/python3") == 0))
		out[n++] = "/usr/bin/python3";
	return n;
}
