#include "config.h"

#include "tool/bpf/bpf_cost.h"

#include <errno.h>
#include <inttypes.h>
#include <string.h>

#include "tool/util/escape.h"

void bpf_cost_start(struct bpf_cost *c, bool known, int why)
{
	memset(c, 0, sizeof *c);
	c->known = known;
	c->unknown_errno = known ? 0 : why;
}

/* One slot's counters into its differences. */
static void read_slot(struct bpf_prog_cost *p, const struct bpf_prog_stat *now, bool baseline)
{
	uint64_t runs = now->loaded ? now->runs : 0, ns = now->loaded ? now->ns : 0;

	/* Back: another program in the slot (reloaded), counting from 0. */
	if (runs < p->last_runs || ns < p->last_ns)
		p->last_runs = p->last_ns = 0;
	p->interval.runs = baseline ? 0 : runs - p->last_runs;
	p->interval.ns = baseline ? 0 : ns - p->last_ns;
	p->run.runs += p->interval.runs;
	p->run.ns += p->interval.ns;
	p->last_runs = runs;
	p->last_ns = ns;
	p->loaded = p->loaded || now->loaded;
	if (now->loaded)
		memcpy(p->name, now->name, sizeof p->name);
	p->name[sizeof p->name - 1] = '\0';
}

void bpf_cost_read(struct bpf_cost *c, const struct bpf_prog_stat *now, size_t n, double now_s)
{
	if (!c->known)
		return;
	n = n < BPF_COST_MAX_PROGS ? n : BPF_COST_MAX_PROGS;
	for (size_t i = 0; i < n; i++)
		read_slot(&c->progs[i], &now[i], !c->based);
	c->n = n > c->n ? n : c->n;
	c->interval_s = c->based ? now_s - c->last_s : 0;
	if (!c->based)
		c->baseline_s = now_s;
	c->last_s = now_s;
	c->based = true;
}

uint64_t bpf_cost_ns(const struct bpf_cost *c, bool summary)
{
	uint64_t sum = 0;

	for (size_t i = 0; i < c->n; i++)
		sum += bpf_cost_period_of(&c->progs[i], summary)->ns;
	return sum;
}

uint64_t bpf_cost_runs(const struct bpf_cost *c, bool summary)
{
	uint64_t sum = 0;

	for (size_t i = 0; i < c->n; i++)
		sum += bpf_cost_period_of(&c->progs[i], summary)->runs;
	return sum;
}

static void json_program(FILE *out, const struct bpf_prog_cost *p, bool summary)
{
	const struct bpf_cost_period *f = bpf_cost_period_of(p, summary);
	uint64_t runs = f->runs, ns = f->ns;

	fputs("{\"name\": ", out);
	json_write_string(out, p->name);
	fprintf(out, ", \"runs\": %" PRIu64 ", \"cpu_s\": %.9f", runs, (double)ns / 1e9);
	if (runs)
		fprintf(out, ", \"ns_per_run\": %.1f}", (double)ns / (double)runs);
	else
		fputs(", \"ns_per_run\": null}", out);
}

void bpf_cost_json(FILE *out, const struct bpf_cost *c, bool summary)
{
	bool first = true;

	if (!c->known || !c->based) {
		fputs(", \"bpf_cpu_s\": null, \"bpf_programs\": null", out);
		return;
	}
	fprintf(out, ", \"bpf_cpu_s\": %.9f, \"bpf_programs\": [", (double)bpf_cost_ns(c, summary) / 1e9);
	for (size_t i = 0; i < c->n; i++) {
		if (!c->progs[i].loaded)
			continue;
		fputs(first ? "" : ", ", out);
		json_program(out, &c->progs[i], summary);
		first = false;
	}
	fputc(']', out);
}

void bpf_cost_text(char *buf, size_t len, const struct bpf_cost *c, bool summary)
{
	double period = summary ? c->last_s - c->baseline_s : c->interval_s;
	uint64_t ns = bpf_cost_ns(c, summary), runs = bpf_cost_runs(c, summary);
	char each[40] = "";

	if (!c->known) {
		snprintf(buf, len, "gilstats' bpf programs: cost unknown (cannot enable run-time statistics: %s)",
			 strerror(c->unknown_errno ? c->unknown_errno : ENOTSUP));
		return;
	}
	if (!c->based) {
		snprintf(buf, len, "gilstats' bpf programs: cost not read yet");
		return;
	}
	if (runs)
		snprintf(each, sizeof each, ", %.0f ns a run", (double)ns / (double)runs);
	snprintf(buf, len, "gilstats' bpf programs: %.2f ms CPU in %.2f s (%.2f%% of a CPU), %" PRIu64 " runs%s",
		 (double)ns / 1e6, period, period > 0 ? 100.0 * (double)ns / 1e9 / period : 0.0, runs, each);
}

void bpf_cost_metrics(FILE *out, const struct bpf_cost *c)
{
	static const char *const help[2] = {
		"gilstats_bpf_seconds_total CPU time spent inside gilstats' BPF programs, host-wide (the kernel's "
		"run-time statistics).\n# TYPE gilstats_bpf_seconds_total counter\n",
		"gilstats_bpf_runs_total Runs of gilstats' BPF programs, host-wide.\n"
		"# TYPE gilstats_bpf_runs_total counter\n",
	};

	for (int k = 0; k < 2; k++) {
		fprintf(out, "# HELP %s", help[k]);
		for (size_t i = 0; c->known && c->based && i < c->n; i++) {
			const struct bpf_prog_cost *p = &c->progs[i];
			if (!p->loaded)
				continue;
			fprintf(out, "gilstats_bpf_%s_total{program=\"", k ? "runs" : "seconds");
			escape_prom_label(out, p->name);
			if (k)
				fprintf(out, "\"} %" PRIu64 "\n", p->run.runs);
			else
				fprintf(out, "\"} %.9g\n", (double)p->run.ns / 1e9);
		}
	}
}
