// SPDX-License-Identifier: GPL-2.0-or-later
/* s-forkload [N [D]]: N forks (default 500), one after the other, while 4
 * workers allocate and free as fast as they can.
 * main leaks leak_parent (1 x 300 bytes) and allocates 10 blocks of 50
 * bytes in shared_alloc, which parent and children free differently.
 * Worker t leaks worker_leak (1 x 2000 + t bytes), then swaps blocks of
 * churn_alloc (32..1024 bytes, tagged as in s-sigload) in and out of a
 * shared ring of 64 slots, freeing the block it displaced, so a worker
 * holds at most one block outside the ring at any time.
 * Child i, a copy of main taken while the workers ran, frees every block
 * of its copy of the ring (checking each tag), frees shared blocks 0..5,
 * moves 6 and 7 to 80 bytes in child_realloc, allocates and frees 16
 * blocks in child_scratch, leaks child_leak (1 x 1000 + i bytes) and
 * child_calloc_leak (2 x 63 bytes, one call site); every Dth child
 * (i % D == 0; D is 100 by default, 0 for none: an untraced child has
 * given the signals back, they would kill it) then sends itself SIGUSR1
 * and SIGUSR2 and waits (3 s at most) until its dumps are in
 * $HEAPTRACE_OUTFILE.PID (two complete reports), as only a reporter thread
 * of its own can write them; then the child exit(0)s: traced, it writes
 * its own exit report.
 * Live in child i at exit: leak_parent 300 bytes; shared_alloc 2 blocks,
 * 100 bytes (peak 10 blocks, 500 bytes, from before the fork);
 * child_realloc 2 blocks, 160 bytes; worker_leak 4 blocks, 8,006 bytes;
 * child_leak 1000 + i bytes; child_calloc_leak 2 blocks, 126 bytes; and at
 * most 4 churn_alloc blocks (those the workers had in hand at the fork: a
 * child has no thread left to free them).
 * The parent waits for each child; after the last one it stops and joins
 * the workers, frees the ring and shared blocks 0..2, writes "forked N
 * failed F" (F: children that did not exit with status 0) and exits with
 * status 0 if F is 0, else 1.  Live in the parent at exit: leak_parent;
 * shared_alloc 7 blocks, 350 bytes (peak 10 blocks, 500 bytes);
 * worker_leak. */
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
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
static void *keep_parent, *keep_worker[NTHREADS], *keep_child[3], *shared[10];
static pthread_barrier_t started;
static int dump_every = 100;

static void bad(const char *what)
{
	char line[128];

	snprintf(line, sizeof(line), "s-forkload %d: %s\n", (int)getpid(), what);
	if (write(2, line, strlen(line)) < 0)
		_exit(9);
	_exit(9);
}

void *churn_alloc(size_t size)
{
	struct tag *t = malloc(size);

	if (!t)
		bad("allocation failed");
	t->magic = MAGIC;
	t->size = size;
	memset(t + 1, (int)(size & 0xff), size - sizeof(*t));
	return t;
}

static void release(void *p)
{
	struct tag *t = p;

	if (!p)
		return;
	if (t->magic != MAGIC || t->size < 32 || t->size > 1024 ||
	    ((unsigned char *)p)[t->size - 1] != (t->size & 0xff))
		bad("block damaged");
	t->magic = 0;
	free(p);
}

void leak_parent(void)
{
	keep_parent = malloc(300);
}

void shared_alloc(void)
{
	for (int k = 0; k < 10; k++)
		shared[k] = malloc(50);
}

void *child_realloc(void *p)
{
	return realloc(p, 80);
}

void worker_leak(int t)
{
	keep_worker[t] = malloc(2000 + (size_t)t);
}

void churn(int t)
{
	uint32_t x = 88172645u + (uint32_t)t * 104729u;

	while (!__atomic_load_n(&stop, __ATOMIC_RELAXED)) {
		void **slot;
		size_t size;

		x ^= x << 13;
		x ^= x >> 17;
		x ^= x << 5;
		slot = &ring[x % RING];
		size = 32 + ((x >> 8) % 63) * 16;
		if ((x >> 16) % 4)
			release(__atomic_exchange_n(slot, churn_alloc(size), __ATOMIC_ACQ_REL));
		else
			release(__atomic_exchange_n(slot, NULL, __ATOMIC_ACQ_REL));
	}
}

