#include "config.h"

#include "tool/inspect/target.h"

#include "tool/util/array.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <linux/openat2.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/uio.h>
#include <unistd.h>

#define PF_KTHREAD 0x00200000 /* include/linux/sched.h */
#define MAPS_MAX_BYTES (64u << 20)

char *proc_read_file(const char *path, size_t max, size_t *len)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	size_t cap = 4096, used = 0;
	char *buf;

	if (fd < 0)
		return NULL;
	buf = malloc(cap);
	while (buf) {
		ssize_t n;
		if (used + 1 >= cap) {
			char *nb = cap * 2 <= max + 1 ? realloc(buf, cap * 2) : NULL;
			if (!nb) {
				free(buf);
				buf = NULL;
				errno = EFBIG;
				break;
			}
			buf = nb;
			cap *= 2;
		}
		n = read(fd, buf + used, cap - 1 - used);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			free(buf);
			buf = NULL;
		} else if (n == 0) {
			buf[used] = '\0';
			if (len)
				*len = used;
			break;
		} else {
			used += (size_t)n;
		}
	}
	int saved = errno;
	close(fd);
	errno = saved;
	return buf;
}

static int read_stat_file(const char *path, struct proc_stat *st)
{
	size_t len;
	char *text;
	int rc;

	text = proc_read_file(path, 4096, &len);
	if (!text)
		return -1;
	rc = proc_stat_parse(text, len, st);
	free(text);
	return rc;
}

int target_stat(pid_t pid, struct proc_stat *st)
{
	char path[64];

	snprintf(path, sizeof path, "/proc/%d/stat", (int)pid);
	return read_stat_file(path, st);
}

int target_inspect(pid_t pid, struct target *t, struct gs_error *err)
{
	char path[64];
	size_t len;
	char *text;

	memset(t, 0, sizeof *t);
	t->pid = pid;
	if (target_stat(pid, &t->stat) != 0)
		return gs_fail(err, GS_EXIT_NOT_PYTHON, "no process with pid %d", (int)pid);
	if (t->stat.flags & PF_KTHREAD)
		return gs_fail(err, GS_EXIT_NOT_PYTHON, "pid %d is a kernel thread (%s), not a python process",
			       (int)pid, t->stat.comm);
	if (t->stat.state == 'Z' || t->stat.state == 'X')
		return gs_fail(err, GS_EXIT_NOT_PYTHON, "pid %d (%s) has exited (zombie)", (int)pid,
			       t->stat.comm);
	/* Stopped, nothing would wait: gilstats never resumes a process itself. */
	if (t->stat.state == 'T')
		return gs_fail(err, GS_EXIT_NOT_PYTHON, "pid %d (%s) is stopped: resume it with kill -CONT %d",
			       (int)pid, t->stat.comm, (int)pid);
	if (t->stat.state == 't')
		return gs_fail(err, GS_EXIT_NOT_PYTHON, "pid %d (%s) is stopped by a debugger", (int)pid,
			       t->stat.comm);
	snprintf(path, sizeof path, "/proc/%d/maps", (int)pid);
	text = proc_read_file(path, MAPS_MAX_BYTES, &len);
	if (!text)
		return gs_fail(err, errno == EACCES ? GS_EXIT_PRIVILEGE : GS_EXIT_NOT_PYTHON,
			       "cannot read %s: %s", path, strerror(errno));
	if (maps_parse(text, len, &t->maps) != 0) {
		free(text);
		return gs_fail(err, GS_EXIT_FAILURE, "cannot parse %s: out of memory", path);
	}
	free(text);
	return 0;
}

void target_release(struct target *t)
{
	maps_free(&t->maps);
}

static bool same_inode(int fd, const struct mapping *m)
{
	struct stat st;

	return fstat(fd, &st) == 0 && S_ISREG(st.st_mode) && (uint64_t)st.st_ino == m->inode;
}

int target_open_in_root(pid_t pid, const char *path)
{
	struct open_how how = {
		.flags = O_RDONLY | O_CLOEXEC,
		.resolve = RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS,
	};
	char root[64];
	int dirfd, fd;

	snprintf(root, sizeof root, "/proc/%d/root", (int)pid);
	dirfd = open(root, O_PATH | O_DIRECTORY | O_CLOEXEC);
	if (dirfd < 0)
		return -1;
	/* Symlinks and ".." in the target's tree stay inside its root. */
	fd = (int)syscall(SYS_openat2, dirfd, path, &how, sizeof how);
	close(dirfd);
	return fd;
}

int target_open_mapping(const struct target *t, const struct mapping *m)
{
	char path[96];
	int fd;

	/* map_files names the mapped file itself, inside a chroot or a mount
	 * namespace alike; hex without leading zeros. */
	snprintf(path, sizeof path, "/proc/%d/map_files/%" PRIx64 "-%" PRIx64, (int)t->pid, m->start,
		 m->end);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0 && mapping_is_file(m))
		fd = target_open_in_root(t->pid, m->path);
	if (fd >= 0 && !same_inode(fd, m)) {
		close(fd);
		fd = -1;
	}
	return fd;
}

