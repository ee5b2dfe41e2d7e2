/* The integration test suites. */
#ifndef GILSTATS_INTEGRATION_SUITES_H
#define GILSTATS_INTEGRATION_SUITES_H

#include <check.h>

#include "harness.h"

/* The interpreter the core tests use (python3 on PATH). */
extern struct interpreter default_python;

Suite *core_suite(void);
Suite *versions_suite(void);
Suite *view_suite(void);
Suite *robust_suite(void);
Suite *fleet_suite(void);
Suite *escape_suite(void);
Suite *realistic_suite(void);
Suite *edges_suite(void);
Suite *accounting_suite(void);
Suite *hostile_suite(void);
Suite *profile_suite(void);
Suite *names_suite(void);
Suite *lines_suite(void);
Suite *stacks_suite(void);

#endif
