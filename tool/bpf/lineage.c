/* The "family" map of forks and execs (lineage.h). */
#include "config.h"

#include "tool/bpf/lineage.h"

#include <bcc/libbpf.h>
#include <linux/bpf.h>
#include <stdlib.h>

#include "probes/gilstats.h"
#include "tool/bpf/rows.h"
#include "tool/bpf/snapshot.h"
#include "tool/util/array.h"

int lineage_add(int fd, pid_t pid, bool follow, uint64_t *execs)
{
	__u32 key = (__u32)pid;
	struct gs_family f = { .follow = follow };

	/* An entry there already (the kernel added a child, or the tool a
	 * process it follows) is left as it is: the kernel counts in it. One
	 * of an exec not looked at yet becomes the tool's. */
	if (bpf_lookup_elem(fd, &key, &f) == 0 && f.origin == GS_FAMILY_EXEC) {
		f = (struct gs_family){ .follow = follow };
		if (bpf_update_elem(fd, &key, &f, BPF_EXIST) != 0)
			return -1;
	} else if (bpf_update_elem(fd, &key, &f, BPF_NOEXIST) != 0 && bpf_lookup_elem(fd, &key, &f) != 0)
		return -1;
	if (execs)
		*execs = f.execs;
	return 0;
}

void lineage_look_later(int fd, pid_t pid, double now_s)
{
	__u32 key = (__u32)pid;
	struct gs_family f = { .exec_ns = (__u64)(now_s * 1e9), .origin = GS_FAMILY_EXEC };

	bpf_update_elem(fd, &key, &f, BPF_NOEXIST);
}

void lineage_mark_looked(int fd, pid_t pid)
{
	__u32 key = (__u32)pid;
	struct gs_family f;

	if (bpf_lookup_elem(fd, &key, &f) != 0)
		return;
	f.looked = 1;
	bpf_update_elem(fd, &key, &f, BPF_EXIST);
}

void lineage_remove(int fd, pid_t pid)
{
	__u32 key = (__u32)pid;

	bpf_delete_elem(fd, &key);
}

int lineage_read(int fd, struct lineage_entry **v, size_t *cap)
{
	static struct family_row *rows;
	static size_t rows_cap;
	int n = snapshot_family(fd, &rows, &rows_cap);

	if (n < 0 || array_reserve((void **)v, cap, (size_t)n + 1, sizeof **v, 64) != 0)
		return -1;
	for (int i = 0; i < n; i++) {
		const struct gs_family *f = &rows[i].family;
		(*v)[i] = (struct lineage_entry){ (pid_t)rows[i].pid, (pid_t)f->parent, f->follow != 0,
						  f->origin == GS_FAMILY_EXEC, f->looked != 0, f->execs,
						  (double)f->exec_ns / 1e9 };
	}
	return n;
}
