/* Forks and execs of the processes the tool follows, seen by the kernel
 * as they happen. BPF only. The tool puts every traced process into
 * "family" (follow set with --children); a fork of a followed process
 * adds the child, so descendants stay known after their parent exits
 * (a daemon's double fork); an exec counts in the entry and stops the
 * accounting of the process, whose watched addresses and holder belonged
 * to the old image, until the tool has located it again. With --all
 * (settings.follow_execs) an exec of any other process enters the map
 * too: the tool finds new pythons there instead of reading /proc. */

BPF_HASH(family, u32, struct gs_family, GS_MAX_FAMILY);
/* [GS_FAMILY_LOST]: execs that found the family map full (the tool then
 * reads /proc); [GS_FAMILY_CHANGES]: entries made or execs counted, so
 * the tool reads the map only when something happened. */
BPF_ARRAY(family_counts, u64, GS_FAMILY_COUNTS);

static inline void family_count(int which)
{
	u64 *n = family_counts.lookup(&which);

	if (n)
		__sync_fetch_and_add(n, 1);
}

/* Raw tracepoint sched_process_fork(parent, child), run by the parent. */
int gs_fork(struct bpf_raw_tracepoint_args *ctx)
{
	int zero = 0;
	struct gs_settings *cfg = settings.lookup(&zero);
	u32 parent = bpf_get_current_pid_tgid() >> 32, child = 0, tid = 0;
	struct gs_family *f = family.lookup(&parent);

	if (!f || !f->follow || !cfg || !cfg->task_tgid_off)
		return 0;
	void *task = (void *)ctx->args[1];
	bpf_probe_read_kernel(&child, sizeof child, task + cfg->task_tgid_off);
	bpf_probe_read_kernel(&tid, sizeof tid, task + cfg->task_pid_off);
	/* A new thread is no new process. */
	if (!child || child != tid || child == parent)
		return 0;
	struct gs_family born = { .parent = parent, .follow = 1, .exec_ns = bpf_ktime_get_ns(), .origin = GS_FAMILY_FORK };
	family.update(&child, &born);
	family_count(GS_FAMILY_CHANGES);
	return 0;
}

/* An exec of a process not followed, with --all: the tool looks at it
 * once its new image had time to start its interpreter. */
static inline void exec_seen(u32 tgid)
{
	int zero = 0;
	struct gs_settings *cfg = settings.lookup(&zero);
	struct gs_family seen = { .exec_ns = bpf_ktime_get_ns(), .origin = GS_FAMILY_EXEC };

	if (!cfg || !cfg->follow_execs)
		return;
	family_count(family.update(&tgid, &seen) == 0 ? GS_FAMILY_CHANGES : GS_FAMILY_LOST);
}

/* Raw tracepoint sched_process_exec(task, old_pid, bprm), run by the
 * process once it runs its new image. */
int gs_exec(struct bpf_raw_tracepoint_args *ctx)
{
	u32 tgid = bpf_get_current_pid_tgid() >> 32;
	struct gs_family *f = family.lookup(&tgid);

	if (!f) {
		exec_seen(tgid);
		return 0;
	}
	f->exec_ns = bpf_ktime_get_ns();
	__sync_fetch_and_add(&f->execs, 1);
	family_count(GS_FAMILY_CHANGES);
	targets.delete(&tgid);
	holders.delete(&tgid);
	return 0;
}
