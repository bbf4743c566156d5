// SPDX-License-Identifier: GPL-2.0-or-later
/* s-coroutine [SIZE [DEPTH]]: a makecontext() coroutine on a stack of SIZE
 * bytes (default 4096) with an inaccessible page below it allocates, and
 * main and the coroutine swap 1000 times.  Each time, the coroutine first
 * calls down DEPTH frames of 64 bytes (default 0: stack left over for the
 * allocation) and there mallocs 32 bytes at co_alloc, then frees the
 * block of the time before.  It keeps its last block: 32 bytes at
 * co_alloc; main leaks 10 x 100 bytes at leak_main and writes "done". */
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <ucontext.h>
#include <unistd.h>

static ucontext_t main_ctx, co_ctx;
static void *old;
static int depth;
void *keep[10];

void *leak_main(void)
{
	return malloc(100);
}

__attribute__((noinline)) void co_alloc(void)
{
	void *p = malloc(32);

	free(old);
	old = p;
}

/* depth frames of 64 bytes each, then the allocation */
__attribute__((noinline)) void descend(int n)
{
	volatile char pad[48];

	pad[0] = (char)n;
	if (n > 0)
		descend(n - 1);
	else
		co_alloc();
	pad[1] = pad[0];
}

static void coroutine(void)
{
	for (;;) {
		descend(depth);
		swapcontext(&co_ctx, &main_ctx);
	}
}

int main(int argc, char **argv)
{
	size_t size = argc > 1 ? strtoul(argv[1], NULL, 0) : 4096;
	size_t page = (size_t)sysconf(_SC_PAGESIZE), span = (size + page - 1) / page * page;
	char *base;

	depth = argc > 2 ? atoi(argv[2]) : 0;
	base = mmap(NULL, page + span, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (base == MAP_FAILED)
		return 1;
	if (getcontext(&co_ctx))
		return 1;
	co_ctx.uc_stack.ss_sp = base + page + span - size;
	co_ctx.uc_stack.ss_size = size;
	co_ctx.uc_link = &main_ctx;
	if (mprotect(base, (size_t)((char *)co_ctx.uc_stack.ss_sp - base) / page * page, PROT_NONE))
		return 1;
	makecontext(&co_ctx, coroutine, 0);
	for (int i = 0; i < 10; i++)
		keep[i] = leak_main();
	free(malloc(32)); /* the lazy binding of free (2-3 KB of stack) done here */
	for (int i = 0; i < 1000; i++)
		if (swapcontext(&main_ctx, &co_ctx))
			return 1;
	if (write(1, "done\n", 5) != 5)
		return 1;
	return 0;
}
