/* The processes whose forks and execs the kernel reports as they happen
 * (probes/lineage.bpf.h): the "family" map, which the tool fills with the
 * processes it traces and the kernel with their new children, and with
 * --all with every exec on the host. */
#ifndef GILSTATS_LINEAGE_H
#define GILSTATS_LINEAGE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

struct lineage_entry {
	pid_t pid;
	pid_t parent;  /* the followed process it was forked from; 0: added by the tool */
	bool follow;   /* its children are followed too */
	bool exec_new; /* an exec of a process the tool did not follow (--all) */
	bool looked;   /* the tool had a first look at it */
	uint64_t execs;
	double exec_s; /* its last exec, or its fork (CLOCK_MONOTONIC s); 0: none seen */
};

/* Follows pid (its children too when follow); an entry already there is
 * kept as it is, but for one of an exec the tool has not looked at yet.
 * *execs (may be NULL): its exec count now. 0 or -1. */
int lineage_add(int fd, pid_t pid, bool follow, uint64_t *execs);

/* Has the tool look at pid as at an exec seen at now_s (CLOCK_MONOTONIC),
 * unless it is in the map already. */
void lineage_look_later(int fd, pid_t pid, double now_s);

/* Marks pid's entry as looked at once. */
void lineage_mark_looked(int fd, pid_t pid);

/* No longer follows pid. */
void lineage_remove(int fd, pid_t pid);

/* Every entry into *v (reallocated); the count, or -1. */
int lineage_read(int fd, struct lineage_entry **v, size_t *cap);

#endif
