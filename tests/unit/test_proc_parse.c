#include "config.h"

#include <string.h>

#include "suites.h"
#include "tool/inspect/proc_parse.h"

static const char maps_text[] =
	"00400000-00423000 r--p 00000000 fe:00 1050  /usr/bin/python3.11\n"
	"00423000-0069b000 r-xp 00023000 fe:00 1050  /usr/bin/python3.11\n"
	"7f1c2a000000-7f1c2a021000 rw-p 00000000 00:00 0 \n"
	"7f1c2b200000-7f1c2b226000 r--p 00000000 103:02 332835                     /usr/lib/x86_64-linux-gnu/libc.so.6\n"
	"7f1c2b226000-7f1c2b37c000 r-xp 00026000 103:02 332835                     /usr/lib/x86_64-linux-gnu/libc.so.6\n"
	"7f1c2c000000-7f1c2c001000 r--p 00000000 fe:00 77 /tmp/my lib (x).so\n"
	"7f1c2d000000-7f1c2d001000 r--p 00000000 fe:00 78 /tmp/gone.so (deleted)\n"
	"this line is not a mapping\n"
	"7ffd5a1f0000-7ffd5a1f2000 r-xp 00000000 00:00 0                          [vdso]\n"
	"ffffffffff600000-ffffffffff601000 --xp 00000000 00:00 0                  [vsyscall]";

START_TEST(maps_lines_are_parsed)
{
	struct maps maps;

	ck_assert_int_eq(maps_parse(maps_text, strlen(maps_text), &maps), 0);
	ck_assert_uint_eq(maps.n, 9);
	ck_assert_uint_eq(maps.v[0].start, 0x400000);
	ck_assert_uint_eq(maps.v[0].end, 0x423000);
	ck_assert_str_eq(maps.v[0].path, "/usr/bin/python3.11");
	ck_assert_uint_eq(maps.v[4].offset, 0x26000);
	ck_assert_uint_eq(maps.v[4].dev_major, 0x103);
	ck_assert_uint_eq(maps.v[4].inode, 332835);
	ck_assert_str_eq(maps.v[4].perms, "r-xp");
	ck_assert_ptr_null(maps.v[2].path);
	ck_assert_str_eq(maps.v[5].path, "/tmp/my lib (x).so");
	ck_assert_str_eq(mapping_basename(&maps.v[3]), "libc.so.6");
	ck_assert(mapping_is_file(&maps.v[3]));
	ck_assert(!mapping_is_file(&maps.v[2]));
	ck_assert(!mapping_is_file(&maps.v[6])); /* deleted */
	ck_assert(!mapping_is_file(&maps.v[7])); /* [vdso] */
	ck_assert_ptr_eq(maps_first_of_file(&maps, &maps.v[4]), &maps.v[3]);
	ck_assert_str_eq(mapping_basename(&maps.v[8]), "[vsyscall]");
	maps_free(&maps);
	ck_assert_uint_eq(maps.n, 0);
}
END_TEST

START_TEST(malformed_maps_are_skipped)
{
	static const char *const bad[] = {
		"",
		"-",
		"zzzz-0000 r-xp 0 0:0 0",
		"1000-0500 r--p 00000000 fe:00 1 /reversed",
		"1000-2000 r--p 00000000 fe:00",
		"1000-2000 r-",
		"ffffffffffffffffffff-1 r--p 0 0:0 0",
		"1000-2000 r--p 00000000 fffff:00 1 /dev-major-too-big",
	};
	struct maps maps;

	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		ck_assert_int_eq(maps_parse(bad[i], strlen(bad[i]), &maps), 0);
		ck_assert_msg(maps.n == 0, "accepted: %s", bad[i]);
		maps_free(&maps);
	}
}
END_TEST

