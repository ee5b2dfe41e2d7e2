/* Parsers for the /proc files gilstats reads. Pure functions over buffers:
 * the text comes from the target's own files and is treated as hostile. */
#ifndef GILSTATS_PROC_PARSE_H
#define GILSTATS_PROC_PARSE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct mapping {
	uint64_t start, end, offset;
	uint64_t inode;
	unsigned dev_major, dev_minor;
	char perms[5];
	char *path; /* as /proc/PID/maps shows it; NULL for anonymous memory */
};

struct maps {
	struct mapping *v;
	size_t n;
};

/* Parses the text of /proc/PID/maps. Malformed lines are skipped.
 * Returns 0, or -1 when out of memory. */
int maps_parse(const char *text, size_t len, struct maps *out);
void maps_free(struct maps *maps);

/* The final path component of a mapping's path ("" when anonymous). */
const char *mapping_basename(const struct mapping *m);

/* True when the mapping is backed by a regular file (not [heap], [vdso],
 * anonymous memory, or a deleted file). */
bool mapping_is_file(const struct mapping *m);

/* The first (lowest) mapping of the file that m maps, identified by
 * device and inode. */
const struct mapping *maps_first_of_file(const struct maps *maps, const struct mapping *m);

/* What gilstats needs from /proc/PID/stat (or /proc/PID/task/TID/stat). */
struct proc_stat {
	char comm[32]; /* TASK_COMM_LEN is 16 */
	char state;
	int ppid;
	unsigned flags;
	uint64_t utime, stime;       /* clock ticks */
	uint64_t start_time;         /* clock ticks after boot */
};

/* Returns 0, or -1 when the text is not a stat line. */
int proc_stat_parse(const char *text, size_t len, struct proc_stat *out);

/* The thread's id in the innermost PID namespace, from the "NSpid:" line
 * of /proc/PID/task/TID/status (0 when there is none). */
int status_innermost_nspid(const char *status_text);

/* Version-independent match for C libraries that may define the pthread
 * wait functions: libc.so.6, libc-2.x.so, libpthread.so.0, libpthread-2.x.so. */
bool is_libc_name(const char *basename);
bool is_libpthread_name(const char *basename);

/* "libpython3.11.so.1.0", "libpython3.6m.so", "libpython3.13t.so": fills
 * major/minor and returns true. */
bool libpython_name_version(const char *basename, int *major, int *minor);

/* Number of CPUs in a kernel cpu list such as "0-3,8-11\n" (the format of
 * /sys/devices/system/cpu/possible): the highest listed id + 1, which is
 * how many slots a per-CPU BPF map value has. 0 when malformed. */
unsigned cpu_list_slots(const char *text);

#endif
