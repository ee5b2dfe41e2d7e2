#include "config.h"

#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "suites.h"
#include "tool/bpf/kernel_headers.h"

static char root[PATH_MAX];

static void touch(const char *rel)
{
	char path[PATH_MAX * 2], *slash;
	FILE *f;

	snprintf(path, sizeof path, "%s/%s", root, rel);
	for (slash = strchr(path + strlen(root) + 1, '/'); slash; slash = strchr(slash + 1, '/')) {
		*slash = '\0';
		mkdir(path, 0755);
		*slash = '/';
	}
	f = fopen(path, "w");
	ck_assert_ptr_nonnull(f);
	fclose(f);
}

static void write_file(const char *rel, const char *text)
{
	char path[PATH_MAX * 2];
	FILE *f;

	touch(rel);
	snprintf(path, sizeof path, "%s/%s", root, rel);
	f = fopen(path, "w");
	fputs(text, f);
	fclose(f);
}

/* Debian's split packages: linux-headers-V-common + linux-headers-V-amd64. */
static void debian_pair(const char *version)
{
	char rel[256], text[PATH_MAX * 2];

	snprintf(rel, sizeof rel, "usr/src/linux-headers-%s-common/include/linux/kconfig.h", version);
	touch(rel);
	snprintf(rel, sizeof rel, "usr/src/linux-headers-%s-amd64/include/generated/autoconf.h", version);
	touch(rel);
	snprintf(rel, sizeof rel, "usr/src/linux-headers-%s-amd64/Makefile", version);
	snprintf(text, sizeof text, "include %s/usr/src/linux-headers-%s-common/Makefile\n", root, version);
	write_file(rel, text);
}

static void setup(void)
{
	snprintf(root, sizeof root, "/tmp/gilstats-kh-XXXXXX");
	ck_assert_ptr_nonnull(mkdtemp(root));
}

static void teardown(void)
{
	char cmd[PATH_MAX + 16];

	snprintf(cmd, sizeof cmd, "rm -rf '%s'", root);
	ck_assert_int_eq(system(cmd), 0);
}

static struct kh_roots roots_for(const char *release)
{
	static char lib_modules[PATH_MAX + 16], usr_src[PATH_MAX + 16], kheaders[PATH_MAX + 32];

	snprintf(lib_modules, sizeof lib_modules, "%s/lib/modules", root);
	snprintf(usr_src, sizeof usr_src, "%s/usr/src", root);
	snprintf(kheaders, sizeof kheaders, "%s/sys/kernel/kheaders.tar.xz", root);
	return (struct kh_roots){ lib_modules, usr_src, kheaders, release, "x86" };
}

START_TEST(nearest_debian_pair_for_a_foreign_kernel)
{
	struct kh_roots roots = roots_for("6.18.44-fc-v782");
	struct kernel_headers kh;
	struct gs_error err;
	char want[PATH_MAX * 2];

	debian_pair("5.10.0-30");
	debian_pair("6.1.0-56");
	ck_assert_int_eq(kernel_headers_find(&roots, NULL, &kh, &err), 0);
	snprintf(want, sizeof want, "%s/usr/src/linux-headers-6.1.0-56-common", root);
	ck_assert_str_eq(kh.source, want);
	ck_assert_uint_eq(kh.nflags, 4);
	snprintf(want, sizeof want, "-I%s/usr/src/linux-headers-6.1.0-56-amd64/include", root);
	ck_assert_str_eq(kh.flags[0], want);
	snprintf(want, sizeof want, "-I%s/usr/src/linux-headers-6.1.0-56-amd64/arch/x86/include/generated", root);
	ck_assert_str_eq(kh.flags[1], want);
	ck_assert_ptr_nonnull(strstr(kh.flags[2], "-amd64/include/generated/uapi"));
	ck_assert_ptr_nonnull(strstr(kh.flags[3], "-amd64/arch/x86/include/generated/uapi"));
	/* An older kernel prefers the older headers. */
	roots = roots_for("5.10.200-cloud");
	ck_assert_int_eq(kernel_headers_find(&roots, NULL, &kh, &err), 0);
	ck_assert_ptr_nonnull(strstr(kh.source, "linux-headers-5.10.0-30-common"));
}
END_TEST

