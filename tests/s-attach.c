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
 * With "signals": after the line, a SIGALRM handler that a 50 us timer
 * runs keeps 1,000 blocks of 300 bytes (handler_site) while the thread
 * allocates and frees in a loop, so that its allocations come inside the
 * hooks (queued); then deep(20) keeps one block of 777 bytes from under
 * 20 frames of deep() (a --depth beyond the build's DEPTH).
 * With "spawn N": after the line, N threads one after another, each
 * freeing what deep(20) allocated.
 * With "fork": after the line, a child keeps 3 blocks of 700 bytes from
 * child_site() and exits with status 5; the parent waits for it and
 * prints "child 5".
 */
#include <dlfcn.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <signal.h>
#include <string.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define THREADS 8

static void *keep[5], *from_plugin;
static void *kept[THREADS][10];
static volatile int phase; /* 0: churn, 1: keep and stop */
static void *from_handler[1000], *from_deep, *kept_by_child[3];
static volatile int nhandler;

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

void *handler_site(void)
{
	return malloc(300);
}

static void on_alarm(int signo)
{
	(void)signo;
	if (nhandler < 1000) {
		from_handler[nhandler] = handler_site();
		nhandler = nhandler + 1;
	}
}

/* n frames of deep() above the allocation: not a tail call */
__attribute__((noinline)) void *deep(int n)
{
	void *p = n ? deep(n - 1) : malloc(777);

	__asm__ volatile("" ::: "memory");
	return p;
}

static int signals(void)
{
	struct sigaction sa = { .sa_handler = on_alarm, .sa_flags = SA_RESTART };
	struct itimerval it = { { 0, 50 }, { 0, 50 } }, off = { { 0, 0 }, { 0, 0 } };

	if (sigaction(SIGALRM, &sa, NULL) || setitimer(ITIMER_REAL, &it, NULL))
		return 1;
	while (nhandler < 1000)
		for (int i = 0; i < 50; i++)
			free(malloc(16 + i));
	setitimer(ITIMER_REAL, &off, NULL);
	from_deep = deep(20);
	return 0;
}

static void *spawned(void *arg)
{
	(void)arg;
	free(deep(20));
	return NULL;
}

static int spawn(int n)
{
	for (int i = 0; i < n; i++) {
		pthread_t t;

		if (pthread_create(&t, NULL, spawned, NULL) || pthread_join(t, NULL))
			return 1;
	}
	return 0;
}

void *child_site(size_t n)
{
	return malloc(n);
}

static int fork_child(void)
{
	int status;
	pid_t pid = fork();

	if (pid == 0) {
		for (int i = 0; i < 3; i++)
			kept_by_child[i] = child_site(700);
		exit(5);
	}
	if (pid < 0 || waitpid(pid, &status, 0) != pid)
		return 1;
	printf("child %d\n", WIFEXITED(status) ? WEXITSTATUS(status) : -1);
	return 0;
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
	if (argc > 1 && !strcmp(argv[1], "signals") && signals())
		return 1;
	if (argc > 2 && !strcmp(argv[1], "spawn") && spawn(atoi(argv[2])))
		return 1;
	if (argc > 1 && !strcmp(argv[1], "fork") && fork_child())
		return 1;
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
