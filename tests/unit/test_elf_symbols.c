#include "config.h"

#include <dlfcn.h>
#include <elf.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "suites.h"
#include "tool/inspect/elf_symbols.h"
#include "tool/inspect/proc_parse.h"
#include "tool/inspect/target.h"

/* Our own mapping of the C library, as gilstats would see a target's. */
static struct mapping own_libc(struct maps *maps)
{
	size_t len;
	char *text = proc_read_file("/proc/self/maps", 1 << 24, &len);

	ck_assert_ptr_nonnull(text);
	ck_assert_int_eq(maps_parse(text, len, maps), 0);
	free(text);
	for (size_t i = 0; i < maps->n; i++)
		if (is_libc_name(mapping_basename(&maps->v[i])))
			return *maps_first_of_file(maps, &maps->v[i]);
	ck_abort_msg("no libc in /proc/self/maps");
	return maps->v[0];
}

START_TEST(libc_condvar_wait_has_every_version)
{
	struct maps maps;
	struct mapping libc = own_libc(&maps);
	int fd = open(libc.path, O_RDONLY);
	struct elf_file *ef = elf_open_fd(fd);
	struct elf_symbol syms[8];
	size_t n, defaults = 0, hidden = 0;

	ck_assert_ptr_nonnull(ef);
	ck_assert_int_eq(elf_type(ef), ET_DYN);
	n = elf_find_symbol(ef, "pthread_cond_timedwait", syms, 8);
	/* glibc: the compat @GLIBC_2.2.5 and the default @@GLIBC_2.3.2. */
	ck_assert_uint_ge(n, 2);
	for (size_t i = 0; i < n; i++) {
		ck_assert_int_eq(syms[i].type, STT_FUNC);
		if (syms[i].is_default) {
			defaults++;
			ck_assert_str_eq(syms[i].version, "GLIBC_2.3.2");
		} else {
			hidden++;
			ck_assert_str_eq(syms[i].version, "GLIBC_2.2.5");
		}
	}
	ck_assert_uint_eq(defaults, 1);
	ck_assert_uint_eq(hidden, 1);
	elf_close(ef);
	close(fd);
	maps_free(&maps);
}
END_TEST

START_TEST(libc_offsets_and_bias_match_memory)
{
	struct maps maps;
	struct mapping libc = own_libc(&maps);
	int fd = open(libc.path, O_RDONLY);
	struct elf_file *ef = elf_open_fd(fd);
	struct elf_symbol syms[8];
	unsigned char from_file[16];
	uint64_t bias, offset;
	size_t n;
	void *live = dlsym(RTLD_DEFAULT, "pthread_cond_timedwait");

	ck_assert_ptr_nonnull(ef);
	ck_assert_ptr_nonnull(live);
	ck_assert_int_eq(elf_load_bias(ef, libc.start, libc.offset, &bias), 0);
	n = elf_find_symbol(ef, "pthread_cond_timedwait", syms, 8);
	for (size_t i = 0; i < n; i++) {
		if (!syms[i].is_default)
			continue;
		/* The default version is what the dynamic linker binds. */
		ck_assert_uint_eq(bias + syms[i].value, (uint64_t)(uintptr_t)live);
		/* And a uprobe at its file offset sits on the same bytes. */
		ck_assert_int_eq(elf_vaddr_to_offset(ef, syms[i].value, &offset), 0);
		ck_assert_int_eq(pread(fd, from_file, sizeof from_file, (off_t)offset), (ssize_t)sizeof from_file);
		ck_assert_mem_eq(from_file, live, sizeof from_file);
	}
	elf_close(ef);
	close(fd);
	maps_free(&maps);
}
END_TEST

static struct elf_file *open_versioned(int *fd)
{
	char path[4096];

	snprintf(path, sizeof path, "%s/tests/libversioned.so", test_builddir());
	*fd = open(path, O_RDONLY);
	ck_assert_msg(*fd >= 0, "cannot open %s", path);
	return elf_open_fd(*fd);
}

static bool is_version_string(const char *s, void *arg)
{
	if (strcmp(s, "3.9.18") != 0)
		return false;
	*(int *)arg += 1;
	return true;
}

