/* gilstats uprobe back end: times every call of the wait functions CPython
 * blocks in (pthread_cond_timedwait, pthread_cond_wait, sem_wait) per
 * (thread, address waited on).
 *
 * libbcc compiles this text at run time; the build prepends gilstats.h. */
#include <uapi/linux/ptrace.h>
#ifndef GILSTATS_EMBEDDED
#include "gilstats.h"
#endif

BPF_HASH(targets, u32, u32, GS_MAX_TARGETS);
BPF_HASH(watched, u64, u32, GS_MAX_WATCHED);
BPF_ARRAY(settings, struct gs_settings, 1);
BPF_HASH(inflight, u32, struct gs_inflight, GS_MAX_THREADS);
BPF_HASH(waits, struct gs_wait_key, struct gs_wait_stats, GS_MAX_WAIT_ROWS);
BPF_PERCPU_ARRAY(counters, u64, GS_COUNTERS);

static inline void count_event(int which)
{
	u64 *slot = counters.lookup(&which);

	if (slot)
		(*slot)++;
}

int wait_enter(struct pt_regs *ctx)
{
	u64 id = bpf_get_current_pid_tgid();
	u32 tgid = id >> 32, tid = (u32)id;
	int zero = 0;

	if (!targets.lookup(&tgid))
		return 0;
	count_event(GS_COUNT_ENTRY_HITS);

	u64 addr = PT_REGS_PARM1(ctx);
	struct gs_settings *cfg = settings.lookup(&zero);
	if (!watched.lookup(&addr) && !(cfg && cfg->record_unwatched))
		return 0;

	struct gs_inflight start = { .start_ns = bpf_ktime_get_ns(), .addr = addr };
	if (inflight.update(&tid, &start) != 0)
		count_event(GS_COUNT_INFLIGHT_FULL);
	return 0;
}

static inline void add_wait(struct gs_wait_stats *row, u64 waited, u64 epoch)
{
	row->total_ns += waited;
	row->count++;
	if (waited > row->max_ns)
		row->max_ns = waited;
	int slot = epoch & 1;
	if (row->epoch[slot] != epoch) {
		row->epoch[slot] = epoch;
		row->epoch_max_ns[slot] = waited;
	} else if (waited > row->epoch_max_ns[slot]) {
		row->epoch_max_ns[slot] = waited;
	}
}

int wait_return(struct pt_regs *ctx)
{
	u64 id = bpf_get_current_pid_tgid();
	u32 tid = (u32)id;
	int zero = 0;

	struct gs_inflight *start = inflight.lookup(&tid);
	if (!start)
		return 0;
	count_event(GS_COUNT_RETURN_HITS);

	u64 waited = bpf_ktime_get_ns() - start->start_ns;
	struct gs_wait_key key = { .addr = start->addr, .tgid = id >> 32, .tid = tid };
	inflight.delete(&tid);

	struct gs_settings *cfg = settings.lookup(&zero);
	u64 epoch = cfg ? cfg->epoch : 0;
	struct gs_wait_stats fresh = {};
	struct gs_wait_stats *row = waits.lookup_or_try_init(&key, &fresh);
	if (!row) {
		count_event(GS_COUNT_ROWS_FULL);
		return 0;
	}
	/* Only this thread writes this row, so plain updates do not race. */
	add_wait(row, waited, epoch);
	return 0;
}
