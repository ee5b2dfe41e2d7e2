/* A syscall-heavy process that is not the target: getppid() in a loop for
 * the given seconds, printing calls per second. Measures what tracing a
 * Python process costs the rest of the host (raw syscall tracepoints run
 * for every syscall on the machine). */
#define _GNU_SOURCE
#include <stdio.h>
#include <stdlib.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

static double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

int main(int argc, char **argv)
{
	double seconds = argc > 1 ? atof(argv[1]) : 3.0, start = now(), end = start + seconds;
	unsigned long calls = 0;

	while (now() < end) {
		for (int i = 0; i < 1000; i++)
			syscall(SYS_getppid);
		calls += 1000;
	}
	printf("rate %.1f\n", (double)calls / (now() - start));
	return 0;
}
