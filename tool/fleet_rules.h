/* The fleet's decisions that need no BPF and no live process (fleet.c
 * acts on them): which processes found in /proc are looked at, which were
 * passed over already, what to do with a fork or exec the kernel saw, and
 * when a process or the run ends. Kept apart so they are unit-tested. */
#ifndef GILSTATS_FLEET_RULES_H
#define GILSTATS_FLEET_RULES_H

#include <regex.h>
#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

#include "tool/bpf/lineage.h"
#include "tool/cli.h"
#include "tool/inspect/discover.h"

struct fleet_rules {
	bool children, all; /* --children, --all: processes may come */
	bool several;       /* more than one process may be traced */
	pid_t self;         /* gilstats itself: never traced */
	/* --all's filters (--match, --user); a --match that does not compile
	 * (cli.c checks it first) chooses nothing. */
	bool has_match, match_bad, has_user;
	regex_t match;
	uid_t user;
	/* Processes looked at and not traced (not CPython, or failed), so
	 * --all does not look again: pid, start time and executable. */
	struct proc_entry *passed;
	size_t npassed, passed_cap;
};

/* What to do with an entry of the kernel's family map (lineage.h). */
enum fleet_lineage_step {
	FLEET_LINEAGE_KEEP,   /* nothing now (traced, not in the map yet) */
	FLEET_LINEAGE_EXEC,   /* a traced process: see whether it exec'd */
	FLEET_LINEAGE_FORGET, /* ended, or neither traced nor followed */
	FLEET_LINEAGE_ADOPT,  /* a child forked by a followed process */
	FLEET_LINEAGE_LOOK,   /* --all: an exec or a traced python's fork, not traced */
};

void fleet_rules_init(struct fleet_rules *r, const struct options *opt, pid_t self);
void fleet_rules_free(struct fleet_rules *r);

/* Whether p was passed over already (the same pid, start and executable). */
bool fleet_rules_passed(const struct fleet_rules *r, const struct proc_entry *p);

/* Remembers p as passed over; out of memory, it is looked at again. */
void fleet_rules_pass(struct fleet_rules *r, const struct proc_entry *p);

/* Forgets the passed processes not among the n now running (pids get reused). */
void fleet_rules_prune(struct fleet_rules *r, const struct proc_entry *now, size_t n);

/* Whether a process found in /proc is to be looked at: not gilstats, not
 * traced already (traced: ntraced pids), not passed over before. */
bool fleet_rules_new(const struct fleet_rules *r, const struct proc_entry *p, const pid_t *traced, size_t ntraced);

/* Whether --all's filters need a process's command line and uid. */
bool fleet_rules_filtered(const struct fleet_rules *r);

/* Whether --all takes a process with this command line (arguments joined
 * by spaces) and effective uid: both filters, where given, agree. */
bool fleet_rules_chosen(const struct fleet_rules *r, const char *cmdline, uid_t euid);

/* A process younger than this is looked at later, not now: caught within
 * a moment of its start a python has not made its GIL yet, and one looked
 * at and passed over is not looked at again. */
#define FLEET_MIN_AGE_S 0.25

/* Whether p (started at start_time, clock ticks after boot) is too young
 * to look at, now_ticks after boot. */
bool fleet_rules_young(const struct proc_entry *p, uint64_t now_ticks, long ticks_per_s);

/* Whether pid is wanted as a descendant of a traced process (--children);
 * --all wants it too when it may be python, which fleet.c asks /proc. */
bool fleet_rules_descendant(const struct fleet_rules *r, pid_t pid, const pid_t *descendants, size_t ndesc);

/* The step for a family map entry e: traced (in_map: and joined the
 * map), alive. */
enum fleet_lineage_step fleet_rules_lineage(const struct fleet_rules *r, const struct lineage_entry *e, bool traced,
					    bool in_map, bool alive);
/* An exec or fork seen is looked at first once FLEET_FIRST_LOOK_S old
 * (taken then only where its GIL is exact: a python starts in tens of
 * milliseconds), and last once FLEET_MIN_AGE_S old. */
#define FLEET_FIRST_LOOK_S 0.05
enum fleet_look { FLEET_LOOK_LATER, FLEET_LOOK_EARLY, FLEET_LOOK_LAST };
enum fleet_look fleet_rules_exec_look(const struct lineage_entry *e, double now_s);

/* Samples of the GIL's holder a second in a process of a fleet of nbusy
 * busy and nidle idle ones: --hold-rate, unless the fleet's total would
 * pass FLEET_SAMPLES_PER_S (each sample reads the process's memory: 200
 * processes at 200 Hz cost half a CPU); then each gets its share of that.
 * In a fleet an idle process (its threads ran, or held the GIL blocked,
 * less than FLEET_BUSY_SHARE of the last interval: the GIL was held at
 * most that long) is sampled at FLEET_IDLE_HZ at most, on the busy ones'
 * grid, and the busy ones share the rest. */
#define FLEET_SAMPLES_PER_S 2000.0
#define FLEET_BUSY_SHARE 0.02
#define FLEET_IDLE_HZ 5.0
double fleet_rules_sample_hz(long hold_rate_hz, size_t nbusy, size_t nidle, bool busy);
/* Whether a process of a fleet of nprocs is idle: gil_possible is the
 * share of its last interval its threads ran or held the GIL blocked (< 0:
 * no interval yet, busy until one says otherwise). Alone it never is. */
bool fleet_rules_idle(size_t nprocs, double gil_possible);

/* Whether the run ends: ngone of ntraced processes are gone, and none can
 * come (no --children, no --all). */
bool fleet_rules_ends(const struct fleet_rules *r, size_t ntraced, size_t ngone);

/* Whether a gone process leaves at this interval with its summary: in a
 * fleet, and not at the last interval (which reports every process). */
bool fleet_rules_leaves(const struct fleet_rules *r, bool gone, bool last);

#endif
