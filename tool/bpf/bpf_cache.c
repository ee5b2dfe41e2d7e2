#include "config.h"

#include "tool/bpf/bpf_cache.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/utsname.h>
#include <sys/wait.h>
#include <unistd.h>

#define HELPER_NAME "gilstats-compile"
#define MAX_OBJECT_BYTES (8u << 20)

int bpf_cache_trusted(int fd, bool directory)
{
	struct stat st;

	if (fstat(fd, &st) != 0 || st.st_uid != geteuid() || (st.st_mode & (S_IWGRP | S_IWOTH)))
		return 0;
	return directory ? S_ISDIR(st.st_mode) : S_ISREG(st.st_mode);
}

/* The helper next to the running binary (a build tree), else the
 * installed one. */
static int helper_path(char *path, size_t len, struct stat *st)
{
	char self[PATH_MAX];
	ssize_t n = readlink("/proc/self/exe", self, sizeof self - 1);
	char *slash;

	if (n > 0) {
		self[n] = '\0';
		if ((slash = strrchr(self, '/'))) {
			*slash = '\0';
			int w = snprintf(path, len, "%s/" HELPER_NAME, self);
			if (w > 0 && (size_t)w < len && stat(path, st) == 0 && access(path, X_OK) == 0)
				return 0;
		}
	}
	snprintf(path, len, "%s/" HELPER_NAME, GILSTATS_LIBEXECDIR);
	return stat(path, st) == 0 ? 0 : -1;
}

/* What the compiled program depends on: the helper (and so the program
 * text and bcc it embeds), its arguments, the kernel. */
static uint64_t cache_key(const char *backend, const struct kernel_headers *kh, const struct stat *helper)
{
	uint64_t key = fnv1a64(FNV1A64_INIT, PACKAGE_VERSION, strlen(PACKAGE_VERSION));
	struct utsname u;

	key = fnv1a64(key, backend, strlen(backend) + 1);
	key = fnv1a64(key, kh->source, strlen(kh->source) + 1);
	for (size_t i = 0; i < kh->nflags; i++)
		key = fnv1a64(key, kh->flags[i], strlen(kh->flags[i]) + 1);
	key = fnv1a64(key, &helper->st_ino, sizeof helper->st_ino);
	key = fnv1a64(key, &helper->st_size, sizeof helper->st_size);
	key = fnv1a64(key, &helper->st_mtim, sizeof helper->st_mtim);
	if (uname(&u) == 0)
		key = fnv1a64(key, u.release, strlen(u.release) + 1);
	return key;
}

static unsigned char *read_all(int fd, size_t *len)
{
	size_t cap = 65536;
	unsigned char *buf = malloc(cap);

	*len = 0;
	while (buf) {
		ssize_t n = read(fd, buf + *len, cap - *len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return n == 0 ? buf : (free(buf), NULL);
		*len += (size_t)n;
		if (*len == cap) {
			unsigned char *nb = cap < MAX_OBJECT_BYTES ? realloc(buf, cap * 2) : NULL;
			if (!nb)
				free(buf);
			buf = nb;
			cap *= 2;
		}
	}
	return NULL;
}

static int cache_load(const char *dir, uint64_t key, struct probe_image *obj)
{
	char name[32];
	int dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC | O_NOFOLLOW), fd = -1, rc = -1;
	unsigned char *bytes = NULL;
	size_t len;

	snprintf(name, sizeof name, "%016" PRIx64 ".bpf", key);
	if (dfd >= 0 && bpf_cache_trusted(dfd, true) && (fd = openat(dfd, name, O_RDONLY | O_CLOEXEC | O_NOFOLLOW)) >= 0 &&
	    bpf_cache_trusted(fd, false) && (bytes = read_all(fd, &len)))
		rc = probe_image_parse(bytes, len, obj);
	free(bytes);
	if (fd >= 0)
		close(fd);
	if (dfd >= 0)
		close(dfd);
	return rc;
}

/* mkdir -p: parents as usual, the cache itself private. */
static void make_dirs(const char *dir)
{
	char path[PATH_MAX];

	snprintf(path, sizeof path, "%s", dir);
	for (char *p = path + 1; *p; p++)
		if (*p == '/') {
			*p = '\0';
			mkdir(path, 0755);
			*p = '/';
		}
	mkdir(path, 0700);
}

/* Written to a private temporary name and renamed: readers see all or none. */
static void cache_store(const char *dir, uint64_t key, const unsigned char *bytes, size_t len)
{
	char tmp[PATH_MAX], final[PATH_MAX];
	int dfd, fd;

	make_dirs(dir);
	dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC | O_NOFOLLOW);
	if (dfd < 0 || !bpf_cache_trusted(dfd, true)) {
		if (dfd >= 0)
			close(dfd);
		return;
	}
	close(dfd);
	snprintf(tmp, sizeof tmp, "%s/.%016" PRIx64 ".XXXXXX", dir, key);
	snprintf(final, sizeof final, "%s/%016" PRIx64 ".bpf", dir, key);
	fd = mkostemp(tmp, O_CLOEXEC);
	if (fd < 0)
		return;
	if (write(fd, bytes, len) != (ssize_t)len || fsync(fd) != 0 || rename(tmp, final) != 0)
		unlink(tmp);
	close(fd);
}

/* Runs the helper; its stdout is the object, its stderr the compiler's. */
static unsigned char *run_helper(const char *path, const char *backend, const struct kernel_headers *kh, size_t *len)
{
	const char *argv[KH_MAX_FLAGS + 3] = { path, backend };
	int out[2], status;
	unsigned char *bytes;
	pid_t pid;

	for (size_t i = 0; i < kh->nflags; i++)
		argv[2 + i] = kh->flags[i];
	if (pipe2(out, O_CLOEXEC) != 0 || (pid = fork()) < 0)
		return NULL;
	if (pid == 0) {
		dup2(out[1], STDOUT_FILENO);
		if (kh->source[0])
			setenv("BCC_KERNEL_SOURCE", kh->source, 1);
		execv(path, (char *const *)(uintptr_t)argv); /* execv takes no const, writes nothing */
		_exit(127);
	}
	close(out[1]);
	bytes = read_all(out[0], len);
	close(out[0]);
	while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
		;
	if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
		free(bytes);
		return NULL;
	}
	return bytes;
}

int bpf_program_get(const char *backend, const struct kernel_headers *kh, const char *cache_dir, bool refresh,
		    struct probe_image *obj, bool *cached, struct gs_error *err)
{
	char path[PATH_MAX];
	unsigned char *bytes;
	struct stat helper;
	uint64_t key;
	size_t len;

	if (helper_path(path, sizeof path, &helper) != 0)
		return gs_fail(err, GS_EXIT_FAILURE, "cannot find %s (in %s): reinstall gilstats", HELPER_NAME,
			       GILSTATS_LIBEXECDIR);
	key = cache_key(backend, kh, &helper);
	*cached = cache_dir && !refresh && cache_load(cache_dir, key, obj) == 0;
	if (*cached)
		return 0;
	bytes = run_helper(path, backend, kh, &len);
	if (!bytes || probe_image_parse(bytes, len, obj) != 0) {
		free(bytes);
		return gs_fail(err, GS_EXIT_PRIVILEGE,
			       "cannot compile the bpf program against kernel headers %s "
			       "(see the messages above; --kernel-headers DIR picks others)",
			       kh->description);
	}
	if (cache_dir)
		cache_store(cache_dir, key, bytes, len);
	free(bytes);
	return 0;
}