int target_read_memory(pid_t pid, uint64_t addr, void *buf, size_t len)
{
	struct iovec local = { .iov_base = buf, .iov_len = len };
	struct iovec remote = { .iov_base = (void *)(uintptr_t)addr, .iov_len = len };

	return process_vm_readv(pid, &local, 1, &remote, 1, 0) == (ssize_t)len ? 0 : -1;
}

#define SPANS_PER_CALL 64 /* well under IOV_MAX (1024) */

size_t target_read_spans(pid_t pid, const struct mem_span *spans, size_t n)
{
	struct iovec local[SPANS_PER_CALL], remote[SPANS_PER_CALL];
	size_t done = 0;

	while (done < n) {
		size_t k = n - done < SPANS_PER_CALL ? n - done : SPANS_PER_CALL, whole = 0;
		ssize_t got;
		for (size_t i = 0; i < k; i++) {
			local[i] = (struct iovec){ spans[done + i].buf, spans[done + i].len };
			remote[i] = (struct iovec){ (void *)(uintptr_t)spans[done + i].addr, spans[done + i].len };
		}
		/* A partial read stops at the first span that failed. */
		got = process_vm_readv(pid, local, k, remote, k, 0);
		for (size_t i = 0; got > 0 && i < k && (size_t)got >= spans[done + i].len; i++) {
			got -= (ssize_t)spans[done + i].len;
			whole++;
		}
		done += whole;
		if (whole < k)
			break;
	}
	return done;
}

bool target_is_same_process(const struct target *t)
{
	struct proc_stat now;

	return target_stat(t->pid, &now) == 0 && now.start_time == t->stat.start_time &&
	       now.state != 'Z' && now.state != 'X';
}

int target_compare_tids(const void *a, const void *b)
{
	pid_t x = *(const pid_t *)a, y = *(const pid_t *)b;

	return (x > y) - (x < y);
}

bool target_lists_tid(const pid_t *v, size_t n, pid_t tid)
{
	return n && bsearch(&tid, v, n, sizeof tid, target_compare_tids);
}

int target_list_ids(const char *path, pid_t **ids, size_t *cap)
{
	struct dirent *de;
	size_t n = 0;
	DIR *dir = opendir(path);

	if (!dir)
		return -1;
	while ((de = readdir(dir))) {
		char *end;
		long id = strtol(de->d_name, &end, 10);
		if (*end || id <= 0 || id > INT32_MAX)
			continue;
		if (n == *cap) {
			size_t ncap = *cap ? *cap * 2 : 64;
			pid_t *grown = realloc(*ids, ncap * sizeof *grown);
			if (!grown)
				break;
			*ids = grown;
			*cap = ncap;
		}
		(*ids)[n++] = (pid_t)id;
	}
	closedir(dir);
	if (n)
		qsort(*ids, n, sizeof **ids, target_compare_tids);
	return (int)n;
}

int target_list_threads(pid_t pid, pid_t **tids, size_t *cap)
{
	char path[64];

	snprintf(path, sizeof path, "/proc/%d/task", (int)pid);
	return target_list_ids(path, tids, cap);
}

pid_t target_thread_ns_tid(pid_t pid, pid_t tid)
{
	char path[64];
	char *text;
	pid_t ns_tid;

	snprintf(path, sizeof path, "/proc/%d/task/%d/status", (int)pid, (int)tid);
	text = proc_read_file(path, 1 << 16, NULL);
	if (!text)
		return 0;
	ns_tid = status_innermost_nspid(text);
	free(text);
	return ns_tid;
}

int target_ns_tids(pid_t pid, struct ns_tid_pair **pairs, size_t *cap)
{
	pid_t *tids = NULL;
	size_t tcap = 0, n = 0;
	int ntids = target_list_threads(pid, &tids, &tcap);

	if (ntids < 0 || (ntids > 0 && array_reserve((void **)pairs, cap, (size_t)ntids, sizeof **pairs, 16) != 0)) {
		free(tids);
		return -1;
	}
	for (int i = 0; i < ntids; i++) {
		pid_t ns = target_thread_ns_tid(pid, tids[i]);
		if (ns > 0)
			(*pairs)[n++] = (struct ns_tid_pair){ tids[i], ns };
	}
	free(tids);
	return (int)n;
}

bool target_other_pidns(pid_t pid, uint64_t *dev, uint64_t *ino)
{
	char path[64];
	struct stat mine, its;

	snprintf(path, sizeof path, "/proc/%d/ns/pid", (int)pid);
	if (stat("/proc/self/ns/pid", &mine) != 0 || stat(path, &its) != 0 ||
	    (mine.st_dev == its.st_dev && mine.st_ino == its.st_ino))
		return false;
	*dev = (uint64_t)its.st_dev;
	*ino = (uint64_t)its.st_ino;
	return true;
}

int target_thread_stat(pid_t pid, pid_t tid, struct proc_stat *st)
{
	char path[64];

	snprintf(path, sizeof path, "/proc/%d/task/%d/stat", (int)pid, (int)tid);
	return read_stat_file(path, st);
}