START_TEST(running_kernel_build_dir_wins)
{
	struct kh_roots roots = roots_for("6.1.0-56-amd64");
	struct kernel_headers kh;
	struct gs_error err;

	debian_pair("6.1.0-56");
	touch("lib/modules/6.1.0-56-amd64/build/include/generated/autoconf.h");
	ck_assert_int_eq(kernel_headers_find(&roots, NULL, &kh, &err), 0);
	/* bcc's own default: no override needed. */
	ck_assert_str_eq(kh.source, "");
	ck_assert_uint_eq(kh.nflags, 0);
}
END_TEST

START_TEST(complete_tree_from_fedora)
{
	struct kh_roots roots = roots_for("6.8.0");
	struct kernel_headers kh;
	struct gs_error err;

	touch("usr/src/kernels/6.8.9-300.fc40.x86_64/include/linux/kconfig.h");
	touch("usr/src/kernels/6.8.9-300.fc40.x86_64/include/generated/autoconf.h");
	ck_assert_int_eq(kernel_headers_find(&roots, NULL, &kh, &err), 0);
	ck_assert_ptr_nonnull(strstr(kh.source, "kernels/6.8.9-300.fc40.x86_64"));
	ck_assert_uint_eq(kh.nflags, 0);
}
END_TEST

START_TEST(none_found_names_the_package)
{
	struct kh_roots roots = roots_for("6.18.44");
	struct kernel_headers kh;
	struct gs_error err;

	/* A source tree alone is not enough: it lacks the configuration. */
	touch("usr/src/linux-headers-6.1.0-56-common/include/linux/kconfig.h");
	ck_assert_int_eq(kernel_headers_find(&roots, NULL, &kh, &err), -1);
	ck_assert_int_eq(err.exit_code, GS_EXIT_PRIVILEGE);
	ck_assert_ptr_nonnull(strstr(err.msg, "install linux-headers"));
	/* With CONFIG_IKHEADERS bcc unpacks the kernel's own. */
	touch("sys/kernel/kheaders.tar.xz");
	ck_assert_int_eq(kernel_headers_find(&roots, NULL, &kh, &err), 0);
}
END_TEST

START_TEST(override_directory)
{
	struct kh_roots roots = roots_for("6.18.44");
	struct kernel_headers kh;
	struct gs_error err;
	char dir[PATH_MAX * 2];

	debian_pair("6.1.0-56");
	snprintf(dir, sizeof dir, "%s/usr/src/linux-headers-6.1.0-56-amd64", root);
	ck_assert_int_eq(kernel_headers_find(&roots, dir, &kh, &err), 0);
	ck_assert_ptr_nonnull(strstr(kh.source, "6.1.0-56-common"));
	ck_assert_int_eq(kernel_headers_find(&roots, "/nonexistent/headers", &kh, &err), -1);
	ck_assert_int_eq(err.exit_code, GS_EXIT_USAGE);
	ck_assert_ptr_nonnull(strstr(err.msg, "--kernel-headers /nonexistent/headers: no such directory"));
	ck_assert_int_eq(kernel_headers_find(&roots, root, &kh, &err), -1);
	ck_assert_ptr_nonnull(strstr(err.msg, "not a kernel header tree"));
}
END_TEST

START_TEST(arch_names)
{
	ck_assert_str_eq(kh_arch_for_machine("x86_64"), "x86");
	ck_assert_str_eq(kh_arch_for_machine("i686"), "x86");
	ck_assert_str_eq(kh_arch_for_machine("aarch64"), "arm64");
	ck_assert_str_eq(kh_arch_for_machine("ppc64le"), "powerpc");
	ck_assert_str_eq(kh_arch_for_machine("s390x"), "s390");
}
END_TEST

Suite *kernel_headers_suite(void)
{
	Suite *s = suite_create("kernel_headers");
	TCase *tc = tcase_create("search");

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, nearest_debian_pair_for_a_foreign_kernel);
	tcase_add_test(tc, running_kernel_build_dir_wins);
	tcase_add_test(tc, complete_tree_from_fedora);
	tcase_add_test(tc, none_found_names_the_package);
	tcase_add_test(tc, override_directory);
	tcase_add_test(tc, arch_names);
	suite_add_tcase(s, tc);
	return s;
}
