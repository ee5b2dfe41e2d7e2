/* Names for the user stacks the held-while-blocked program captured:
 * bcc's symbol cache, and where it cannot see the target's files (bcc
 * looks for a chroot's host paths inside its root) libelf over the very
 * files the target maps. Read while the target lives: an ended process
 * has no maps. */
#ifndef GILSTATS_SYMBOLIZE_H
#define GILSTATS_SYMBOLIZE_H

#include <stdint.h>
#include <sys/types.h>

#include "tool/figures/hold.h"
#include "tool/inspect/target.h"

struct symbolizer {
	pid_t pid;
	void *cache;          /* bcc's, made on first use */
	void *kernel;         /* bcc's for the kernel (/proc/kallsyms) */
	struct target target; /* its mappings, read again when stacks are named */
	bool have_target;
	/* Stacks named so far, by (stackid, kstackid): the same stack of many
	 * threads is named once (each name costs bcc file lookups). */
	struct hold_stack *named;
	size_t nnamed, named_cap;
	/* Frame names by address, open addressing: stacks share most frames. */
	struct frame_name *frames;
	size_t nframes, frames_cap;
};

struct frame_name {
	uint64_t ip; /* 0: empty slot */
	char *name;
};

/* Names the frames of every stack that has none yet, and the system call
 * each blocked in. */
void symbolize_held_stacks(struct symbolizer *sym, struct hold_state *h, int stacks_fd);

void symbolizer_free(struct symbolizer *sym);

#endif
