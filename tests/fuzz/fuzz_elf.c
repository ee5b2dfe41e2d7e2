/* libFuzzer target: the ELF reader (symbols by name and by address, build
 * ids) on hostile images (the target chooses
 * which files gilstats reads: truncated, oversized, malformed), and the
 * parser of cached compiled programs on the same bytes. */
#include "config.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "tool/bpf/probe_image.h"
#include "tool/inspect/elf_symbols.h"

static bool any_string(const char *s, void *arg)
{
	(void)s;
	(void)arg;
	return false;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	/* libelf may keep pointers into the image: a private copy per run. */
	char *image = malloc(size ? size : 1);
	struct elf_file *ef;
	struct elf_symbol syms[8];
	static const char *const names[] = { "pthread_cond_timedwait", "_PyRuntime", "Py_Version", "sem_wait",
					     "gil_cond", "interpreter_lock", "wait", "main" };
	uint64_t value, bias;
	unsigned char buf[64];

	if (!image)
		return 0;
	memcpy(image, data, size);
	ef = elf_open_memory(image, size);
	if (ef) {
		for (size_t i = 0; i < sizeof names / sizeof names[0]; i++) {
			size_t n = elf_find_symbol(ef, names[i], syms, 8);
			for (size_t k = 0; k < n && k < 8; k++) {
				char name[64];
				elf_vaddr_to_offset(ef, syms[k].value, &value);
				elf_read_vaddr(ef, syms[k].value, buf, sizeof buf);
				elf_symbol_at(ef, syms[k].value + 1, name, sizeof name);
			}
		}
		elf_load_bias(ef, 0x400000, 0, &bias);
		elf_build_id(ef, buf, sizeof buf);
		elf_scan_strings(ef, ".rodata", 3, any_string, NULL);
		elf_close(ef);
	}
	free(image);
	struct probe_image obj;
	if (probe_image_parse(data, size, &obj) == 0)
		probe_image_free(&obj);
	return 0;
}
