// SPDX-License-Identifier: GPL-2.0-or-later
/* s-views: call sites whose live bytes, peaks, calls and temporary
 * allocations (freed before their thread allocates or frees anything
 * else) all rank differently.  In the order they run:
 *   small_many    60 x 8 bytes, kept: 60 calls, 480 bytes live
 *   big_gone      20 x 10,000 bytes, freed in the order allocated: the
 *                 heap's peak (200,480 bytes in 80 blocks), nothing live
 *                 at exit, no temporary (the first free is not of the
 *                 last block allocated)
 *   temp_churn    40 x free(malloc(32)): 40 calls, 40 temporary
 *   pairs         10 x (two blocks of 24 bytes, freed last first): 20
 *                 calls, 10 temporary
 *   fifo          12 x (two blocks of 24 bytes, freed first first): 24
 *                 calls, no temporary (a free comes between the second
 *                 block's allocation and its free)
 *   grow_start    malloc(16), then grow_step reallocates it to 32, 64 and
 *                 128 bytes (kept): a realloc is the release of the old
 *                 block and the allocation of the new one, so grow_start
 *                 has 1 temporary and grow_step 2 (3 calls, 224 bytes)
 *   calloc_temp   5 x free(calloc(4, 25)): 5 calls, 500 bytes, 5 temporary
 *   failed_grow   twice malloc(40) and a realloc of it that fails (no
 *                 release, no call), then its free: temporary the first
 *                 time; not the second, when after_fail's malloc(8) (kept)
 *                 comes before the free: 2 calls, 80 bytes, 1 temporary
 * Since start: 176 calls, 203,644 bytes, 59 temporary.  No stdio: the
 * program's own blocks are all there is. */
#include <stdlib.h>

static void *kept[64], *grown, *kept_after;

void small_many(void)
{
	for (int i = 0; i < 60; i++)
		kept[i] = malloc(8);
}

void big_gone(void)
{
	void *p[20];

	for (int i = 0; i < 20; i++)
		p[i] = malloc(10000);
	for (int i = 0; i < 20; i++)
		free(p[i]);
}

void temp_churn(void)
{
	for (int i = 0; i < 40; i++)
		free(malloc(32));
}

/* two blocks from one call site; freed in the order given */
static void two(void *(*alloc)(size_t), int first, int rounds)
{
	for (int r = 0; r < rounds; r++) {
		void *p[2];

		for (int j = 0; j < 2; j++)
			p[j] = alloc(24);
		free(p[first]);
		free(p[!first]);
	}
}

void *pairs(size_t n)
{
	return malloc(n);
}

void *fifo(size_t n)
{
	return malloc(n);
}

void grow_start(void)
{
	grown = malloc(16);
}

void grow_step(void)
{
	for (size_t n = 32; n <= 128; n *= 2)
		grown = realloc(grown, n);
}

void calloc_temp(void)
{
	for (int i = 0; i < 5; i++)
		free(calloc(4, 25));
}

void *after_fail(void)
{
	return malloc(8);
}

void failed_grow(void)
{
	static volatile size_t huge = (size_t)-1 / 2;

	for (int r = 0; r < 2; r++) {
		void *p = malloc(40);

		if (realloc(p, huge))
			abort(); /* no heap is that big */
		if (r)
			kept_after = after_fail();
		free(p);
	}
}

int main(void)
{
	small_many();
	big_gone();
	temp_churn();
	two(pairs, 1, 10);
	two(fifo, 0, 12);
	grow_start();
	grow_step();
	calloc_temp();
	failed_grow();
	return 0;
}
