// SPDX-License-Identifier: GPL-2.0-or-later
/* s-threads: 8 threads, released together by a barrier, allocate 500
 * blocks each from thread_alloc (thread t allocates blocks of 100 + t
 * bytes) into a shared array, all at one call site, so they update one
 * backtrace's counters concurrently; after a second barrier (all 4000
 * blocks live at once), thread t frees the 250 odd-numbered blocks of
 * thread (t + 1) % 8: every free is cross-thread.  All threads are joined
 * before main returns, so the 2000 kept blocks (250 of each size) are live
 * after the threads that allocated them exited.  A ninth thread runs
 * short_lived_leak (3 blocks of 333 bytes) and exits before the workers
 * start.  Live at exit: thread_alloc 2000 blocks of 250 x (800 + 28) =
 * 207000 bytes (peak 4000 blocks, 414000 bytes), short_lived_leak 3 x 333
 * bytes; glibc keeps the thread-local storage of cached thread stacks.
 * Exits 1 if a block is not where the program left it. */
#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>

#define NTHREADS 8
#define PER_THREAD 500

static void *blocks[NTHREADS][PER_THREAD];
static void *short_lived[3];
static pthread_barrier_t start, allocated;

void thread_alloc(int t)
{
	for (int i = 0; i < PER_THREAD; i++)
		blocks[t][i] = malloc(100 + (size_t)t);
}

void thread_free_neighbour(int t)
{
	int victim = (t + 1) % NTHREADS;

	for (int i = 1; i < PER_THREAD; i += 2) {
		free(blocks[victim][i]);
		blocks[victim][i] = NULL;
	}
}

void *worker(void *arg)
{
	int t = (int)(intptr_t)arg;

	pthread_barrier_wait(&start); /* all allocate at the same time */
	thread_alloc(t);
	pthread_barrier_wait(&allocated); /* every free comes after every malloc */
	thread_free_neighbour(t);
	return NULL;
}

void short_lived_leak(void)
{
	for (int i = 0; i < 3; i++)
		short_lived[i] = malloc(333);
}

void *short_lived_main(void *arg)
{
	short_lived_leak();
	return arg;
}

int main(void)
{
	pthread_t th[NTHREADS], one;

	if (pthread_create(&one, NULL, short_lived_main, NULL) || pthread_join(one, NULL))
		return 1;
	pthread_barrier_init(&start, NULL, NTHREADS);
	pthread_barrier_init(&allocated, NULL, NTHREADS);
	for (int t = 0; t < NTHREADS; t++)
		if (pthread_create(&th[t], NULL, worker, (void *)(intptr_t)t))
			return 1;
	for (int t = 0; t < NTHREADS; t++)
		pthread_join(th[t], NULL);
	pthread_barrier_destroy(&start);
	pthread_barrier_destroy(&allocated);
	for (int t = 0; t < NTHREADS; t++)
		for (int i = 0; i < PER_THREAD; i++)
			if ((blocks[t][i] == NULL) != (i % 2 == 1))
				return 1;
	return 0;
}
