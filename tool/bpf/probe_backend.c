#include "config.h"

#include "tool/bpf/probe_backend.h"

#include <string.h>

static const char *const names[PROBE_BACKENDS] = {
	[PROBE_FUTEX] = "futex",
	[PROBE_UPROBE] = "uprobe",
	[PROBE_SCHED] = "sched",
};

const char *probe_backend_name(enum probe_backend b)
{
	return names[b];
}

bool probe_in_kernel(enum probe_backend b)
{
	return b != PROBE_UPROBE;
}

int probe_backend_named(const char *name, enum probe_backend *b)
{
	for (int i = 0; i < PROBE_BACKENDS; i++)
		if (strcmp(names[i], name) == 0) {
			*b = (enum probe_backend)i;
			return 0;
		}
	return -1;
}
