/* CPU wait apart from GIL wait. BPF only. Per target thread (struct
 * gs_sched, keyed by tid): the time it is runnable but not running, from
 * a wake-up (sched_wakeup, sched_wakeup_new) or a switch off the CPU that
 * leaves it runnable (preempted) to its switch back on — what the
 * kernel's schedstat run_delay counts — and the time it is blocked, from
 * a blocking switch to its wake-up.
 *
 * A wake-up also ends the blocked piece of the thread's wait in flight
 * (common.bpf.h): a GIL wait is the time from the block to the wake-up,
 * and the run-queue tail after it is CPU wait, whichever back end started
 * the wait. The switch that blocks a thread with a wait in flight starts
 * a piece there, so a wait and the thread's CPU time never overlap.
 *
 * A row also dates the thread's life: its birth (the task's start_time,
 * read when the row is made) and its death (its last switch, dead), which
 * is no block: nothing of a thread counts after it, and alive_s is the
 * part of an interval between the two. */

BPF_HASH(sched, u32, struct gs_sched, GS_MAX_THREADS);

/* The task's start_time (0 where its offset is not known). */
static inline u64 task_born(const struct gs_settings *cfg, void *task)
{
	u64 ns = 0;

	if (cfg->task_start_off)
		bpf_probe_read_kernel(&ns, sizeof ns, task + cfg->task_start_off);
	return ns;
}

/* The thread's row. A row whose thread died belongs to a tid the kernel
 * gave to a new thread before the tool deleted it: the new one starts
 * afresh (the dead one's last moments since the boundary are lost). */
static inline struct gs_sched *sched_row(const struct gs_settings *cfg, u32 tgid, u32 tid, void *task)
{
	struct gs_sched *row = sched.lookup(&tid);

	if (row && !row->died_ns)
		return row;
	struct gs_sched fresh = { .tgid = tgid, .born_ns = task_born(cfg, task) };
	if (sched.update(&tid, &fresh) != 0 || !(row = sched.lookup(&tid)))
		count_event(tgid, GS_COUNT_SCHED_FULL);
	return row;
}

/* The totals first, then the start cleared: the tool reads a row whole
 * (one copy), and a period is either open or in the totals. */
static inline void runq_close(struct gs_sched *row, u64 now)
{
	u64 since = row->runq_since;

	row->queued_ns = 0;
	if (since && now > since) {
		row->cpu_wait_ns += now - since;
		row->cpu_waits++;
		row->queued_ns = now - since;
	}
	row->runq_since = 0;
}

/* The kernel's slice of a thread woken with a preemption starts at the
 * wake-up, not at the switch in: schedule() skips its clock update
 * (rq_clock_skip_update), so the stale clock of the wake-up starts the
 * slice, and schedstat's run_delay ends there too. That part of the run-
 * queue period before the slice is CPU time (oncpu.bpf.h): taken from
 * cpu_wait_ns, or the two overlap by the time the switch took after the
 * wake-up (microseconds; more where a loaded host delays the switch). */
static inline void runq_take_back(struct gs_sched *row, u64 early)
{
	u64 back = early < row->queued_ns ? early : row->queued_ns;

	if (back <= row->cpu_wait_ns)
		row->cpu_wait_ns -= back;
	row->queued_ns = 0;
}

static inline void sleep_close(struct gs_sched *row, u64 now)
{
	u64 since = row->sleep_since;

	if (since && now > since)
		row->blocked_ns += now - since;
	row->sleep_since = 0;
}

static inline void runq_switch(struct bpf_raw_tracepoint_args *ctx, const struct gs_settings *cfg,
			       struct gs_switch *who)
{
	struct gs_sched *row;

	if (who->prev_tid && (row = sched_row(cfg, who->prev_tgid, who->prev_tid, (void *)ctx->args[1]))) {
		row->on_cpu = 0;
		runq_take_back(row, who->prev_early_ns);
		if (ctx->args[3] & GS_TASK_DEAD) {
			/* Its last switch: no wait of a thread that is gone. */
			row->runq_since = 0;
			row->died_ns = who->now;
		} else if (ctx->args[0] || ctx->args[3] == 0) {
			/* Still runnable (preempted, yielded): queued from now. A
			 * thread preempted on its way to sleep (between setting its
			 * state and schedule(), as futex_wait does) has a sleeping
			 * prev_state but stays in the run queue (hold.bpf.h too). */
			row->runq_since = who->now;
		} else {
			/* A wake-up seen while it still ran was no wait. */
			row->runq_since = 0;
			row->sleep_since = who->now;
			blocked_wait_begin(who->prev_tgid, who->prev_tid);
			struct gs_inflight *w = inflight.lookup(&who->prev_tid);
			if (w)
				w->start_ns = who->now;
		}
	}
	if (who->next_tid && (row = sched_row(cfg, who->next_tgid, who->next_tid, (void *)ctx->args[2]))) {
		runq_close(row, who->now);
		/* Back without a wake-up seen (preempted while going to sleep). */
		sleep_close(row, who->now);
		blocked_wait_end(who->next_tgid, who->next_tid, who->now);
		row->on_cpu = 1;
	}
}

/* Raw tracepoints sched_wakeup and sched_wakeup_new: args[0] is the task. */
int gs_sched_wakeup(struct bpf_raw_tracepoint_args *ctx)
{
	int zero = 0;
	struct gs_settings *cfg = settings.lookup(&zero);
	void *task = (void *)ctx->args[0];
	u32 tgid = 0, tid = 0;

	if (!cfg || !cfg->task_tgid_off)
		return 0;
	bpf_probe_read_kernel(&tgid, sizeof tgid, task + cfg->task_tgid_off);
	if (!tgid || !targets.lookup(&tgid))
		return 0;
	bpf_probe_read_kernel(&tid, sizeof tid, task + cfg->task_pid_off);
	u64 now = bpf_ktime_get_ns();
	wait_wake(tgid, tid, now);
	/* A thread new to the target (its first wake-up: it has not run yet)
	 * may have the task struct of a task cached as no target. */
	if (cfg->task_runtime_off && !task_runtime(cfg, task)) {
		int zero = 0;
		u32 *gen = new_threads.lookup(&zero);
		if (gen)
			__sync_fetch_and_add(gen, 1);
	}
	struct gs_sched *row = sched_row(cfg, tgid, tid, task);
	if (!row)
		return 0;
	sleep_close(row, now);
	/* Woken while still on a CPU (before it could block): not queued. */
	if (!row->runq_since && !row->on_cpu)
		row->runq_since = now;
	return 0;
}
