// SPDX-License-Identifier: GPL-2.0-or-later
/* s-signal: a long-running program for the SIGUSR1/SIGUSR2 dumps.  Leaks
 * big_one (1 x 100,000 bytes) and many_small (500 x 8 bytes), so size and
 * count rank them differently; starts two threads that block in
 * pthread_cond_wait, writes "ready" on stdout and blocks in read() on stdin:
 * every thread of the program sits in a system call.  When stdin yields a
 * byte or ends, it leaks after_read (3 bytes), wakes and joins the threads,
 * writes "bye" and exits with status 7. */
#include <pthread.h>
#include <stdlib.h>
#include <unistd.h>

static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t cond = PTHREAD_COND_INITIALIZER;
static int quit;
void *keep[600];
int nkeep;

void big_one(void)
{
	keep[nkeep++] = malloc(100000);
}

void many_small(void)
{
	for (int i = 0; i < 500; i++)
		keep[nkeep++] = malloc(8);
}

void after_read(void)
{
	keep[nkeep++] = malloc(3);
}

void *waiter(void *arg)
{
	(void)arg;
	pthread_mutex_lock(&lock);
	while (!quit)
		pthread_cond_wait(&cond, &lock);
	pthread_mutex_unlock(&lock);
	return NULL;
}

static void say(const char *s, size_t n)
{
	if (write(1, s, n) != (ssize_t)n)
		exit(1);
}

int main(void)
{
	pthread_t th[2];
	char c;

	big_one();
	many_small();
	for (int i = 0; i < 2; i++)
		if (pthread_create(&th[i], NULL, waiter, NULL))
			return 1;
	say("ready\n", 6);
	while (read(0, &c, 1) < 0)
		; /* EINTR only if a handler without SA_RESTART ran */
	after_read();
	pthread_mutex_lock(&lock);
	quit = 1;
	pthread_cond_broadcast(&cond);
	pthread_mutex_unlock(&lock);
	for (int i = 0; i < 2; i++)
		pthread_join(th[i], NULL);
	say("bye\n", 4);
	return 7;
}
