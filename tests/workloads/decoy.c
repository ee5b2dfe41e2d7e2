/* A decoy for gilstats: native threads that wait on their own condvar
 * (pthread_cond_timedwait, the very function CPython waits for the GIL
 * with) thousands of times a second, never touching the GIL. Loaded by
 * contention.py --decoy through ctypes. */
#define _GNU_SOURCE
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <sys/syscall.h>
#include <time.h>

/* Called through ctypes. */
int decoy_start(int npairs);
int decoy_tid(int i);
long long hold_sleep(unsigned us);
#include <unistd.h>

#define MAX_PAIRS 8

struct pair {
	pthread_mutex_t lock;
	pthread_cond_t ready;
	int flag;
	atomic_int tids[2];
};

static struct pair pairs[MAX_PAIRS];

static void deadline_in(struct timespec *ts, long ns)
{
	clock_gettime(CLOCK_REALTIME, ts);
	ts->tv_nsec += ns;
	if (ts->tv_nsec >= 1000000000L) {
		ts->tv_sec++;
		ts->tv_nsec -= 1000000000L;
	}
}

static void *waiter(void *arg)
{
	struct pair *p = arg;

	atomic_store(&p->tids[0], (int)syscall(SYS_gettid));
	for (;;) {
		struct timespec ts;
		pthread_mutex_lock(&p->lock);
		while (!p->flag) {
			deadline_in(&ts, 1000000);
			pthread_cond_timedwait(&p->ready, &p->lock, &ts);
		}
		p->flag = 0;
		pthread_mutex_unlock(&p->lock);
	}
	return NULL;
}

static void *signaller(void *arg)
{
	struct pair *p = arg;

	atomic_store(&p->tids[1], (int)syscall(SYS_gettid));
	for (;;) {
		usleep(100);
		pthread_mutex_lock(&p->lock);
		p->flag = 1;
		pthread_cond_signal(&p->ready);
		pthread_mutex_unlock(&p->lock);
	}
	return NULL;
}

int decoy_start(int npairs)
{
	for (int i = 0; i < npairs && i < MAX_PAIRS; i++) {
		struct pair *p = &pairs[i];
		pthread_t t;
		pthread_mutex_init(&p->lock, NULL);
		pthread_cond_init(&p->ready, NULL);
		if (pthread_create(&t, NULL, waiter, p) != 0 || pthread_create(&t, NULL, signaller, p) != 0)
			return -1;
		while (!atomic_load(&p->tids[0]) || !atomic_load(&p->tids[1]))
			usleep(1000);
	}
	return 0;
}

/* Kernel thread id of decoy thread i (waiter of pair i/2, then signaller). */
int decoy_tid(int i)
{
	if (i < 0 || i >= 2 * MAX_PAIRS)
		return -1;
	return atomic_load(&pairs[i / 2].tids[i % 2]);
}

/* Sleeps us microseconds in C and returns the nanoseconds that took.
 * Called through ctypes.PyDLL, which keeps the GIL, this is a holder's own
 * measure of the time it held the GIL while blocked (timed in Python, the
 * wait to take the GIL back after the call would count too). */
long long hold_sleep(unsigned us)
{
	struct timespec a, b;

	clock_gettime(CLOCK_MONOTONIC, &a);
	usleep(us);
	clock_gettime(CLOCK_MONOTONIC, &b);
	return (long long)(b.tv_sec - a.tv_sec) * 1000000000LL + (b.tv_nsec - a.tv_nsec);
}
