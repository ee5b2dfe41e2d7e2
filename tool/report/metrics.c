#include "config.h"

#include "tool/report/metrics.h"

#include "tool/util/escape.h"

#include <inttypes.h>

/* One family: its name, type, help, and the figure of a process or a
 * thread (NULL: none at that level). known says whether the process has
 * the figure at all (hold times need the sampler). */
struct family {
	const char *name, *type, *help;
	double (*process)(const struct metrics_process *p);
	double (*thread)(const struct thread_stats *t);
	bool (*known)(const struct metrics_process *p);
};

static double s(uint64_t ns)
{
	return (double)ns / 1e9;
}

/* The run's figure summed over every thread, the folded ones too. */
#define SUM(field)                                                      \
	uint64_t sum = p->stats->folded.run.field;                      \
	for (size_t i = 0; i < p->stats->nthreads; i++)                 \
		sum += p->stats->threads[i].run.field;

static double wait_s(const struct metrics_process *p)
{
	SUM(gil.ns)
	return s(sum);
}

static double waits(const struct metrics_process *p)
{
	SUM(gil.count)
	return (double)sum;
}

static double switch_s(const struct metrics_process *p)
{
	SUM(sw.ns)
	return s(sum);
}

static double cpu_s(const struct metrics_process *p)
{
	SUM(cpu_ns)
	return s(sum);
}

static double hold_s(const struct metrics_process *p)
{
	SUM(hold_ns)
	return s(sum);
}

static double blocked_s(const struct metrics_process *p)
{
	SUM(blocked_ns)
	return s(sum);
}

static double cpu_wait_s(const struct metrics_process *p)
{
	SUM(cpu_wait_ns)
	return s(sum);
}

static double threads(const struct metrics_process *p)
{
	size_t n = 0;

	for (size_t i = 0; i < p->stats->nthreads; i++)
		n += p->stats->threads[i].alive;
	return (double)n;
}

static double t_wait_s(const struct thread_stats *t) { return s(t->run.gil.ns); }
static double t_waits(const struct thread_stats *t) { return (double)t->run.gil.count; }
static double t_switch_s(const struct thread_stats *t) { return s(t->run.sw.ns); }
static double t_cpu_s(const struct thread_stats *t) { return s(t->run.cpu_ns); }
static double t_hold_s(const struct thread_stats *t) { return s(t->run.hold_ns); }
static double t_blocked_s(const struct thread_stats *t) { return s(t->run.blocked_ns); }
static double t_cpu_wait_s(const struct thread_stats *t) { return s(t->run.cpu_wait_ns); }

static bool always(const struct metrics_process *p)
{
	(void)p;
	return true;
}

static bool hold_known(const struct metrics_process *p)
{
	return p->hold && hold_time_known(p->hold) && p->target->gil_enabled;
}

static bool cpu_wait_known(const struct metrics_process *p)
{
	return p->target->cpu_wait_known;
}

static bool blocked_known(const struct metrics_process *p)
{
	return p->hold && hold_blocked_known(p->hold) && p->target->gil_enabled;
}

static const struct family families[] = {
	{ "gil_wait_seconds_total", "counter", "Time threads spent blocked waiting to take the GIL.", wait_s, t_wait_s,
	  always },
	{ "gil_waits_total", "counter", "Waits to take the GIL.", waits, t_waits, always },
	{ "gil_switch_wait_seconds_total", "counter",
	  "Time threads spent in drop_gil until another thread took the GIL (forced switches).", switch_s,
	  t_switch_s, always },
	{ "cpu_seconds_total", "counter", "Time the threads ran on a CPU.", cpu_s, t_cpu_s, always },
	{ "cpu_wait_seconds_total", "counter", "Time threads were runnable, waiting for a CPU (run queue).",
	  cpu_wait_s, t_cpu_wait_s, cpu_wait_known },
	{ "gil_hold_seconds_total", "counter", "Time threads held the GIL (sampled).", hold_s, t_hold_s,
	  hold_known },
	{ "gil_held_blocked_seconds_total", "counter",
	  "Time threads held the GIL while blocked off a CPU: every other thread stalled.", blocked_s, t_blocked_s,
	  blocked_known },
	{ "threads", "gauge", "Threads of the process alive at the last update.", threads, NULL, always },
};

/* A label value: names are the target's to choose (escape.h). */
static void label(FILE *out, const char *name, const char *value)
{
	fprintf(out, "%s=\"", name);
	escape_prom_label(out, value);
	fputc('"', out);
}

