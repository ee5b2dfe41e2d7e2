#include "config.h"

#include "harness.h"

#include <check.h>
#include <dirent.h>
#include <limits.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
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

static const char *srcdir(void)
{
	return env_or("GILSTATS_SRCDIR", ".");
}

static const char *builddir(void)
{
	return env_or("GILSTATS_BUILDDIR", ".");
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

static void copy_file(const char *from, const char *to)
{
	char buf[65536];
	int in = open(from, O_RDONLY), out = open(to, O_WRONLY | O_CREAT | O_TRUNC, 0755);
	ssize_t n;

	ck_assert_msg(in >= 0 && out >= 0, "cannot copy %s to %s", from, to);
	while ((n = read(in, buf, sizeof buf)) > 0)
		ck_assert_int_eq(write(out, buf, (size_t)n), n);
	close(in);
	close(out);
}

/* The workload's files as the interpreter sees them: copied into a chroot. */
static void workload_files(const struct interpreter *py, char *script, char *decoy, size_t len)
{
	char dir[1024], host_script[1024], host_decoy[1024];

	snprintf(host_script, sizeof host_script, "%s/tests/workloads/contention.py", srcdir());
	snprintf(host_decoy, sizeof host_decoy, "%s/tests/libdecoy.so", builddir());
	if (!py->root[0]) {
		snprintf(script, len, "%s", host_script);
		snprintf(decoy, len, "%s", host_decoy);
		return;
	}
	snprintf(dir, sizeof dir, "%s/tmp/gilstats-tests", py->root);
	mkdir(dir, 0755);
	snprintf(script, len, "%s/contention.py", dir);
	copy_file(host_script, script);
	snprintf(decoy, len, "%s/libdecoy.so", dir);
	copy_file(host_decoy, decoy);
	snprintf(script, len, "/tmp/gilstats-tests/contention.py");
	snprintf(decoy, len, "/tmp/gilstats-tests/libdecoy.so");
}

/* The first child of pid (the interpreter that unshare forked). */
static pid_t child_of(pid_t pid)
{
	char path[64], buf[64] = "";
	FILE *f;

	snprintf(path, sizeof path, "/proc/%d/task/%d/children", (int)pid, (int)pid);
	f = fopen(path, "r");
	ck_assert_ptr_nonnull(f);
	ck_assert_ptr_nonnull(fgets(buf, sizeof buf, f));
	fclose(f);
	return (pid_t)atoi(buf);
}

static void exec_workload(const struct interpreter *py, const struct workload_options *o, int out_fd)
{
	char script[2048], decoy[2048];
	const char *argv[48];
	size_t argc = 0;

	workload_files(py, script, decoy, sizeof script);
	if (o->pid_namespace) {
		argv[argc++] = "unshare";
		argv[argc++] = "--pid";
		argv[argc++] = "--fork";
	}
	if (py->root[0]) {
		argv[argc++] = "chroot";
		argv[argc++] = py->root;
	}
	argv[argc++] = py->python;
	argv[argc++] = "-u";
	argv[argc++] = script;
	argv[argc++] = "--report";
	argv[argc++] = "--native-lib";
	argv[argc++] = decoy;
	if (o->decoy) {
		argv[argc++] = "--decoy";
		argv[argc++] = decoy;
	}
	for (const char *const *a = o->args; a && *a && argc < 46; a++)
		argv[argc++] = *a;
	argv[argc] = NULL;
	for (const char *const *e = o->env; e && *e; e++)
		putenv((char *)*e);
	dup2(out_fd, 1);
	execvp(argv[0], (char *const *)argv);
	_exit(127);
}

void workload_start(struct workload *w, const struct interpreter *py, const struct workload_options *o)
{
	int out[2];
	char *line;

	memset(w, 0, sizeof *w);
	ck_assert_int_eq(pipe2(out, O_CLOEXEC), 0);
	w->pid = fork();
	ck_assert_int_ge(w->pid, 0);
	if (w->pid == 0)
		exec_workload(py, o, out[1]);
	close(out[1]);
	line = read_line(out[0], 60);
	w->out_fd = out[0];
	ck_assert_msg(line != NULL, "workload under %s did not report its threads", py->label);
	w->report = json_tokener_parse(line);
	ck_assert_msg(w->report != NULL, "workload report is not JSON: %s", line);
	free(line);
	if (o->pid_namespace) {
		w->launcher = w->pid;
		w->pid = child_of(w->launcher);
	}
}

bool workload_alive(const struct workload *w)
{
	return waitpid(w->launcher ? w->launcher : w->pid, NULL, WNOHANG) == 0;
}

void workload_stop(struct workload *w)
{
	if (w->pid > 0)
		kill(w->pid, SIGKILL);
	if (w->launcher > 0)
		kill(w->launcher, SIGKILL);
	waitpid(w->launcher ? w->launcher : w->pid, NULL, 0);
	json_object_put(w->report);
	if (w->out_fd > 0)
		close(w->out_fd);
	memset(w, 0, sizeof *w);
}

json_object *workload_final_report(struct workload *w, double timeout_s)
{
	char *line = read_line(w->out_fd, timeout_s);
	json_object *report = line ? json_tokener_parse(line) : NULL;

	ck_assert_msg(report != NULL, "the workload wrote no final report: %s", line ? line : "(nothing)");
	free(line);
	return report;
}

const char *workload_pid_arg(const struct workload *w)
{
	static char arg[16];

	snprintf(arg, sizeof arg, "%d", (int)w->pid);
	return arg;
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

struct tool_handle {
	pid_t pid;
	struct capture out, err;
	pthread_t reader; /* drains the pipes of a tool_start'ed run */
	double deadline;
	int signal_no;
	double signal_after_s;
};

/* Reads both pipes until they close, so the tool never blocks on a full
 * pipe; sends signal_no signal_after_s after the first output; kills the
 * tool at the deadline. */
static void *drain(void *arg)
{
	struct tool_handle *h = arg;
	double signal_at = 0;
	bool out_open = true, err_open = true;

	while (out_open || err_open) {
		struct pollfd pfd[2] = { { .fd = out_open ? h->out.fd : -1, .events = POLLIN },
					 { .fd = err_open ? h->err.fd : -1, .events = POLLIN } };
		double t = now_s();
		if (t > h->deadline) {
			kill(h->pid, SIGKILL);
			h->deadline = 0; /* marks the timeout */
		}
		if (h->signal_no && !signal_at && h->out.len > 0)
			signal_at = t + h->signal_after_s;
		if (signal_at && t >= signal_at) {
			kill(h->pid, h->signal_no);
			h->signal_no = 0;
		}
		poll(pfd, 2, 50);
		if (pfd[0].revents)
			out_open = capture_more(&h->out);
		if (pfd[1].revents)
			err_open = capture_more(&h->err);
	}
	return NULL;
}

static void finish(struct tool_handle *h, struct tool_run *r)
{
	bool timed_out = h->deadline == 0;
	int status;

	close(h->out.fd);
	close(h->err.fd);
	ck_assert_int_eq(waitpid(h->pid, &status, 0), h->pid);
	ck_assert_msg(!timed_out, "gilstats did not finish in time; stderr: %s", h->err.buf ? h->err.buf : "");
	memset(r, 0, sizeof *r);
	r->exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
	r->out = h->out.buf ? h->out.buf : strdup("");
	r->err = h->err.buf ? h->err.buf : strdup("");
	parse_lines(r);
	free(h);
}

static struct tool_handle *spawn(const char *const *args, double timeout_s)
{
	struct tool_handle *h = calloc(1, sizeof *h);

	ck_assert_ptr_nonnull(h);
	h->pid = spawn_tool(args, &h->out.fd, &h->err.fd);
	h->deadline = now_s() + timeout_s;
	return h;
}

/* Runs in the background until tool_wait (which gives it 10 minutes at most). */
struct tool_handle *tool_start(const char *const *args)
{
	struct tool_handle *h = spawn(args, 600);

	ck_assert_int_eq(pthread_create(&h->reader, NULL, drain, h), 0);
	return h;
}

pid_t tool_pid(const struct tool_handle *h)
{
	return h->pid;
}

void tool_wait(struct tool_handle *h, struct tool_run *r, double timeout_s)
{
	double until = now_s() + timeout_s;
	siginfo_t info;

	/* A tool that outlives the wait is killed; drain then ends. */
	for (;;) {
		memset(&info, 0, sizeof info);
		if (waitid(P_PID, (id_t)h->pid, &info, WEXITED | WNOHANG | WNOWAIT) != 0 || info.si_pid)
			break;
		if (now_s() >= until) {
			h->deadline = now_s();
			break;
		}
		usleep(20000);
	}
	pthread_join(h->reader, NULL);
	finish(h, r);
}

void tool_run(struct tool_run *r, const char *const *args, double timeout_s, int signal_no,
	      double signal_after_s)
{
	struct tool_handle *h = spawn(args, timeout_s);

	h->signal_no = signal_no;
	h->signal_after_s = signal_after_s;
	drain(h);
	finish(h, r);
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

bool field_bool(json_object *obj, const char *key)
{
	json_object *v = json_object_object_get(obj, key);

	ck_assert_msg(v != NULL, "field %s missing", key);
	return json_object_get_boolean(v);
}

void assert_cpu_wait(const char *label, json_object *line, json_object *cpu, int n, double tolerance)
{
	double t = field_double(line, "interval_s");
	double want = (n - 1) * t;
	double got = sum_over_threads(line, "gil_wait_s", cpu);

	fprintf(stderr, "%s %s (%s back end)%s: CPU threads waited %.3f s in %.3f s: %.3f of (N-1)*T\n", label,
		field_string(line, "python_version"), field_string(line, "probe"),
		field_bool(line, "summary") ? " summary" : "", got, t, got / want);
	ck_assert_msg(got > want * (1 - tolerance) && got < want * (1 + tolerance),
		      "%s: CPU threads waited %.3f s in %.3f s, want %.3f s +-%.0f%%", label, got, t, want,
		      tolerance * 100);
}

static bool is_executable(const char *path)
{
	return access(path, X_OK) == 0;
}

static size_t add_interpreter(struct interpreter *out, size_t n, size_t max, const char *label,
			      const char *root, const char *python)
{
	char host_path[2048], real[PATH_MAX], other[PATH_MAX], other_host[2048];
	const char *base = strrchr(python, '/') ? strrchr(python, '/') + 1 : python;

	snprintf(host_path, sizeof host_path, "%s%s", root, python);
	if (n >= max || !is_executable(host_path) || !realpath(host_path, real))
		return n;
	for (size_t i = 0; i < n; i++) {
		snprintf(other_host, sizeof other_host, "%s%s", out[i].root, out[i].python);
		if (realpath(other_host, other) && strcmp(other, real) == 0)
			return n; /* the same interpreter under another name */
	}
	memset(&out[n], 0, sizeof out[n]);
	snprintf(out[n].label, sizeof out[n].label, "%s", label);
	snprintf(out[n].python, sizeof out[n].python, "%s", python);
	snprintf(out[n].root, sizeof out[n].root, "%s", root);
	out[n].major = strncmp(base, "python2", 7) == 0 ? 2 : 3;
	/* bin/python3 links to python3.12: the real name has the version. */
	if (sscanf(strrchr(real, '/') + 1, "python%d.%d", &out[n].major, &out[n].minor) < 2)
		out[n].minor = -1;
	out[n].free_threaded = base[strlen(base) - 1] == 't';
	return n + 1;
}

bool default_interpreter(struct interpreter *out)
{
	const char *path = getenv("PATH");

	for (const char *p = path; p && *p;) {
		const char *colon = strchr(p, ':');
		size_t len = colon ? (size_t)(colon - p) : strlen(p);
		char candidate[1024];
		snprintf(candidate, sizeof candidate, "%.*s/python3", (int)len, p);
		if (is_executable(candidate) && add_interpreter(out, 0, 1, "python3 on PATH", "", candidate))
			return true;
		p = colon ? colon + 1 : NULL;
	}
	return false;
}

static size_t add_pyenv(struct interpreter *out, size_t n, size_t max)
{
	char root[1024], dir[1200], python[1600], label[96];
	const char *env = getenv("PYENV_ROOT");
	struct dirent **names;
	int count;

	snprintf(root, sizeof root, "%s", env && *env ? env : "/root/.pyenv");
	snprintf(dir, sizeof dir, "%s/versions", root);
	count = scandir(dir, &names, NULL, versionsort);
	for (int i = 0; i < count; i++) {
		const char *v = names[i]->d_name;
		if (v[0] != '.') {
			snprintf(python, sizeof python, "%s/%s/bin/python%c", dir, v, v[0]);
			snprintf(label, sizeof label, "pyenv %.60s", v);
			n = add_interpreter(out, n, max, label, "", python);
		}
		free(names[i]);
	}
	if (count >= 0)
		free(names);
	return n;
}

size_t discover_interpreters(struct interpreter *out, size_t max)
{
	const char *targets = env_or("GILSTATS_TARGETS", "/var/cache/gilstats-targets");
	char trixie[1024], sid[1024];
	size_t n = 0;

	n = add_interpreter(out, n, max, "debian python3", "", "/usr/bin/python3");
	n = add_interpreter(out, n, max, "debian python2.7", "", "/usr/bin/python2.7");
	n = add_pyenv(out, n, max);
	snprintf(trixie, sizeof trixie, "%s/trixie", targets);
	snprintf(sid, sizeof sid, "%s/sid", targets);
	n = add_interpreter(out, n, max, "trixie chroot python3.13", trixie, "/usr/bin/python3.13");
	n = add_interpreter(out, n, max, "sid chroot python3.14", sid, "/usr/bin/python3.14");
	n = add_interpreter(out, n, max, "trixie chroot python3.13t", trixie, "/opt/python3.13t/bin/python3.13t");
	struct interpreter on_path;

	/* pyenv's shim runs one of the versions above. */
	if (default_interpreter(&on_path) && strstr(on_path.python, "/shims/") == NULL)
		n = add_interpreter(out, n, max, "python3 on PATH", "", on_path.python);
	return n;
}

char *shell(const char *cmd)
{
	char *buf = NULL;
	size_t len = 0;
	FILE *mem = open_memstream(&buf, &len);
	FILE *p = popen(cmd, "r");
	char chunk[4096];
	size_t n;

	ck_assert_ptr_nonnull(p);
	while ((n = fread(chunk, 1, sizeof chunk, p)) > 0)
		fwrite(chunk, 1, n, mem);
	pclose(p);
	fclose(mem);
	return buf;
}

int promtool_check_metrics(const char *text, char **out)
{
	char path[] = "/tmp/gilstats-metrics-XXXXXX", cmd[256];
	int fd = mkstemp(path);

	ck_assert_int_ge(fd, 0);
	ck_assert(write(fd, text, strlen(text)) == (ssize_t)strlen(text));
	close(fd);
	snprintf(cmd, sizeof cmd, "promtool check metrics < %s 2>&1; echo \"rc=$?\"", path);
	*out = shell(cmd);
	unlink(path);
	return strstr(*out, "rc=0") ? 0 : 1;
}
