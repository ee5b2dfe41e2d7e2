#include "config.h"

#include <stdio.h>
#include <stdlib.h>

#include "suites.h"

struct interpreter default_python;

int main(void)
{
	SRunner *sr;
	int failed;

	require_root_and_bpf();
	if (!default_interpreter(&default_python)) {
		fprintf(stderr, "no python3 on PATH\n");
		return 1;
	}
	sr = srunner_create(core_suite());
	srunner_add_suite(sr, view_suite());
	srunner_add_suite(sr, robust_suite());
	srunner_add_suite(sr, fleet_suite());
	srunner_add_suite(sr, escape_suite());
	srunner_add_suite(sr, realistic_suite());
	srunner_add_suite(sr, edges_suite());
	srunner_add_suite(sr, accounting_suite());
	srunner_add_suite(sr, hostile_suite());
	srunner_add_suite(sr, profile_suite());
	srunner_add_suite(sr, lines_suite());
	srunner_add_suite(sr, versions_suite());
	srunner_add_suite(sr, names_suite());
	srunner_add_suite(sr, stacks_suite());
	/* GILSTATS_SUITE=NAME runs one suite of these only (libcheck's own
	 * CK_RUN_SUITE would filter the unit tests too, under make check). */
	if (getenv("GILSTATS_SUITE"))
		setenv("CK_RUN_SUITE", getenv("GILSTATS_SUITE"), 1);
	srunner_run_all(sr, CK_VERBOSE);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? 1 : 0;
}
