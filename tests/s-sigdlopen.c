// SPDX-License-Identifier: GPL-2.0-or-later
/* s-sigdlopen LIB: main loads and unloads LIB (dlopen/dlclose) for about
 * 20 ms while a SIGALRM handler allocates and frees every 50 us, so that
 * handlers run while the loader's locks are held.  Whatever a handler
 * does must not take the loader's lock that dl_iterate_phdr() takes: a
 * handler that interrupted the thread in the middle of taking or dropping
 * it would wait forever (libunwind finds objects with dl_iterate_phdr).
 * This program defines dl_iterate_phdr, before every library in the
 * lookup order, and counts the calls made inside its handler.  The
 * handler keeps one block of 200 bytes; main writes "done N", N such
 * calls.  (The handler's size class is one dlopen does not use, for
 * glibc's sake: see s-sigexit and main.) */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <link.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

static void *old;
static volatile sig_atomic_t in_handler, calls_in_handler;

typedef int (*iterate_fn)(int (*)(struct dl_phdr_info *, size_t, void *), void *);

int dl_iterate_phdr(int (*cb)(struct dl_phdr_info *, size_t, void *), void *data)
{
	static iterate_fn real;

	if (in_handler)
		calls_in_handler++;
	if (!real)
		real = (iterate_fn)dlsym(RTLD_NEXT, "dl_iterate_phdr");
	return real(cb, data);
}

static int first(struct dl_phdr_info *info, size_t size, void *data)
{
	(void)info;
	(void)size;
	(void)data;
	return 1;
}

static void on_alarm(int signo)
{
	void *p;

	(void)signo;
	in_handler = 1;
	p = malloc(200);
	free(old);
	old = p;
	in_handler = 0;
}

static double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

int main(int argc, char **argv)
{
	struct itimerval it = { { 0, 50 }, { 0, 50 } }, off = { { 0, 0 }, { 0, 0 } };
	struct sigaction sa;
	double end;

	if (argc < 2)
		return 2;
	/* one block kept and one in glibc's per-thread cache: each handler
	 * then takes a cached block and gives one back, and never reaches the
	 * arena's lock, which the main thread may hold in the middle of
	 * dlopen()'s calloc() (a handler that needed it would wait forever,
	 * with or without heaptrace) */
	old = malloc(200);
	free(malloc(200));
	dl_iterate_phdr(first, NULL); /* finds the real one outside the handler */
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_alarm;
	sa.sa_flags = SA_RESTART;
	if (sigaction(SIGALRM, &sa, NULL) || setitimer(ITIMER_REAL, &it, NULL))
		return 1;
	for (end = now() + 0.02; now() < end;) {
		void *h = dlopen(argv[1], RTLD_NOW | RTLD_LOCAL);

		if (!h || dlclose(h))
			return 1;
	}
	if (setitimer(ITIMER_REAL, &off, NULL))
		return 1;
	printf("done %d\n", (int)calls_in_handler);
	return 0;
}
