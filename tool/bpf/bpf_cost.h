/* What gilstats' own BPF programs cost the host: the kernel's run-time
 * statistics (run count and nanoseconds inside each program, kept while
 * BPF_ENABLE_STATS is held) read at every interval, as differences.
 * Pure arithmetic and formatting: loader.c reads the kernel's figures. */
#ifndef GILSTATS_BPF_COST_H
#define GILSTATS_BPF_COST_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#define BPF_COST_MAX_PROGS 8
#define BPF_COST_NAME 16 /* BPF_OBJ_NAME_LEN */

/* One program slot as the kernel counts it now (bpf_prog_info's
 * run_cnt and run_time_ns); loaded false: no program there (yet). */
struct bpf_prog_stat {
	char name[BPF_COST_NAME];
	bool loaded;
	uint64_t runs, ns;
};

/* What a program cost over a period: an interval, or the run. */
struct bpf_cost_period {
	uint64_t runs, ns;
};

struct bpf_prog_cost {
	char name[BPF_COST_NAME];
	bool loaded;
	uint64_t last_runs, last_ns;     /* the kernel's counters at the last read */
	struct bpf_cost_period interval; /* between the last two reads */
	struct bpf_cost_period run;      /* since the baseline */
};

/* The last interval's cost, or the run's for a summary. */
static inline const struct bpf_cost_period *bpf_cost_period_of(const struct bpf_prog_cost *p, bool summary)
{
	return summary ? &p->run : &p->interval;
}

struct bpf_cost {
	bool known;       /* statistics held on since before the baseline */
	int unknown_errno; /* why not (EPERM: no CAP_SYS_ADMIN; EINVAL: an old kernel) */
	bool based;       /* the baseline was read */
	size_t n;
	struct bpf_prog_cost progs[BPF_COST_MAX_PROGS];
	double baseline_s, last_s; /* CLOCK_MONOTONIC of the baseline and the last read */
	double interval_s;         /* between the last two reads */
};

/* Before the baseline: known when the statistics are on (held since
 * before any program was loaded); else why (errno) every figure is
 * unknown, never 0. */
void bpf_cost_start(struct bpf_cost *c, bool known, int why);

/* A read of every slot at now_s (seconds): the first is the baseline
 * (figures start there); later ones make the interval's differences. A
 * program first seen after the baseline was loaded after it, while the
 * statistics were on: all its runs count. A counter that went back is a
 * new program in the slot: counted from 0. */
void bpf_cost_read(struct bpf_cost *c, const struct bpf_prog_stat *now, size_t n, double now_s);

/* Totals of the interval (or the run): nanoseconds and runs. */
uint64_t bpf_cost_ns(const struct bpf_cost *c, bool summary);
uint64_t bpf_cost_runs(const struct bpf_cost *c, bool summary);

/* JSON members: , "bpf_cpu_s": S, "bpf_programs": [{"name": ..., "runs":
 * N, "cpu_s": S, "ns_per_run": X}] (ns_per_run null without runs); both
 * null when unknown. */
void bpf_cost_json(FILE *out, const struct bpf_cost *c, bool summary);

/* One line for people: "gilstats' bpf programs: 2.31 ms CPU in 1.00 s
 * (0.23% of a CPU), 12345 runs, 187 ns a run", or why it is unknown. */
void bpf_cost_text(char *buf, size_t len, const struct bpf_cost *c, bool summary);

/* Prometheus: gilstats_bpf_seconds_total and gilstats_bpf_runs_total,
 * one series per program (label program); none when unknown. */
void bpf_cost_metrics(FILE *out, const struct bpf_cost *c);

#endif
