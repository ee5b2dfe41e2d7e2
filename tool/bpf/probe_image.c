#include "config.h"

#include "tool/bpf/probe_image.h"

#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

uint64_t fnv1a64(uint64_t hash, const void *data, size_t len)
{
	const unsigned char *p = data;

	for (size_t i = 0; i < len; i++) {
		hash ^= p[i];
		hash *= 0x100000001b3ull;
	}
	return hash;
}

size_t probe_image_serialize(const struct probe_image *obj, unsigned char **out)
{
	size_t len = sizeof obj->h, off;
	uint64_t sum;

	for (uint32_t i = 0; i < obj->h.nprogs; i++)
		len += obj->h.progs[i].insn_count * sizeof(struct bpf_insn);
	*out = malloc(len + sizeof sum);
	if (!*out)
		return 0;
	memcpy(*out, &obj->h, sizeof obj->h);
	off = sizeof obj->h;
	for (uint32_t i = 0; i < obj->h.nprogs; i++) {
		size_t bytes = obj->h.progs[i].insn_count * sizeof(struct bpf_insn);
		memcpy(*out + off, obj->insns[i], bytes);
		off += bytes;
	}
	sum = fnv1a64(FNV1A64_INIT, *out, off);
	memcpy(*out + off, &sum, sizeof sum);
	return off + sizeof sum;
}

static bool header_is_sane(const struct probe_image_header *h)
{
	if (h->magic != PROBE_IMAGE_MAGIC || h->version != PROBE_IMAGE_VERSION || h->nmaps > PROBE_IMAGE_MAX_MAPS ||
	    h->nprogs == 0 || h->nprogs > PROBE_IMAGE_MAX_PROGS || !memchr(h->license, '\0', sizeof h->license))
		return false;
	for (uint32_t i = 0; i < h->nprogs; i++)
		if (h->progs[i].insn_count == 0 || h->progs[i].insn_count > PROBE_IMAGE_MAX_INSNS ||
		    !memchr(h->progs[i].name, '\0', PROBE_IMAGE_NAME))
			return false;
	for (uint32_t i = 0; i < h->nmaps; i++)
		if (!memchr(h->maps[i].name, '\0', PROBE_IMAGE_NAME))
			return false;
	return true;
}

/* Map references in an index form point at existing maps. */
static bool references_are_sane(const struct bpf_insn *insns, uint32_t n, uint32_t nmaps)
{
	for (uint32_t i = 0; i < n; i++) {
		if (insns[i].code != (BPF_LD | BPF_IMM | BPF_DW))
			continue;
		if (i + 1 >= n || (insns[i].src_reg == BPF_PSEUDO_MAP_FD && (uint32_t)insns[i].imm >= nmaps) ||
		    (insns[i].src_reg != 0 && insns[i].src_reg != BPF_PSEUDO_MAP_FD))
			return false;
		i++; /* the second half of the 16-byte instruction */
	}
	return true;
}

int probe_image_parse(const unsigned char *buf, size_t len, struct probe_image *obj)
{
	size_t off = sizeof obj->h;
	uint64_t sum;

	memset(obj, 0, sizeof *obj);
	if (len < sizeof obj->h + sizeof sum)
		return -1;
	memcpy(&obj->h, buf, sizeof obj->h);
	if (!header_is_sane(&obj->h))
		return -1;
	memcpy(&sum, buf + len - sizeof sum, sizeof sum);
	if (sum != fnv1a64(FNV1A64_INIT, buf, len - sizeof sum))
		return -1;
	for (uint32_t i = 0; i < obj->h.nprogs; i++) {
		size_t bytes = obj->h.progs[i].insn_count * sizeof(struct bpf_insn);
		if (bytes > len - sizeof sum - off || !(obj->insns[i] = malloc(bytes))) {
			probe_image_free(obj);
			return -1;
		}
		memcpy(obj->insns[i], buf + off, bytes);
		off += bytes;
		if (!references_are_sane(obj->insns[i], obj->h.progs[i].insn_count, obj->h.nmaps)) {
			probe_image_free(obj);
			return -1;
		}
	}
	if (off != len - sizeof sum) {
		probe_image_free(obj);
		return -1;
	}
	return 0;
}

void probe_image_free(struct probe_image *obj)
{
	for (int i = 0; i < PROBE_IMAGE_MAX_PROGS; i++) {
		free(obj->insns[i]);
		obj->insns[i] = NULL;
	}
}

static int rewrite(struct bpf_insn *insns, uint32_t n, const int *fds, uint32_t nmaps, bool to_index)
{
	for (uint32_t i = 0; i < n; i++) {
		struct bpf_insn *in = &insns[i];
		uint32_t k;
		if (in->code != (BPF_LD | BPF_IMM | BPF_DW))
			continue;
		if (i + 1 >= n)
			return -1;
		if (in->src_reg == BPF_PSEUDO_MAP_FD) {
			if (to_index) {
				for (k = 0; k < nmaps && fds[k] != in->imm; k++)
					;
			} else {
				k = (uint32_t)in->imm;
			}
			if (k >= nmaps)
				return -1;
			in->imm = to_index ? (int32_t)k : fds[k];
		} else if (in->src_reg != 0) {
			return -1; /* a kind of reference gilstats does not carry */
		}
		i++;
	}
	return 0;
}

int probe_image_fds_to_indexes(struct bpf_insn *insns, uint32_t n, const int *map_fds, uint32_t nmaps)
{
	return rewrite(insns, n, map_fds, nmaps, true);
}

int probe_image_indexes_to_fds(struct bpf_insn *insns, uint32_t n, const int *map_fds, uint32_t nmaps)
{
	return rewrite(insns, n, map_fds, nmaps, false);
}
