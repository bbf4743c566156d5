// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * Frames of every shape the default unwinder meets in optimized code, built
 * -O2 without frame pointers: rsp-based frames that push and pop, an rbp
 * frame around a variable-length array, a realigned stack (the CFA is an
 * expression: libunwind's), a signal frame (libunwind's), libc's qsort
 * calling back, and threads.  Each site allocates ROUNDS blocks; the test
 * compares the walk with libunwind's (--unwind=check).
 */
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define ROUNDS 3

static volatile int sink;
static void *keep[64];
static int nkeep;

static __attribute__((noinline)) void keep_block(void *p)
{
	keep[nkeep++ % 64] = p;
	__asm__ volatile("" ::: "memory");
}

/* rsp-based: callee-saved registers pushed, the CFA moves with each push */
static __attribute__((noinline)) long pushy(int depth, long a, long b)
{
	long c = a * 3 + b, d = b ^ a;

	if (depth == 0) {
		keep_block(malloc(16 + (size_t)(c & 7)));
		return c + d;
	}
	c += pushy(depth - 1, c, d) * 2;
	return c - d + sink;
}

/* an rbp frame in optimized code: the variable-length array needs one */
static __attribute__((noinline)) void vla(int n)
{
	char buf[n];

	memset(buf, n, (size_t)n);
	keep_block(malloc((size_t)buf[n - 1] + 32));
	sink += buf[0];
}

/* a realigned stack and a variable-length array: gcc keeps the incoming
 * frame in r10 and defines the CFA by an expression */
static __attribute__((noinline)) void aligned(int n)
{
	char buf[256] __attribute__((aligned(64)));
	char v[n];

	memset(buf, 1, sizeof(buf));
	memset(v, 2, (size_t)n);
	__asm__ volatile("" : : "r"(buf), "r"(v) : "memory");
	keep_block(malloc(48));
	sink += buf[3];
}

static void *volatile last;

static int cmp(const void *a, const void *b)
{
	last = malloc(8); /* from inside libc's qsort */
	free(last);
	return *(const int *)a - *(const int *)b;
}

static void on_signal(int sig)
{
	keep_block(malloc(64)); /* the stack crosses the signal frame */
	(void)sig;
}

static void *thread_main(void *arg)
{
	pushy(3, (long)arg, 1);
	vla(40);
	return NULL;
}

int main(void)
{
	int v[32];
	pthread_t t;

	signal(SIGUSR1, on_signal);
	for (int r = 0; r < ROUNDS; r++) {
		pushy(6, r, 2);
		vla(24);
		aligned(r + 10);
		raise(SIGUSR1);
		for (int i = 0; i < 32; i++)
			v[i] = (i * 7919) % 32;
		qsort(v, 32, sizeof(int), cmp);
		pthread_create(&t, NULL, thread_main, (void *)(long)r);
		pthread_join(t, NULL);
	}
	printf("kept %d\n", nkeep);
	return 0;
}
