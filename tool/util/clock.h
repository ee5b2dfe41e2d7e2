/* CLOCK_MONOTONIC, the clock of bpf_ktime_get_ns: intervals, deadlines and
 * the slices the BPF program times are all on it. */
#ifndef GILSTATS_CLOCK_H
#define GILSTATS_CLOCK_H

#include <stdint.h>
#include <time.h>

static inline uint64_t monotonic_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static inline double monotonic_s(void)
{
	return (double)monotonic_ns() / 1e9;
}

#endif
