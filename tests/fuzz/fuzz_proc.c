/* libFuzzer target: the /proc parsers on hostile text (maps lines carry
 * file names the target chose; stat carries its command name). */
#include "config.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "tool/bpf/privileges.h"
#include "tool/inspect/proc_parse.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *text = malloc(size + 1);
	struct maps maps;
	struct proc_stat st;
	int major, minor;

	if (!text)
		return 0;
	memcpy(text, data, size);
	text[size] = '\0';
	if (maps_parse(text, size, &maps) == 0) {
		for (size_t i = 0; i < maps.n; i++) {
			mapping_is_file(&maps.v[i]);
			libpython_name_version(mapping_basename(&maps.v[i]), &major, &minor);
			is_libc_name(mapping_basename(&maps.v[i]));
			maps_first_of_file(&maps, &maps.v[i]);
		}
		maps_free(&maps);
	}
	proc_stat_parse(text, size, &st);
	/* The NUL-terminated parsers see the text up to its first NUL. */
	status_innermost_nspid(text);
	status_effective_caps(text);
	cpu_list_slots(text);
	libpython_name_version(text, &major, &minor);
	free(text);
	return 0;
}
