#include "config.h"

#include <string.h>

#include "suites.h"
#include "tool/fleet_rules.h"

/* Rules as gilstats would make them from these options; self is pid 1. */
static struct fleet_rules rules(size_t npids, bool children, bool all)
{
	struct options opt;
	struct fleet_rules r = { 0 };

	memset(&opt, 0, sizeof opt);
	opt.npids = npids;
	opt.children = children;
	opt.all = all;
	fleet_rules_init(&r, &opt, 1);
	return r;
}

static struct proc_entry proc(pid_t pid, uint64_t start, uint64_t ino)
{
	return (struct proc_entry){ .pid = pid, .ppid = 1, .start_time = start, .exe_ino = ino };
}

START_TEST(init_from_options)
{
	struct fleet_rules one = rules(1, false, false), two = rules(2, false, false);
	struct fleet_rules kids = rules(1, true, false), all = rules(0, false, true);

	ck_assert(!one.several && !one.children && !one.all);
	ck_assert(two.several && !two.children && !two.all);
	ck_assert(kids.several && kids.children && !kids.all);
	ck_assert(all.several && !all.children && all.all);
	ck_assert_int_eq(one.self, 1);
}
END_TEST

/* --match and --user: both must agree where given; the ERE is searched
 * anywhere in the command line. */
START_TEST(all_filters_choose)
{
	struct options opt;
	struct fleet_rules r = { 0 }, none = rules(0, false, true);

	ck_assert(!fleet_rules_filtered(&none));
	ck_assert(fleet_rules_chosen(&none, "", 1000));
	memset(&opt, 0, sizeof opt);
	opt.all = true;
	opt.match = "gunicorn: worker|celery";
	opt.has_user = true;
	opt.user = 33;
	fleet_rules_init(&r, &opt, 1);
	ck_assert(fleet_rules_filtered(&r));
	ck_assert(fleet_rules_chosen(&r, "gunicorn: worker [app:wsgi]", 33));
	ck_assert(fleet_rules_chosen(&r, "/usr/bin/python3 -m celery -A proj worker", 33));
	ck_assert(!fleet_rules_chosen(&r, "gunicorn: worker [app:wsgi]", 0));
	ck_assert(!fleet_rules_chosen(&r, "gunicorn: master [app:wsgi]", 33));
	ck_assert(!fleet_rules_chosen(&r, "", 33));
	fleet_rules_free(&r);
	/* A uid alone, and an expression that does not compile (cli.c
	 * refuses it first) chooses nothing. */
	memset(&opt, 0, sizeof opt);
	opt.all = true;
	opt.match = "(";
	fleet_rules_init(&r, &opt, 1);
	ck_assert(!fleet_rules_chosen(&r, "(", 0));
	fleet_rules_free(&r);
	memset(&opt, 0, sizeof opt);
	opt.all = opt.has_user = true;
	fleet_rules_init(&r, &opt, 1);
	ck_assert(fleet_rules_chosen(&r, "anything", 0));
	ck_assert(!fleet_rules_chosen(&r, "anything", 1));
	fleet_rules_free(&r);
}
END_TEST

/* The holder sampler's rate: --hold-rate while the fleet's total stays
 * within its budget, an equal share of it beyond. */
START_TEST(sample_rate_shared_in_a_fleet)
{
	ck_assert_double_eq(fleet_rules_sample_hz(200, 1, 0, true), 200);
	ck_assert_double_eq(fleet_rules_sample_hz(200, 10, 0, true), 200);
	ck_assert_double_eq(fleet_rules_sample_hz(200, 50, 0, true), 40);
	ck_assert_double_eq(fleet_rules_sample_hz(200, 200, 0, true), 10);
	ck_assert_double_eq(fleet_rules_sample_hz(1000, 1, 0, true), 1000);
	ck_assert_double_eq(fleet_rules_sample_hz(1000, 4, 0, true), 500);
	ck_assert_double_eq(fleet_rules_sample_hz(50, 0, 0, true), 50);
	/* A single process is sampled at --hold-rate, idle or not. */
	ck_assert_double_eq(fleet_rules_sample_hz(200, 0, 1, false), 200);
}
END_TEST

/* Idle processes of a fleet get a few samples a second, on the busy ones'
 * grid; the busy ones share what is left of the budget. */
