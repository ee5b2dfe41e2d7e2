#include "config.h"

#include <string.h>

#include "suites.h"
#include "tool/bpf/privileges.h"

START_TEST(effective_caps_from_status)
{
	static const char status[] = "Name:\tgilstats\nCapInh:\t0000000000000000\nCapPrm:\t000001ffffffffff\n"
				     "CapEff:\t000001ffffffffff\nCapBnd:\t000001ffffffffff\n";

	ck_assert_uint_eq(status_effective_caps(status), 0x1ffffffffffull);
	ck_assert_uint_eq(status_effective_caps("Name:\tx\n"), 0);
}
END_TEST

START_TEST(missing_capabilities_are_named)
{
	struct gs_error err;

	ck_assert_int_eq(caps_check(0x1ffffffffffull, &err), 0);
	ck_assert_int_eq(caps_check(CAP_BIT(GS_CAP_SYS_ADMIN) | CAP_BIT(GS_CAP_SYS_PTRACE), &err), 0);
	ck_assert_int_eq(caps_check(CAP_BIT(GS_CAP_BPF) | CAP_BIT(GS_CAP_PERFMON) | CAP_BIT(GS_CAP_SYS_PTRACE),
				    &err), 0);
	ck_assert_int_eq(caps_check(0, &err), -1);
	ck_assert_int_eq(err.exit_code, GS_EXIT_PRIVILEGE);
	ck_assert_ptr_nonnull(strstr(err.msg, "missing capabilities CAP_BPF and CAP_PERFMON"));
	ck_assert_int_eq(caps_check(CAP_BIT(GS_CAP_BPF), &err), -1);
	ck_assert_ptr_nonnull(strstr(err.msg, "missing capability CAP_PERFMON"));
	ck_assert_int_eq(caps_check(CAP_BIT(GS_CAP_SYS_ADMIN), &err), -1);
	ck_assert_ptr_nonnull(strstr(err.msg, "CAP_SYS_PTRACE"));
}
END_TEST

Suite *privileges_suite(void)
{
	Suite *s = suite_create("privileges");
	TCase *tc = tcase_create("caps");

	tcase_add_test(tc, effective_caps_from_status);
	tcase_add_test(tc, missing_capabilities_are_named);
	suite_add_tcase(s, tc);
	return s;
}
