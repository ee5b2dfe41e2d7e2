#include "config.h"

#include <stdlib.h>

#include "suites.h"

const char *test_builddir(void)
{
	const char *dir = getenv("GILSTATS_BUILDDIR");

	return dir && *dir ? dir : ".";
}

int main(void)
{
	Suite *(*const suites[])(void) = {
		proc_parse_suite, elf_symbols_suite, gil_locate_suite, stats_suite,
		render_suite,     cli_suite,         kernel_headers_suite, privileges_suite,
		table_suite,      verdict_suite,     histogram_suite,      svg_suite,
		probe_image_suite, hold_suite,      cpu_time_suite,       metrics_suite,
		escape_suite,     roles_suite,	   split_suite,          bpf_cost_suite,
		fleet_suite,
		py_profile_suite, py_threads_suite, line_table_suite, py_stack_suite, waiters_suite,
	};
	SRunner *sr = srunner_create(suites[0]());
	int failed;

	for (size_t i = 1; i < sizeof suites / sizeof suites[0]; i++)
		srunner_add_suite(sr, suites[i]());
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