START_TEST(sample_rate_idle_processes)
{
	/* 10 idle: 5 Hz each. */
	ck_assert_double_eq(fleet_rules_sample_hz(200, 0, 10, false), 5);
	/* 190 idle at 5 Hz leave 1,050 samples for 10 busy: --hold-rate caps them. */
	ck_assert_double_eq(fleet_rules_sample_hz(200, 10, 190, true), 105);
	ck_assert_double_eq(fleet_rules_sample_hz(200, 10, 190, false), 105.0 / 21);
	/* 1 busy, 9 idle: the busy one at --hold-rate, the idle ones at 200/40. */
	ck_assert_double_eq(fleet_rules_sample_hz(200, 1, 9, true), 200);
	ck_assert_double_eq(fleet_rules_sample_hz(200, 1, 9, false), 5);
	/* More idle ones than the budget holds at 5 Hz: an equal share. */
	ck_assert_double_eq(fleet_rules_sample_hz(200, 0, 1000, false), 2);
	/* --hold-rate below 5 Hz stays as it is. */
	ck_assert_double_eq(fleet_rules_sample_hz(2, 3, 7, false), 2);
	/* Idle: under 2% of an interval in a fleet; never alone or before
	 * its first interval. */
	ck_assert(fleet_rules_idle(2, 0.01));
	ck_assert(!fleet_rules_idle(2, 0.02));
	ck_assert(!fleet_rules_idle(1, 0.0));
	ck_assert(!fleet_rules_idle(200, -1));
	/* Never more than the budget in all. */
	for (size_t busy = 0; busy <= 300; busy += 30)
		for (size_t idle = 0; idle <= 1000; idle += 100)
			ck_assert(fleet_rules_sample_hz(200, busy, idle, true) * (double)busy +
					  fleet_rules_sample_hz(200, busy, idle, false) * (double)idle <=
				  FLEET_SAMPLES_PER_S + 1e-6);
}
END_TEST

/* A process started less than FLEET_MIN_AGE_S ago is looked at later. */
START_TEST(young_processes_wait)
{
	struct proc_entry p = proc(100, 1000, 77);

	ck_assert(fleet_rules_young(&p, 1000, 100));
	ck_assert(fleet_rules_young(&p, 1024, 100));
	ck_assert(!fleet_rules_young(&p, 1025, 100));
	ck_assert(!fleet_rules_young(&p, 5000, 100));
	/* A start time past the clock (read a moment apart): young. */
	ck_assert(fleet_rules_young(&p, 999, 100));
}
END_TEST

/* A process is the pid with its start time and executable: the same pid
 * started again, or exec'd into another executable, is a new one. */
START_TEST(passed_names_one_process)
{
	struct fleet_rules r = rules(0, false, true);
	struct proc_entry p = proc(100, 5000, 77);

	ck_assert(!fleet_rules_passed(&r, &p));
	fleet_rules_pass(&r, &p);
	ck_assert(fleet_rules_passed(&r, &p));
	ck_assert(!fleet_rules_passed(&r, &(struct proc_entry){ .pid = 100, .start_time = 5001, .exe_ino = 77 }));
	ck_assert(!fleet_rules_passed(&r, &(struct proc_entry){ .pid = 100, .start_time = 5000, .exe_ino = 78 }));
	ck_assert(!fleet_rules_passed(&r, &(struct proc_entry){ .pid = 101, .start_time = 5000, .exe_ino = 77 }));
	fleet_rules_free(&r);
	ck_assert_uint_eq(r.npassed, 0);
}
END_TEST

/* Passed processes no longer running are forgotten, in order; one whose
 * pid runs again as another process is forgotten too. */
START_TEST(prune_keeps_the_running)
{
	struct fleet_rules r = rules(0, false, true);
	struct proc_entry now[] = { proc(300, 30, 3), proc(100, 10, 1), proc(200, 21, 2) };

	for (pid_t pid = 100; pid <= 400; pid += 100)
		fleet_rules_pass(&r, &(struct proc_entry){ .pid = pid, .start_time = (uint64_t)pid / 10,
							   .exe_ino = (uint64_t)pid / 100 });
	ck_assert_uint_eq(r.npassed, 4);
	fleet_rules_prune(&r, now, 3);
	ck_assert_uint_eq(r.npassed, 2);
	ck_assert_int_eq(r.passed[0].pid, 100);
	ck_assert_int_eq(r.passed[1].pid, 300);
	fleet_rules_prune(&r, now, 0);
	ck_assert_uint_eq(r.npassed, 0);
	fleet_rules_free(&r);
}
END_TEST

