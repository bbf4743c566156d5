// SPDX-License-Identifier: GPL-2.0-or-later
/* s-altstack [SIZE]: a SIGALRM handler that allocates and frees runs on a
 * sigaltstack of SIZE bytes (default 8192, SIGSTKSZ) with an inaccessible
 * page below it, so that using more stack than SIZE is a SIGSEGV.  The
 * kernel's signal frame takes 1-3.5 KB of it (the size of the CPU's xsave
 * area).  main leaks 10 x 100 bytes at leak_main, churns for about 20 ms
 * while the timer fires every 50 us, stops the timer and writes "done": the
 * handler keeps its last block (200 bytes at on_alarm).  Sizes as in
 * s-sigexit, for glibc's sake. */
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

static void *old;
void *keep[10];

static void on_alarm(int signo)
{
	void *p = malloc(200);

	(void)signo;
	free(old);
	old = p;
}

void *leak_main(void)
{
	return malloc(100);
}

void *churn_site(size_t size)
{
	return malloc(size);
}

static double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

int main(int argc, char **argv)
{
	size_t size = argc > 1 ? strtoul(argv[1], NULL, 0) : 8192;
	size_t page = (size_t)sysconf(_SC_PAGESIZE), span = (size + page - 1) / page * page;
	struct itimerval it = { { 0, 50 }, { 0, 50 } }, off = { { 0, 0 }, { 0, 0 } };
	struct sigaction sa;
	stack_t ss;
	char *base;
	double end;

	/* the stack ends exactly at the top of the mapping, the guard page
	 * is right below its lowest byte */
	base = mmap(NULL, page + span, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (base == MAP_FAILED || mprotect(base, page, PROT_NONE))
		return 1;
	ss.ss_sp = base + page + span - size;
	ss.ss_size = size;
	ss.ss_flags = 0;
	if (mprotect(base, (size_t)((char *)ss.ss_sp - base) / page * page, PROT_NONE))
		return 1;
	if (sigaltstack(&ss, NULL))
		return 1;
	for (int i = 0; i < 10; i++)
		keep[i] = leak_main();
	for (size_t s = 16; s <= 96; s++)
		free(malloc(s));
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_alarm;
	sa.sa_flags = SA_RESTART | SA_ONSTACK;
	if (sigaction(SIGALRM, &sa, NULL) || setitimer(ITIMER_REAL, &it, NULL))
		return 1;
	for (end = now() + 0.02; now() < end;)
		for (int i = 0; i < 100; i++)
			free(churn_site(16 + i % 81));
	if (setitimer(ITIMER_REAL, &off, NULL))
		return 1;
	if (write(1, "done\n", 5) != 5)
		return 1;
	return 0;
}
