// SPDX-License-Identifier: GPL-2.0-or-later
/* s-c-alloc: one successful call of every C allocator, each from its own
 * function, with a distinct requested size.  Live at exit: one block from
 * each leak_* function (malloc 1001, calloc 10 x 110, memalign 1400,
 * posix_memalign 1500, aligned_alloc 1664, valloc 1700, pvalloc 1800,
 * malloc 0 bytes); everything churn_all_kinds allocates is freed again.
 * Exits 1 if a result is NULL, misaligned or (calloc) not zeroed. */
#define _GNU_SOURCE
#include <malloc.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

static void *keep[8];
static int bad;

static void check(const char *what, void *p, size_t align)
{
	if (!p || (uintptr_t)p % align) {
		fprintf(stderr, "%s: bad result %p\n", what, p);
		bad = 1;
	}
}

void leak_malloc(void)
{
	keep[0] = malloc(1001);
	check("malloc", keep[0], 1);
}

void leak_calloc(void)
{
	unsigned char *p = calloc(10, 110);

	check("calloc", p, 1);
	for (int i = 0; p && i < 1100; i++)
		if (p[i])
			bad = 1;
	keep[1] = p;
}

void leak_memalign(void)
{
	keep[2] = memalign(128, 1400);
	check("memalign", keep[2], 128);
}

void leak_posix_memalign(void)
{
	if (posix_memalign(&keep[3], 256, 1500))
		keep[3] = NULL;
	check("posix_memalign", keep[3], 256);
}

void leak_aligned_alloc(void)
{
	keep[4] = aligned_alloc(64, 1664);
	check("aligned_alloc", keep[4], 64);
}

void leak_valloc(void)
{
	keep[5] = valloc(1700);
	check("valloc", keep[5], 4096);
}

void leak_pvalloc(void)
{
	keep[6] = pvalloc(1800);
	check("pvalloc", keep[6], 4096);
}

void leak_malloc0(void)
{
	keep[7] = malloc(0);
	check("malloc(0)", keep[7], 1);
}

/* 9 allocations, 100 + 2 x 100 + 300 + 400 + 500 + 600 + 700 + 800 + 900
 * = 4500 bytes, all freed. */
void churn_all_kinds(void)
{
	void *volatile none = NULL; /* or the compiler makes realloc a malloc */
	void *p;

	free(malloc(100));
	free(calloc(2, 100));
	free(realloc(none, 300));
	free(reallocarray(NULL, 4, 100));
	free(memalign(64, 500));
	if (posix_memalign(&p, 64, 600) == 0)
		free(p);
	free(aligned_alloc(64, 700));
	free(valloc(800));
	free(pvalloc(900));
	free(NULL);
}

int main(void)
{
	leak_malloc();
	leak_calloc();
	leak_memalign();
	leak_posix_memalign();
	leak_aligned_alloc();
	leak_valloc();
	leak_pvalloc();
	leak_malloc0();
	churn_all_kinds();
	return bad;
}
