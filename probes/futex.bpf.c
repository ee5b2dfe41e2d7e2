/* gilstats' in-kernel back ends: never enter user space. futex: raw
 * syscall tracepoints time the futex waits of the target's threads on the
 * GIL's own words (its condvars, mutexes or 2.7 semaphore), which the tool
 * knows exactly. sched (compiled with -DGS_SCHED_WAITS): the same waits
 * recognised at the switches (blocked_wait.bpf.h); the two programs below
 * are compiled but neither loaded nor attached. GS_NR_FUTEX is the futex
 * syscall number (-D). */

/* Raw tracepoint sys_enter; named gs_* so bpftool shows whose it is. */
int gs_futex_enter(struct bpf_raw_tracepoint_args *ctx)
{
	if (ctx->args[1] != GS_NR_FUTEX)
		return 0;
	u64 id = bpf_get_current_pid_tgid();
	u32 tgid = id >> 32;
	if (!targets.lookup(&tgid))
		return 0;

	u64 uaddr = 0;
	if (!futex_wait_call((struct pt_regs *)ctx->args[0], ctx->args[1], &uaddr))
		return 0;
	count_event(tgid, GS_COUNT_ENTRY_HITS);
	wait_begin(id, uaddr);
	return 0;
}

/* Raw tracepoint sys_exit. */
int gs_futex_exit(struct bpf_raw_tracepoint_args *ctx)
{
#ifdef SYSCALL_NR
	/* Most syscalls on the host are not futex: skip the map lookup. */
	struct pt_regs *regs = (struct pt_regs *)ctx->args[0];
	u64 nr = 0;

	bpf_probe_read_kernel(&nr, sizeof nr, &SYSCALL_NR(regs));
	if (nr != GS_NR_FUTEX)
		return 0;
#endif
	wait_end(bpf_get_current_pid_tgid());
	return 0;
}
