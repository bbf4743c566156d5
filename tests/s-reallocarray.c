// SPDX-License-Identifier: GPL-2.0-or-later
/* s-reallocarray: reallocarray as malloc (NULL), growing a block, freeing
 * (n = 0), failing on n * m overflow and failing on a huge product.  Live
 * at exit: 12 x 100 bytes from ra_as_malloc and 20 x 100 from ra_grow
 * (frame 0 reallocarray), 800 bytes from make_ra_keeper and 900 from
 * make_ra_keeper2 (frame 0 malloc: the failed calls left them alone).
 * make_ra_base, make_ra_zero_victim, ra_zero, ra_overflow and ra_huge have
 * nothing live.  Exits 1 if reallocarray does not behave as documented. */
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
	fprintf(stderr, "s-reallocarray: %s\n", what);
	bad = 1;
}

void *ra_as_malloc(void)
{
	return reallocarray(NULL, 12, 100);
}

void *make_ra_base(void)
{
	return malloc(100);
}

void *ra_grow(void *p)
{
	return reallocarray(p, 20, 100);
}

void *make_ra_zero_victim(void)
{
	return malloc(600);
}

void *ra_zero(void *p)
{
	return reallocarray(p, 0, 100);
}

void *make_ra_keeper(void)
{
	return malloc(800);
}

void *ra_overflow(void *p)
{
	volatile size_t n = SIZE_MAX / 2;

	return reallocarray(p, n, 3);
}

void *make_ra_keeper2(void)
{
	return malloc(900);
}

void *ra_huge(void *p)
{
	volatile size_t n = SIZE_MAX / 4;

	return reallocarray(p, n, 2); /* no overflow, but no such memory */
}

int main(void)
{
	char *p, *q;

	keep[0] = ra_as_malloc();
	if (!keep[0])
		fail("reallocarray(NULL, n, m) failed");

	p = make_ra_base();
	memset(p, 'b', 100);
	q = ra_grow(p);
	if (!q || memcmp(q, (char[100]){ [0 ... 99] = 'b' }, 100))
		fail("growth lost the contents");
	keep[1] = q;

	if (ra_zero(make_ra_zero_victim()) != NULL)
		fail("reallocarray(p, 0, m) did not return NULL");

	p = make_ra_keeper();
	memset(p, 'k', 800);
	errno = 0;
	if (ra_overflow(p) != NULL || errno != ENOMEM)
		fail("overflowing reallocarray did not fail with ENOMEM");
	if (memcmp(p, (char[800]){ [0 ... 799] = 'k' }, 800))
		fail("overflowing reallocarray changed the block");
	keep[2] = p;

	p = make_ra_keeper2();
	memset(p, 'h', 900);
	errno = 0;
	if (ra_huge(p) != NULL || errno != ENOMEM)
		fail("huge reallocarray did not fail with ENOMEM");
	if (memcmp(p, (char[900]){ [0 ... 899] = 'h' }, 900))
		fail("huge reallocarray changed the block");
	keep[3] = p;
	return bad;
}
