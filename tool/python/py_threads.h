/* Python thread names: the threading.Thread objects of threading._active
 * in the target, read from its memory (sys.modules -> threading -> _active
 * -> each Thread's _name), matched to the host's thread ids. On 3.11-3.13
 * Thread(name=...) never reaches the kernel's comm: this is where a pool's
 * "worker-3" is. */
#ifndef GILSTATS_PY_THREADS_H
#define GILSTATS_PY_THREADS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "tool/python/py_stack.h"

#define PY_THREAD_NAME_MAX 64

struct py_thread_name {
	pid_t tid; /* the thread's id as the target sees it (native_id, or pthread_t -> tid) */
	char name[PY_THREAD_NAME_MAX]; /* UTF-8, untrusted: escape before output */
};

/* Whether a name is one threading makes up ("Thread-3", "Thread-3
 * (handler)", "Dummy-2"): a comm the program chose says more. */
bool py_thread_name_is_default(const char *name);

/* The names of the target's Python threads, into out (up to max); returns
 * how many, or -1 when threading is not readable (not imported yet is 0). */
ssize_t py_thread_names(const struct py_layout *l, const struct mem_reader *mem, uint64_t any_tstate,
			struct py_thread_name *out, size_t max);

#endif
