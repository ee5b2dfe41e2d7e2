/* Symbol lookup in the ELF files a target maps, with libelf.
 *
 * Unlike bcc's by-name resolver this sees every version of a symbol
 * (.gnu.version / .gnu.version_d): glibc exports the hidden compat
 * pthread_cond_timedwait@GLIBC_2.2.5 before the default @@GLIBC_2.3.2, and a
 * probe on the first never fires for CPython 3. The files are chosen by the
 * target, so every offset and index is checked. */
#ifndef GILSTATS_ELF_SYMBOLS_H
#define GILSTATS_ELF_SYMBOLS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct elf_file;

struct elf_symbol {
	uint64_t value; /* st_value: a virtual address in the file's layout */
	uint64_t size;
	unsigned char type; /* STT_FUNC, STT_OBJECT, ... */
	bool from_symtab;   /* .symtab (static symbols) rather than .dynsym */
	bool is_default;    /* "@@" default version, or unversioned */
	char version[32];   /* "GLIBC_2.3.2", or "" when unversioned */
};

/* Opens an ELF image from a file descriptor (not closed by elf_close) or
 * from memory (used by the fuzz target). NULL when it is not a usable ELF. */
struct elf_file *elf_open_fd(int fd);
struct elf_file *elf_open_memory(const void *image, size_t size);
void elf_close(struct elf_file *ef);

/* ET_EXEC or ET_DYN (PIE executables and shared objects). */
int elf_type(const struct elf_file *ef);

/* Every defined symbol called name, in .dynsym and .symtab, each version
 * once (a .symtab twin of a .dynsym entry is dropped). Returns how many were
 * found; at most max are stored. */
size_t elf_find_symbol(struct elf_file *ef, const char *name, struct elf_symbol *out, size_t max);

/* The name of the function whose code holds vaddr (.symtab, else
 * .dynsym); false when none does. */
bool elf_symbol_at(struct elf_file *ef, uint64_t vaddr, char *name, size_t len);

/* The GNU build id (what /usr/lib/debug/.build-id/ names debug files by);
 * returns its length, 0 if none fits in max. */
size_t elf_build_id(struct elf_file *ef, unsigned char *id, size_t max);

/* The file offset at which the byte with virtual address vaddr is stored
 * (what a uprobe wants). -1 when no PT_LOAD segment holds it in the file. */
int elf_vaddr_to_offset(struct elf_file *ef, uint64_t vaddr, uint64_t *offset);

/* Load bias of a mapping of this file that starts at map_start and maps
 * file offset map_offset: runtime address = bias + st_value. Zero for
 * ET_EXEC, the mapping's displacement for ET_DYN (PIE or .so). */
int elf_load_bias(struct elf_file *ef, uint64_t map_start, uint64_t map_offset, uint64_t *bias);

/* Copies len bytes stored in the file at virtual address vaddr (initialised
 * data only, not .bss). */
int elf_read_vaddr(struct elf_file *ef, uint64_t vaddr, void *buf, size_t len);

/* Calls found(str, arg) for every NUL-terminated printable string of at
 * least min_len bytes in the named section; stops when found returns true.
 * Returns true if found did. */
bool elf_scan_strings(struct elf_file *ef, const char *section, size_t min_len,
		      bool (*found)(const char *str, void *arg), void *arg);

#endif
