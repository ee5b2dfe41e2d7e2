/* The sched_switch raw tracepoint, shared by the back ends: on-CPU time
 * (oncpu.bpf.h), run-queue and blocked time (runq.bpf.h) and
 * held-while-blocked (hold.bpf.h); in the sched back end GIL waits too
 * (blocked_wait.bpf.h), under a name of its own, so bpftool shows which
 * it is and a cached futex program is never taken for it. BPF only. */
#ifdef GS_SCHED_WAITS
#define GS_SWITCH_PROGRAM gs_switch_waits
#else
#define GS_SWITCH_PROGRAM gs_sched_switch
#endif
int GS_SWITCH_PROGRAM(struct bpf_raw_tracepoint_args *ctx)
{
	int zero = 0;
	struct gs_settings *cfg = settings.lookup(&zero);
	struct gs_switch who = {};

	if (!cfg)
		return 0;
	account_cpu(ctx, cfg, &who);
	runq_switch(ctx, cfg, &who);
	hold_switch(ctx, cfg, &who);
	return 0;
}