/* Many passed processes: the set grows past its first allocation. */
START_TEST(pass_grows)
{
	struct fleet_rules r = rules(0, false, true);

	for (pid_t pid = 2; pid < 1002; pid++)
		fleet_rules_pass(&r, &(struct proc_entry){ .pid = pid, .start_time = 1 });
	ck_assert_uint_eq(r.npassed, 1000);
	ck_assert(fleet_rules_passed(&r, &(struct proc_entry){ .pid = 1001, .start_time = 1 }));
	ck_assert(!fleet_rules_passed(&r, &(struct proc_entry){ .pid = 1002, .start_time = 1 }));
	fleet_rules_free(&r);
}
END_TEST

/* Looked at: neither gilstats itself, nor traced, nor passed over. */
START_TEST(new_processes)
{
	struct fleet_rules r = rules(0, false, true);
	pid_t traced[] = { 20, 30 };
	struct proc_entry passed = proc(40, 4, 4);

	fleet_rules_pass(&r, &passed);
	ck_assert(!fleet_rules_new(&r, &(struct proc_entry){ .pid = 1 }, traced, 2));
	ck_assert(!fleet_rules_new(&r, &(struct proc_entry){ .pid = 20 }, traced, 2));
	ck_assert(!fleet_rules_new(&r, &(struct proc_entry){ .pid = 30 }, traced, 2));
	ck_assert(!fleet_rules_new(&r, &passed, traced, 2));
	ck_assert(fleet_rules_new(&r, &(struct proc_entry){ .pid = 40, .start_time = 5, .exe_ino = 4 }, traced, 2));
	ck_assert(fleet_rules_new(&r, &(struct proc_entry){ .pid = 50 }, traced, 2));
	ck_assert(fleet_rules_new(&r, &(struct proc_entry){ .pid = 30 }, traced, 1));
	ck_assert(fleet_rules_new(&r, &(struct proc_entry){ .pid = 20 }, NULL, 0));
	fleet_rules_free(&r);
}
END_TEST

/* Descendants are wanted with --children only. */
START_TEST(descendants_with_children_only)
{
	struct fleet_rules kids = rules(1, true, false), all = rules(0, false, true);
	pid_t desc[] = { 11, 12 };

	ck_assert(fleet_rules_descendant(&kids, 12, desc, 2));
	ck_assert(!fleet_rules_descendant(&kids, 13, desc, 2));
	ck_assert(!fleet_rules_descendant(&kids, 12, desc, 1));
	ck_assert(!fleet_rules_descendant(&all, 12, desc, 2));
}
END_TEST

/* Every combination of the family map entry's state and its step. */
static enum fleet_lineage_step step(const struct fleet_rules *r, bool traced, bool in_map, bool alive, bool followed,
				    pid_t parent)
{
	struct lineage_entry e = { .pid = 20, .parent = parent, .follow = followed };

	return fleet_rules_lineage(r, &e, traced, in_map, alive);
}

START_TEST(lineage_steps)
{
	struct fleet_rules kids = rules(1, true, false), two = rules(2, false, false);

	/* Traced and in the map: its execs are watched, alive or not. */
	ck_assert_int_eq(step(&kids, true, true, true, false, 0), FLEET_LINEAGE_EXEC);
	ck_assert_int_eq(step(&kids, true, true, false, true, 9), FLEET_LINEAGE_EXEC);
	/* Traced, not in the map yet: left until it joins, unless it ended. */
	ck_assert_int_eq(step(&kids, true, false, true, false, 0), FLEET_LINEAGE_KEEP);
	ck_assert_int_eq(step(&kids, true, false, false, true, 0), FLEET_LINEAGE_FORGET);
	/* Not traced: ended, or not followed, it goes. */
	ck_assert_int_eq(step(&kids, false, false, false, true, 9), FLEET_LINEAGE_FORGET);
	ck_assert_int_eq(step(&kids, false, false, true, false, 9), FLEET_LINEAGE_FORGET);
	/* A followed child of a followed process: adopted with --children. */
	ck_assert_int_eq(step(&kids, false, false, true, true, 9), FLEET_LINEAGE_ADOPT);
	ck_assert_int_eq(step(&two, false, false, true, true, 9), FLEET_LINEAGE_KEEP);
	/* Added by gilstats (no parent) and no longer traced: kept, its
	 * children are still followed. */
	ck_assert_int_eq(step(&kids, false, false, true, true, 0), FLEET_LINEAGE_KEEP);
}
END_TEST

/* --all: an exec the kernel saw is looked at (once old enough); without
 * --all such an entry goes. */
