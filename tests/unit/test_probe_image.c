#include "config.h"

#include <stdlib.h>
#include <string.h>

#include "suites.h"
#include "tool/bpf/probe_image.h"

/* A program as bcc emits it: a map loaded by fd (ld_imm64), a call, exit. */
static struct probe_image sample(int fd_a, int fd_b)
{
	static struct bpf_insn code[6];
	struct probe_image obj;

	memset(&obj, 0, sizeof obj);
	obj.h.magic = PROBE_IMAGE_MAGIC;
	obj.h.version = PROBE_IMAGE_VERSION;
	obj.h.nmaps = 2;
	obj.h.nprogs = 1;
	obj.h.kern_version = 0x060100;
	strcpy(obj.h.license, "GPL");
	strcpy(obj.h.maps[0].name, "targets");
	strcpy(obj.h.maps[1].name, "waits");
	obj.h.maps[1].type = BPF_MAP_TYPE_HASH;
	strcpy(obj.h.progs[0].name, "gs_futex_enter");
	memset(code, 0, sizeof code);
	code[0] = (struct bpf_insn){ .code = BPF_LD | BPF_IMM | BPF_DW, .dst_reg = 1, .src_reg = BPF_PSEUDO_MAP_FD,
				     .imm = fd_b };
	code[2] = (struct bpf_insn){ .code = BPF_LD | BPF_IMM | BPF_DW, .dst_reg = 2, .src_reg = BPF_PSEUDO_MAP_FD,
				     .imm = fd_a };
	code[4] = (struct bpf_insn){ .code = BPF_JMP | BPF_CALL, .imm = 1 };
	code[5] = (struct bpf_insn){ .code = BPF_JMP | BPF_EXIT };
	obj.h.progs[0].insn_count = 6;
	obj.insns[0] = malloc(sizeof code);
	memcpy(obj.insns[0], code, sizeof code);
	return obj;
}

START_TEST(map_references_move_between_fds_and_indexes)
{
	struct probe_image obj = sample(7, 9);
	int old_fds[] = { 7, 9 }, new_fds[] = { 30, 31 };

	ck_assert_int_eq(probe_image_fds_to_indexes(obj.insns[0], 6, old_fds, 2), 0);
	ck_assert_int_eq(obj.insns[0][0].imm, 1);
	ck_assert_int_eq(obj.insns[0][2].imm, 0);
	ck_assert_int_eq(probe_image_indexes_to_fds(obj.insns[0], 6, new_fds, 2), 0);
	ck_assert_int_eq(obj.insns[0][0].imm, 31);
	ck_assert_int_eq(obj.insns[0][2].imm, 30);
	/* An fd that is none of the maps, or a kind of reference not carried. */
	ck_assert_int_eq(probe_image_fds_to_indexes(obj.insns[0], 6, old_fds, 2), -1);
	obj.insns[0][0].src_reg = BPF_PSEUDO_MAP_VALUE;
	ck_assert_int_eq(probe_image_indexes_to_fds(obj.insns[0], 6, new_fds, 2), -1);
	/* A 16-byte load cut in half. */
	ck_assert_int_eq(probe_image_indexes_to_fds(obj.insns[0], 1, new_fds, 2), -1);
	probe_image_free(&obj);
}
END_TEST

START_TEST(serialized_objects_are_checked)
{
	struct probe_image obj = sample(7, 9), back;
	int fds[] = { 7, 9 };
	unsigned char *bytes;
	size_t len;

	ck_assert_int_eq(probe_image_fds_to_indexes(obj.insns[0], 6, fds, 2), 0);
	len = probe_image_serialize(&obj, &bytes);
	ck_assert_uint_gt(len, sizeof obj.h);
	ck_assert_int_eq(probe_image_parse(bytes, len, &back), 0);
	ck_assert_str_eq(back.h.maps[1].name, "waits");
	ck_assert_str_eq(back.h.progs[0].name, "gs_futex_enter");
	ck_assert_mem_eq(back.insns[0], obj.insns[0], 6 * sizeof(struct bpf_insn));
	probe_image_free(&back);
	/* Any flipped byte, any truncation: refused, never trusted. */
	for (size_t i = 0; i < len; i += 7) {
		bytes[i] ^= 0x40;
		ck_assert_msg(probe_image_parse(bytes, len, &back) == -1, "byte %zu flipped and accepted", i);
		bytes[i] ^= 0x40;
	}
	for (size_t cut = 0; cut < len; cut += 13)
		ck_assert_int_eq(probe_image_parse(bytes, cut, &back), -1);
	free(bytes);
	/* A checksum that matches but a map reference out of range. */
	obj.insns[0][0].imm = 5;
	len = probe_image_serialize(&obj, &bytes);
	ck_assert_int_eq(probe_image_parse(bytes, len, &back), -1);
	free(bytes);
	probe_image_free(&obj);
}
END_TEST

Suite *probe_image_suite(void)
{
	Suite *s = suite_create("probe_image");
	TCase *tc = tcase_create("object");

	tcase_add_test(tc, map_references_move_between_fds_and_indexes);
	tcase_add_test(tc, serialized_objects_are_checked);
	suite_add_tcase(s, tc);
	return s;
}