static void process_labels(FILE *out, const struct metrics_process *p)
{
	fprintf(out, "{pid=\"%d\",", (int)p->target->pid);
	label(out, "comm", p->target->comm);
	fputc(',', out);
	label(out, "python_version", p->target->python_version);
}

static void header(FILE *out, const char *prefix, const struct family *f)
{
	fprintf(out, "# HELP gilstats_%s%s %s\n# TYPE gilstats_%s%s %s\n", prefix, f->name, f->help, prefix, f->name,
		f->type);
}

static void write_family(FILE *out, const struct family *f, const struct metrics_process *procs, size_t n)
{
	header(out, "", f);
	for (size_t i = 0; i < n; i++) {
		if (!f->known(&procs[i]))
			continue;
		fprintf(out, "gilstats_%s", f->name);
		process_labels(out, &procs[i]);
		fprintf(out, "} %.9g\n", f->process(&procs[i]));
	}
}

static void write_thread_family(FILE *out, const struct family *f, const struct metrics_process *procs, size_t n)
{
	header(out, "thread_", f);
	for (size_t i = 0; i < n; i++) {
		const struct stats *st = procs[i].stats;
		if (!f->known(&procs[i]))
			continue;
		for (size_t k = 0; k < st->nthreads; k++) {
			const struct thread_stats *t = &st->threads[k];
			if (!t->alive)
				continue;
			fprintf(out, "gilstats_thread_%s", f->name);
			process_labels(out, &procs[i]);
			fprintf(out, ",tid=\"%d\",", (int)t->tid);
			label(out, "thread", thread_name(t));
			fprintf(out, "} %.9g\n", f->thread(t));
		}
	}
}

/* One series per kind, 1 for the last interval's and 0 for the others,
 * so an alert can be "gilstats_verdict{kind=\"bottleneck\"} == 1". */
static void write_verdicts(FILE *out, const struct metrics_process *procs, size_t n)
{
	fputs("# HELP gilstats_verdict The verdict of the last interval: 1 for its kind, 0 for the others.\n"
	      "# TYPE gilstats_verdict gauge\n",
	      out);
	for (size_t i = 0; i < n; i++) {
		if (!procs[i].verdict_known)
			continue;
		for (int k = 0; k < VERDICT_KINDS; k++) {
			fputs("gilstats_verdict", out);
			process_labels(out, &procs[i]);
			fprintf(out, ",kind=\"%s\"} %d\n", verdict_kind_name((enum verdict_kind)k),
				procs[i].verdict == (enum verdict_kind)k);
		}
	}
}

/* The BPF programs' counters of each process, one series per counter
 * it has (the JSON's names): probe hits, and events lost to full maps. */
static void write_events(FILE *out, const struct metrics_process *procs, size_t n)
{
	fputs("# HELP gilstats_bpf_events_total Events the BPF programs counted for the process "
	      "(probe hits; waits, periods and slices lost to a full map).\n"
	      "# TYPE gilstats_bpf_events_total counter\n",
	      out);
	for (size_t i = 0; i < n; i++) {
		if (!procs[i].counts)
			continue;
		for (size_t k = 0; k < report_ncounters; k++) {
			uint64_t v;
			if (!report_counter_value(procs[i].counts, &report_counters[k], false, &v))
				continue;
			fputs("gilstats_bpf_events_total", out);
			process_labels(out, &procs[i]);
			fprintf(out, ",event=\"%s\"} %" PRIu64 "\n", report_counters[k].name, v);
		}
	}
}

void metrics_write(FILE *out, const struct metrics_process *procs, size_t n, bool per_thread)
{
	fputs("# HELP gilstats_build_info gilstats' version.\n# TYPE gilstats_build_info gauge\n", out);
	fprintf(out, "gilstats_build_info{version=\"%s\"} 1\n", PACKAGE_VERSION);
	fputs("# HELP gilstats_processes Processes traced.\n# TYPE gilstats_processes gauge\n", out);
	fprintf(out, "gilstats_processes %zu\n", n);
	for (size_t i = 0; i < sizeof families / sizeof families[0]; i++)
		write_family(out, &families[i], procs, n);
	write_verdicts(out, procs, n);
	write_events(out, procs, n);
	if (!per_thread)
		return;
	for (size_t i = 0; i < sizeof families / sizeof families[0]; i++)
		if (families[i].thread)
			write_thread_family(out, &families[i], procs, n);
}
