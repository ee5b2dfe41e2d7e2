/* pythreads_dump PID: the Python thread names of a live CPython as
 * gilstats reads them (libgilcore: gil_locate, py_layout_for,
 * py_thread_names), for the "names" integration suite. Prints "python
 * X.Y.Z", then "names N" and one line per thread: "TID NAME" (the name as
 * read: the test starts threads with names it can print), or "names -1"
 * when threading did not read. */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include "tool/gil_locate.h"
#include "tool/py_stack.h"
#include "tool/py_threads.h"
#include "tool/resolve.h"
#include "tool/target.h"

#define MAX_NAMES 1024
#define TSTATE_TRIES 200

static int read_target(void *ctx, uint64_t addr, void *buf, size_t len)
{
	return target_read_memory(*(pid_t *)ctx, addr, buf, len);
}

/* A thread state of the target: the GIL's last holder (2.7: the current
 * one, NULL while nobody holds it: tried again a moment later). */
static uint64_t any_tstate(const struct gil_location *loc, pid_t pid)
{
	uint64_t tstate = 0;

	for (int i = 0; i < TSTATE_TRIES && !tstate && loc->ngils && loc->gils[0].last_holder; i++) {
		if (read_target(&pid, loc->gils[0].last_holder, &tstate, sizeof tstate) != 0)
			return 0;
		if (!tstate)
			nanosleep(&(struct timespec){ 0, 5000000 }, NULL);
	}
	return tstate;
}

static int dump(pid_t pid)
{
	struct target t;
	struct mapped_object interp;
	struct gil_location loc;
	struct gs_error err = { 0 };
	struct mem_reader mem = { read_target, &pid };
	struct py_layout *l;
	static struct py_thread_name names[MAX_NAMES];
	ssize_t n;

	if (target_inspect(pid, &t, &err) != 0 || resolve_interpreter(&t, &interp, &err) != 0 ||
	    gil_locate(&t, &interp, &loc, &err) != 0 || py_layout_for(&loc, &mem, &l, &err) != 0) {
		fprintf(stderr, "pythreads_dump: %s\n", err.msg);
		return 1;
	}
	printf("python %s\n", loc.py.version);
	n = py_thread_names(l, &mem, any_tstate(&loc, pid), names, MAX_NAMES);
	printf("names %zd\n", n);
	for (ssize_t i = 0; i < n; i++)
		printf("%d %s\n", (int)names[i].tid, names[i].name);
	py_layout_free(l);
	mapped_object_close(&interp);
	target_release(&t);
	return n < 0;
}

int main(int argc, char **argv)
{
	if (argc != 2) {
		fprintf(stderr, "usage: pythreads_dump PID\n");
		return 2;
	}
	return dump((pid_t)atoi(argv[1]));
}
