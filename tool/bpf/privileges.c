#include "config.h"

#include "tool/bpf/privileges.h"

#include <inttypes.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "tool/inspect/target.h"

uint64_t status_effective_caps(const char *text)
{
	const char *line = strstr(text, "\nCapEff:");

	if (!line)
		return 0;
	return strtoull(line + strlen("\nCapEff:"), NULL, 16);
}

int caps_check(uint64_t caps, struct gs_error *err)
{
	bool admin = caps & CAP_BIT(GS_CAP_SYS_ADMIN);
	bool bpf = admin || (caps & CAP_BIT(GS_CAP_BPF));
	bool perfmon = admin || (caps & CAP_BIT(GS_CAP_PERFMON));

	if (!bpf || !perfmon)
		return gs_fail(err, GS_EXIT_PRIVILEGE,
			       "missing capabilit%s %s%s%s (or CAP_SYS_ADMIN): run gilstats as root",
			       bpf || perfmon ? "y" : "ies", bpf ? "" : "CAP_BPF", !bpf && !perfmon ? " and " : "",
			       perfmon ? "" : "CAP_PERFMON");
	/* Reading the interpreter's memory is a ptrace-mode access. */
	if (!(caps & CAP_BIT(GS_CAP_SYS_PTRACE)))
		return gs_fail(err, GS_EXIT_PRIVILEGE,
			       "missing capability CAP_SYS_PTRACE (needed to read the target's memory): "
			       "run gilstats as root");
	return 0;
}

static bool exists(const char *path)
{
	struct stat st;

	return stat(path, &st) == 0;
}

int uprobes_check(struct gs_error *err)
{
	if (!exists("/sys/bus/event_source/devices/uprobe"))
		return gs_fail(err, GS_EXIT_PRIVILEGE,
			       "the kernel has no uprobe support: it needs CONFIG_UPROBE_EVENTS=y");
	return 0;
}

int privileges_check(struct gs_error *err)
{
	char *status = proc_read_file("/proc/self/status", 1 << 16, NULL);
	uint64_t caps = status ? status_effective_caps(status) : 0;
	char *lockdown;

	free(status);
	if (caps_check(caps, err) != 0)
		return -1;
	lockdown = proc_read_file("/sys/kernel/security/lockdown", 256, NULL);
	if (lockdown && strstr(lockdown, "[confidentiality]")) {
		free(lockdown);
		return gs_fail(err, GS_EXIT_PRIVILEGE,
			       "the kernel is locked down (confidentiality): bpf cannot read memory; "
			       "boot with lockdown=integrity or none");
	}
	free(lockdown);
	return 0;
}
