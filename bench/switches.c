/* A context-switch-heavy process that is not the target: two processes
 * hand a byte back and forth over pipes for the given seconds, printing
 * round trips per second. Every round trip is two context switches, so
 * this measures what gilstats' sched_switch program costs the rest of the
 * host (it runs at every context switch on the machine). */
#define _GNU_SOURCE
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/wait.h>
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
	double seconds = argc > 1 ? atof(argv[1]) : 3.0, start, end;
	int ping[2], pong[2];
	unsigned long trips = 0;
	char c = 0;
	pid_t child;

	if (pipe(ping) != 0 || pipe(pong) != 0)
		return 1;
	if ((child = fork()) == 0) {
		while (read(ping[0], &c, 1) == 1 && write(pong[1], &c, 1) == 1)
			;
		_exit(0);
	}
	start = now();
	end = start + seconds;
	while (now() < end) {
		for (int i = 0; i < 100; i++)
			if (write(ping[1], &c, 1) != 1 || read(pong[0], &c, 1) != 1)
				return 1;
		trips += 100;
	}
	printf("rate %.1f\n", (double)trips / (now() - start));
	kill(child, SIGKILL);
	waitpid(child, NULL, 0);
	return 0;
}
