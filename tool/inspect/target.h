/* Inspecting the target process: what /proc says about it, which files it
 * maps, its threads, and reading its memory (never writing it). */
#ifndef GILSTATS_TARGET_H
#define GILSTATS_TARGET_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "tool/util/error.h"
#include "tool/inspect/proc_parse.h"

struct target {
	pid_t pid;
	struct proc_stat stat; /* comm, state, start time: the identity we check later */
	struct maps maps;
};

/* Reads /proc/PID/{stat,maps}. Fails with GS_EXIT_NOT_PYTHON for processes
 * that cannot be traced (gone, kernel thread, zombie). */
int target_inspect(pid_t pid, struct target *t, struct gs_error *err);
void target_release(struct target *t);

/* Reads a whole /proc file (at most max bytes) into a NUL-terminated
 * buffer the caller frees. NULL on failure (errno set). */
char *proc_read_file(const char *path, size_t max, size_t *len);

/* Opens the file a mapping maps, as the target sees it: through
 * /proc/PID/map_files/, else its path resolved inside the target's root
 * (/proc/PID/root, no escaping it), checking the inode either way.
 * Returns an O_RDONLY fd or -1. "/proc/self/fd/FD" then names that very
 * file to the kernel (for uprobes). */
int target_open_mapping(const struct target *t, const struct mapping *m);

/* Opens path as the target sees it, inside its root (no escaping it). */
int target_open_in_root(pid_t pid, const char *path);

/* Copies len bytes from the target's address space. 0 when all were read. */
int target_read_memory(pid_t pid, uint64_t addr, void *buf, size_t len);

/* Many reads in one system call (a read costs ~10 us on some VMs, most
 * of it the call): how many spans, from the first, were read whole. */
struct mem_span {
	uint64_t addr;
	void *buf;
	size_t len;
};
size_t target_read_spans(pid_t pid, const struct mem_span *spans, size_t n);

/* True while PID still names the process we inspected (same start time). */
bool target_is_same_process(const struct target *t);

/* The thread ids of the target, sorted ascending. Returns the count, or
 * -1 when the process is gone. *tids is reallocated as needed. */
int target_list_threads(pid_t pid, pid_t **tids, size_t *cap);
/* The numeric entries of a /proc directory (/proc: the processes), sorted,
 * into *ids (reallocated); the count or -1. */
int target_list_ids(const char *path, pid_t **ids, size_t *cap);

/* The thread's id inside the target's PID namespace (0 when unknown). */
pid_t target_thread_ns_tid(pid_t pid, pid_t tid);

/* A thread as the host and as the target's PID namespace know it. */
struct ns_tid_pair {
	pid_t host, ns;
};

/* Every thread of the target with its namespace id (NSpid).
 * Returns the count, or -1 when the process is gone. */
int target_ns_tids(pid_t pid, struct ns_tid_pair **pairs, size_t *cap);

/* Whether the target lives in another PID namespace than gilstats: then
 * the ids it keeps (native_thread_id) are not the host's. *dev and *ino
 * name that namespace (/proc/PID/ns/pid) for bpf_get_ns_current_pid_tgid. */
bool target_other_pidns(pid_t pid, uint64_t *dev, uint64_t *ino);

/* qsort/bsearch order of pid_t (thread ids, process ids). */
int target_compare_tids(const void *a, const void *b);

/* Whether tid is among the n sorted tids of v. */
bool target_lists_tid(const pid_t *v, size_t n, pid_t tid);

/* /proc/PID/stat. Returns 0 or -1. */
int target_stat(pid_t pid, struct proc_stat *st);

/* /proc/PID/task/TID/stat: the thread's name and CPU time. */
int target_thread_stat(pid_t pid, pid_t tid, struct proc_stat *st);

#endif