START_TEST(stat_line_with_odd_command)
{
	/* A command may contain spaces and parentheses: ") (" must not fool us. */
	static const char line[] =
		"4242 (my) (app x) S 1 4242 4242 0 -1 4194560 838 0 0 0 152 37 0 0 20 0 5 0 98765 "
		"123 456 18446744073709551615 1 1 0 0 0 0 0 0 0 0 0 0 17 1 0 0 0 0 0\n";
	struct proc_stat st;

	ck_assert_int_eq(proc_stat_parse(line, strlen(line), &st), 0);
	ck_assert_str_eq(st.comm, "my) (app x");
	ck_assert_int_eq(st.state, 'S');
	ck_assert_int_eq(st.ppid, 1);
	ck_assert_uint_eq(st.flags, 4194560);
	ck_assert_uint_eq(st.utime, 152);
	ck_assert_uint_eq(st.stime, 37);
	ck_assert_uint_eq(st.start_time, 98765);
}
END_TEST

START_TEST(stat_line_truncated)
{
	static const char *const bad[] = { "", "12 (x", "12 x) S", "12 (x) S 1 2 3",
					   "12 (x) S 1 1 1 0 -1 4194560 838 0 0 0 152" };
	struct proc_stat st;

	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
		ck_assert_msg(proc_stat_parse(bad[i], strlen(bad[i]), &st) == -1, "accepted: %s", bad[i]);
}
END_TEST

START_TEST(library_names)
{
	int major = 0, minor = 0;

	ck_assert(is_libc_name("libc.so.6"));
	ck_assert(is_libc_name("libc-2.31.so"));
	ck_assert(!is_libc_name("libcrypt.so.1"));
	ck_assert(is_libpthread_name("libpthread.so.0"));
	ck_assert(is_libpthread_name("libpthread-2.28.so"));
	ck_assert(!is_libpthread_name("libc.so.6"));
	ck_assert(libpython_name_version("libpython3.11.so.1.0", &major, &minor));
	ck_assert_int_eq(major, 3);
	ck_assert_int_eq(minor, 11);
	ck_assert(libpython_name_version("libpython3.6m.so", &major, &minor));
	ck_assert_int_eq(minor, 6);
	ck_assert(libpython_name_version("libpython3.13t.so.1.0", &major, &minor));
	ck_assert_int_eq(minor, 13);
	ck_assert(libpython_name_version("libpython2.7.so.1.0", &major, &minor));
	ck_assert_int_eq(major, 2);
	ck_assert(!libpython_name_version("libpython3.so", &major, &minor));
	ck_assert(!libpython_name_version("libpythonx.so", &major, &minor));
	ck_assert(!libpython_name_version("libpython3.11.a", &major, &minor));
}
END_TEST

START_TEST(namespace_thread_ids)
{
	ck_assert_int_eq(status_innermost_nspid("Name:\tx\nNSpid:\t4243\t12\nNSsid:\t1\n"), 12);
	ck_assert_int_eq(status_innermost_nspid("Name:\tx\nNSpid:\t4243\n"), 4243);
	ck_assert_int_eq(status_innermost_nspid("Name:\tx\n"), 0);
	ck_assert_int_eq(status_innermost_nspid("Name:\tx\nNSpid:\tjunk\n"), 0);
}
END_TEST

START_TEST(cpu_lists)
{
	ck_assert_uint_eq(cpu_list_slots("0-1\n"), 2);
	ck_assert_uint_eq(cpu_list_slots("0\n"), 1);
	ck_assert_uint_eq(cpu_list_slots("0-3,8-11\n"), 12);
	ck_assert_uint_eq(cpu_list_slots("0,2,5"), 6);
	ck_assert_uint_eq(cpu_list_slots(""), 0);
	ck_assert_uint_eq(cpu_list_slots("x"), 0);
	ck_assert_uint_eq(cpu_list_slots("3-1"), 0);
	ck_assert_uint_eq(cpu_list_slots("0-99999999"), 0);
}
END_TEST

Suite *proc_parse_suite(void)
{
	Suite *s = suite_create("proc_parse");
	TCase *tc = tcase_create("parse");

	tcase_add_test(tc, maps_lines_are_parsed);
	tcase_add_test(tc, malformed_maps_are_skipped);
	tcase_add_test(tc, stat_line_with_odd_command);
	tcase_add_test(tc, stat_line_truncated);
	tcase_add_test(tc, library_names);
	tcase_add_test(tc, namespace_thread_ids);
	tcase_add_test(tc, cpu_lists);
	suite_add_tcase(s, tc);
	return s;
}
