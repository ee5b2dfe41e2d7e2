/* What gilstats needs from the kernel and from its own credentials,
 * checked before anything is compiled. */
#ifndef GILSTATS_PRIVILEGES_H
#define GILSTATS_PRIVILEGES_H

#include <stdint.h>

#include "tool/util/error.h"

#define CAP_BIT(n) ((uint64_t)1 << (n))
#define GS_CAP_SYS_PTRACE 19
#define GS_CAP_SYS_ADMIN 21
#define GS_CAP_PERFMON 38
#define GS_CAP_BPF 39

/* The CapEff mask from the text of /proc/self/status; 0 when absent. */
uint64_t status_effective_caps(const char *status_text);

/* Names what is missing from caps, or returns 0 when nothing is. */
int caps_check(uint64_t caps, struct gs_error *err);

/* Our capabilities, and whether the kernel lets BPF read memory. */
int privileges_check(struct gs_error *err);

/* Whether the kernel can place uprobes. */
int uprobes_check(struct gs_error *err);

#endif
