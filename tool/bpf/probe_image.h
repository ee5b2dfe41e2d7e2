/* A compiled BPF program in a form that travels: from the short-lived
 * compiler helper (gilstats-compile, which links libbcc and LLVM) to the
 * long-lived gilstats (which does not), and to the on-disk cache. Map
 * references in the instructions are map indexes, not file descriptors. */
#ifndef GILSTATS_PROBE_IMAGE_H
#define GILSTATS_PROBE_IMAGE_H

#include <linux/bpf.h>
#include <stddef.h>
#include <stdint.h>

#define PROBE_IMAGE_MAGIC 0x67696c62u /* "gilb" */
#define PROBE_IMAGE_VERSION 7
#define PROBE_IMAGE_MAX_MAPS 24
#define PROBE_IMAGE_MAX_PROGS 6
#define PROBE_IMAGE_MAX_INSNS 16384
#define PROBE_IMAGE_NAME 16 /* BPF_OBJ_NAME_LEN */

struct probe_image_map {
	char name[PROBE_IMAGE_NAME];
	uint32_t type, key_size, value_size, max_entries, flags;
};

struct probe_image_prog {
	char name[PROBE_IMAGE_NAME];
	uint32_t insn_count;
};

/* The serialized form: this header, then each program's instructions,
 * then a 64-bit FNV-1a checksum of everything before it. */
struct probe_image_header {
	uint32_t magic, version;
	uint32_t nmaps, nprogs;
	uint32_t kern_version;
	char license[16];
	struct probe_image_map maps[PROBE_IMAGE_MAX_MAPS];
	struct probe_image_prog progs[PROBE_IMAGE_MAX_PROGS];
};

struct probe_image {
	struct probe_image_header h;
	struct bpf_insn *insns[PROBE_IMAGE_MAX_PROGS];
};

/* Serializes into a malloc'ed buffer; returns its size, 0 if out of memory. */
size_t probe_image_serialize(const struct probe_image *obj, unsigned char **out);

/* Parses and checks (magic, version, sizes, checksum, map references):
 * the bytes may come from a file. Returns 0 or -1. */
int probe_image_parse(const unsigned char *buf, size_t len, struct probe_image *obj);
void probe_image_free(struct probe_image *obj);

/* Map references: fds (as bcc emits them) to indexes, or back. Returns 0,
 * or -1 when an instruction refers to something else. */
int probe_image_fds_to_indexes(struct bpf_insn *insns, uint32_t n, const int *map_fds, uint32_t nmaps);
int probe_image_indexes_to_fds(struct bpf_insn *insns, uint32_t n, const int *map_fds, uint32_t nmaps);

/* FNV-1a, 64 bits: the cache's keys and the objects' checksum. */
uint64_t fnv1a64(uint64_t hash, const void *data, size_t len);
#define FNV1A64_INIT 0xcbf29ce484222325ull

#endif
