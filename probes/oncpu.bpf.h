/* On-CPU time of the target's threads, accounted at the scheduler's
 * switches instead of reading /proc for every thread at every interval.
 * BPF only. A switch onto a CPU of a target thread (its tgid read from the
 * next task at offsets taken from the kernel's BTF) opens a slice in the
 * CPU's slot; the next switch on that CPU, which takes the same thread
 * off, adds the slice to the thread's row. A slice's length is the
 * kernel's own: the growth of the thread's se.sum_exec_runtime between the
 * two switches, what /proc/PID/task/TID/schedstat counts. The kernel's
 * slices do not start and end at the switches: after a wake-up that
 * preempts, schedule() skips its clock update (rq_clock_skip_update), so
 * the woken thread's slice starts at the wake-up, tens of microseconds
 * before its switch in, and the preempted one's ends there. Timing the
 * switches lost 15-40% of a thread that runs in many short slices.
 *
 * A slice's run time leaves out what the CPU's task clock does not count:
 * time the hypervisor took the virtual CPU away (steal), and interrupts
 * where those are accounted apart. That part of the slice is added to the
 * thread's steal_ns, so a thread's time still adds up to its life. */

BPF_PERCPU_ARRAY(running, struct gs_running, 1);
BPF_HASH(oncpu, u32, struct gs_cpu_time, GS_MAX_THREADS);

#define GS_TASK_DEAD 0x80 /* prev_state at a task's last switch */

/* Who a switch concerns, for the other accounting at the same switch:
 * the thread leaving and the one arriving, when they are the target's
 * (tid 0 otherwise), and the time, once read (0: not yet). */
struct gs_switch {
	u64 now;
	u64 prev_early_ns; /* how long the kernel's slice of prev began before its switch in */
	u32 prev_tgid, prev_tid;
	u32 next_tgid, next_tid;
	bool prev_other; /* prev is known to be no target: nothing else to do for it */
};

/* Tasks known to be no target, per CPU, by task pointer (a direct-mapped
 * cache): most switches on a host are between other tasks, and reading
 * the next task's tgid and looking it up in targets is most of the
 * program's cost (about 55 ns each here, over a 70 ns floor). An entry
 * holds while targets_gen and new_threads are what they were when it was
 * made: a new target bumps the first (the tool, after adding it), a new
 * thread of a target bumps the second at its first wake-up, when it has
 * not run yet (runq.bpf.h), so a task struct freed and reused by a
 * target's new thread is never taken for the old task. Used only while
 * the wake-ups are attached (settings.runq). */
#define GS_OTHER_SLOTS 256
struct gs_other_task {
	u64 task;
	u32 targets_gen;
	u32 new_threads;
};
BPF_PERCPU_ARRAY(others, struct gs_other_task, GS_OTHER_SLOTS);
BPF_ARRAY(new_threads, u32, 1);

static inline struct gs_other_task *other_slot(void *task)
{
	u32 i = (u32)(((u64)task * 0x9E3779B97F4A7C15ULL) >> 56);

	return others.lookup(&i);
}

/* The generation an entry made now carries, read before the lookups it
 * stands for; NULL: no cache (the wake-ups, or a task's run time, unknown:
 * a new thread is told by its having run for 0 ns). */
static inline u32 *other_generation(const struct gs_settings *cfg)
{
	int zero = 0;

	return cfg->runq && cfg->task_runtime_off ? new_threads.lookup(&zero) : NULL;
}

static inline bool other_known(const struct gs_settings *cfg, const u32 *gen, void *task)
{
	struct gs_other_task *o = gen ? other_slot(task) : NULL;

	return o && o->task == (u64)task && o->targets_gen == cfg->targets_gen && o->new_threads == *gen;
}

static inline void other_remember(u32 targets_gen, u32 new_threads, void *task)
{
	struct gs_other_task *o = other_slot(task);

	if (!o)
		return;
	o->task = (u64)task;
	o->targets_gen = targets_gen;
	o->new_threads = new_threads;
}

/* The task's se.sum_exec_runtime; 0 where its offset is not known. */
static inline u64 task_runtime(const struct gs_settings *cfg, void *task)
{
	u64 ns = 0;

	if (cfg->task_runtime_off)
		bpf_probe_read_kernel(&ns, sizeof ns, task + cfg->task_runtime_off);
	return ns;
}

/* The CPU's clock time its tasks were not given, through the task's
 * cfs_rq (rq->clock - rq->clock_task: steal, and interrupts where those
 * are accounted); 0 where the offsets are not known. Both clocks are the
 * ones the task's run time was taken from at this switch. */
