/* Every process traced in one run, over one BPF program: the first one
 * attaches the program, more come with -p, --children and --all (found in
 * /proc and from the kernel's forks and execs), ended ones leave with
 * their summary; each interval updates and reports them all. One session
 * (session.h) per process; the decisions that need no BPF are in
 * fleet_rules.h. main.c parses the arguments and owns the signals. */
#ifndef GILSTATS_FLEET_H
#define GILSTATS_FLEET_H

#include <signal.h>
#include <stdbool.h>
#include <stddef.h>

#include "tool/bpf/bpf_cost.h"
#include "tool/cli.h"
#include "tool/inspect/discover.h"
#include "tool/util/error.h"
#include "tool/fleet_rules.h"
#include "tool/bpf/kernel_headers.h"
#include "tool/inspect/launch.h"
#include "tool/bpf/lineage.h"
#include "tool/report/metrics_http.h"
#include "tool/report/output.h"
#include "tool/bpf/loader.h"
#include "tool/session.h"

struct fleet {
	struct options opt;
	struct kernel_headers headers;
	struct loader *loader;
	struct output *out;
	struct session **sessions;
	size_t nsessions, sessions_cap;
	struct launch launch;
	bool launched;
	struct fleet_rules rules; /* and the processes passed over */
	struct proc_entry *procs; /* /proc, last read */
	size_t procs_cap;
	struct metrics_server *server;
	int epfd;           /* the interval's wait: the keyboard and each
			     * process's pidfd (readable once it exits) */
	struct lineage_entry *family; /* the kernel's forks and execs, last read */
	size_t family_cap;
	double next_lineage;
	bool exec_events;     /* --all: new processes come from the kernel's execs */
	uint64_t family_lost; /* execs the kernel could not record, last seen */
	uint64_t family_changes; /* the family map's changes, at its last read */
	bool family_pending;     /* entries there wait for a later look */
	double next_exit_check; /* when processes without a pidfd are asked again */
	/* --all: the pids decided on at the last look, and the directory read
	 * between looks that shows which came since. */
	pid_t *looked, *listed;
	size_t nlooked, looked_cap, listed_cap;
	double next_list;
	double start, attached;
	struct bpf_cost cost; /* of the shared programs, host-wide */
	char sched_refused[640]; /* why every process uses futex, not sched; "": it does not */
};

/* What every target shares: kernel headers, the cache, the histogram
 * mode, the kernel's task_struct layout. */
int fleet_plan_shared(struct fleet *f, struct probe_plan *plan, struct gs_error *err);

/* Attaches the first process (or none, --all alone), the others given
 * and the ones found, opens the output and the metrics, and lets a
 * launched command go (f->launch.pid then). */
int fleet_start(struct fleet *f, struct gs_error *err);

/* The intervals until the processes end, *stop is set (stop signals are
 * taken only inside the wait, with during_wait as the mask), a key quits
 * or the count is reached; then every process's summary. */
int fleet_run(struct fleet *f, const sigset_t *during_wait, const volatile sig_atomic_t *stop, struct gs_error *err);

/* Detaches, and frees what the fleet holds (after a failure too). */
void fleet_release(struct fleet *f);

#endif
