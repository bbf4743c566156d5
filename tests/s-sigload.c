// SPDX-License-Identifier: GPL-2.0-or-later
/* s-sigload: allocation load for the signal storm.  main leaks leak_before
 * (1 x 100,000 bytes), then starts 4 workers; worker t leaks thread_leak
 * (1 x 1000 + t bytes) and then, until main tells it to stop, allocates and
 * frees as fast as it can through a shared ring of 64 slots: it puts a new
 * block from ring_malloc or ring_calloc into a slot and frees the block it
 * displaced, grows or shrinks a slot's block with ring_realloc, or empties a
 * slot; so most frees and reallocs are of blocks another thread allocated.
 * Blocks are 32..1024 bytes and carry a tag (magic, size, a fill byte) that
 * is checked before every free or realloc: a tracer that corrupted the heap
 * or handed a block out twice makes the program exit with status 9.
 * Once every worker has started, main writes "ready PID TID0 TID1 TID2 TID3"
 * (main's thread id is PID) on stdout and blocks in read() on stdin (the
 * tests send the storm meanwhile).  When stdin yields a byte or ends, main
 * stops and joins the workers, frees every block left in the ring, leaks
 * leak_after (1 x 3 bytes), writes "bye" and exits with status 5.
 * Live at exit: leak_before 100,000 bytes, thread_leak 4 blocks, 4,006
 * bytes, leak_after 3 bytes; nothing from the ring sites (at most 64 + 4
 * of their blocks are live at any time, one in hand per worker). */
#define _GNU_SOURCE
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define NTHREADS 4
#define RING 64
#define MAGIC 0x5a17c0de5a17c0deULL

struct tag {
	uint64_t magic;
	uint64_t size;
};

static void *ring[RING];
static int stop;
static void *keep_before, *keep_after, *keep_thread[NTHREADS];
static pid_t tids[NTHREADS];
static pthread_barrier_t started;

static void say(const char *s)
{
	size_t n = strlen(s);

	if (write(1, s, n) != (ssize_t)n)
		_exit(1);
}

static void bad(const char *what)
{
	char line[128];

	snprintf(line, sizeof(line), "s-sigload: %s\n", what);
	if (write(2, line, strlen(line)) < 0)
		_exit(9);
	_exit(9);
}

static void fill(void *p, size_t size, int zeroed)
{
	struct tag *t = p;

	if (!p)
		bad("allocation failed");
	if (zeroed)
		for (size_t i = 0; i < size; i++)
			if (((unsigned char *)p)[i])
				bad("calloc block not zeroed");
	t->magic = MAGIC;
	t->size = size;
	memset((char *)p + sizeof(*t), (int)(size & 0xff), size - sizeof(*t));
}

/* p is a live block of ours, exactly as it was filled; unmark it */
static void check(void *p)
{
	struct tag *t = p;
	const unsigned char *c = p;

	if (t->magic != MAGIC || t->size < 32 || t->size > 1024)
		bad("block tag damaged");
	if (c[t->size - 1] != (unsigned char)(t->size & 0xff))
		bad("block contents damaged");
	t->magic = 0;
}

void *ring_malloc(size_t size)
{
	void *p = malloc(size);

	fill(p, size, 0);
	return p;
}

void *ring_calloc(size_t size)
{
	void *p = calloc(1, size);

	fill(p, size, 1);
	return p;
}

void *ring_realloc(void *old, size_t size)
{
	size_t oldsize = ((struct tag *)old)->size;
	void *p;

	check(old);
	p = realloc(old, size);
	if (!p)
		bad("realloc failed");
	/* the common prefix moved with the block */
	if (((unsigned char *)p)[(oldsize < size ? oldsize : size) - 1] != (oldsize & 0xff))
		bad("realloc lost the contents");
	fill(p, size, 0);
	return p;
}

static void release(void *p)
{
	if (p) {
		check(p);
		free(p);
	}
}

void leak_before(void)
{
	keep_before = malloc(100000);
}

void leak_after(void)
{
	keep_after = malloc(3);
}

void thread_leak(int t)
{
	keep_thread[t] = malloc(1000 + (size_t)t);
}

static uint32_t next(uint32_t *x)
{
	*x ^= *x << 13;
	*x ^= *x >> 17;
	*x ^= *x << 5;
	return *x;
}

void churn(int t)
{
	uint32_t x = 2463534242u + (uint32_t)t * 7919u;

	while (!__atomic_load_n(&stop, __ATOMIC_RELAXED)) {
		uint32_t r = next(&x);
		void **slot = &ring[r % RING];
		size_t size = 32 + ((r >> 8) % 63) * 16;
		void *p;

		switch ((r >> 16) % 4) {
		case 0:
			release(__atomic_exchange_n(slot, ring_malloc(size), __ATOMIC_ACQ_REL));
			break;
		case 1:
			release(__atomic_exchange_n(slot, ring_calloc(size), __ATOMIC_ACQ_REL));
			break;
		case 2:
			p = __atomic_exchange_n(slot, NULL, __ATOMIC_ACQ_REL);
			if (p)
				release(__atomic_exchange_n(slot, ring_realloc(p, size),
							    __ATOMIC_ACQ_REL));
			break;
		default:
			release(__atomic_exchange_n(slot, NULL, __ATOMIC_ACQ_REL));
			break;
		}
	}
}

void *worker(void *arg)
{
	int t = (int)(intptr_t)arg;

	tids[t] = gettid();
	thread_leak(t);
	pthread_barrier_wait(&started);
	churn(t);
	return NULL;
}

int main(void)
{
	pthread_t th[NTHREADS];
	char line[128], c;
	ssize_t r;

	leak_before();
	pthread_barrier_init(&started, NULL, NTHREADS + 1);
	for (int t = 0; t < NTHREADS; t++)
		if (pthread_create(&th[t], NULL, worker, (void *)(intptr_t)t))
			return 1;
	pthread_barrier_wait(&started);
	snprintf(line, sizeof(line), "ready %d %d %d %d %d\n", (int)getpid(), (int)tids[0],
		 (int)tids[1], (int)tids[2], (int)tids[3]);
	say(line);
	while ((r = read(0, &c, 1)) < 0)
		; /* EINTR only if a handler without SA_RESTART ran */
	__atomic_store_n(&stop, 1, __ATOMIC_RELAXED);
	for (int t = 0; t < NTHREADS; t++)
		pthread_join(th[t], NULL);
	for (int i = 0; i < RING; i++)
		release(ring[i]);
	leak_after();
	say("bye\n");
	return 5;
}
