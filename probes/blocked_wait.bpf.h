/* What a thread blocks in, for both in-kernel back ends: a futex wait on
 * a watched word (the GIL's condvars, mutexes, 2.7's semaphore). BPF only.
 *
 * The futex back end reads the call at sys_enter. The sched back end
 * (GS_SCHED_WAITS) reads it at the switch that blocks the thread: the task
 * leaving is the current one, and the system call it blocks in and its
 * arguments are in its saved user registers (orig_ax is -1 outside a
 * system call, a page fault say). It needs no program on the host's
 * system calls, and a futex call that returns without blocking is no wait
 * (the futex back end counts it, with no time). */

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

/* The futex wait in regs, if that is the call: its word in *uaddr. */
static inline bool futex_wait_call(struct pt_regs *regs, u64 nr, u64 *uaddr)
{
	u64 op = 0;

	if (nr != GS_NR_FUTEX)
		return false;
	bpf_probe_read_kernel(uaddr, sizeof *uaddr, &PT_REGS_PARM1(regs));
	bpf_probe_read_kernel(&op, sizeof op, &PT_REGS_PARM2(regs));
	return is_wait(op);
}

#ifdef GS_SCHED_WAITS
/* A target thread blocks (runq.bpf.h): in a futex wait on a watched word,
 * a wait starts, its blocked piece from now (the caller sets it). */
static inline void blocked_wait_begin(u32 tgid, u32 tid)
{
	struct pt_regs *regs = (struct pt_regs *)bpf_task_pt_regs((struct task_struct *)bpf_get_current_task_btf());
	u64 nr = 0, uaddr = 0;

	if (!regs)
		return;
	bpf_probe_read_kernel(&nr, sizeof nr, &SYSCALL_NR(regs));
	if (!futex_wait_call(regs, nr, &uaddr))
		return;
	count_event(tgid, GS_COUNT_ENTRY_HITS);
	wait_begin(((u64)tgid << 32) | tid, uaddr);
}

/* The thread runs again: its wait, woken earlier (wait_wake), has ended. */
static inline void blocked_wait_end(u32 tgid, u32 tid, u64 now)
{
	wait_finish(tgid, tid, now);
}
#else
static inline void blocked_wait_begin(u32 tgid, u32 tid)
{
}

static inline void blocked_wait_end(u32 tgid, u32 tid, u64 now)
{
}
#endif