static inline u64 cpu_time_lost(const struct gs_settings *cfg, void *task)
{
	void *cfs_rq = NULL, *rq = NULL;
	u64 clock = 0, clock_task = 0;

	if (!cfg->task_cfs_rq_off || !cfg->task_runtime_off)
		return 0;
	bpf_probe_read_kernel(&cfs_rq, sizeof cfs_rq, task + cfg->task_cfs_rq_off);
	if (cfs_rq)
		bpf_probe_read_kernel(&rq, sizeof rq, cfs_rq + cfg->cfs_rq_rq_off);
	if (!rq)
		return 0;
	bpf_probe_read_kernel(&clock, sizeof clock, rq + cfg->rq_clock_off);
	bpf_probe_read_kernel(&clock_task, sizeof clock_task, rq + cfg->rq_clock_task_off);
	return clock > clock_task ? clock - clock_task : 0;
}

/* The slice's length: the kernel's (up to date at the switch, updated by
 * put_prev_task or the dequeue), else the time between the switches.
 * *stolen: the CPU's time lost meanwhile, in neither. *early: how much
 * longer than the time between the switches the kernel's slice and the
 * lost time are, the part before the switch in that the run-queue period
 * before it also counts (runq.bpf.h takes it back there). */
static inline u64 slice_ran(const struct gs_settings *cfg, const struct gs_running *slot, void *prev, u64 now,
			    u64 *stolen, u64 *early)
{
	u64 runtime_ns = task_runtime(cfg, prev), lost = cpu_time_lost(cfg, prev), ran, between = now - slot->since_ns;

	if (!cfg->task_runtime_off)
		return between;
	ran = runtime_ns > slot->runtime_ns ? runtime_ns - slot->runtime_ns : 0;
	*stolen = slot->lost_ns && lost > slot->lost_ns ? lost - slot->lost_ns : 0;
	*early = ran + *stolen > between ? ran + *stolen - between : 0;
	return ran;
}

static inline void slice_end(struct gs_running *slot, u64 prev_state, u64 ran, u64 stolen)
{
	u32 tid = slot->tid;
	struct gs_cpu_time fresh = { .tgid = slot->tgid };
	struct gs_cpu_time *row = oncpu.lookup_or_try_init(&tid, &fresh);

	if (!row) {
		count_event(slot->tgid, GS_COUNT_CPU_FULL);
		return;
	}
	/* A slice of a thread in the row of one that died: its tid was given
	 * to a new thread before the tool deleted the row. */
	if (row->ended)
		row->cpu_ns = row->steal_ns = 0;
	/* Only the CPU that ran the thread writes its row at this moment. */
	row->cpu_ns += ran;
	row->steal_ns += stolen;
	row->last_since_ns = slot->since_ns;
	row->ended = (prev_state & GS_TASK_DEAD) != 0;
	bpf_get_current_comm(row->comm, sizeof row->comm);
}

static inline void account_cpu(struct bpf_raw_tracepoint_args *ctx, const struct gs_settings *cfg,
			       struct gs_switch *who)
{
	int zero = 0;
	struct gs_running *slot = running.lookup(&zero);

	if (!slot)
		return;
	/* The task leaving is the current one. */
	if (slot->tid && slot->tid == (u32)bpf_get_current_pid_tgid()) {
		who->now = bpf_ktime_get_ns();
		who->prev_tgid = slot->tgid;
		who->prev_tid = slot->tid;
		u64 stolen = 0, ran = slice_ran(cfg, slot, (void *)ctx->args[1], who->now, &stolen, &who->prev_early_ns);
		slice_end(slot, ctx->args[3], ran, stolen);
	}
	/* Checked at its switch in, since the last target was added: the
	 * host's other tasks, nearly every switch, cost no more lookups. */
	who->prev_other = !slot->tid && slot->known == cfg->targets_gen + 1;
	slot->tid = 0;
	slot->known = 0;
	if (!cfg->task_tgid_off)
		return;
	u32 tgid = 0, tid = 0, targets_gen = cfg->targets_gen, *gen = other_generation(cfg);
	u32 threads_gen = gen ? *gen : 0;
	void *next = (void *)ctx->args[2];
	slot->known = targets_gen + 1;
	if (other_known(cfg, gen, next))
		return;
	bpf_probe_read_kernel(&tgid, sizeof tgid, next + cfg->task_tgid_off);
	if (!tgid || !targets.lookup(&tgid)) {
		if (gen)
			other_remember(targets_gen, threads_gen, next);
		return;
	}
	bpf_probe_read_kernel(&tid, sizeof tid, next + cfg->task_pid_off);
	if (!who->now)
		who->now = bpf_ktime_get_ns();
	slot->since_ns = who->now;
	slot->runtime_ns = task_runtime(cfg, next);
	slot->lost_ns = cpu_time_lost(cfg, next);
	slot->tgid = tgid;
	slot->tid = tid;
	who->next_tgid = tgid;
	who->next_tid = tid;
}
