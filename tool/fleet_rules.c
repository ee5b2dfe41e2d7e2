/* The fleet's pure decisions (fleet_rules.h). */
#include "config.h"

#include "tool/fleet_rules.h"

#include <math.h>
#include <stdlib.h>

#include "tool/util/array.h"

void fleet_rules_init(struct fleet_rules *r, const struct options *opt, pid_t self)
{
	r->children = opt->children;
	r->all = opt->all;
	r->several = cli_fleet(opt);
	r->self = self;
	r->has_user = opt->has_user;
	r->user = opt->user;
	if (opt->match) {
		r->has_match = true;
		r->match_bad = regcomp(&r->match, opt->match, REG_EXTENDED | REG_NOSUB) != 0;
	}
}

void fleet_rules_free(struct fleet_rules *r)
{
	if (r->has_match && !r->match_bad)
		regfree(&r->match);
	r->has_match = false;
	free(r->passed);
	r->passed = NULL;
	r->npassed = r->passed_cap = 0;
}

/* A pid alone may be reused; with its start time and executable it is
 * one process (a shell that execs python is a new one). */
static bool same_process(const struct proc_entry *a, const struct proc_entry *b)
{
	return a->pid == b->pid && a->start_time == b->start_time && a->exe_ino == b->exe_ino;
}

bool fleet_rules_passed(const struct fleet_rules *r, const struct proc_entry *p)
{
	for (size_t i = 0; i < r->npassed; i++)
		if (same_process(&r->passed[i], p))
			return true;
	return false;
}

void fleet_rules_pass(struct fleet_rules *r, const struct proc_entry *p)
{
	if (array_reserve((void **)&r->passed, &r->passed_cap, r->npassed + 1, sizeof *r->passed, 256) != 0)
		return;
	r->passed[r->npassed++] = *p;
}

void fleet_rules_prune(struct fleet_rules *r, const struct proc_entry *now, size_t n)
{
	size_t kept = 0;

	for (size_t i = 0; i < r->npassed; i++)
		for (size_t k = 0; k < n; k++)
			if (same_process(&now[k], &r->passed[i])) {
				r->passed[kept++] = r->passed[i];
				break;
			}
	r->npassed = kept;
}

static bool listed(const pid_t *v, size_t n, pid_t pid)
{
	for (size_t i = 0; i < n; i++)
		if (v[i] == pid)
			return true;
	return false;
}

bool fleet_rules_new(const struct fleet_rules *r, const struct proc_entry *p, const pid_t *traced, size_t ntraced)
{
	return p->pid != r->self && !listed(traced, ntraced, p->pid) && !fleet_rules_passed(r, p);
}

bool fleet_rules_filtered(const struct fleet_rules *r)
{
	return r->has_match || r->has_user;
}

bool fleet_rules_chosen(const struct fleet_rules *r, const char *cmdline, uid_t euid)
{
	if (r->has_user && euid != r->user)
		return false;
	return !r->has_match || (!r->match_bad && regexec(&r->match, cmdline, 0, NULL, 0) == 0);
}

bool fleet_rules_young(const struct proc_entry *p, uint64_t now_ticks, long ticks_per_s)
{
	return now_ticks < p->start_time || (double)(now_ticks - p->start_time) < FLEET_MIN_AGE_S * (double)ticks_per_s;
}

bool fleet_rules_descendant(const struct fleet_rules *r, pid_t pid, const pid_t *descendants, size_t ndesc)
{
	return r->children && listed(descendants, ndesc, pid);
}

enum fleet_lineage_step fleet_rules_lineage(const struct fleet_rules *r, const struct lineage_entry *e, bool traced,
					    bool in_map, bool alive)
{
	if (traced && in_map)
		return FLEET_LINEAGE_EXEC;
	/* An entry the tool added for a process it no longer traces is
	 * kept only while its children are followed. */
	if (!alive || (!traced && !e->follow && !e->exec_new))
		return FLEET_LINEAGE_FORGET;
	if (!traced && e->exec_new)
		return r->all ? FLEET_LINEAGE_LOOK : FLEET_LINEAGE_FORGET;
	/* Forked by a followed process: traced even when its parent has
	 * exited already (the kernel kept the link). With --all only, looked
	 * at like an exec: most forks exec something else at once. */
	if (!traced && r->children && e->parent)
		return FLEET_LINEAGE_ADOPT;
	if (!traced && r->all && e->parent)
		return FLEET_LINEAGE_LOOK;
	return FLEET_LINEAGE_KEEP;
}

enum fleet_look fleet_rules_exec_look(const struct lineage_entry *e, double now_s)
{
	double age = now_s - e->exec_s;

	if (age >= FLEET_MIN_AGE_S)
		return FLEET_LOOK_LAST;
	return age >= FLEET_FIRST_LOOK_S && !e->looked ? FLEET_LOOK_EARLY : FLEET_LOOK_LATER;
}

double fleet_rules_sample_hz(long hold_rate_hz, size_t nbusy, size_t nidle, bool busy)
{
	size_t n = nbusy + nidle;
	double rate = (double)hold_rate_hz, share = n ? FLEET_SAMPLES_PER_S / (double)n : FLEET_SAMPLES_PER_S;
	double fair = rate < share ? rate : share, idle_hz, busy_hz;

	if (n <= 1 || !nidle)
		return fair;
	idle_hz = fair < FLEET_IDLE_HZ ? fair : FLEET_IDLE_HZ;
	busy_hz = nbusy ? (FLEET_SAMPLES_PER_S - idle_hz * (double)nidle) / (double)nbusy : fair;
	busy_hz = rate < busy_hz ? rate : busy_hz;
	if (busy)
		return busy_hz;
	/* A whole number of busy periods: one wake-up serves both. */
	return busy_hz / ceil(busy_hz / idle_hz);
}

bool fleet_rules_idle(size_t nprocs, double gil_possible)
{
	return nprocs > 1 && gil_possible >= 0 && gil_possible < FLEET_BUSY_SHARE;
}

bool fleet_rules_ends(const struct fleet_rules *r, size_t ntraced, size_t ngone)
{
	return !r->children && !r->all && ngone >= ntraced;
}

bool fleet_rules_leaves(const struct fleet_rules *r, bool gone, bool last)
{
	/* A single process stays: its summary ends the run as it always did. */
	return r->several && gone && !last;
}
