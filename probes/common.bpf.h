/* Maps and wait accounting shared by both BPF back ends. BPF only: the
 * build embeds gilstats.h, this file and one back end as one text. */
#include <uapi/linux/ptrace.h>

BPF_HASH(targets, u32, u32, GS_MAX_TARGETS);
BPF_HASH(watched, struct gs_watch_key, struct gs_watch, GS_MAX_WATCHED_ALL);
BPF_ARRAY(settings, struct gs_settings, 1);
BPF_HASH(inflight, u32, struct gs_inflight, GS_MAX_THREADS);
BPF_HASH(waits, struct gs_wait_key, struct gs_wait_stats, GS_MAX_WAIT_ROWS);
/* Keyed by tgid: each traced process's own counts, not the host's. A
 * per-CPU hash costs one lookup per event and no atomic add; an array
 * indexed by a slot of the target would be cheaper to look up, but most
 * sites know only the tgid (a switch, a wake-up, the slice's owner) and
 * would need a hash lookup to find the slot anyway. The tool creates a
 * process's row when it adds the process and deletes it when it drops
 * it: the kernel never inserts, so no count is lost to a full map and no
 * row outlives its process. */
BPF_PERCPU_HASH(counters, u32, struct gs_counts, GS_MAX_TARGETS);
BPF_HISTOGRAM(hist, struct gs_hist_key, GS_MAX_HIST_ROWS);

static inline void count_event(u32 tgid, u32 which)
{
	struct gs_counts *c = counters.lookup(&tgid);

	if (c && which < GS_COUNTERS)
		c->n[which]++;
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
	struct gs_settings *cfg = settings.lookup(&zero);

	if (w) {
		addr = w->base;
		kind = w->kind;
	} else if (!cfg || !cfg->record_unwatched) {
		return;
	}
	/* With the scheduler's programs a wait's time is its blocked pieces
	 * only (runq.bpf.h): until it blocks, the thread is on a CPU or in a
	 * run queue, which cpu_s and cpu_wait_s count. Without them, the
	 * call's duration. */
	u64 begun = cfg && cfg->runq ? 0 : bpf_ktime_get_ns();
	struct gs_inflight start = { .start_ns = begun, .addr = addr, .kind = kind, .tgid = where.tgid };
	if (inflight.update(&tid, &start) != 0)
		count_event(where.tgid, GS_COUNT_INFLIGHT_FULL);
}

/* A wait ended: counted, and its length for the maxima. Its time is in
 * total_ns already, added piece by piece (wait_piece). */
static inline void add_wait(struct gs_wait_stats *row, u64 waited, u64 epoch)
{
	int slot = epoch & 1;

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

static inline struct gs_wait_stats *wait_row(u32 tgid, u32 tid, u64 addr)
{
	struct gs_wait_key key = { .addr = addr, .tgid = tgid, .tid = tid };
	struct gs_wait_stats fresh = {};
	struct gs_wait_stats *row = waits.lookup_or_try_init(&key, &fresh);

	if (!row)
		count_event(tgid, GS_COUNT_ROWS_FULL);
	return row;
}

/* A blocked piece of tid's wait ends at now: at its wake-up (the
 * sched_wakeup program, runq.bpf.h), so the run-queue time after it is CPU
 * wait, not GIL wait; or at the call's return if it never blocked. */
static inline void wait_piece(struct gs_inflight *w, u32 tgid, u32 tid, u64 now)
{
	u64 start = w->start_ns;
	struct gs_wait_stats *row;

	w->start_ns = 0;
	if (!start || now <= start)
		return;
	w->waited_ns += now - start;
	if (!(row = wait_row(tgid, tid, w->addr)))
		return;
	row->last_start_ns = start;
	__sync_fetch_and_add(&row->total_ns, now - start);
}

/* tid was woken: the piece of its wait in progress ends. */
static inline void wait_wake(u32 tgid, u32 tid, u64 now)
{
	struct gs_inflight *w = inflight.lookup(&tid);

	if (w)
		wait_piece(w, tgid, tid, now);
}

/* The wait tid started, if any, has ended at now: its call returned (the
 * futex back end), or it runs again (sched). */
static inline void wait_finish(u32 tgid, u32 tid, u64 now)
{
	int zero = 0;

	struct gs_inflight *w = inflight.lookup(&tid);
	if (!w)
		return;
	count_event(tgid, GS_COUNT_RETURN_HITS);
	wait_piece(w, tgid, tid, now);
	u64 waited = w->waited_ns, addr = w->addr;
	bool gil_wait = w->kind == GS_KIND_GIL_COND || w->kind == GS_KIND_GIL_MUTEX;
	inflight.delete(&tid);

	struct gs_settings *cfg = settings.lookup(&zero);
	u64 epoch = cfg ? cfg->epoch : 0;
	if (cfg && cfg->histogram && gil_wait)
		add_to_histogram(tgid, tid, waited, cfg->histogram);
	struct gs_wait_stats *row = wait_row(tgid, tid, addr);
	/* Only the thread itself ends its wait: plain updates do not race. */
	if (row)
		add_wait(row, waited, epoch);
}

static inline void wait_end(u64 pid_tgid)
{
	wait_finish(pid_tgid >> 32, (u32)pid_tgid, bpf_ktime_get_ns());
}
