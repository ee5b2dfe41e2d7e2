/* Maps and wait accounting shared by both BPF back ends. BPF only: the
 * build embeds gilstats.h, this file and one back end as one text. */
#include <uapi/linux/ptrace.h>

BPF_HASH(targets, u32, u32, GS_MAX_TARGETS);
BPF_HASH(watched, struct gs_watch_key, struct gs_watch, GS_MAX_WATCHED_ALL);
BPF_ARRAY(settings, struct gs_settings, 1);
BPF_HASH(inflight, u32, struct gs_inflight, GS_MAX_THREADS);
BPF_HASH(waits, struct gs_wait_key, struct gs_wait_stats, GS_MAX_WAIT_ROWS);
BPF_PERCPU_ARRAY(counters, u64, GS_COUNTERS);
BPF_HISTOGRAM(hist, struct gs_hist_key, GS_MAX_HIST_ROWS);

static inline void count_event(int which)
{
	u64 *slot = counters.lookup(&which);

	if (slot)
		(*slot)++;
}

/* A traced thread starts waiting on addr. Watched addresses are recorded
 * as the object they belong to (a futex word inside a condvar counts as the
 * condvar); others only while the tool still guesses the GIL. */
static inline void wait_begin(u64 pid_tgid, u64 addr)
{
	struct gs_watch_key where = { .addr = addr, .tgid = pid_tgid >> 32 };
	struct gs_watch *w = watched.lookup(&where);
	u32 tid = (u32)pid_tgid;
	u32 kind = GS_KIND_OTHER;
	int zero = 0;

	if (w) {
		addr = w->base;
		kind = w->kind;
	} else {
		struct gs_settings *cfg = settings.lookup(&zero);
		if (!cfg || !cfg->record_unwatched)
			return;
	}
	struct gs_inflight start = { .start_ns = bpf_ktime_get_ns(), .addr = addr, .kind = kind, .tgid = where.tgid };
	if (inflight.update(&tid, &start) != 0)
		count_event(GS_COUNT_INFLIGHT_FULL);
}

static inline void add_wait(struct gs_wait_stats *row, u64 start, u64 waited, u64 epoch)
{
	int slot = epoch & 1;

	row->last_start_ns = start;
	row->total_ns += waited;
	row->count++;
	if (waited > row->max_ns)
		row->max_ns = waited;
	if (row->epoch[slot] != epoch) {
		row->epoch[slot] = epoch;
		row->epoch_max_ns[slot] = waited;
	} else if (waited > row->epoch_max_ns[slot]) {
		row->epoch_max_ns[slot] = waited;
	}
}

static inline void add_to_histogram(u32 tgid, u32 tid, u64 waited, u32 mode)
{
	struct gs_hist_key key = { .tgid = tgid, .tid = mode == GS_HIST_PER_THREAD ? tid : 0 };
	u64 us = waited / 1000;

	key.slot = us ? bpf_log2l(us) : 0;
	if (key.slot >= GS_HIST_SLOTS)
		key.slot = GS_HIST_SLOTS - 1;
	hist.increment(key);
}

/* The wait tid started, if any, has ended at now: at its wake-up (the
 * sched_wakeup program, runq.bpf.h), or when the call returns without
 * having blocked. The run-queue time after the wake-up is CPU wait. */
static inline void wait_end_at(u32 tgid, u32 tid, u64 now)
{
	int zero = 0;

	struct gs_inflight *start = inflight.lookup(&tid);
	if (!start)
		return;
	count_event(GS_COUNT_RETURN_HITS);

	u64 begun = start->start_ns;
	u64 waited = now > begun ? now - begun : 0;
	struct gs_wait_key key = { .addr = start->addr, .tgid = tgid, .tid = tid };
	bool gil_wait = start->kind == GS_KIND_GIL_COND || start->kind == GS_KIND_GIL_MUTEX;
	inflight.delete(&tid);

	struct gs_settings *cfg = settings.lookup(&zero);
	u64 epoch = cfg ? cfg->epoch : 0;
	if (cfg && cfg->histogram && gil_wait)
		add_to_histogram(key.tgid, tid, waited, cfg->histogram);
	struct gs_wait_stats fresh = {};
	struct gs_wait_stats *row = waits.lookup_or_try_init(&key, &fresh);
	if (!row) {
		count_event(GS_COUNT_ROWS_FULL);
		return;
	}
	/* Only this thread's wait ends write this row, and a wait ends once
	 * (the delete above), so plain updates do not race. */
	add_wait(row, begun, waited, epoch);
}

static inline void wait_end(u64 pid_tgid)
{
	wait_end_at(pid_tgid >> 32, (u32)pid_tgid, bpf_ktime_get_ns());
}
