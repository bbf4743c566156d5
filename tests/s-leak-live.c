// SPDX-License-Identifier: GPL-2.0-or-later
/* s-leak-live: leak classification while the program runs
 * (test_leaks.py::test_scan_while_threads_allocate).  Each of THREADS
 * threads leaks LEAKS blocks of 40 bytes (leak_some), wipes what that left
 * on its stack, then replaces blocks of a ring of its own (a global,
 * reachable) as fast as it can until stdin closes.  Every scan, whenever it
 * stops them, must find exactly THREADS * LEAKS blocks leaked: a block
 * between malloc() and its store into the ring is in a register or on the
 * thread's stack.  The workers block every signal (ptrace stops them all
 * the same), and one more thread starts short-lived threads that allocate,
 * free and exit, so that scans meet threads being born and exiting.  main
 * prints "ready" once every worker has leaked. */
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include "leak.h"

#define THREADS 8
#define SLOTS 64
#define LEAKS 3

static void *ring[THREADS][SLOTS];
static volatile int stop;
static int ready;

__attribute__((noinline)) static void leak_some(void)
{
	for (int i = 0; i < LEAKS; i++) {
		char *volatile p = malloc(40);

		p[0] = 1;
		p = NULL;
	}
}

static void *brief(void *arg)
{
	free(malloc(64));
	return arg;
}

/* Threads that come and go while the scans stop the others. */
static void *spawner(void *arg)
{
	while (!stop) {
		pthread_t t;

		if (pthread_create(&t, NULL, brief, NULL) == 0)
			pthread_join(t, NULL);
	}
	return arg;
}

static void *worker(void *arg)
{
	long t = (long)arg;
	unsigned seed = (unsigned)t + 1;
	sigset_t all;

	sigfillset(&all);
	pthread_sigmask(SIG_BLOCK, &all, NULL);

	leak_some();
	LEAK_WIPE();
	__atomic_add_fetch(&ready, 1, __ATOMIC_RELEASE);
	while (!stop) {
		int i = rand_r(&seed) % SLOTS;
		void *old = ring[t][i];

		ring[t][i] = malloc(16 + rand_r(&seed) % 200);
		free(old);
	}
	return NULL;
}

int main(void)
{
	pthread_t th[THREADS], sp;
	char buf[64];

	for (long t = 0; t < THREADS; t++)
		pthread_create(&th[t], NULL, worker, (void *)t);
	pthread_create(&sp, NULL, spawner, NULL);
	while (__atomic_load_n(&ready, __ATOMIC_ACQUIRE) < THREADS)
		usleep(1000);
	write(1, "ready\n", 6);
	while (read(0, buf, sizeof(buf)) > 0)
		;
	stop = 1;
	for (int t = 0; t < THREADS; t++)
		pthread_join(th[t], NULL);
	pthread_join(sp, NULL);
	for (int t = 0; t < THREADS; t++)
		for (int i = 0; i < SLOTS; i++)
			free(ring[t][i]);
	return 0;
}
