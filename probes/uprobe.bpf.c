/* gilstats uprobe back end: a uprobe and a uretprobe on the wait functions
 * CPython blocks in (pthread_cond_timedwait, pthread_cond_wait, sem_wait)
 * time every call. Used when the GIL has to be guessed: it sees the
 * address of every condvar waited on. */

int gs_wait_enter(struct pt_regs *ctx)
{
	u64 id = bpf_get_current_pid_tgid();
	u32 tgid = id >> 32;

	if (!targets.lookup(&tgid))
		return 0;
	count_event(tgid, GS_COUNT_ENTRY_HITS);
	wait_begin(id, PT_REGS_PARM1(ctx));
	return 0;
}

int gs_wait_return(struct pt_regs *ctx)
{
	wait_end(bpf_get_current_pid_tgid());
	return 0;
}