START_TEST(lineage_execs_under_all)
{
	struct fleet_rules all = rules(0, false, true), kids = rules(1, true, false);
	struct lineage_entry exec = { .pid = 30, .exec_new = true, .exec_s = 100.0 };
	struct lineage_entry fork = { .pid = 31, .parent = 30, .follow = true };

	ck_assert_int_eq(fleet_rules_lineage(&all, &exec, false, false, true), FLEET_LINEAGE_LOOK);
	ck_assert_int_eq(fleet_rules_lineage(&all, &exec, false, false, false), FLEET_LINEAGE_FORGET);
	ck_assert_int_eq(fleet_rules_lineage(&kids, &exec, false, false, true), FLEET_LINEAGE_FORGET);
	/* Traced already (attached meanwhile): its execs are watched. */
	ck_assert_int_eq(fleet_rules_lineage(&all, &exec, true, true, true), FLEET_LINEAGE_EXEC);
	/* A traced python's fork: looked at, once old enough, like an exec
	 * (it may exec something else); adopted at once with --children. */
	ck_assert_int_eq(fleet_rules_lineage(&all, &fork, false, false, true), FLEET_LINEAGE_LOOK);
	ck_assert_int_eq(fleet_rules_lineage(&kids, &fork, false, false, true), FLEET_LINEAGE_ADOPT);
	/* Looked at first soon after, once; last when old enough. */
	ck_assert_int_eq(fleet_rules_exec_look(&exec, 100.0 + FLEET_FIRST_LOOK_S / 2), FLEET_LOOK_LATER);
	ck_assert_int_eq(fleet_rules_exec_look(&exec, 100.0 + FLEET_FIRST_LOOK_S * 1.01), FLEET_LOOK_EARLY);
	ck_assert_int_eq(fleet_rules_exec_look(&exec, 100.0 + FLEET_MIN_AGE_S / 2), FLEET_LOOK_EARLY);
	exec.looked = true;
	ck_assert_int_eq(fleet_rules_exec_look(&exec, 100.0 + FLEET_MIN_AGE_S / 2), FLEET_LOOK_LATER);
	ck_assert_int_eq(fleet_rules_exec_look(&exec, 100.0 + FLEET_MIN_AGE_S), FLEET_LOOK_LAST);
	exec.looked = false;
	ck_assert_int_eq(fleet_rules_exec_look(&exec, 100.0 + 5), FLEET_LOOK_LAST);
}
END_TEST

/* The run ends when every process given is gone; never while more can come. */
START_TEST(run_ends)
{
	struct fleet_rules one = rules(1, false, false), two = rules(2, false, false);
	struct fleet_rules kids = rules(1, true, false), all = rules(0, false, true);

	ck_assert(!fleet_rules_ends(&one, 1, 0));
	ck_assert(fleet_rules_ends(&one, 1, 1));
	ck_assert(!fleet_rules_ends(&two, 2, 1));
	ck_assert(fleet_rules_ends(&two, 2, 2));
	/* A launched command that failed to start leaves none. */
	ck_assert(fleet_rules_ends(&one, 0, 0));
	ck_assert(!fleet_rules_ends(&kids, 1, 1));
	ck_assert(!fleet_rules_ends(&kids, 0, 0));
	ck_assert(!fleet_rules_ends(&all, 3, 3));
	ck_assert(!fleet_rules_ends(&all, 0, 0));
}
END_TEST

/* In a fleet a gone process leaves before the last interval; a single
 * process stays for the run's summary. */
START_TEST(gone_processes_leave)
{
	struct fleet_rules one = rules(1, false, false), two = rules(2, false, false), all = rules(0, false, true);

	ck_assert(fleet_rules_leaves(&two, true, false));
	ck_assert(fleet_rules_leaves(&all, true, false));
	ck_assert(!fleet_rules_leaves(&two, false, false));
	ck_assert(!fleet_rules_leaves(&two, true, true));
	ck_assert(!fleet_rules_leaves(&one, true, false));
}
END_TEST

Suite *fleet_suite(void)
{
	Suite *s = suite_create("fleet");
	TCase *tc = tcase_create("rules");

	tcase_add_test(tc, init_from_options);
	tcase_add_test(tc, all_filters_choose);
	tcase_add_test(tc, sample_rate_shared_in_a_fleet);
	tcase_add_test(tc, sample_rate_idle_processes);
	tcase_add_test(tc, young_processes_wait);
	tcase_add_test(tc, passed_names_one_process);
	tcase_add_test(tc, prune_keeps_the_running);
	tcase_add_test(tc, pass_grows);
	tcase_add_test(tc, new_processes);
	tcase_add_test(tc, descendants_with_children_only);
	tcase_add_test(tc, lineage_steps);
	tcase_add_test(tc, lineage_execs_under_all);
	tcase_add_test(tc, run_ends);
	tcase_add_test(tc, gone_processes_leave);
	suite_add_tcase(s, tc);
	return s;
}
