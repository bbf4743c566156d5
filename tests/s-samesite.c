// SPDX-License-Identifier: GPL-2.0-or-later
/* s-samesite THREADS: THREADS threads (2 to 16), released together by a
 * barrier, allocate 500 blocks each from same_site (thread t: blocks of
 * 32 + t bytes), each allocation followed by a block taken and given back
 * at once (temporary_site, also shared); at a second barrier all of them
 * are live (same_site's peak: THREADS x 500 blocks), then each thread
 * frees 400 of its own and keeps 100.  Meanwhile thread 0 alone allocates
 * 100 blocks of 24 bytes from solo_site and frees 60 of them (peak 100,
 * 2400 bytes; 40 live).  While every block is live, main writes "held
 * PID" and waits for a line on stdin (the test takes a dump), the threads
 * waiting with it.  Live at exit: same_site THREADS x 100 blocks, 100 x
 * (THREADS x 32 + THREADS x (THREADS - 1) / 2) bytes; solo_site 40
 * blocks, 960 bytes.  test_stress.py::test_same_site_from_threads. */
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#define MAX_THREADS 16
#define PER_THREAD 500
#define KEPT 100
#define SOLO 100
#define SOLO_KEPT 40

static void *blocks[MAX_THREADS][PER_THREAD];
static void *solo[SOLO];
static pthread_barrier_t start, allocated, go;

__attribute__((noinline)) void *same_site(size_t size)
{
	return malloc(size);
}

__attribute__((noinline)) void temporary_site(void)
{
	free(malloc(8));
}

__attribute__((noinline)) void solo_site(void)
{
	for (int i = 0; i < SOLO; i++)
		solo[i] = malloc(24);
	for (int i = SOLO_KEPT; i < SOLO; i++)
		free(solo[i]);
}

static void *worker(void *arg)
{
	int t = (int)(intptr_t)arg;

	pthread_barrier_wait(&start);
	for (int i = 0; i < PER_THREAD; i++) {
		blocks[t][i] = same_site(32 + (size_t)t);
		temporary_site();
	}
	if (t == 0)
		solo_site();
	pthread_barrier_wait(&allocated);
	pthread_barrier_wait(&go);
	for (int i = KEPT; i < PER_THREAD; i++)
		free(blocks[t][i]);
	return NULL;
}

int main(int argc, char **argv)
{
	int n = argc > 1 ? atoi(argv[1]) : 2;
	pthread_t th[MAX_THREADS];

	if (n < 2 || n > MAX_THREADS)
		return 2;
	pthread_barrier_init(&start, NULL, (unsigned)n);
	pthread_barrier_init(&allocated, NULL, (unsigned)n + 1);
	pthread_barrier_init(&go, NULL, (unsigned)n + 1);
	for (int t = 0; t < n; t++)
		if (pthread_create(&th[t], NULL, worker, (void *)(intptr_t)t))
			return 1;
	pthread_barrier_wait(&allocated);
	printf("held %d\n", (int)getpid());
	fflush(stdout);
	while (getchar() != '\n' && !feof(stdin))
		;
	pthread_barrier_wait(&go);
	for (int t = 0; t < n; t++)
		pthread_join(th[t], NULL);
	return 0;
}
