/* gilstats: per-thread GIL waits of running CPython processes.
 *
 * The data flow, by folder (HACKING.md): inspect/ (the target, its
 * symbols, the GIL) -> bpf/ (compile, cache, load and attach; read the
 * maps) -> figures/ (an interval's and the run's numbers, the verdict's
 * model) -> report/ (table, text, JSON, screen, SVG, metrics); python/
 * reads the interpreter's stacks and thread names. session.c is one
 * traced process; fleet.c runs them over one BPF program and finds new
 * ones. This file reads the arguments, owns the signals and starts a
 * command to trace (inspect/launch.c). */
#include "config.h"

#include <signal.h>
#include <stdio.h>
#include <unistd.h>

#include "tool/bpf/bpf_cache.h"
#include "tool/bpf/probe_image.h"
#include "tool/cli.h"
#include "tool/util/clock.h"
#include "tool/util/error.h"
#include "tool/fleet.h"
#include "tool/inspect/launch.h"
#include "tool/bpf/privileges.h"

static volatile sig_atomic_t stop_signal;
static volatile sig_atomic_t forward_to;

static void on_stop_signal(int sig)
{
	/* Launch mode: the child decides (like time(1)); pass it on. */
	if (forward_to > 0) {
		kill(forward_to, sig);
		return;
	}
	/* A second Ctrl-C means now: the kernel detaches the probes with our fds. */
	if (stop_signal)
		_exit(128 + sig);
	stop_signal = sig;
}

static int fail_with(const struct gs_error *err)
{
	gs_error_print(err);
	return err->exit_code ? err->exit_code : GS_EXIT_FAILURE;
}

static void install_signal_handlers(sigset_t *during_wait, bool launch)
{
	struct sigaction sa = { .sa_handler = on_stop_signal };
	static const int stops[] = { SIGINT, SIGTERM, SIGHUP };
	sigset_t blocked;

	sigemptyset(&blocked);
	for (size_t i = 0; i < sizeof stops / sizeof stops[0]; i++) {
		sigaction(stops[i], &sa, NULL);
		sigaddset(&blocked, stops[i]);
	}
	signal(SIGPIPE, SIG_IGN);
	/* Ctrl-C reaches the launched command from the terminal itself. */
	if (launch) {
		signal(SIGINT, SIG_IGN);
		signal(SIGQUIT, SIG_IGN);
	}
	/* Stop signals are taken only while waiting, so no wake-up is lost. */
	sigprocmask(SIG_BLOCK, &blocked, during_wait);
}

/* The processes from start to their summaries. Launch mode: stop signals
 * go to the command once it runs. */
static int trace(struct fleet *f, const sigset_t *during_wait, struct gs_error *err)
{
	if (fleet_start(f, err) != 0)
		return -1;
	if (f->launched)
		forward_to = f->launch.pid;
	return fleet_run(f, during_wait, &stop_signal, err);
}

/* --compile-only: every back end into the cache, nothing attached. */
static int compile_only(struct fleet *f, struct gs_error *err)
{
	struct probe_plan plan = { 0 };
	struct probe_image obj;
	bool cached;

	if (privileges_check(err) != 0 || fleet_plan_shared(f, &plan, err) != 0)
		return -1;
	if (!plan.cache_dir)
		return gs_fail(err, GS_EXIT_USAGE, "--compile-only needs the cache, and it is off");
	for (int b = 0; b < PROBE_BACKENDS; b++) {
		/* Always compiled: this replaces whatever the cache held. A
		 * bcc too old for sched leaves futex, which tracing falls to. */
		if (bpf_program_get(probe_backend_name((enum probe_backend)b), &f->headers, plan.cache_dir, true, &obj,
				    &cached, err) != 0) {
			if (b != PROBE_SCHED)
				return -1;
			fprintf(stderr, "gilstats: the sched back end is not cached: %s\n", err->msg);
			*err = (struct gs_error){ 0 };
			continue;
		}
		probe_image_free(&obj);
	}
	printf("compiled probes cached in %s\n", plan.cache_dir);
	return 0;
}

int main(int argc, char **argv)
{
	static struct fleet f = { .launch = { .go_fd = -1, .exec_fd = -1 }, .epfd = -1 };
	struct gs_error err = { 0 };
	sigset_t during_wait;
	int rc = GS_EXIT_OK;

	f.start = monotonic_s();
	if (cli_parse(argc, argv, &f.opt, stdout, &err) != 0)
		return fail_with(&err);
	if (f.opt.exit_now)
		return GS_EXIT_OK;
	if (f.opt.compile_only) {
		rc = compile_only(&f, &err) == 0 ? GS_EXIT_OK : fail_with(&err);
		fleet_release(&f);
		return rc;
	}
	install_signal_handlers(&during_wait, f.opt.command != NULL);
	if (trace(&f, &during_wait, &err) != 0)
		rc = fail_with(&err);
	fleet_release(&f);
	/* Launch mode passes the command's exit status through. */
	if (f.launched && f.launch.pid > 0) {
		int status = launch_finish(&f.launch);
		rc = rc == GS_EXIT_OK ? status : rc;
	}
	return rc;
}
