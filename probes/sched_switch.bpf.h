/* The sched_switch raw tracepoint, shared by both back ends: on-CPU time
 * (oncpu.bpf.h), run-queue and blocked time (runq.bpf.h) and
 * held-while-blocked (hold.bpf.h). BPF only. */
int gs_sched_switch(struct bpf_raw_tracepoint_args *ctx)
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
