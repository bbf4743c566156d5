// SPDX-License-Identifier: GPL-2.0-or-later
/* s-grow: heaps that only grow, for dumps taken while a backtrace sets a
 * new peak with every allocation.  main writes "ready PID" on stdout and
 * waits for a line on stdin (the tests start a signal storm meanwhile),
 * then starts 2 threads that grow twice: each allocates 450,000 blocks of
 * 1 byte from grow_block, called from grower's first call site (one
 * backtrace for both threads), and after a barrier frees its own blocks
 * but one (thread 0 keeps its first); after another barrier each allocates
 * 450,000 more from grow_block called from grower's second call site (a
 * second backtrace).  main joins them, writes "grown" and waits for stdin
 * to end; then it frees every block of the second growth but one, leaks
 * leak_marker (1 x 77 bytes) and exits 0.
 * Live while growing: each grow_block backtrace only grows, up to 900,000
 * blocks, 900,000 bytes (exact in the report's units), then only shrinks;
 * in every dump its count and size are at most its peaks.
 * Live at exit: leak_marker; each grow_block backtrace 1 block of 1 byte,
 * peak 900,000 blocks, 900,000 bytes, reached with both threads
 * allocating at once. */
#include <errno.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define NTHREADS 2
#define PER_THREAD 450000

static void *blocks[NTHREADS][PER_THREAD];
static void *keep, *keep_first;
static pthread_barrier_t grown;

void *grow_block(void)
{
	void *p = malloc(1);

	if (!p)
		_exit(9);
	return p;
}

void *grower(void *arg)
{
	int t = (int)(intptr_t)arg;

	for (int i = 0; i < PER_THREAD; i++)
		blocks[t][i] = grow_block();
	pthread_barrier_wait(&grown);
	for (int i = t == 0; i < PER_THREAD; i++) /* thread 0 keeps one */
		free(blocks[t][i]);
	pthread_barrier_wait(&grown);
	if (t == 0)
		keep_first = blocks[0][0];
	for (int i = 0; i < PER_THREAD; i++)
		blocks[t][i] = grow_block();
	return NULL;
}

void leak_marker(void)
{
	keep = malloc(77);
}

static void say(const char *s)
{
	if (write(1, s, strlen(s)) != (ssize_t)strlen(s))
		_exit(1);
}

int main(void)
{
	pthread_t th[NTHREADS];
	char line[64], c;
	ssize_t r;

	snprintf(line, sizeof(line), "ready %d\n", (int)getpid());
	say(line);
	while ((r = read(0, &c, 1)) < 0 || (r == 1 && c != '\n'))
		; /* a line (EINTR only if a handler without SA_RESTART ran) */
	pthread_barrier_init(&grown, NULL, NTHREADS);
	for (int t = 0; t < NTHREADS; t++)
		if (pthread_create(&th[t], NULL, grower, (void *)(intptr_t)t))
			return 1;
	for (int t = 0; t < NTHREADS; t++)
		pthread_join(th[t], NULL);
	say("grown\n");
	while ((r = read(0, &c, 1)) > 0 || (r < 0 && errno == EINTR))
		; /* until stdin ends */
	for (int t = 0; t < NTHREADS; t++)
		for (int i = t == 0; i < PER_THREAD; i++) /* one stays */
			free(blocks[t][i]);
	leak_marker();
	return 0;
}
