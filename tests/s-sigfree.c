// SPDX-License-Identifier: GPL-2.0-or-later
/* s-sigfree: a SIGALRM handler frees blocks that main allocated earlier
 * while main allocates and frees in a loop, so frees arrive inside
 * heaptrace's hooks at every point.  main allocates 1,000 blocks of 500
 * bytes (pool_site), starts a 50 us timer whose handler frees one of them
 * per signal, churns malloc/free (churn_site, 16..65 bytes, warm in glibc's
 * per-thread cache, which is not async-signal-safe for one size class)
 * until all are freed, stops the timer and writes "freed 1000".  With the
 * argument "leak" it then leaks leak_one (1 x 777 bytes).  Exit status 0.
 * Live at exit: nothing, or the one block of leak_one. */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/time.h>
#include <unistd.h>

#define N 1000

static void *pool[N];
static volatile int next;

static void on_alarm(int signo)
{
	(void)signo;
	if (next < N) {
		free(pool[next]);
		next = next + 1;
	}
}

void *pool_site(void)
{
	return malloc(500);
}

void *churn_site(size_t size)
{
	return malloc(size);
}

void *leak_one(void)
{
	return malloc(777);
}

int main(int argc, char **argv)
{
	struct sigaction sa;
	struct itimerval it = { { 0, 50 }, { 0, 50 } }, off = { { 0, 0 }, { 0, 0 } };
	static void *kept;

	for (int i = 0; i < N; i++)
		pool[i] = pool_site();
	for (int i = 0; i < 50; i++)
		free(churn_site(16 + i));
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_alarm;
	sa.sa_flags = SA_RESTART;
	if (sigaction(SIGALRM, &sa, NULL) || setitimer(ITIMER_REAL, &it, NULL))
		return 1;
	while (next < N)
		for (int i = 0; i < 50; i++)
			free(churn_site(16 + i));
	setitimer(ITIMER_REAL, &off, NULL);
	printf("freed %d\n", next);
	if (argc > 1 && !strcmp(argv[1], "leak"))
		kept = leak_one();
	return kept == (void *)1;
}
