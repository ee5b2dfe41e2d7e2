/* Finding processes to trace while running: the descendants of the given
 * PIDs (--children: a gunicorn master's workers, a multiprocessing pool),
 * or every CPython process on the host (--all). */
#ifndef GILSTATS_DISCOVER_H
#define GILSTATS_DISCOVER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

struct proc_entry {
	pid_t pid, ppid;
	uint64_t start_time; /* with pid, names the process even if pids wrap */
	uint64_t exe_ino;    /* and its executable: a shell that execs python is new */
};

/* Every process in /proc now into *all (reallocated); the count or -1. */
int discover_processes(struct proc_entry **all, size_t *cap);

/* The pids in /proc now, ascending, into *pids (reallocated): a cheap
 * look (one directory read) for whether any process came or went. The
 * count or -1. */
int discover_pids(pid_t **pids, size_t *cap);

/* Clock ticks since boot now, as /proc's start times count them. */
uint64_t discover_now_ticks(void);

/* One process as discover_processes lists it; 0, or -1 when it is gone. */
int discover_entry(pid_t pid, struct proc_entry *out);

/* The descendants of roots among n processes, into out (room for n);
 * returns how many. Pure. */
size_t discover_descendants(const struct proc_entry *all, size_t n, const pid_t *roots, size_t nroots, pid_t *out);

/* A process's command line, its arguments joined by spaces (cut to len),
 * and its effective uid, for --all's filters; 0, or -1 when it is gone. */
int discover_identity(pid_t pid, char *cmdline, size_t len, uid_t *euid);

/* Cheap first look for --all: an executable named python*, or a mapped
 * libpython (uwsgi, embedding programs). gil_locate decides. */
bool discover_may_be_python(pid_t pid);

#endif
