/* The unit test suites, one per module of the pure logic. */
#ifndef GILSTATS_TEST_SUITES_H
#define GILSTATS_TEST_SUITES_H

#include <check.h>

Suite *proc_parse_suite(void);
Suite *elf_symbols_suite(void);
Suite *gil_locate_suite(void);
Suite *stats_suite(void);
Suite *render_suite(void);
Suite *cli_suite(void);
Suite *kernel_headers_suite(void);
Suite *privileges_suite(void);
Suite *table_suite(void);
Suite *verdict_suite(void);
Suite *histogram_suite(void);
Suite *svg_suite(void);
Suite *probe_image_suite(void);
Suite *hold_suite(void);
Suite *cpu_time_suite(void);
Suite *metrics_suite(void);
Suite *escape_suite(void);
Suite *roles_suite(void);
Suite *split_suite(void);
Suite *bpf_cost_suite(void);
Suite *fleet_suite(void);
Suite *py_profile_suite(void);
Suite *py_threads_suite(void);
Suite *line_table_suite(void);
Suite *py_stack_suite(void);
Suite *waiters_suite(void);

/* Directory holding the test data the build made (libversioned.so). */
const char *test_builddir(void);

#endif
