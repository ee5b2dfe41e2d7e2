#include "config.h"

#include "tool/figures/thread_times.h"

#include <stdio.h>
#include <stdlib.h>
#include <stddef.h>
#include <string.h>
#include <unistd.h>

#include "tool/util/array.h"
#include "tool/util/clock.h"
#include "tool/bpf/snapshot.h"
#include "tool/inspect/target.h"

void thread_times_start(struct thread_times *tt, pid_t pid, const struct loader *p)
{
	memset(tt, 0, sizeof *tt);
	tt->pid = pid;
	tt->in_kernel = loader_accounting_cpu(p);
	tt->oncpu_fd = loader_map_fd(p, LOADER_ONCPU);
	tt->running_fd = loader_map_fd(p, LOADER_RUNNING);
	tt->sched_fd = loader_map_fd(p, LOADER_SCHED);
	tt->runq = tt->in_kernel && loader_accounting_runq(p);
	tt->steal = tt->in_kernel && loader_accounting_steal(p);
	tt->cpu.tgid = (uint32_t)pid;
}

static uint64_t ticks_to_ns(uint64_t ticks)
{
	static long per_s;

	if (!per_s)
		per_s = sysconf(_SC_CLK_TCK);
	return per_s > 0 ? ticks * (1000000000 / (uint64_t)per_s) : 0;
}

/* Once a thread: its name until the kernel reports one, and its id in
 * the target's PID namespace. Every interval too without the kernel's
 * accounting, for the CPU time. */
static void read_proc(struct thread_times *tt, struct thread_stats *t, bool at_start)
{
	struct proc_stat st;

	if (!t->alive)
		return;
	if (!tt->in_kernel || !t->name[0]) {
		if (target_thread_stat(tt->pid, t->tid, &st) != 0)
			return;
		if (!t->name[0] || !tt->in_kernel)
			snprintf(t->name, sizeof t->name, "%s", st.comm);
		if (!tt->in_kernel)
			stats_cpu_sample(t, ticks_to_ns(st.utime + st.stime), at_start);
	}
	if (!t->ns_tid_read) {
		t->ns_tid = target_thread_ns_tid(tt->pid, t->tid);
		t->ns_tid_read = true;
	}
}

void thread_times_baseline(struct thread_times *tt, struct stats *st)
{
	for (size_t i = 0; i < st->nthreads; i++)
		read_proc(tt, &st->threads[i], true);
}

int thread_times_read_running(struct thread_times *tt)
{
	return !tt->in_kernel ? 0 : snapshot_running(tt->running_fd, &tt->slots, &tt->nslots);
}

int thread_times_read_totals(struct thread_times *tt)
{
	int n;

	if (!tt->in_kernel)
		return 0;
	if ((n = snapshot_cpu(tt->oncpu_fd, &tt->cpu.rows, &tt->cpu.cap)) < 0)
		return -1;
	/* The process's own rows: a fleet's map holds every process's. */
	tt->cpu.nrows = snapshot_keep_tgid(tt->cpu.rows, (size_t)n, sizeof *tt->cpu.rows, offsetof(struct cpu_row, time.tgid),
					   (uint32_t)tt->pid);
	tt->cpu.slots = tt->slots;
	tt->cpu.nslots = tt->nslots;
	tt->nsched = 0;
	if (tt->runq) {
		/* A row holds its period in progress and its totals at once. */
		if ((n = snapshot_sched(tt->sched_fd, &tt->sched, &tt->sched_cap)) < 0)
			return -1;
		tt->nsched = snapshot_keep_tgid(tt->sched, (size_t)n, sizeof *tt->sched, offsetof(struct sched_row, sched.tgid),
						(uint32_t)tt->pid);
		cpu_time_sort_sched(tt->sched, tt->nsched);
	}
	tt->cpu.sched = tt->sched;
	tt->cpu.nsched = tt->nsched;
	return 0;
}

int thread_times_live(struct thread_times *tt, uint64_t now_ns, pid_t **tids, size_t *ntids, size_t *cap)
{
	int n;

	if (!tt->in_kernel) {
		n = target_list_threads(tt->pid, tids, cap);
	} else {
		tt->cpu.now_ns = now_ns;
		tt->sched_now_ns = now_ns;
		if ((n = cpu_time_prepare(&tt->cpu)) == 0)
			n = cpu_time_live(&tt->cpu, *tids, *ntids, tids, cap);
	}
	*ntids = n > 0 ? (size_t)n : 0;
	return n;
}

/* Each thread's run-queue and blocked time up to the boundary; the rows
 * of threads that ended go. */
static int fold_sched(struct thread_times *tt, struct stats *st)
{
	size_t nforget = 0;

	for (size_t i = 0; i < tt->nsched; i++) {
		const struct sched_row *r = &tt->sched[i];
		struct thread_stats *t = stats_find(st, (pid_t)r->tid);
		if (t && (t->alive || t->ended_now)) {
			stats_sched_sample(t, split_cpu_wait(&r->sched, tt->sched_now_ns), r->sched.cpu_waits,
					   split_blocked(&r->sched, tt->sched_now_ns));
			t->born_ns = r->sched.born_ns;
			t->died_ns = r->sched.died_ns;
		}
		if (t && t->alive)
			continue;
		if (array_reserve((void **)&tt->sched_forget, &tt->sched_forget_cap, nforget + 1,
				  sizeof *tt->sched_forget, 64) != 0)
			return -1;
		tt->sched_forget[nforget++] = r->tid;
	}
	snapshot_forget_cpu(tt->sched_fd, tt->sched_forget, nforget);
	return 0;
}

void thread_times_renew(struct thread_times *tt, struct stats *st)
{
	for (size_t i = 0; i < tt->nsched; i++) {
		const struct sched_row *r = &tt->sched[i];
		struct thread_stats *t = stats_find(st, (pid_t)r->tid);
		if (t && t->born_ns && r->sched.born_ns && t->born_ns != r->sched.born_ns)
			stats_retire(st, t);
	}
}

static int fold_kernel(struct thread_times *tt, struct stats *st)
{
	if (cpu_time_update(st, &tt->cpu) != 0)
		return -1;
	snapshot_forget_cpu(tt->oncpu_fd, tt->cpu.forget, tt->cpu.nforget);
	/* No row: not on a CPU since the probes were attached. */
	for (size_t i = 0; i < st->nthreads; i++)
		if (st->threads[i].alive && !st->threads[i].cpu_sampled)
			stats_cpu_sample(&st->threads[i], 0, false);
	return 0;
}

int thread_times_update(struct thread_times *tt, struct stats *st)
{
	if (tt->in_kernel && fold_kernel(tt, st) != 0)
		return -1;
	if (tt->runq && fold_sched(tt, st) != 0)
		return -1;
	for (size_t i = 0; i < st->nthreads; i++)
		read_proc(tt, &st->threads[i], false);
	return 0;
}

void thread_times_free(struct thread_times *tt)
{
	free(tt->cpu.rows);
	free(tt->cpu.forget);
	free(tt->slots);
	free(tt->sched);
	free(tt->sched_forget);
	memset(tt, 0, sizeof *tt);
}
