/* Finding kernel headers bcc can compile the BPF program against.
 *
 * VMs, WSL and cloud kernels often have no /lib/modules/$(uname -r)/build;
 * a distribution's header package for a nearby kernel works as well for
 * the few structures gilstats's BPF program uses. */
#ifndef GILSTATS_KERNEL_HEADERS_H
#define GILSTATS_KERNEL_HEADERS_H

#include <stddef.h>

#include "tool/util/error.h"

#define KH_MAX_FLAGS 8
#define KH_PATH 512

struct kernel_headers {
	/* Value for BCC_KERNEL_SOURCE, or "" to let bcc use its own default
	 * (/lib/modules/RELEASE/build, or the kernel's kheaders). */
	char source[KH_PATH];
	/* Extra -I flags for split trees (Debian/Ubuntu "-common" + build dir). */
	char flags[KH_MAX_FLAGS][KH_PATH + 3];
	size_t nflags;
	char description[KH_PATH + 64]; /* what was chosen, for messages */
};

/* Where to look; the defaults are the real system locations and tests
 * point them at trees they built. */
struct kh_roots {
	const char *lib_modules; /* "/lib/modules" */
	const char *usr_src;     /* "/usr/src" */
	const char *kheaders;    /* "/sys/kernel/kheaders.tar.xz" */
	const char *release;     /* uname -r */
	const char *arch;        /* kernel arch dir name: "x86", "arm64" */
};

/* Fills roots from the running system (uname). */
void kh_system_roots(struct kh_roots *roots, char *release_buf, size_t release_len);

/* override: the --kernel-headers DIR, or NULL to search. */
int kernel_headers_find(const struct kh_roots *roots, const char *override, struct kernel_headers *out,
			struct gs_error *err);

/* The kernel arch directory for a uname -m machine name. */
const char *kh_arch_for_machine(const char *machine);

#endif
