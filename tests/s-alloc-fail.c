// SPDX-License-Identifier: GPL-2.0-or-later
/* s-alloc-fail: every C allocator failing: calloc whose n * m overflows,
 * and malloc, calloc, memalign, aligned_alloc, valloc and pvalloc asked for
 * more than any allocator can give.  Each must return NULL with errno
 * ENOMEM and leave no record.  Live at exit: only 42 bytes from
 * leak_marker, so that a report is written.  Exits 1 on any unexpected
 * result. */
#define _GNU_SOURCE
#include <errno.h>
#include <malloc.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

static volatile size_t huge = SIZE_MAX / 2, two32 = (size_t)1 << 32;
static void *keep;
static int bad;

static void expect_enomem(const char *what, void *p)
{
	if (p || errno != ENOMEM) {
		fprintf(stderr, "s-alloc-fail: %s gave %p, errno %d\n", what, p, errno);
		bad = 1;
	}
}

void calloc_overflow(void)
{
	errno = 0;
	expect_enomem("calloc(SIZE_MAX/2, 3)", calloc(huge, 3));
	errno = 0;
	expect_enomem("calloc(3, SIZE_MAX/2)", calloc(3, huge));
	errno = 0;
	expect_enomem("calloc(2^32, 2^32)", calloc(two32, two32));
}

void huge_each_kind(void)
{
	errno = 0;
	expect_enomem("malloc", malloc(huge));
	errno = 0;
	expect_enomem("calloc", calloc(1, huge));
	errno = 0;
	expect_enomem("memalign", memalign(64, huge));
	errno = 0;
	expect_enomem("aligned_alloc", aligned_alloc(64, huge));
	errno = 0;
	expect_enomem("valloc", valloc(huge));
	errno = 0;
	expect_enomem("pvalloc", pvalloc(huge));
}

void leak_marker(void)
{
	keep = malloc(42);
}

int main(void)
{
	calloc_overflow();
	huge_each_kind();
	leak_marker();
	return bad;
}
