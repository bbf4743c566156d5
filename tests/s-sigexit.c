// SPDX-License-Identifier: GPL-2.0-or-later
/* s-sigexit: a SIGALRM handler that allocates and frees (every 50 us) goes on
 * firing while the program exits, so it runs during heaptrace's exit report.
 * The handler replaces its one block: on_alarm keeps 1 block of 200 bytes.
 * main leaks leak_main (100 x 100 bytes), arms the timer, churns
 * malloc/free (churn_site, 16..96 bytes) for about 20 ms so that the handler
 * also lands inside the hooks, writes "done" and returns 0 with the timer
 * running.  glibc's malloc is not async-signal-safe: main's sizes are warm
 * in its per-thread cache, and the handler's are of another size class, so
 * that the program runs without heaptrace every time. */
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

static void *old;
void *keep[100];

static void on_alarm(int signo)
{
	void *p = malloc(200);

	(void)signo;
	free(old);
	old = p;
}

void *leak_main(void)
{
	return malloc(100);
}

void *churn_site(size_t size)
{
	return malloc(size);
}

static double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

/* One block of each size main churns into glibc's per-thread cache. */
static void warm(void)
{
	for (size_t size = 16; size <= 96; size++)
		free(malloc(size));
}

int main(void)
{
	struct sigaction sa;
	struct itimerval it = { { 0, 50 }, { 0, 50 } };
	double end;

	for (int i = 0; i < 100; i++)
		keep[i] = leak_main();
	warm();
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_alarm;
	sa.sa_flags = SA_RESTART;
	if (sigaction(SIGALRM, &sa, NULL) || setitimer(ITIMER_REAL, &it, NULL))
		return 1;
	for (end = now() + 0.02; now() < end;)
		for (int i = 0; i < 100; i++)
			free(churn_site(16 + i % 81));
	if (write(1, "done\n", 5) != 5)
		return 1;
	return 0;
}
