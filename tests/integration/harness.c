#include "config.h"

#include "harness.h"

#include <check.h>
#include <dirent.h>
#include <limits.h>
#include <math.h>
#include <netinet/in.h>
#include <sched.h>
#include <sys/socket.h>
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
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>
#include <linux/bpf.h>

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
		int left = (int)((deadline - now_s()) * 1000), ready;
		char c;
		if (left <= 0)
			break;
		if ((ready = poll(&pfd, 1, left)) < 0 && errno == EINTR)
			continue;
		if (ready <= 0 || read(fd, &c, 1) != 1)
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

/* Written beside and renamed over: another run of the suite (autopkgtest
 * beside make check) may have the old file mapped or half read, and
 * truncating a mapped library kills its process with SIGBUS. */
static void copy_file(const char *from, const char *to)
{
	char buf[65536], tmp[1100];
	int in, out;
	ssize_t n;

	snprintf(tmp, sizeof tmp, "%s.%d.tmp", to, (int)getpid());
	in = open(from, O_RDONLY);
	out = open(tmp, O_WRONLY | O_CREAT | O_TRUNC, 0755);
	ck_assert_msg(in >= 0 && out >= 0, "cannot copy %s to %s", from, tmp);
	while ((n = read(in, buf, sizeof buf)) > 0)
		ck_assert_int_eq(write(out, buf, (size_t)n), n);
	close(in);
	ck_assert_int_eq(close(out), 0);
	ck_assert_msg(rename(tmp, to) == 0, "cannot rename %s to %s", tmp, to);
}

/* The workload's files as the interpreter sees them: copied into a chroot
 * (the decoy library for contention.py only). */
