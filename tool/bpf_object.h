/* A compiled BPF program in a form that travels: from the short-lived
 * compiler helper (gilstats-compile, which links libbcc and LLVM) to the
 * long-lived gilstats (which does not), and to the on-disk cache. Map
 * references in the instructions are map indexes, not file descriptors. */
#ifndef GILSTATS_BPF_OBJECT_H
#define GILSTATS_BPF_OBJECT_H

#include <linux/bpf.h>
#include <stddef.h>
#include <stdint.h>

#define BPF_OBJECT_MAGIC 0x67696c62u /* "gilb" */
#define BPF_OBJECT_VERSION 7
#define BPF_OBJECT_MAX_MAPS 24
#define BPF_OBJECT_MAX_PROGS 6
#define BPF_OBJECT_MAX_INSNS 16384
#define BPF_OBJECT_NAME 16 /* BPF_OBJ_NAME_LEN */

struct bpf_object_map {
	char name[BPF_OBJECT_NAME];
	uint32_t type, key_size, value_size, max_entries, flags;
};

struct bpf_object_prog {
	char name[BPF_OBJECT_NAME];
	uint32_t insn_count;
};

/* The serialized form: this header, then each program's instructions,
 * then a 64-bit FNV-1a checksum of everything before it. */
struct bpf_object_header {
	uint32_t magic, version;
	uint32_t nmaps, nprogs;
	uint32_t kern_version;
	char license[16];
	struct bpf_object_map maps[BPF_OBJECT_MAX_MAPS];
	struct bpf_object_prog progs[BPF_OBJECT_MAX_PROGS];
};

struct bpf_object {
	struct bpf_object_header h;
	struct bpf_insn *insns[BPF_OBJECT_MAX_PROGS];
};

/* Serializes into a malloc'ed buffer; returns its size, 0 if out of memory. */
size_t bpf_object_serialize(const struct bpf_object *obj, unsigned char **out);

/* Parses and checks (magic, version, sizes, checksum, map references):
 * the bytes may come from a file. Returns 0 or -1. */
int bpf_object_parse(const unsigned char *buf, size_t len, struct bpf_object *obj);
void bpf_object_free(struct bpf_object *obj);

/* Map references: fds (as bcc emits them) to indexes, or back. Returns 0,
 * or -1 when an instruction refers to something else. */
int bpf_object_fds_to_indexes(struct bpf_insn *insns, uint32_t n, const int *map_fds, uint32_t nmaps);
int bpf_object_indexes_to_fds(struct bpf_insn *insns, uint32_t n, const int *map_fds, uint32_t nmaps);

/* FNV-1a, 64 bits: the cache's keys and the objects' checksum. */
uint64_t fnv1a64(uint64_t hash, const void *data, size_t len);
#define FNV1A64_INIT 0xcbf29ce484222325ull

#endif
