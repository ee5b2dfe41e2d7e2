/* Names for the user stacks the held-while-blocked program captured:
 * bcc's symbol cache, and where it cannot see the target's files (bcc
 * looks for a chroot's host paths inside its root) libelf over the very
 * files the target maps. Read while the target lives: an ended process
 * has no maps. */
#ifndef GILSTATS_SYMBOLIZE_H
#define GILSTATS_SYMBOLIZE_H

#include <sys/types.h>

#include "hold.h"
#include "target.h"

struct symbolizer {
	pid_t pid;
	void *cache;          /* bcc's, made on first use */
	void *kernel;         /* bcc's for the kernel (/proc/kallsyms) */
	struct target target; /* its mappings, read again when stacks are named */
	bool have_target;
};

/* Names the frames of every stack that has none yet, and the system call
 * each blocked in. */
void symbolize_held_stacks(struct symbolizer *sym, struct hold_state *h, int stacks_fd);

void symbolizer_free(struct symbolizer *sym);

#endif
