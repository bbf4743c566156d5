// SPDX-License-Identifier: GPL-2.0-or-later
/* s-realloc: realloc growing a block, shrinking one in place, acting as
 * malloc (NULL), freeing (size 0) and failing (a size no allocator can
 * give).  Live at exit: 2000 bytes from grow_block, 30 from shrink_block,
 * 1200 from realloc_as_malloc (frame 0 realloc each), 700 from make_keeper
 * (frame 0 malloc: the failed realloc left it alone).  make_base,
 * make_shrink_base, make_zero_victim and realloc_to_zero have nothing live.
 * Exits 1 if realloc does not behave as glibc documents. */
#define _GNU_SOURCE
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void *keep[4];
static int bad;

static void fail(const char *what)
{
	fprintf(stderr, "s-realloc: %s\n", what);
	bad = 1;
}

void *make_base(void)
{
	return malloc(100);
}

void *grow_block(void *p)
{
	return realloc(p, 2000);
}

void *make_shrink_base(void)
{
	return malloc(3000);
}

void *shrink_block(void *p)
{
	return realloc(p, 30);
}

void *realloc_as_malloc(void)
{
	void *volatile none = NULL; /* or the compiler makes it a malloc call */

	return realloc(none, 1200);
}

void *make_zero_victim(void)
{
	return malloc(500);
}

void *realloc_to_zero(void *p)
{
	return realloc(p, 0);
}

void *make_keeper(void)
{
	return malloc(700);
}

void *realloc_huge(void *p)
{
	volatile size_t huge = SIZE_MAX / 2;

	return realloc(p, huge);
}

int main(void)
{
	char *p = make_base(), *q;

	memset(p, 'a', 100);
	q = grow_block(p);
	if (!q || memcmp(q, (char[100]){ [0 ... 99] = 'a' }, 100))
		fail("growth lost the contents");
	keep[0] = q;

	p = make_shrink_base();
	q = shrink_block(p);
	if (q != p) /* glibc shrinks in place: the address is reused at once */
		fail("shrink moved the block");
	keep[1] = q;

	keep[2] = realloc_as_malloc();
	if (!keep[2])
		fail("realloc(NULL, n) failed");

	if (realloc_to_zero(make_zero_victim()) != NULL)
		fail("realloc(p, 0) did not return NULL");

	p = make_keeper();
	memset(p, 'k', 700);
	errno = 0;
	if (realloc_huge(p) != NULL || errno != ENOMEM)
		fail("huge realloc did not fail with ENOMEM");
	if (memcmp(p, (char[700]){ [0 ... 699] = 'k' }, 700))
		fail("failed realloc changed the block");
	keep[3] = p;
	return bad;
}
