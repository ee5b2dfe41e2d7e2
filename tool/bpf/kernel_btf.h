/* The running kernel's own type information (BTF), for the few fields of
 * its structures the BPF program reads: the program is compiled against
 * headers that may belong to another kernel, so their offsets cannot be
 * trusted, BTF's can. */
#ifndef GILSTATS_KERNEL_BTF_H
#define GILSTATS_KERNEL_BTF_H

#include <stdint.h>

/* Byte offsets inside struct task_struct. */
struct task_layout {
	uint32_t pid_off;  /* the thread id */
	uint32_t tgid_off; /* the process id */
	uint32_t runtime_off; /* se.sum_exec_runtime, the kernel's CPU time; 0: unknown */
	uint32_t start_off;   /* start_time, the thread's birth (CLOCK_MONOTONIC); 0: unknown */
	/* The way to the CPU's clocks, for steal: se.cfs_rq in the task, rq in
	 * struct cfs_rq, clock and clock_task in struct rq; 0: not known. */
	uint32_t cfs_rq_off, cfs_rq_rq_off, rq_clock_off, rq_clock_task_off;
};

/* Reads them from /sys/kernel/btf/vmlinux; -1 where the kernel has no BTF. */
int kernel_task_layout(struct task_layout *out);

#endif
