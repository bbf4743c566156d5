// SPDX-License-Identifier: GPL-2.0-or-later
/* s-stackuse: how many bytes of stack each kind of call takes below its
 * caller, traced or not: the difference is heaptrace's.  The stack below
 * the measuring frame is painted, the call made, and the deepest byte
 * that changed found.  Writes "NAME BYTES" per line:
 *   malloc-new    malloc at a site seen for the first time (new backtrace,
 *                 rules learned)
 *   malloc-known  malloc at that site again (the hot path)
 *   free, calloc, realloc
 *   coroutine     malloc on a makecontext() stack (heaptrace hands that
 *                 backtrace to libunwind: the frame of __start_context is
 *                 not one its walk takes), the first time and again */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <ucontext.h>

#define PAINT 0xa5
#define SPAN (128 * 1024)

static void *block;

__attribute__((noinline)) static void do_malloc(void) { block = malloc(40); }
__attribute__((noinline)) static void do_free(void) { free(block); }
__attribute__((noinline)) static void do_calloc(void) { block = calloc(5, 8); }
__attribute__((noinline)) static void do_realloc(void) { block = realloc(block, 4000); }

/* Bytes of stack below this frame that fn() wrote. */
__attribute__((noinline)) static size_t measure(void (*fn)(void))
{
	volatile unsigned char *top = __builtin_frame_address(0);
	volatile unsigned char *lo = top - SPAN;
	volatile unsigned char *p;

	/* below what this frame uses (its locals, at -O0) */
	for (p = lo; p < top - 256; p++)
		*p = PAINT;
	fn();
	for (p = lo; p < top - 256 && *p == PAINT; p++)
		;
	return (size_t)(top - p);
}

static ucontext_t main_ctx, co_ctx;
static unsigned char *co_stack;
static size_t co_size = SPAN;

static void coroutine(void)
{
	block = malloc(24);
	free(block);
	block = malloc(24);
}

/* Bytes of the coroutine's stack that one run of it wrote. */
static size_t measure_coroutine(void)
{
	size_t used;

	memset(co_stack, PAINT, co_size);
	getcontext(&co_ctx);
	co_ctx.uc_stack.ss_sp = co_stack;
	co_ctx.uc_stack.ss_size = co_size;
	co_ctx.uc_link = &main_ctx;
	makecontext(&co_ctx, coroutine, 0);
	swapcontext(&main_ctx, &co_ctx);
	for (used = co_size; used && co_stack[co_size - used] == PAINT; used--)
		;
	for (used = 0; used < co_size && co_stack[used] == PAINT; used++)
		;
	return co_size - used;
}

/* fn measured twice from the same place: the first time, its backtrace
 * is new to heaptrace; the second, it is known */
static void twice(const char *name, void (*fn)(void), void (*after)(void))
{
	for (int i = 0; i < 2; i++) {
		size_t used = measure(fn);

		printf("%s-%s %zu\n", name, i ? "known" : "new", used);
		if (after)
			after();
	}
}

static void release(void)
{
	free(block);
}

static void alloc(void)
{
	block = malloc(40);
}

static void renew(void)
{
	release();
	alloc();
}

int main(void)
{
	co_stack = mmap(NULL, co_size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (co_stack == MAP_FAILED)
		return 1;
	/* glibc's first calls for a size set up its caches: not measured */
	free(malloc(24));
	free(malloc(40));
	free(calloc(5, 8));
	free(realloc(malloc(40), 4000));
	twice("malloc", do_malloc, release);
	alloc();
	twice("free", do_free, alloc);
	release();
	twice("calloc", do_calloc, release);
	alloc();
	twice("realloc", do_realloc, renew);
	release();
	for (int i = 0; i < 2; i++)
		printf("coroutine-%s %zu\n", i ? "known" : "new", measure_coroutine());
	return 0;
}