void *worker(void *arg)
{
	int t = (int)(intptr_t)arg;

	worker_leak(t);
	pthread_barrier_wait(&started);
	churn(t);
	return NULL;
}

void child_scratch(void)
{
	void *p[16];

	for (int i = 0; i < 16; i++)
		if (!(p[i] = malloc(64 + (size_t)i)))
			bad("allocation failed");
	for (int i = 15; i >= 0; i--)
		free(p[i]);
}

void child_leak(int i)
{
	keep_child[0] = malloc(1000 + (size_t)i);
}

void child_calloc_leak(void)
{
	for (int k = 1; k < 3; k++)
		keep_child[k] = calloc(7, 9);
}

/* complete reports in path: pairs of separator lines (65 '=') */
static int reports_in(const char *path)
{
	static char buf[1 << 16];
	char sep[67];
	int fd = open(path, O_RDONLY), seps = 0;
	ssize_t n = fd >= 0 ? read(fd, buf, sizeof(buf) - 1) : 0;

	if (fd >= 0)
		close(fd);
	buf[n > 0 ? n : 0] = '\0';
	memset(sep, '=', 65);
	strcpy(sep + 65, "\n");
	for (char *p = buf; (p = strstr(p, sep)); p += 66)
		seps++;
	return seps / 2;
}

void dump_self(void)
{
	const char *out = getenv("HEAPTRACE_OUTFILE");
	struct timespec tick = { 0, 1000000 };
	char path[4200];

	if (!out)
		return;
	snprintf(path, sizeof(path), "%s.%d", out, (int)getpid());
	kill(getpid(), SIGUSR1);
	kill(getpid(), SIGUSR2);
	for (int ms = 0; reports_in(path) < 2; ms++) {
		if (ms == 3000)
			bad("no dumps from the child's reporter");
		nanosleep(&tick, NULL);
	}
}

void child_main(int i)
{
	for (int s = 0; s < RING; s++)
		release(ring[s]);
	for (int k = 0; k < 6; k++)
		free(shared[k]);
	for (int k = 6; k < 8; k++)
		if (!(shared[k] = child_realloc(shared[k])))
			bad("realloc failed");
	child_scratch();
	child_leak(i);
	child_calloc_leak();
	if (dump_every && i % dump_every == 0)
		dump_self();
	exit(0);
}

int main(int argc, char **argv)
{
	int n = argc > 1 ? atoi(argv[1]) : 500, failed = 0;
	pthread_t th[NTHREADS];
	char line[64];

	if (argc > 2)
		dump_every = atoi(argv[2]);
	leak_parent();
	shared_alloc();
	pthread_barrier_init(&started, NULL, NTHREADS + 1);
	for (int t = 0; t < NTHREADS; t++)
		if (pthread_create(&th[t], NULL, worker, (void *)(intptr_t)t))
			return 1;
	pthread_barrier_wait(&started);
	for (int i = 0; i < n; i++) {
		pid_t pid = fork();
		int status;

		if (pid == 0)
			child_main(i);
		if (pid < 0 || waitpid(pid, &status, 0) != pid || !WIFEXITED(status) ||
		    WEXITSTATUS(status) != 0)
			failed++;
	}
	__atomic_store_n(&stop, 1, __ATOMIC_RELAXED);
	for (int t = 0; t < NTHREADS; t++)
		pthread_join(th[t], NULL);
	for (int s = 0; s < RING; s++)
		release(ring[s]);
	for (int k = 0; k < 3; k++)
		free(shared[k]);
	snprintf(line, sizeof(line), "forked %d failed %d\n", n, failed);
	if (write(1, line, strlen(line)) < 0)
		return 1;
	return failed ? 1 : 0;
}
