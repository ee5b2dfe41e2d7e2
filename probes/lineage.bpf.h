/* Forks and execs of the processes the tool follows, seen by the kernel
 * as they happen. BPF only. The tool puts every traced process into
 * "family" (follow set with --children); a fork of a followed process
 * adds the child, so descendants stay known after their parent exits
 * (a daemon's double fork); an exec counts in the entry and stops the
 * accounting of the process, whose watched addresses and holder belonged
 * to the old image, until the tool has located it again. */

BPF_HASH(family, u32, struct gs_family, GS_MAX_FAMILY);

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
	struct gs_family born = { .parent = parent, .follow = 1 };
	family.update(&child, &born);
	return 0;
}

/* Raw tracepoint sched_process_exec(task, old_pid, bprm), run by the
 * process once it runs its new image. */
int gs_exec(struct bpf_raw_tracepoint_args *ctx)
{
	u32 tgid = bpf_get_current_pid_tgid() >> 32;
	struct gs_family *f = family.lookup(&tgid);

	if (!f)
		return 0;
	__sync_fetch_and_add(&f->execs, 1);
	targets.delete(&tgid);
	holders.delete(&tgid);
	return 0;
}
