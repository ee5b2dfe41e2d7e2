/* gilstats in-kernel back end: never enters user space. Raw syscall
 * tracepoints time the futex waits of the target's threads on the GIL's
 * own words (its condvars, mutexes or 2.7 semaphore), which the tool
 * knows exactly. GS_NR_FUTEX is the futex syscall number (-D). */

#if defined(bpf_target_x86)
#define SYSCALL_NR(regs) ((regs)->orig_ax)
#elif defined(bpf_target_arm64)
#define SYSCALL_NR(regs) ((regs)->syscallno)
#endif

#define FUTEX_CMD_MASK 0x7f /* without FUTEX_PRIVATE_FLAG and FUTEX_CLOCK_REALTIME */
#define FUTEX_WAIT 0
#define FUTEX_LOCK_PI 6
#define FUTEX_WAIT_BITSET 9
#define FUTEX_WAIT_REQUEUE_PI 11
#define FUTEX_LOCK_PI2 13

static inline bool is_wait(u64 op)
{
	u64 cmd = op & FUTEX_CMD_MASK;

	return cmd == FUTEX_WAIT || cmd == FUTEX_WAIT_BITSET || cmd == FUTEX_LOCK_PI ||
	       cmd == FUTEX_LOCK_PI2 || cmd == FUTEX_WAIT_REQUEUE_PI;
}

/* Raw tracepoint sys_enter; named gs_* so bpftool shows whose it is. */
int gs_futex_enter(struct bpf_raw_tracepoint_args *ctx)
{
	if (ctx->args[1] != GS_NR_FUTEX)
		return 0;
	u64 id = bpf_get_current_pid_tgid();
	u32 tgid = id >> 32;
	if (!targets.lookup(&tgid))
		return 0;

	struct pt_regs *regs = (struct pt_regs *)ctx->args[0];
	u64 uaddr = 0, op = 0;
	bpf_probe_read_kernel(&uaddr, sizeof uaddr, &PT_REGS_PARM1(regs));
	bpf_probe_read_kernel(&op, sizeof op, &PT_REGS_PARM2(regs));
	if (!is_wait(op))
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
