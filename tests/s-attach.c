// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * s-attach: a program that heaptrace --pid attaches to (test_attach.py).
 * It allocates two blocks, prints "ready" and waits for a line on stdin;
 * heaptrace attaches meanwhile.  Then, traced: 5 blocks of 300 bytes from
 * attach_site(), the first old block freed and the second reallocated to
 * 2000 bytes (both "freed before tracing"), "done"; at the end of stdin
 * it exits with status 3.
 *
 * With "threads": 8 threads allocate and free in a loop across the attach;
 * after the line each keeps 10 blocks of 64 bytes from thread_site().
 * With "plugin LIB": after the line, LIB is loaded, and after 0.5 s (the
 * redirection of objects loaded later takes at most 0.1 s) its
 * plugin_alloc(333) is kept.
 */
#include <dlfcn.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define THREADS 8

static void *keep[5], *from_plugin;
static void *kept[THREADS][10];
static volatile int phase; /* 0: churn, 1: keep and stop */

void *attach_site(size_t n)
{
	return malloc(n);
}

void *thread_site(size_t n)
{
	return malloc(n);
}

static void *worker(void *arg)
{
	void *(*k)[10] = arg;
	void *ring[16] = { 0 };
	unsigned i = 0;

	while (!phase) {
		free(ring[i % 16]);
		ring[i % 16] = malloc(16 + i % 512);
		i++;
	}
	for (int j = 0; j < 16; j++)
		free(ring[j]);
	for (int j = 0; j < 10; j++)
		(*k)[j] = thread_site(64);
	return NULL;
}

static void wait_line(void)
{
	char line[64];

	if (!fgets(line, sizeof(line), stdin))
		exit(1);
}

int main(int argc, char **argv)
{
	bool threads = argc > 1 && !strcmp(argv[1], "threads");
	pthread_t th[THREADS];
	char *old1 = malloc(1000), *old2 = malloc(500);

	memset(old1, 1, 1000);
	if (threads)
		for (int i = 0; i < THREADS; i++)
			pthread_create(&th[i], NULL, worker, kept[i]);
	printf("ready\n");
	fflush(stdout);
	wait_line();
	if (argc > 2 && !strcmp(argv[1], "plugin")) {
		void *h = dlopen(argv[2], RTLD_NOW);
		void *(*alloc)(size_t) = h ? (void *(*)(size_t))dlsym(h, "plugin_alloc") : NULL;

		nanosleep(&(struct timespec){ 0, 500000000 }, NULL);
		if (!alloc)
			return 1;
		from_plugin = alloc(333);
	}
	if (threads) {
		phase = 1;
		for (int i = 0; i < THREADS; i++)
			pthread_join(th[i], NULL);
	}
	for (int i = 0; i < 5; i++)
		keep[i] = attach_site(300);
	free(old1);
	old2 = realloc(old2, 2000);
	printf("done %d\n", old2 != NULL);
	fflush(stdout);
	while (getchar() != EOF)
		;
	return 3;
}
