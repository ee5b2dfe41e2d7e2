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

/* A member of struct type_name, in bytes; 0 if not found. */
static uint32_t struct_member(const struct btf *btf, const char *type_name, const char *member)
{
	int id = btf__find_by_name_kind(btf, type_name, BTF_KIND_STRUCT);
	uint32_t bits;

	if (id <= 0 || !member_offset(btf, btf__type_by_id(btf, (uint32_t)id), member, &bits) || bits % 8 != 0)
		return 0;
	return bits / 8;
}

/* task_struct.se.member, in bytes; 0 if not found. */
static uint32_t task_se_offset(const struct btf *btf, const struct btf_type *task, const char *member)
{
	uint32_t se_bits, in_se = struct_member(btf, "sched_entity", member);

	if (!in_se || !member_offset(btf, task, "se", &se_bits) || se_bits % 8 != 0)
		return 0;
	return se_bits / 8 + in_se;
}

/* The way from a task to its CPU's clocks (kernels with group scheduling
 * have se.cfs_rq); all 0 unless every step is there. */
static void clock_offsets(const struct btf *btf, const struct btf_type *task, struct task_layout *out)
{
	out->cfs_rq_off = task_se_offset(btf, task, "cfs_rq");
	out->cfs_rq_rq_off = struct_member(btf, "cfs_rq", "rq");
	out->rq_clock_off = struct_member(btf, "rq", "clock");
	out->rq_clock_task_off = struct_member(btf, "rq", "clock_task");
	if (!out->cfs_rq_off || !out->cfs_rq_rq_off || !out->rq_clock_off || !out->rq_clock_task_off)
		out->cfs_rq_off = out->cfs_rq_rq_off = out->rq_clock_off = out->rq_clock_task_off = 0;
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
		out->runtime_off = task_se_offset(btf, btf__type_by_id(btf, (uint32_t)id), "sum_exec_runtime");
		clock_offsets(btf, btf__type_by_id(btf, (uint32_t)id), out);
		out->start_off = member_offset(btf, btf__type_by_id(btf, (uint32_t)id), "start_time", &start_bits) &&
						 start_bits % 8 == 0
					 ? start_bits / 8
					 : 0;
		rc = 0;
	}
	btf__free(btf);
	return rc;
}
