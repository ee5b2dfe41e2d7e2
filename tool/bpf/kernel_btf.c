/* Offsets of task_struct fields from the kernel's BTF (libbpf). */
#include "config.h"

#include <bpf/btf.h>
#include <stdbool.h>
#include <string.h>

#include "tool/bpf/kernel_btf.h"

/* Depth-first through anonymous structs and unions (randomized layouts
 * wrap fields in one); offsets in bits. */
static bool member_offset(const struct btf *btf, const struct btf_type *t, const char *name, uint32_t *bits)
{
	const struct btf_member *m = btf_members(t);

	for (uint16_t i = 0; i < btf_vlen(t); i++, m++) {
		const char *mname = btf__name_by_offset(btf, m->name_off);
		uint32_t here = btf_member_bit_offset(t, i), inner;
		if (mname && strcmp(mname, name) == 0) {
			*bits = here;
			return true;
		}
		if (mname && *mname)
			continue;
		const struct btf_type *anon = btf__type_by_id(btf, m->type);
		if (anon && btf_is_composite(anon) && member_offset(btf, anon, name, &inner)) {
			*bits = here + inner;
			return true;
		}
	}
	return false;
}

/* task_struct.se.sum_exec_runtime, in bytes; 0 if not found. */
static uint32_t runtime_offset(const struct btf *btf, const struct btf_type *task)
{
	int id = btf__find_by_name_kind(btf, "sched_entity", BTF_KIND_STRUCT);
	uint32_t se_bits, sum_bits;

	if (id <= 0 || !member_offset(btf, task, "se", &se_bits) ||
	    !member_offset(btf, btf__type_by_id(btf, (uint32_t)id), "sum_exec_runtime", &sum_bits) ||
	    (se_bits + sum_bits) % 8 != 0)
		return 0;
	return (se_bits + sum_bits) / 8;
}

int kernel_task_layout(struct task_layout *out)
{
	struct btf *btf = btf__load_vmlinux_btf();
	uint32_t pid_bits, tgid_bits, start_bits;
	int id, rc = -1;

	if (!btf)
		return -1;
	id = btf__find_by_name_kind(btf, "task_struct", BTF_KIND_STRUCT);
	if (id > 0 && member_offset(btf, btf__type_by_id(btf, (uint32_t)id), "pid", &pid_bits) &&
	    member_offset(btf, btf__type_by_id(btf, (uint32_t)id), "tgid", &tgid_bits) && pid_bits % 8 == 0 &&
	    tgid_bits % 8 == 0) {
		out->pid_off = pid_bits / 8;
		out->tgid_off = tgid_bits / 8;
		out->runtime_off = runtime_offset(btf, btf__type_by_id(btf, (uint32_t)id));
		out->start_off = member_offset(btf, btf__type_by_id(btf, (uint32_t)id), "start_time", &start_bits) &&
						 start_bits % 8 == 0
					 ? start_bits / 8
					 : 0;
		rc = 0;
	}
	btf__free(btf);
	return rc;
}
