#include "config.h"

#include "tool/report/format.h"

#include <inttypes.h>
#include <stdio.h>

#define NS_PER_S 1e9

void format_duration(uint64_t ns, char *buf, size_t len)
{
	if (ns < 1000000) /* under 1 ms: microseconds */
		snprintf(buf, len, "%" PRIu64 "us", (ns + 500) / 1000);
	else if (ns < 10000000)
		snprintf(buf, len, "%.2fms", (double)ns / 1e6);
	else if (ns < 1000000000)
		snprintf(buf, len, "%.1fms", (double)ns / 1e6);
	else if (ns < 100 * (uint64_t)1000000000)
		snprintf(buf, len, "%.2fs", (double)ns / NS_PER_S);
	else
		snprintf(buf, len, "%.0fs", (double)ns / NS_PER_S);
}
