/* pystack_dump PID [REPEAT]: the Python stack of every thread of a live
 * CPython, as gilstats reads it (libgilcore: gil_locate, py_layout_for,
 * py_stack_read, py_code_lookup), for the "stacks" integration suite.
 * Prints "python X.Y.Z", then per thread "thread TID" and one line per
 * frame, innermost first: "  function (file:line)"; "  torn" when the
 * walk failed. With REPEAT, every stack is read that many more times and
 * the mean cost of one read (frames and code lookups) is printed:
 * "cost_us N frames M calls K torn T" (K: system calls per stack read
 * whole, T: reads torn). */
#include "config.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include "tool/inspect/gil_locate.h"
#include "tool/figures/hold.h"
#include "tool/python/py_stack.h"
#include "tool/inspect/resolve.h"
#include "tool/inspect/target.h"

#define MAX_THREADS 1024

static unsigned long calls; /* system calls that read the target */

static int read_target(void *ctx, uint64_t addr, void *buf, size_t len)
{
	calls++;
	return target_read_memory(*(pid_t *)ctx, addr, buf, len);
}

static size_t read_spans(void *ctx, const struct mem_span *spans, size_t n)
{
	calls++;
	return target_read_spans(*(pid_t *)ctx, spans, n);
}

static double now_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec * 1e6 + (double)ts.tv_nsec / 1e3;
}

static void print_stack(const struct py_layout *l, const struct mem_reader *mem, struct py_code_cache *cache,
			uint64_t tstate, pid_t tid)
{
	const struct py_code_info *code[PY_STACK_MAX];
	struct py_stack st;

	printf("thread %d\n", (int)tid);
	if (py_stack_read(l, mem, tstate, &st) != 0 || py_code_lookup_stack(cache, l, mem, &st, code) < 0) {
		printf("  torn\n");
		return;
	}
	for (uint32_t i = 0; i < st.depth; i++) {
		const struct py_code_info *ci = code[i];
		if (!ci)
			printf("  ? (code 0x%" PRIx64 ")\n", st.frames[i].code);
		else
			printf("  %s (%s:%d)\n", ci->function, ci->file, py_frame_line(l, ci, st.frames[i].offset));
	}
	if (st.truncated)
		printf("  ...\n");
}

/* The mean cost of reading one stack and looking up its code objects
 * (cached, with the last frames as hints, as the sampler does), over
 * every thread, repeat times. */
static void measure(const struct py_layout *l, const struct mem_reader *mem, struct py_code_cache *cache,
		    const uint64_t *tstates, size_t n, int repeat)
{
	const struct py_code_info *code[PY_STACK_MAX];
	struct py_stack_hints *hints = py_stack_hints_new(read_spans, mem->ctx);
	uint64_t frames = 0, reads = 0, torn = 0;
	unsigned long calls0 = calls;
	double t0 = now_us();

	for (int r = 0; r < repeat; r++)
		for (size_t i = 0; i < n; i++) {
			struct py_stack st;
			int found;
			if (!hints || py_stack_read_hinted(hints, l, mem, tstates[i], &st) != 0 ||
			    (found = py_code_lookup_stack(cache, l, mem, &st, code)) < 0) {
				torn++;
				continue;
			}
			reads++;
			frames += (uint64_t)found;
		}
	py_stack_hints_free(hints);
	printf("cost_us %.1f frames %.1f calls %.1f torn %" PRIu64 "\n", reads ? (now_us() - t0) / (double)reads : 0.0,
	       reads ? (double)frames / (double)reads : 0.0, reads ? (double)(calls - calls0) / (double)reads : 0.0,
	       torn);
}

static int dump(pid_t pid, int repeat)
{
	struct target t;
	struct mapped_object interp;
	struct gil_location loc;
	struct gs_error err = { 0 };
	struct mem_reader mem = { read_target, &pid };
	struct py_layout *l;
	struct py_code_cache *cache;
	static uint64_t tstates[MAX_THREADS];
	uint64_t start;
	ssize_t n;

	if (target_inspect(pid, &t, &err) != 0 || resolve_interpreter(&t, &interp, &err) != 0 ||
	    gil_locate(&t, &interp, &loc, &err) != 0 || py_layout_for(&loc, &mem, &l, &err) != 0) {
		fprintf(stderr, "pystack_dump: %s\n", err.msg);
		return 1;
	}
	printf("python %s\n", loc.py.version);
	start = py_some_tstate(l, &loc, &mem);
	if ((n = py_thread_states(l, &mem, loc.runtime, start, tstates, MAX_THREADS)) < 0 ||
	    !(cache = py_code_cache_new())) {
		fprintf(stderr, "pystack_dump: the thread states do not read\n");
		return 1;
	}
	py_code_cache_use_spans(cache, read_spans, &pid);
	for (ssize_t i = 0; i < n; i++) {
		struct gs_holder w = { .tstate_tid_off = loc.tstate_tid_off, .pthread_tid_off = loc.pthread_tid_off };
		print_stack(l, &mem, cache, tstates[i], hold_tstate_tid(&w, &mem, tstates[i]));
	}
	if (repeat > 0)
		measure(l, &mem, cache, tstates, (size_t)n, repeat);
	py_code_cache_free(cache);
	py_layout_free(l);
	mapped_object_close(&interp);
	target_release(&t);
	return 0;
}

int main(int argc, char **argv)
{
	if (argc < 2 || argc > 3) {
		fprintf(stderr, "usage: pystack_dump PID [REPEAT]\n");
		return 2;
	}
	return dump((pid_t)atoi(argv[1]), argc == 3 ? atoi(argv[2]) : 0);
}