static void workload_files(const struct interpreter *py, const char *name, char *script, char *decoy, size_t len)
{
	char dir[1024], host_script[1024], host_decoy[1024];
	bool contention = strcmp(name, "contention.py") == 0;

	snprintf(host_script, sizeof host_script, "%s/tests/workloads/%s", srcdir(), name);
	snprintf(host_decoy, sizeof host_decoy, "%s/tests/libdecoy.so", builddir());
	if (!py->root[0]) {
		snprintf(script, len, "%s", host_script);
		snprintf(decoy, len, "%s", host_decoy);
		return;
	}
	snprintf(dir, sizeof dir, "%s/tmp/gilstats-tests", py->root);
	mkdir(dir, 0755);
	snprintf(script, len, "%s/%s", dir, name);
	copy_file(host_script, script);
	if (contention) {
		snprintf(decoy, len, "%s/libdecoy.so", dir);
		copy_file(host_decoy, decoy);
	}
	snprintf(script, len, "/tmp/gilstats-tests/%s", name);
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

/* The workload's command line and environment, made before the fork: a
 * test may run threads (the kernel-truth sampler), and a child of a
 * threaded process may only call what is async-signal-safe until it
 * execs (a lock held by another thread at the fork stays held: a malloc
 * or ASan's allocator, and the child never reported). */
struct workload_exec {
	char script[2048], decoy[2048];
	const char *argv[48];
	char **envp;
};

/* The environment with o->env's variables set, as putenv would. */
static char **workload_env(const char *const *extra)
{
	size_t n = 0, k = 0;
	char **envp;

	while (environ[n])
		n++;
	for (const char *const *e = extra; e && *e; e++)
		n++;
	envp = calloc(n + 1, sizeof *envp);
	ck_assert_ptr_nonnull(envp);
	for (size_t i = 0; environ[i]; i++) {
		bool replaced = false;
		for (const char *const *e = extra; e && *e && !replaced; e++) {
			size_t name = strcspn(*e, "=");
			replaced = strncmp(environ[i], *e, name) == 0 && environ[i][name] == '=';
		}
		if (!replaced)
			envp[k++] = environ[i];
	}
	for (const char *const *e = extra; e && *e; e++)
		envp[k++] = (char *)(uintptr_t)*e; /* exec's arrays take no const, write nothing */
	return envp;
}

static void workload_prepare(struct workload_exec *x, const struct interpreter *py, const struct workload_options *o)
{
	size_t argc = 0;

	workload_files(py, o->script ? o->script : "contention.py", x->script, x->decoy, sizeof x->script);
	if (o->pid_namespace) {
		x->argv[argc++] = "unshare";
		x->argv[argc++] = "--pid";
		x->argv[argc++] = "--fork";
	}
	if (py->root[0]) {
		x->argv[argc++] = "chroot";
		x->argv[argc++] = py->root;
	}
	x->argv[argc++] = py->python;
	x->argv[argc++] = "-u";
	x->argv[argc++] = x->script;
	if (!o->script) {
		x->argv[argc++] = "--report";
		x->argv[argc++] = "--native-lib";
		x->argv[argc++] = x->decoy;
	}
	if (o->decoy && !o->script) {
		x->argv[argc++] = "--decoy";
		x->argv[argc++] = x->decoy;
	}
	for (const char *const *a = o->args; a && *a && argc < 46; a++)
		x->argv[argc++] = *a;
	x->argv[argc] = NULL;
	x->envp = workload_env(o->env);
}

void workload_start(struct workload *w, const struct interpreter *py, const struct workload_options *o)
{
	struct workload_exec x;
	int out[2];
	char *line;

	memset(w, 0, sizeof *w);
	workload_prepare(&x, py, o);
	ck_assert_int_eq(pipe2(out, O_CLOEXEC), 0);
	w->pid = fork();
	ck_assert_int_ge(w->pid, 0);
	if (w->pid == 0) {
		dup2(out[1], 1);
		execvpe(x.argv[0], (char *const *)(uintptr_t)x.argv, x.envp);
		_exit(127);
	}
	free(x.envp);
	close(out[1]);
	line = read_line(out[0], o->report_s > 0 ? o->report_s : 60);
	w->out_fd = out[0];
	ck_assert_msg(line != NULL, "%s under %s did not report", o->script ? o->script : "contention.py", py->label);
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

json_object *workload_next_line(struct workload *w, double timeout_s)
{
	char *line = read_line(w->out_fd, timeout_s);
	json_object *parsed = line ? json_tokener_parse(line) : NULL;

	free(line);
	return parsed;
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
	/* A pipe's worth at a time: a line of 1,500 threads is ~450 kB. */
	static _Thread_local char chunk[65536];
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

/* The ids after "prog_id:" or "map_id:" in /proc/PID/fdinfo/N. */
static void add_id(struct bpf_ids *set, unsigned id)
{
	for (size_t i = 0; i < set->n; i++)
		if (set->ids[i] == id)
			return;
	set->ids = realloc(set->ids, (set->n + 1) * sizeof *set->ids);
	ck_assert_ptr_nonnull(set->ids);
	set->ids[set->n++] = id;
}

void collect_bpf_ids(pid_t pid, struct bpf_ids *progs, struct bpf_ids *maps)
{
	char path[64], line[256];
	struct dirent *e;
	DIR *dir;

	snprintf(path, sizeof path, "/proc/%d/fdinfo", (int)pid);
	if (!(dir = opendir(path)))
		return;
	while ((e = readdir(dir))) {
		char file[320];
		unsigned id;
		FILE *f;
		if (e->d_name[0] == '.')
			continue;
		snprintf(file, sizeof file, "%s/%s", path, e->d_name);
		if (!(f = fopen(file, "r")))
			continue;
		while (fgets(line, sizeof line, f)) {
			if (progs && sscanf(line, "prog_id: %u", &id) == 1)
				add_id(progs, id);
			else if (maps && sscanf(line, "map_id: %u", &id) == 1)
				add_id(maps, id);
		}
		fclose(f);
	}
	closedir(dir);
}

static pid_t spawn_tool(const struct tool_options *o, const char *const *args, int *out_fd, int *err_fd)
{
	const char *argv[48];
	size_t argc = 0;
	int out[2], err[2];
	pid_t pid;

	for (const char *const *w = o && o->wrapper ? o->wrapper : NULL; w && *w && argc < 16; w++)
		argv[argc++] = *w;
	argv[argc++] = gilstats_binary();
	for (; *args && argc < 47; args++)
		argv[argc++] = *args;
	argv[argc] = NULL;
	ck_assert_int_eq(pipe2(out, O_CLOEXEC), 0);
	ck_assert_int_eq(pipe2(err, O_CLOEXEC), 0);
	pid = fork();
	ck_assert_int_ge(pid, 0);
	if (pid == 0) {
		dup2(out[1], 1);
		dup2(err[1], 2);
		execvp(argv[0], (char *const *)(uintptr_t)argv);
		_exit(127);
	}
	close(out[1]);
	close(err[1]);
	if (o && o->broken_stdout) { /* nobody will read: EPIPE at the first write */
		close(out[0]);
		out[0] = open("/dev/null", O_RDONLY | O_CLOEXEC);
	}
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
	bool threaded;
	pthread_mutex_t lock; /* out, err, progs, maps, while the reader runs */
	pthread_cond_t grew;  /* more output, or more BPF ids */
	double deadline;
	int signal_no;
	double signal_after_s;
	struct bpf_ids progs, maps;
};

/* Reads both pipes until they close, so the tool never blocks on a full
 * pipe; notes the BPF objects the tool holds as it runs; sends signal_no
 * signal_after_s after the first output; kills the tool at the deadline. */
static void *drain(void *arg)
{
	struct tool_handle *h = arg;
	double signal_at = 0;
	bool out_open = true, err_open = true;
	struct sched_param prio = { .sched_priority = 1 };

	/* Real-time, as gilstats' own loop: a reader starved by a target's
	 * hundreds of runnable threads would block gilstats' writes, and
	 * delay its intervals. It sleeps nearly all the time. */
	pthread_setschedparam(pthread_self(), SCHED_FIFO, &prio);
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
		poll(pfd, 2, 20);
		pthread_mutex_lock(&h->lock);
		collect_bpf_ids(h->pid, &h->progs, &h->maps);
		if (pfd[0].revents)
			out_open = capture_more(&h->out);
		if (pfd[1].revents)
			err_open = capture_more(&h->err);
		pthread_cond_broadcast(&h->grew);
		pthread_mutex_unlock(&h->lock);
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
	r->progs = h->progs;
	r->maps = h->maps;
	parse_lines(r);
	pthread_mutex_destroy(&h->lock);
	pthread_cond_destroy(&h->grew);
	free(h);
}

static struct tool_handle *spawn(const struct tool_options *o, const char *const *args, double timeout_s)
{
	struct tool_handle *h = calloc(1, sizeof *h);

	ck_assert_ptr_nonnull(h);
	pthread_mutex_init(&h->lock, NULL);
	pthread_cond_init(&h->grew, NULL);
	h->pid = spawn_tool(o, args, &h->out.fd, &h->err.fd);
	h->deadline = now_s() + timeout_s;
	return h;
}

/* Runs in the background until tool_wait (which gives it 10 minutes at most). */
struct tool_handle *tool_start_with(const struct tool_options *o, const char *const *args)
{
	struct tool_handle *h = spawn(o, args, 600);

	h->threaded = true;
	ck_assert_int_eq(pthread_create(&h->reader, NULL, drain, h), 0);
	return h;
}

struct tool_handle *tool_start(const char *const *args)
{
	return tool_start_with(NULL, args);
}

pid_t tool_pid(const struct tool_handle *h)
{
	return h->pid;
}

/* Waits on the reader's progress until ready(h) or timeout_s. */
static bool wait_output(struct tool_handle *h, bool (*ready)(struct tool_handle *, const void *), const void *arg,
			double timeout_s)
{
	double until = now_s() + timeout_s;
	bool ok;

	ck_assert(h->threaded);
	pthread_mutex_lock(&h->lock);
	while (!(ok = ready(h, arg)) && now_s() < until) {
		struct timespec ts;
		clock_gettime(CLOCK_REALTIME, &ts);
		ts.tv_nsec += 50000000;
		if (ts.tv_nsec >= 1000000000) {
			ts.tv_sec++;
			ts.tv_nsec -= 1000000000;
		}
		pthread_cond_timedwait(&h->grew, &h->lock, &ts);
	}
	pthread_mutex_unlock(&h->lock);
	return ok;
}

static size_t json_lines_in(const struct capture *c)
{
	size_t n = 0;

	for (const char *p = c->buf; p && *p;) {
		const char *nl = strchr(p, '\n');
		if (!nl)
			break;
		n += *p == '{';
		p = nl + 1;
	}
	return n;
}

static bool has_lines(struct tool_handle *h, const void *arg)
{
	return json_lines_in(&h->out) >= *(const size_t *)arg;
}

bool tool_wait_lines(struct tool_handle *h, size_t n, double timeout_s)
{
	return wait_output(h, has_lines, &n, timeout_s);
}

size_t tool_lines_so_far(struct tool_handle *h)
{
	size_t n;

	pthread_mutex_lock(&h->lock);
	n = json_lines_in(&h->out);
	pthread_mutex_unlock(&h->lock);
	return n;
}

/* A complete stderr line containing needle. */
static const char *stderr_line(struct tool_handle *h, const char *needle)
{
	const char *at = h->err.buf ? strstr(h->err.buf, needle) : NULL;

	return at && strchr(at, '\n') ? at : NULL;
}

static bool has_stderr(struct tool_handle *h, const void *needle)
{
	return stderr_line(h, needle) != NULL;
}

char *tool_wait_stderr(struct tool_handle *h, const char *needle, double timeout_s)
{
	char *copy = NULL;

	if (wait_output(h, has_stderr, needle, timeout_s)) {
		pthread_mutex_lock(&h->lock);
		const char *at = stderr_line(h, needle);
		copy = strndup(at, strcspn(at, "\n"));
		pthread_mutex_unlock(&h->lock);
	}
	return copy;
}

static bool holds_programs(struct tool_handle *h, const void *arg)
{
	(void)arg;
	return h->progs.n > 0;
}

bool tool_wait_attached(struct tool_handle *h, double timeout_s)
{
	return wait_output(h, holds_programs, NULL, timeout_s);
}

int tool_listen_port(struct tool_handle *h, double timeout_s)
{
	char *line = tool_wait_stderr(h, "listening on ", timeout_s);
	const char *colon = line ? strrchr(line, ':') : NULL;
	int port = colon ? atoi(colon + 1) : -1;

	ck_assert_msg(port > 0, "gilstats did not say where it listens: %s", line ? line : "(nothing)");
	free(line);
	return port;
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

void tool_run_with(struct tool_run *r, const struct tool_options *o, const char *const *args, double timeout_s)
{
	struct tool_handle *h = spawn(o, args, timeout_s);

	drain(h);
	finish(h, r);
}

void tool_run(struct tool_run *r, const char *const *args, double timeout_s, int signal_no,
	      double signal_after_s)
{
	struct tool_handle *h = spawn(NULL, args, timeout_s);

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
	free(r->progs.ids);
	free(r->maps.ids);
	memset(r, 0, sizeof *r);
}

static bool bpf_id_exists(int cmd, unsigned id)
{
	union bpf_attr attr;
	int fd;

	memset(&attr, 0, sizeof attr);
	if (cmd == BPF_PROG_GET_FD_BY_ID)
		attr.prog_id = id;
	else
		attr.map_id = id;
	fd = (int)syscall(SYS_bpf, cmd, &attr, sizeof attr);
	if (fd >= 0)
		close(fd);
	return fd >= 0;
}

void assert_programs_released(const struct tool_run *r, bool expect_some)
{
	size_t left = 0;

	ck_assert_msg(!expect_some || r->progs.n > 0, "the run's BPF programs were never seen in its fdinfo");
	/* The kernel frees a program a moment after its last reference goes
	 * (deferred work): wait up to 10 s for that. */
	for (int tries = 0; tries < 100; tries++) {
		left = 0;
		for (size_t i = 0; i < r->progs.n; i++)
			left += bpf_id_exists(BPF_PROG_GET_FD_BY_ID, r->progs.ids[i]);
		for (size_t i = 0; i < r->maps.n; i++)
			left += bpf_id_exists(BPF_MAP_GET_FD_BY_ID, r->maps.ids[i]);
		if (!left)
			break;
		usleep(100000);
	}
	ck_assert_msg(left == 0, "%zu of the run's %zu bpf programs and %zu maps remain", left, r->progs.n,
		      r->maps.n);
}

static unsigned map_named(const struct bpf_ids *maps, const char *name)
{
	for (size_t i = 0; i < maps->n; i++) {
		union bpf_attr attr;
		struct bpf_map_info info;
		int fd;
		memset(&attr, 0, sizeof attr);
		attr.map_id = maps->ids[i];
		if ((fd = (int)syscall(SYS_bpf, BPF_MAP_GET_FD_BY_ID, &attr, sizeof attr)) < 0)
			continue;
		memset(&info, 0, sizeof info);
		memset(&attr, 0, sizeof attr);
		attr.info.bpf_fd = (unsigned)fd;
		attr.info.info_len = sizeof info;
		attr.info.info = (uint64_t)(uintptr_t)&info;
		bool match = syscall(SYS_bpf, BPF_OBJ_GET_INFO_BY_FD, &attr, sizeof attr) == 0 &&
			     strcmp(info.name, name) == 0;
		close(fd);
		if (match)
			return maps->ids[i];
	}
	return 0;
}

unsigned tool_map_named(struct tool_handle *h, const char *name)
{
	unsigned id;

	pthread_mutex_lock(&h->lock);
	id = map_named(&h->maps, name);
	pthread_mutex_unlock(&h->lock);
	return id;
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

double sum_over_every_thread(json_object *line, const char *field)
{
	json_object *threads = json_object_object_get(line, "threads");
	double sum = 0;

	for (size_t i = 0; i < json_object_array_length(threads); i++)
		sum += field_double(json_object_array_get_idx(threads, i), field);
	return sum;
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

/* A figure, 0 when null (not measured). */
static double figure_or_0(json_object *t, const char *name)
{
	json_object *v = json_object_object_get(t, name);

	return v && !json_object_is_type(v, json_type_null) ? json_object_get_double(v) : 0;
}

/* What a figure may exceed its interval by besides read_s: the clock's
 * granularity and the moment between the maps' reads and the boundary's
 * time, when a period that ends is credited up to the boundary (split.h;
 * taken back at the next one). */
#define OVER_S 0.005

/* What a figure of a thread may exceed a span by: split at the boundaries,
 * by the map reads' time, and cpu_s's overlap with the waits it follows. */
struct slack {
	double over_s;   /* read_s and the clock's granularity */
	double hold_s;   /* gil_hold_s's sampling error: two samples' worth */
};

static void assert_within(const char *label, json_object *t, const char *what, double span, const struct slack *k)
{
	static const char *const each[] = { "gil_wait_s",	  "switch_wait_s",  "cpu_s",	 "cpu_wait_s",
					    "gil_hold_s",	  "gil_held_blocked_s", "gil_wait_max_s", "blocked_other_s",
					    "alive_s",		  "steal_s" };
	int tid = json_object_get_int(json_object_object_get(t, "tid"));

	for (size_t f = 0; f < sizeof each / sizeof each[0]; f++) {
		double allowed = span + k->over_s + (strcmp(each[f], "gil_hold_s") == 0 ? k->hold_s : 0);
		ck_assert_msg(figure_or_0(t, each[f]) <= allowed, "%s: thread %d %s %.6f s in %s of %.6f s", label, tid,
			      each[f], figure_or_0(t, each[f]), what, span);
	}
	double states = figure_or_0(t, "gil_wait_s") + figure_or_0(t, "switch_wait_s") + figure_or_0(t, "cpu_s") +
			figure_or_0(t, "cpu_wait_s") + figure_or_0(t, "steal_s");
	/* cpu_s is the kernel's sum_exec_runtime, whose slice of a woken thread starts at
	 * the clock read at its wake-up (the scheduler skips the next update),
	 * tens of microseconds before the switch-in where its waits end: up
	 * to 50 us of overlap per wake-up. */
	double wakeups = figure_or_0(t, "gil_waits") + figure_or_0(t, "switch_waits");
	ck_assert_msg(states <= span + k->over_s + 50e-6 * wakeups,
		      "%s: thread %d waited for the GIL, for a CPU and ran %.6f s in %s of %.6f s (gil %.6f, switch %.6f, "
		      "cpu %.6f, cpu wait %.6f, steal %.6f, %.0f wake-ups)",
		      label, tid, states, what, span, figure_or_0(t, "gil_wait_s"), figure_or_0(t, "switch_wait_s"),
		      figure_or_0(t, "cpu_s"), figure_or_0(t, "cpu_wait_s"), figure_or_0(t, "steal_s"), wakeups);
}

/* Within the interval, and within the part of it the thread was alive
 * (issue 12: request threads queued longer than they were said to live). */
static void assert_thread_within(const char *label, json_object *t, double interval, const struct slack *k)
{
	assert_within(label, t, "an interval", interval, k);
	if (json_object_object_get(t, "alive_s"))
		assert_within(label, t, "its alive time", figure_or_0(t, "alive_s"), k);
}

void assert_figures_within_interval(const char *label, json_object *line)
{
	/* A period that ended while gilstats read the maps is credited up to
	 * the boundary, past its end by at most the reads' time (read_s; a
	 * loaded host preempts gilstats there), and taken back next time. */
	double interval = field_double(line, "interval_s");
	double samples = figure_or_0(line, "gil_hold_samples");
	/* A summary adds each interval's sampling error of a thread's hold:
	 * against its alive time, hold is checked per interval only. */
	struct slack k = { .over_s = figure_or_0(line, "read_s") + OVER_S,
			   .hold_s = field_bool(line, "summary") ? interval : samples > 0 ? 2 * interval / samples : 0 };
	json_object *threads = json_object_object_get(line, "threads");
	int seen = json_object_get_int(json_object_object_get(line, "threads_seen"));

	ck_assert_msg(field_double(line, "gil_queue") <= (double)seen + 0.05, "%s: gil_queue %.2f above the %d threads seen",
		      label, field_double(line, "gil_queue"), seen);
	for (size_t i = 0; threads && i < json_object_array_length(threads); i++)
		assert_thread_within(label, json_object_array_get_idx(threads, i), interval, &k);
}

/* The summary's kind is want (or, with want2, either), and so is that of
 * at least two thirds of the intervals after the first. */
void assert_verdict_kinds(const char *label, const struct tool_run *r, pid_t pid, const char *want,
			    const char *want2, bool negate)
{
	size_t idx[64], n = lines_of_pid(r, pid, idx, 64), matching = 0, intervals = 0;
	json_object *summary = NULL;

	ck_assert_msg(n >= 4, "%s: %zu lines for pid %d: %s", label, n, (int)pid, r->err);
	for (size_t k = 0; k < n; k++) {
		json_object *line = r->lines[idx[k]];
		const char *kind = field_string(line, "verdict_kind");
		bool match = strcmp(kind, want) == 0 || (want2 && strcmp(kind, want2) == 0);
		ck_assert_int_eq(json_object_get_int(json_object_object_get(line, "schema_version")), 2);
		assert_figures_within_interval(label, line);
		fprintf(stderr, "%s: %s %.2f s: %s (queue %.2f, held %s%%): %s\n", label,
			field_bool(line, "summary") ? "summary" : "interval", field_double(line, "interval_s"), kind,
			field_double(line, "gil_queue"),
			json_object_to_json_string(json_object_object_get(line, "gil_held_pct")),
			field_string(line, "verdict"));
		if (field_bool(line, "summary")) {
			summary = line;
			continue;
		}
		if (k == 0)
			continue; /* the first interval may have begun as the program did */
		intervals++;
		matching += negate ? !match : match;
	}
	ck_assert_msg(summary != NULL, "%s: no summary", label);
	bool summary_match = strcmp(field_string(summary, "verdict_kind"), want) == 0 ||
			     (want2 && strcmp(field_string(summary, "verdict_kind"), want2) == 0);
	ck_assert_msg(negate ? !summary_match : summary_match, "%s: the summary is %s: %s", label,
		      field_string(summary, "verdict_kind"), field_string(summary, "verdict"));
	ck_assert_msg(intervals >= 3 && 3 * matching >= 2 * intervals, "%s: %zu of %zu intervals %s%s", label,
		      matching, intervals, negate ? "not " : "", want);
}

double monotonic_now(void)
{
	return now_s();
}

bool wait_until(bool (*cond)(const void *arg), const void *arg, double timeout_s)
{
	double until = now_s() + timeout_s;

	for (;;) {
		if (cond(arg))
			return true;
		if (now_s() >= until)
			return false;
		usleep(10000);
	}
}

struct comm_of {
	pid_t pid;
	const char *comm;
};

static bool has_comm(const void *arg)
{
	const struct comm_of *c = arg;
	char path[64], buf[64] = "";
	FILE *f;

	snprintf(path, sizeof path, "/proc/%d/comm", (int)c->pid);
	if (!(f = fopen(path, "r")))
		return false;
	if (!fgets(buf, sizeof buf, f))
		buf[0] = '\0';
	fclose(f);
	buf[strcspn(buf, "\n")] = '\0';
	return strcmp(buf, c->comm) == 0;
}

bool wait_for_comm(pid_t pid, const char *comm, double timeout_s)
{
	struct comm_of c = { pid, comm };

	return wait_until(has_comm, &c, timeout_s);
}

static bool file_exists(const void *path)
{
	return access(path, F_OK) == 0;
}

bool wait_for_file(const char *path, double timeout_s)
{
	return wait_until(file_exists, path, timeout_s);
}

/* Is inode a socket in state LISTEN in /proc/net/tcp or tcp6? Its port. */
static int listen_port_of_inode(unsigned long inode)
{
	static const char *const tables[] = { "/proc/net/tcp", "/proc/net/tcp6" };
	char line[512];

	for (size_t t = 0; t < 2; t++) {
		FILE *f = fopen(tables[t], "r");
		while (f && fgets(line, sizeof line, f)) {
			char local[128];
			unsigned state, port;
			unsigned long ino;
			if (sscanf(line, " %*d: %127s %*s %x %*s %*s %*s %*s %*s %lu", local, &state, &ino) == 3 &&
			    state == 0x0A && ino == inode && sscanf(strrchr(local, ':') + 1, "%x", &port) == 1) {
				fclose(f);
				return (int)port;
			}
		}
		if (f)
			fclose(f);
	}
	return -1;
}

int listening_port(pid_t pid)
{
	char path[64], link[320], target[128];
	struct dirent *e;
	DIR *dir;
	int port = -1;

	snprintf(path, sizeof path, "/proc/%d/fd", (int)pid);
	if (!(dir = opendir(path)))
		return -1;
	while (port < 0 && (e = readdir(dir))) {
		unsigned long inode;
		ssize_t n;
		snprintf(link, sizeof link, "%s/%s", path, e->d_name);
		if ((n = readlink(link, target, sizeof target - 1)) <= 0)
			continue;
		target[n] = '\0';
		if (sscanf(target, "socket:[%lu]", &inode) == 1)
			port = listen_port_of_inode(inode);
	}
	closedir(dir);
	return port;
}

char *http_get(int port, const char *path)
{
	struct sockaddr_in addr = { .sin_family = AF_INET, .sin_port = htons((uint16_t)port) };
	struct capture c = { 0 };
	char request[512];
	const char *body;
	char *copy;
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);

	ck_assert_int_ge(fd, 0);
	addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	snprintf(request, sizeof request, "GET %s HTTP/1.0\r\nHost: 127.0.0.1\r\n\r\n", path);
	if (connect(fd, (struct sockaddr *)&addr, sizeof addr) != 0 ||
	    write(fd, request, strlen(request)) != (ssize_t)strlen(request)) {
		close(fd);
		return NULL;
	}
	c.fd = fd;
	while (capture_more(&c))
		;
	close(fd);
	body = c.buf && strncmp(c.buf, "HTTP/1.", 7) == 0 && strstr(c.buf, " 200 ") ? strstr(c.buf, "\r\n\r\n") : NULL;
	copy = body ? strdup(body + 4) : NULL;
	free(c.buf);
	return copy;
}

bool schedstat_read(pid_t pid, pid_t tid, struct schedstat *out)
{
	char path[96];
	unsigned long long exec, delay, slices;
	FILE *f;
	int n;

	snprintf(path, sizeof path, "/proc/%d/task/%d/schedstat", (int)pid, (int)tid);
	if (!(f = fopen(path, "r")))
		return false;
	n = fscanf(f, "%llu %llu %llu", &exec, &delay, &slices);
	fclose(f);
	if (n != 3)
		return false;
	*out = (struct schedstat){ exec, delay, slices };
	return true;
}

uint64_t process_exec_ns(pid_t pid)
{
	char path[64];
	struct dirent *e;
	struct schedstat st;
	uint64_t sum = 0;
	DIR *dir;

	snprintf(path, sizeof path, "/proc/%d/task", (int)pid);
	if (!(dir = opendir(path)))
		return 0;
	while ((e = readdir(dir)))
		if (e->d_name[0] != '.' && schedstat_read(pid, atoi(e->d_name), &st))
			sum += st.exec_ns;
	closedir(dir);
	return sum;
}

struct truth_sample {
	double t;
	struct schedstat st;
};

struct truth_thread {
	pid_t tid;
	struct truth_sample *samples;
	size_t n, cap;
};

#define TRUTH_MAX_PIDS 16
#define TRUTH_PERIOD_US 4000

struct kernel_truth {
	pthread_t sampler;
	pthread_mutex_t lock;
	bool stop;
	pid_t pids[TRUTH_MAX_PIDS];
	size_t npids;
	struct truth_thread *threads;
	size_t nthreads;
};

static struct truth_thread *truth_thread(struct kernel_truth *k, pid_t tid)
{
	for (size_t i = 0; i < k->nthreads; i++)
		if (k->threads[i].tid == tid)
			return &k->threads[i];
	return NULL;
}

static void truth_add(struct kernel_truth *k, pid_t tid, double t, const struct schedstat *st)
{
	struct truth_thread *th = truth_thread(k, tid);

	if (!th) {
		k->threads = realloc(k->threads, (k->nthreads + 1) * sizeof *k->threads);
		ck_assert_ptr_nonnull(k->threads);
		th = &k->threads[k->nthreads++];
		memset(th, 0, sizeof *th);
		th->tid = tid;
	}
	if (th->n == th->cap) {
		th->cap = th->cap ? th->cap * 2 : 1024;
		th->samples = realloc(th->samples, th->cap * sizeof *th->samples);
		ck_assert_ptr_nonnull(th->samples);
	}
	th->samples[th->n++] = (struct truth_sample){ t, *st };
}

static void truth_sample_pid(struct kernel_truth *k, pid_t pid)
{
	char path[64];
	struct dirent *e;
	DIR *dir;

	snprintf(path, sizeof path, "/proc/%d/task", (int)pid);
	if (!(dir = opendir(path)))
		return;
	while ((e = readdir(dir))) {
		struct schedstat st;
		pid_t tid = atoi(e->d_name);
		/* Stamped right after the read: the read is microseconds. */
		if (tid > 0 && schedstat_read(pid, tid, &st))
			truth_add(k, tid, now_s(), &st);
	}
	closedir(dir);
}

static void *truth_loop(void *arg)
{
	struct kernel_truth *k = arg;
	struct sched_param prio = { .sched_priority = 1 };

	/* Real-time, so its samples stay a few ms apart on a busy machine;
	 * it sleeps nearly all the time. Without the privilege: best effort,
	 * and the uncertainty grows with the gaps. */
	pthread_setschedparam(pthread_self(), SCHED_FIFO, &prio);
	for (;;) {
		pthread_mutex_lock(&k->lock);
		if (k->stop) {
			pthread_mutex_unlock(&k->lock);
			return NULL;
		}
		for (size_t i = 0; i < k->npids; i++)
			truth_sample_pid(k, k->pids[i]);
		pthread_mutex_unlock(&k->lock);
		usleep(TRUTH_PERIOD_US);
	}
}

struct kernel_truth *truth_start(void)
{
	struct kernel_truth *k = calloc(1, sizeof *k);

	ck_assert_ptr_nonnull(k);
	pthread_mutex_init(&k->lock, NULL);
	ck_assert_int_eq(pthread_create(&k->sampler, NULL, truth_loop, k), 0);
	return k;
}

void truth_watch(struct kernel_truth *k, pid_t pid)
{
	pthread_mutex_lock(&k->lock);
	ck_assert_uint_lt(k->npids, TRUTH_MAX_PIDS);
	k->pids[k->npids++] = pid;
	truth_sample_pid(k, pid); /* from now on */
	pthread_mutex_unlock(&k->lock);
}

void truth_stop(struct kernel_truth *k)
{
	pthread_mutex_lock(&k->lock);
	k->stop = true;
	pthread_mutex_unlock(&k->lock);
	pthread_join(k->sampler, NULL);
	for (size_t i = 0; i < k->nthreads; i++)
		free(k->threads[i].samples);
	free(k->threads);
	pthread_mutex_destroy(&k->lock);
	free(k);
}

/* The thread's counters at time t, interpolated between the samples
 * around it; *gap: the distance between those (the error's bound). Before
 * its first sample or after its last: that sample (a thread that ended
 * stays as it ended). */
static void truth_at(const struct truth_thread *th, double t, double v[3], double *gap)
{
	size_t hi = 0;

	while (hi < th->n && th->samples[hi].t < t)
		hi++;
	const struct truth_sample *a = &th->samples[hi ? hi - 1 : 0], *b = &th->samples[hi < th->n ? hi : th->n - 1];
	double f = b->t > a->t ? (t - a->t) / (b->t - a->t) : 0;

	f = f < 0 ? 0 : f > 1 ? 1 : f;
	v[0] = ((double)a->st.exec_ns + f * (double)(b->st.exec_ns - a->st.exec_ns)) / 1e9;
	v[1] = ((double)a->st.run_delay_ns + f * (double)(b->st.run_delay_ns - a->st.run_delay_ns)) / 1e9;
	v[2] = (double)a->st.slices + f * (double)(b->st.slices - a->st.slices);
	*gap = hi == 0 ? th->samples[0].t - t : hi == th->n ? 0 : b->t - a->t;
}

/* The kernel's run_delay grows only when a queue period ends (at the
 * thread's arrival on a CPU, sched_info_arrive, or a migration), all at once. So at t it
 * lacks the part before t of the period in progress: taken from the first
 * jump after t, which is that period's length. With arrivals at b in
 * (t[m-1], t[m]] and the jump J there (k arrivals: the later ones lie
 * within the gap), the part before t is J - (b - t), bounded both ways. */
static void queued_at(const struct truth_thread *th, double t, double *value, double *err)
{
	size_t i = 0, m;

	while (i + 1 < th->n && th->samples[i + 1].t <= t)
		i++;
	const struct truth_sample *s = &th->samples[i];
	*value = (double)s->st.run_delay_ns / 1e9;
	*err = t > s->t ? t - s->t : s->t - t;
	for (m = i + 1; m < th->n && th->samples[m].st.slices == s->st.slices; m++)
		;
	if (m == th->n) {
		/* No arrival sampled after t: a period in progress until the
		 * last sample at most. */
		*err += th->samples[th->n - 1].t > t ? th->samples[th->n - 1].t - t : 0;
		return;
	}
	/* From sample i: a queued task that migrates has its delay so far
	 * added at the move (sched_info_dequeue), before its arrival. */
	const struct truth_sample *a = &th->samples[m - 1], *b = &th->samples[m];
	double jump = (double)(b->st.run_delay_ns - s->st.run_delay_ns) / 1e9, gap = b->t - a->t;
	double lo = jump - gap - (b->t - t), hi = jump - (a->t - t);

	lo = lo < 0 ? 0 : lo;
	hi = hi < 0 ? 0 : hi > jump ? jump : hi;
	*value += (lo + hi) / 2;
	*err += (hi - lo) / 2;
}

void truth_of(struct kernel_truth *k, pid_t tid, double t0, double t1, struct thread_truth *out)
{
	double v0[3], v1[3], gap0, gap1;

	pthread_mutex_lock(&k->lock);
	const struct truth_thread *th = truth_thread(k, tid);
	ck_assert_msg(th && th->n > 0, "thread %d was never sampled", (int)tid);
	/* A window begun before sampling did cannot be measured. */
	ck_assert_msg(th->samples[0].t <= t0 + 0.05, "thread %d sampled from %.3f, window from %.3f", (int)tid,
		      th->samples[0].t, t0);
	truth_at(th, t0, v0, &gap0);
	truth_at(th, t1, v1, &gap1);
	/* run_delay with the queue periods in progress at either end. */
	double q0, q1, e0, e1;
	queued_at(th, t0, &q0, &e0);
	queued_at(th, t1, &q1, &e1);
	v0[1] = q0;
	v1[1] = q1;
	gap0 = gap0 > e0 ? gap0 : e0;
	gap1 = gap1 > e1 ? gap1 : e1;
	double last = th->samples[th->n - 1].t;
	pthread_mutex_unlock(&k->lock);
	/* Not sampled for a while before t1: the thread ended there, and had
	 * no wall time after. */
	double end = t1 > last + 0.05 ? last : t1;
	*out = (struct thread_truth){ .wall_s = end - t0, .exec_s = v1[0] - v0[0], .run_delay_s = v1[1] - v0[1],
				      .slices = v1[2] - v0[2], .uncertainty_s = gap0 + gap1, .threads = 1 };
	out->blocked_s = out->wall_s - out->exec_s - out->run_delay_s;
	if (out->blocked_s < 0)
		out->blocked_s = 0;
}

void truth_of_tids(struct kernel_truth *k, json_object *tids, double t0, double t1, struct thread_truth *out)
{
	memset(out, 0, sizeof *out);
	for (size_t i = 0; i < json_object_array_length(tids); i++) {
		struct thread_truth one;
		truth_of(k, json_object_get_int(json_object_array_get_idx(tids, i)), t0, t1, &one);
		out->wall_s += one.wall_s;
		out->exec_s += one.exec_s;
		out->run_delay_s += one.run_delay_s;
		out->blocked_s += one.blocked_s;
		out->slices += one.slices;
		out->uncertainty_s += one.uncertainty_s;
		out->threads++;
	}
}

void line_window(json_object *line, double *t0, double *t1)
{
	*t1 = field_double(line, "monotonic_s");
	*t0 = *t1 - field_double(line, "interval_s");
}

size_t lines_of_pid(const struct tool_run *r, pid_t pid, size_t *idx, size_t max)
{
	size_t n = 0;

	for (size_t i = 0; i < r->nlines && n < max; i++)
		if ((pid_t)field_double(r->lines[i], "pid") == pid)
			idx[n++] = i;
	return n;
}

/* The longest single wait of each of the threads over the whole run (its
 * summary line), summed: what one wait in progress at a window's end can
 * move between intervals. */
static double longest_waits(const struct tool_run *r, json_object *line, json_object *tids)
{
	pid_t pid = (pid_t)field_double(line, "pid");

	for (size_t i = r->nlines; i-- > 0;)
		if ((pid_t)field_double(r->lines[i], "pid") == pid && field_bool(r->lines[i], "summary"))
			return sum_over_threads(r->lines[i], "gil_wait_max_s", tids);
	return sum_over_threads(line, "gil_wait_max_s", tids);
}

static bool reports_cpu_wait(json_object *line, json_object *tids)
{
	json_object *t = find_thread(line, json_object_get_int(json_object_array_get_idx(tids, 0)));

	return t && json_object_object_get(t, "cpu_wait_s") != NULL;
}

void assert_waits_match_kernel(const char *label, struct kernel_truth *k, const struct tool_run *r, size_t i,
			       json_object *cpu, double tolerance)
{
	json_object *line = r->lines[i];
	struct thread_truth kt;
	double t0, t1;

	line_window(line, &t0, &t1);
	truth_of_tids(k, cpu, t0, t1, &kt);
	double waited = sum_over_threads(line, "gil_wait_s", cpu) + sum_over_threads(line, "switch_wait_s", cpu);
	/* Rounding to the JSON's microseconds is nothing; a wait in progress
	 * at each end is one wait per thread at most. */
	double slack = kt.uncertainty_s + 2 * longest_waits(r, line, cpu);
	double low = kt.blocked_s * (1 - tolerance) - slack, high;
	bool apart = reports_cpu_wait(line, cpu);

	high = apart ? kt.blocked_s * (1 + tolerance) + slack
		     : (kt.blocked_s + kt.run_delay_s) * (1 + tolerance) + slack;
	fprintf(stderr, "%s %s (%s back end)%s: %zu CPU threads waited %.3f s in %.3f s; kernel: blocked %.3f s, "
			"runnable %.3f s, on a CPU %.3f s (+-%.3f s sampling, %.3f s waits at the ends)\n",
		label, field_string(line, "python_version"), field_string(line, "probe"),
		field_bool(line, "summary") ? " summary" : "", kt.threads, waited, t1 - t0, kt.blocked_s,
		kt.run_delay_s, kt.exec_s, kt.uncertainty_s, slack - kt.uncertainty_s);
	ck_assert_msg(waited >= low && waited <= high,
		      "%s: CPU threads waited %.3f s in %.3f s; the kernel saw them blocked %.3f s and runnable "
		      "%.3f s: want %.3f..%.3f s", label, waited, t1 - t0, kt.blocked_s, kt.run_delay_s, low, high);
	if (apart) {
		double queued = sum_over_threads(line, "cpu_wait_s", cpu);
		ck_assert_msg(queued <= kt.run_delay_s * (1 + tolerance) + slack,
			      "%s: cpu_wait_s %.3f s, but runnable only %.3f s", label, queued, kt.run_delay_s);
	}
}

void assert_cpu_matches_kernel(const char *label, struct kernel_truth *k, json_object *line, json_object *tids,
			       double tolerance)
{
	struct thread_truth kt;
	double t0, t1;

	line_window(line, &t0, &t1);
	truth_of_tids(k, tids, t0, t1, &kt);
	double cpu = sum_over_threads(line, "cpu_s", tids);
	double slack = kt.uncertainty_s + 0.001 * (double)kt.threads;

	fprintf(stderr, "%s%s: %zu threads on a CPU %.3f s in %.3f s; kernel %.3f s (+-%.3f s)\n", label,
		field_bool(line, "summary") ? " summary" : "", kt.threads, cpu, t1 - t0, kt.exec_s, slack);
	ck_assert_msg(fabs(cpu - kt.exec_s) <= tolerance * kt.exec_s + slack,
		      "%s: cpu_s %.3f s in %.3f s, the kernel's sum_exec_runtime %.3f s (+-%.0f%% +%.3f s)", label, cpu,
		      t1 - t0, kt.exec_s, tolerance * 100, slack);
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
	n = add_interpreter(out, n, max, "sid chroot python3.15", sid, "/usr/bin/python3.15");
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

void truth_run_queue(struct kernel_truth *k, pid_t tid, double t0, double t1, double *run_delay_s,
		     double *uncertainty_s)
{
	double q0, e0, q1, e1;

	pthread_mutex_lock(&k->lock);
	const struct truth_thread *th = truth_thread(k, tid);
	ck_assert_msg(th && th->n > 0, "thread %d was never sampled", (int)tid);
	queued_at(th, t0, &q0, &e0);
	queued_at(th, t1, &q1, &e1);
	pthread_mutex_unlock(&k->lock);
	*run_delay_s = q1 - q0;
	*uncertainty_s = e0 + e1;
}

char *tool_cache_dir(void)
{
	char cmd[1024], *out, *dir;

	snprintf(cmd, sizeof cmd, "%s --version", gilstats_binary());
	out = shell(cmd);
	dir = strstr(out, "cached in: ");
	dir = dir && dir[11] == '/' ? strndup(dir + 11, strcspn(dir + 11, "\n")) : NULL;
	free(out);
	return dir;
}

char *tmux_wait_for(const char *session, const char *const *needles, double timeout_s)
{
	double until = now_s() + timeout_s;
	char cmd[256];

	/* With the pane's history: a summary printed on the normal screen can
	 * be longer than the pane (its stacks), and scroll its head away. */
	snprintf(cmd, sizeof cmd, "tmux capture-pane -p -S -500 -t %s", session);
	for (;;) {
		char *screen = shell(cmd);
		bool all = screen != NULL;
		for (size_t i = 0; all && needles[i]; i++)
			all = strstr(screen, needles[i]) != NULL;
		if (all || now_s() >= until)
			return screen;
		free(screen);
		usleep(100000);
	}
}
