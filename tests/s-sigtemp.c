// SPDX-License-Identifier: GPL-2.0-or-later
/* s-sigtemp: a SIGALRM handler allocates a block and frees it at once,
 * while main allocates and frees in a loop, so that the pair often comes
 * inside a hook of main's that holds a lock (its events are then queued,
 * libheaptrace.c).  main starts a 50 us timer, churns malloc/free
 * (churn_site, 16..65 bytes, warm in glibc's per-thread cache; the
 * handler's 300 bytes are of another size class) until the handler ran
 * 1,000 times, stops the timer and writes "pairs 1000".  Exit status 0.
 * Live at exit: nothing. */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/time.h>

#define N 1000

static volatile int pairs;

void *handler_site(void)
{
	return malloc(300);
}

static void on_alarm(int signo)
{
	(void)signo;
	if (pairs < N) {
		free(handler_site());
		pairs = pairs + 1;
	}
}

void *churn_site(size_t size)
{
	return malloc(size);
}

int main(void)
{
	struct sigaction sa;
	struct itimerval it = { { 0, 50 }, { 0, 50 } }, off = { { 0, 0 }, { 0, 0 } };

	free(handler_site()); /* its size class warm too */
	for (int i = 0; i < 50; i++)
		free(churn_site(16 + i));
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_alarm;
	sa.sa_flags = SA_RESTART;
	if (sigaction(SIGALRM, &sa, NULL) || setitimer(ITIMER_REAL, &it, NULL))
		return 1;
	while (pairs < N)
		for (int i = 0; i < 50; i++)
			free(churn_site(16 + i));
	setitimer(ITIMER_REAL, &off, NULL);
	printf("pairs %d\n", pairs);
	return 0;
}
