/* Held the GIL while blocked: shared by both back ends, run by the
 * sched_switch program (Linux 5.18+ passes prev_state as args[3]).
 * BPF only. A target thread that goes off-CPU, not preempted, while the
 * GIL's state in its memory names it the holder, starts a period; the
 * switch that puts the same task back on a CPU ends it. */

BPF_HASH(holders, u32, struct gs_holder, GS_MAX_TARGETS);
BPF_HASH(blocked, u64, struct gs_blocked, GS_MAX_THREADS);
/* A holder the tool found blocked when it attached (its blocking switch
 * came before the program), keyed by tid: ended at its switch back on. */
BPF_HASH(attach_blocked, u32, struct gs_blocked, GS_MAX_TARGETS);
BPF_HASH(held, struct gs_held_key, struct gs_held_stats, GS_MAX_HELD_ROWS);
BPF_STACK_TRACE(stacks, GS_MAX_STACKS);
/* Periods begun and not yet ended: while there are none, which is nearly
 * always, a switch costs two array reads instead of a hash lookup. Slot 0
 * is the kernel's (+1 at a period's start, -1 when it ends it), slot 1
 * counts the entries the tool deleted (threads that ended blocked): each
 * slot has one writer, so the tool's deletions cannot unbalance the
 * kernel's atomic adds, and slot 0 - slot 1 is exact. */
BPF_ARRAY(open_periods, s64, 2);

static inline s64 periods_open(s64 *mine)
{
	int one = 1;
	s64 *forgotten = open_periods.lookup(&one);

	return *mine - (forgotten ? *forgotten : 0);
}

/* Runs in the thread going off-CPU, so its memory is the current one. */
static inline bool holds_gil(const struct gs_holder *h, u32 tid)
{
	u64 tstate = 0, id = 0;
	u32 locked = 1, owner = 0;

	if (h->locked_addr && bpf_probe_read_user(&locked, sizeof locked, (void *)h->locked_addr) != 0)
		return false;
	if (!locked || bpf_probe_read_user(&tstate, sizeof tstate, (void *)h->holder_addr) != 0 || !tstate)
		return false;
	if (bpf_probe_read_user(&id, sizeof id, (void *)(tstate + h->tstate_tid_off)) != 0)
		return false;
	/* A container's thread states name its threads by its own ids. */
	if (h->pidns_ino) {
		struct bpf_pidns_info ns = {};
		if (bpf_get_ns_current_pid_tgid(h->pidns_dev, h->pidns_ino, &ns, sizeof ns) != 0)
			return false;
		tid = ns.pid;
	}
	if (!h->pthread_tid_off)
		return (u32)id == tid;
	if (bpf_probe_read_user(&owner, sizeof owner, (void *)(id + h->pthread_tid_off)) != 0)
		return false;
	return owner == tid;
}

static inline void blocked_end(struct gs_blocked *b)
{
	struct gs_held_key key = { .tgid = b->tgid, .tid = b->tid, .stackid = b->stackid, .kstackid = b->kstackid };
	struct gs_held_stats fresh = {};
	struct gs_held_stats *row = held.lookup_or_try_init(&key, &fresh);

	if (!row) {
		count_event(b->tgid, GS_COUNT_HELD_FULL);
		return;
	}
	row->last_start_ns = b->start_ns;
	__sync_fetch_and_add(&row->total_ns, bpf_ktime_get_ns() - b->start_ns);
	__sync_fetch_and_add(&row->count, 1);
}

static inline void hold_switch(struct bpf_raw_tracepoint_args *ctx, const struct gs_settings *cfg,
			       const struct gs_switch *who)
{
	u64 next = ctx->args[2], prev = ctx->args[1];
	int zero = 0;
	s64 *open = open_periods.lookup(&zero);

	if (!open)
		return;
	if (cfg->attach_blocked && who->next_tid) {
		u32 tid = who->next_tid;
		struct gs_blocked *b = attach_blocked.lookup(&tid);
		if (b) {
			blocked_end(b);
			attach_blocked.delete(&tid);
		}
	}
	if (periods_open(open) > 0) {
		struct gs_blocked *b = blocked.lookup(&next);
		if (b) {
			blocked_end(b);
			if (blocked.delete(&next) == 0)
				__sync_fetch_and_add(open, -1);
		}
	}
	if (ctx->args[0] || ctx->args[3] == 0) /* preempted: runnable, not blocked */
		return;
	if (who->prev_other)
		return;
	u64 id = bpf_get_current_pid_tgid();
	u32 tgid = id >> 32;
	struct gs_holder *h = holders.lookup(&tgid);
	if (!h)
		return;
	count_event(tgid, GS_COUNT_SWITCH_HITS);
	/* Most blocking of a traced thread is waiting for the GIL, or in
	 * drop_gil for a taker: not holding it, known without reading memory. */
	u32 tid = (u32)id;
	struct gs_inflight *waiting = inflight.lookup(&tid);
	/* A holder blocked on the GIL's own mutexes is handing it over
	 * (drop_gil locks the mutex a preempted waiter holds): the GIL's
	 * machinery, not code that blocks holding it. */
	if (waiting && waiting->kind != GS_KIND_OTHER)
		return;
	if (!holds_gil(h, tid))
		return;
	struct gs_blocked start = { .start_ns = bpf_ktime_get_ns(), .tgid = tgid, .tid = tid };
	start.stackid = stacks.get_stackid(ctx, BPF_F_USER_STACK);
	/* User stacks of code without frame pointers stop at the innermost
	 * frame, often a syscall wrapper: the kernel's stack names the call. */
	start.kstackid = stacks.get_stackid(ctx, 0);
	if (blocked.update(&prev, &start) != 0)
		count_event(tgid, GS_COUNT_HELD_FULL);
	else
		__sync_fetch_and_add(open, 1);
}
