// SPDX-License-Identifier: GPL-2.0-or-later
/* s-exitload [storm]: exit() from a thread while the other threads allocate.
 * main leaks leak_known (1 x 4,242 bytes) and leak_site (64 blocks of 1 to
 * 64 bytes from 64 call sites: 64 backtraces, so that a report with all of
 * them takes more than one write to the output file); 4 workers each leak
 * worker_leak (1 x 500 + t bytes) and then allocate and free blocks of
 * 16..1024 bytes in worker_churn, in a loop that never ends, keeping at
 * most one block at a time.  A fifth thread, the exiter, waits until every
 * worker has done 20,000 rounds, writes "ready PID" on stdout (write(2))
 * and calls exit(3) while the workers run on and main waits in
 * pthread_join.
 * With "storm", the exiter first blocks in read() on stdin until it yields
 * a byte or ends (the tests start a signal storm meanwhile), then puts
 * 1,000 lines of 999 'x' and a newline into stdout's 1 MiB buffer (a
 * static one: nothing allocated), which exit() flushes after heaptrace's
 * exit report: the process ends only as fast as the reader of its stdout
 * reads.
 * Live at exit: leak_known 4,242 bytes, leak_site 64 x 1 block of 1..64
 * bytes, worker_leak 4 blocks, 2,006 bytes, and at most 4 worker_churn
 * blocks (one in hand per worker). */
#define _GNU_SOURCE
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define NTHREADS 4
#define ROUNDS 20000

static void *keep_known, *keep_worker[NTHREADS], *keep_site[64];
static long rounds[NTHREADS];
static int storm;
static char outbuf[1 << 20];

void leak_known(void)
{
	keep_known = malloc(4242);
}

/* site k: a call of its own, 1 block of k + 1 bytes */
#define SITE(k)                                     \
	case k:                                     \
		keep_site[k] = malloc(k + 1);       \
		break;
#define SITE4(k) SITE(k) SITE(k + 1) SITE(k + 2) SITE(k + 3)
#define SITE16(k) SITE4(k) SITE4(k + 4) SITE4(k + 8) SITE4(k + 12)

void leak_site(int k)
{
	switch (k) {
		SITE16(0)
		SITE16(16)
		SITE16(32)
		SITE16(48)
	}
}

void worker_leak(int t)
{
	keep_worker[t] = malloc(500 + (size_t)t);
}

void *worker_churn(size_t size)
{
	void *p = malloc(size);

	if (!p)
		_exit(9);
	memset(p, 0x5a, size);
	return p;
}

void *worker(void *arg)
{
	int t = (int)(intptr_t)arg;
	uint32_t x = 362436069u + (uint32_t)t;

	worker_leak(t);
	for (;;) {
		x ^= x << 13;
		x ^= x >> 17;
		x ^= x << 5;
		free(worker_churn(16 + (x % 64) * 16));
		__atomic_add_fetch(&rounds[t], 1, __ATOMIC_RELAXED);
	}
	return NULL;
}

void *exiter(void *arg)
{
	char line[1000], c;

	(void)arg;
	for (int t = 0; t < NTHREADS; t++)
		while (__atomic_load_n(&rounds[t], __ATOMIC_RELAXED) < ROUNDS)
			sched_yield();
	snprintf(line, sizeof(line), "ready %d\n", (int)getpid());
	if (write(1, line, strlen(line)) < 0)
		_exit(1);
	if (storm) {
		while (read(0, &c, 1) < 0)
			; /* EINTR only if a handler without SA_RESTART ran */
		memset(line, 'x', sizeof(line));
		for (int i = 0; i < 1000; i++)
			printf("%.999s\n", line);
	}
	exit(3);
}

int main(int argc, char **argv)
{
	pthread_t th[NTHREADS], ex;

	storm = argc > 1 && !strcmp(argv[1], "storm");
	if (setvbuf(stdout, outbuf, _IOFBF, sizeof(outbuf)))
		return 1;
	leak_known();
	for (int k = 0; k < 64; k++)
		leak_site(k);
	for (int t = 0; t < NTHREADS; t++)
		if (pthread_create(&th[t], NULL, worker, (void *)(intptr_t)t))
			return 1;
	if (pthread_create(&ex, NULL, exiter, NULL))
		return 1;
	pthread_join(ex, NULL);
	return 0; /* not reached: the exiter ends the process */
}