START_TEST(versioned_library_symbols)
{
	int fd;
	struct elf_file *ef = open_versioned(&fd);
	struct elf_symbol syms[4];
	char text[8];
	int data = 0, found = 0;

	ck_assert_ptr_nonnull(ef);
	ck_assert_uint_eq(elf_find_symbol(ef, "wait", syms, 4), 2);
	ck_assert(syms[0].is_default != syms[1].is_default);
	for (int i = 0; i < 2; i++)
		ck_assert_str_eq(syms[i].version, syms[i].is_default ? "VERS_2" : "VERS_1");
	ck_assert_uint_ne(syms[0].value, syms[1].value);
	ck_assert_uint_eq(elf_find_symbol(ef, "plain_function", syms, 4), 1);
	ck_assert(syms[0].is_default);
	/* By address: an instruction inside the function names it; data and
	 * addresses past every function name nothing. */
	char name[32];
	unsigned char id[64];
	ck_assert(elf_symbol_at(ef, syms[0].value + 1, name, sizeof name));
	ck_assert_str_eq(name, "plain_function");
	ck_assert(!elf_symbol_at(ef, 0x7fffffff0000, name, sizeof name));
	ck_assert_uint_eq(elf_build_id(ef, id, sizeof id), 20); /* GNU ld's default: SHA-1 */
	ck_assert_uint_eq(elf_find_symbol(ef, "no_such_symbol", syms, 4), 0);
	ck_assert_uint_eq(elf_find_symbol(ef, "wai", syms, 4), 0);
	/* Initialised data, read from the file. */
	ck_assert_uint_eq(elf_find_symbol(ef, "version_string", syms, 4), 1);
	ck_assert_int_eq(elf_read_vaddr(ef, syms[0].value, text, 7), 0);
	ck_assert_str_eq(text, "3.9.18");
	ck_assert_uint_eq(elf_find_symbol(ef, "some_data", syms, 4), 1);
	ck_assert_int_eq(elf_read_vaddr(ef, syms[0].value, &data, sizeof data), 0);
	ck_assert_int_eq(data, 42);
	ck_assert_int_eq(elf_read_vaddr(ef, 0x7fffffff0000, &data, sizeof data), -1);
	ck_assert(elf_scan_strings(ef, ".rodata", 3, is_version_string, &found));
	ck_assert_int_eq(found, 1);
	ck_assert(!elf_scan_strings(ef, ".no_such_section", 1, is_version_string, &found));
	elf_close(ef);
	close(fd);
}
END_TEST

START_TEST(non_pie_executable_has_no_bias)
{
	char path[4096];
	struct elf_symbol sym;
	uint64_t bias = 1, offset;
	int fd;
	struct elf_file *ef;

	snprintf(path, sizeof path, "%s/tests/nopie-exe", test_builddir());
	fd = open(path, O_RDONLY);
	ck_assert_int_ge(fd, 0);
	ef = elf_open_fd(fd);
	ck_assert_ptr_nonnull(ef);
	ck_assert_int_eq(elf_type(ef), ET_EXEC);
	ck_assert_uint_eq(elf_find_symbol(ef, "main", &sym, 1), 1);
	ck_assert(sym.from_symtab);
	ck_assert_int_eq(elf_vaddr_to_offset(ef, sym.value, &offset), 0);
	/* x86_64 non-PIE executables load at 0x400000, their file offset 0. */
	ck_assert_int_eq(elf_load_bias(ef, 0x400000, 0, &bias), 0);
	ck_assert_uint_eq(bias, 0);
	ck_assert_uint_eq(offset, sym.value - 0x400000);
	elf_close(ef);
	close(fd);
}
END_TEST

START_TEST(garbage_and_truncated_images)
{
	static const char junk[] = "\177ELF this is not really an ELF file at all, just bytes";
	struct elf_symbol sym;
	int fd;
	struct elf_file *ef = open_versioned(&fd);
	off_t size = lseek(fd, 0, SEEK_END);
	char *image = malloc((size_t)size);

	elf_close(ef);
	ck_assert_int_eq(pread(fd, image, (size_t)size, 0), size);
	ck_assert_ptr_null(elf_open_memory(junk, sizeof junk));
	ck_assert_ptr_null(elf_open_memory(junk, 0));
	/* Every truncation either fails to open or answers without crashing. */
	for (off_t cut = 0; cut < size; cut += 61) {
		struct elf_file *t = elf_open_memory(image, (size_t)cut);
		if (t) {
			elf_find_symbol(t, "wait", &sym, 1);
			elf_close(t);
		}
	}
	free(image);
	close(fd);
}
END_TEST

Suite *elf_symbols_suite(void)
{
	Suite *s = suite_create("elf_symbols");
	TCase *tc = tcase_create("lookup");

	tcase_add_test(tc, libc_condvar_wait_has_every_version);
	tcase_add_test(tc, libc_offsets_and_bias_match_memory);
	tcase_add_test(tc, versioned_library_symbols);
	tcase_add_test(tc, non_pie_executable_has_no_bias);
	tcase_add_test(tc, garbage_and_truncated_images);
	suite_add_tcase(s, tc);
	return s;
}
