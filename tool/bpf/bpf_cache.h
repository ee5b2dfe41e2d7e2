/* Getting the compiled BPF program: from the cache when this very program
 * was compiled before against these headers, else from the compiler
 * helper (gilstats-compile), whose result is then cached. Cold, clang
 * takes most of gilstats' start-up; warm, loading takes milliseconds. */
#ifndef GILSTATS_BPF_CACHE_H
#define GILSTATS_BPF_CACHE_H

#include <stdbool.h>

#include "tool/bpf/probe_image.h"
#include "tool/util/error.h"
#include "tool/bpf/kernel_headers.h"

/* backend: "futex" or "uprobe". cache_dir may be NULL (no cache). With
 * refresh the cached copy is not read: the program is compiled and
 * replaces it (--no-cache, --compile-only, and a cached copy the kernel
 * refused). *cached says where obj came from. */
int bpf_program_get(const char *backend, const struct kernel_headers *kh, const char *cache_dir, bool refresh,
		    struct probe_image *obj, bool *cached, struct gs_error *err);

/* Whether a cache file or directory may be trusted: ours (root's), not
 * writable by anyone else, and the kind of file expected. */
int bpf_cache_trusted(int fd, bool directory);

#endif
