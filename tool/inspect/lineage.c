/* The "family" map of forks and execs (lineage.h). */
#include "config.h"

#include "tool/inspect/lineage.h"

#include <bcc/libbpf.h>
#include <linux/bpf.h>

#include "probes/gilstats.h"
#include "tool/util/array.h"

int lineage_add(int fd, pid_t pid, bool follow, uint64_t *execs)
{
	__u32 key = (__u32)pid;
	struct gs_family f = { .follow = follow };

	/* An entry there already (the kernel added a child, or the tool a
	 * process it follows) is left as it is: the kernel counts in it. */
	if (bpf_update_elem(fd, &key, &f, BPF_NOEXIST) != 0 && bpf_lookup_elem(fd, &key, &f) != 0)
		return -1;
	if (execs)
		*execs = f.execs;
	return 0;
}

void lineage_remove(int fd, pid_t pid)
{
	__u32 key = (__u32)pid;

	bpf_delete_elem(fd, &key);
}

int lineage_read(int fd, struct lineage_entry **v, size_t *cap)
{
	__u32 key = 0, next;
	bool first = true;
	size_t n = 0;

	while (bpf_get_next_key(fd, first ? NULL : &key, &next) == 0) {
		struct gs_family f;
		first = false;
		key = next;
		if (bpf_lookup_elem(fd, &key, &f) != 0)
			continue; /* deleted meanwhile */
		if (array_reserve((void **)v, cap, n + 1, sizeof **v, 64) != 0)
			return -1;
		(*v)[n++] = (struct lineage_entry){ (pid_t)key, (pid_t)f.parent, f.follow != 0, f.execs };
		if (n >= GS_MAX_FAMILY)
			break;
	}
	return (int)n;
}
