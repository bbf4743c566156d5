// SPDX-License-Identifier: GPL-2.0-or-later
/* s-sigalloc: a SIGALRM handler allocates blocks and keeps them while main
 * allocates and frees in a loop, so allocations arrive inside heaptrace's
 * hooks at every point.  A 50 us timer; each signal's handler, on_alarm,
 * keeps 1 block of 300 bytes (handler_site), until it has 1,000 of them;
 * main churns malloc/free (churn_site, 16..65 bytes, warm in glibc's
 * per-thread cache, which is not async-signal-safe for one size class)
 * meanwhile, then stops the timer and writes "kept 1000".  Exit status 0.
 * Live at exit: 1,000 x 300 bytes, all from handler_site called by
 * on_alarm. */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/time.h>
#include <unistd.h>

#define N 1000

static void *kept[N];
static volatile int nkept;

void *handler_site(void)
{
	return malloc(300);
}

static void on_alarm(int signo)
{
	(void)signo;
	if (nkept < N) {
		kept[nkept] = handler_site();
		nkept = nkept + 1;
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

	for (int i = 0; i < 50; i++)
		free(churn_site(16 + i));
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_alarm;
	sa.sa_flags = SA_RESTART;
	if (sigaction(SIGALRM, &sa, NULL) || setitimer(ITIMER_REAL, &it, NULL))
		return 1;
	while (nkept < N)
		for (int i = 0; i < 50; i++)
			free(churn_site(16 + i));
	setitimer(ITIMER_REAL, &off, NULL);
	printf("kept %d\n", nkept);
	return 0;
}
