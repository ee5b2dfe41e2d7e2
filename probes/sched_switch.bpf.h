/* The sched_switch raw tracepoint, shared by both back ends: on-CPU time
 * (oncpu.bpf.h) and held-while-blocked (hold.bpf.h). BPF only. */
int gs_sched_switch(struct bpf_raw_tracepoint_args *ctx)
{
	int zero = 0;
	struct gs_settings *cfg = settings.lookup(&zero);

	if (!cfg)
		return 0;
	account_cpu(ctx, cfg);
	hold_switch(ctx);
	return 0;
}
