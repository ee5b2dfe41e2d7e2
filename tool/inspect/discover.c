#include "config.h"

#include "tool/inspect/discover.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "tool/util/array.h"
#include "tool/inspect/proc_parse.h"
#include "tool/inspect/target.h"

static uint64_t exe_inode(pid_t pid)
{
	char path[64];
	struct stat st;

	snprintf(path, sizeof path, "/proc/%d/exe", (int)pid);
	return stat(path, &st) == 0 ? (uint64_t)st.st_ino : 0;
}

int discover_processes(struct proc_entry **all, size_t *cap)
{
	pid_t *pids = NULL;
	size_t pids_cap = 0, n = 0;
	int npids = discover_pids(&pids, &pids_cap);

	if (npids < 0)
		return -1;
	for (int i = 0; i < npids; i++) {
		struct proc_entry e;
		if (discover_entry(pids[i], &e) != 0)
			continue;
		if (array_reserve((void **)all, cap, n + 1, sizeof **all, 256) != 0)
			break;
		(*all)[n++] = e;
	}
	free(pids);
	return (int)n;
}

int discover_pids(pid_t **pids, size_t *cap)
{
	return target_list_ids("/proc", pids, cap);
}

uint64_t discover_now_ticks(void)
{
	struct timespec ts;
	long hz = sysconf(_SC_CLK_TCK);

	clock_gettime(CLOCK_BOOTTIME, &ts);
	return (uint64_t)ts.tv_sec * (uint64_t)hz + (uint64_t)ts.tv_nsec * (uint64_t)hz / 1000000000u;
}

int discover_entry(pid_t pid, struct proc_entry *out)
{
	struct proc_stat st;

	if (target_stat(pid, &st) != 0)
		return -1;
	*out = (struct proc_entry){ pid, (pid_t)st.ppid, st.start_time, exe_inode(pid) };
	return 0;
}

static bool listed(const pid_t *v, size_t n, pid_t pid)
{
	for (size_t i = 0; i < n; i++)
		if (v[i] == pid)
			return true;
	return false;
}

size_t discover_descendants(const struct proc_entry *all, size_t n, const pid_t *roots, size_t nroots, pid_t *out)
{
	size_t found = 0;
	bool grew = true;

	/* Generation by generation, until no process has a parent found. */
	while (grew) {
		grew = false;
		for (size_t i = 0; i < n; i++) {
			pid_t parent = all[i].ppid;
			if (listed(out, found, all[i].pid) || listed(roots, nroots, all[i].pid))
				continue;
			if (listed(roots, nroots, parent) || listed(out, found, parent)) {
				out[found++] = all[i].pid;
				grew = true;
			}
		}
	}
	return found;
}

/* The effective uid: the second of status's "Uid:" line. */
static int effective_uid(pid_t pid, uid_t *euid)
{
	char path[64], *status, *line;
	unsigned long real, effective;
	int rc = -1;

	snprintf(path, sizeof path, "/proc/%d/status", (int)pid);
	if (!(status = proc_read_file(path, 1 << 20, NULL)))
		return -1;
	if ((line = strstr(status, "\nUid:")) && sscanf(line + 5, "%lu %lu", &real, &effective) == 2) {
		*euid = (uid_t)effective;
		rc = 0;
	}
	free(status);
	return rc;
}

int discover_identity(pid_t pid, char *cmdline, size_t len, uid_t *euid)
{
	char path[64], *args;
	size_t n = 0;

	if (len == 0 || effective_uid(pid, euid) != 0)
		return -1;
	snprintf(path, sizeof path, "/proc/%d/cmdline", (int)pid);
	/* A kernel thread's is empty: matched as "". */
	if (!(args = proc_read_file(path, 1 << 20, &n)))
		return -1;
	while (n && !args[n - 1])
		n--;
	if (n >= len)
		n = len - 1;
	for (size_t i = 0; i < n; i++)
		cmdline[i] = args[i] ? args[i] : ' ';
	cmdline[n] = '\0';
	free(args);
	return 0;
}

bool discover_may_be_python(pid_t pid)
{
	char path[64], exe[4096], *maps;
	const char *base;
	ssize_t len;
	bool found;

	snprintf(path, sizeof path, "/proc/%d/exe", (int)pid);
	if ((len = readlink(path, exe, sizeof exe - 1)) > 0) {
		exe[len] = '\0';
		base = strrchr(exe, '/');
		if (strncmp(base ? base + 1 : exe, "python", 6) == 0)
			return true;
	}
	snprintf(path, sizeof path, "/proc/%d/maps", (int)pid);
	if (!(maps = proc_read_file(path, 64 << 20, NULL)))
		return false;
	found = strstr(maps, "/libpython") != NULL;
	free(maps);
	return found;
}
