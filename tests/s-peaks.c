// SPDX-License-Identifier: GPL-2.0-or-later
/* s-peaks: live counts that fall and rise again at one call site each.
 *  - site_five_two: 5 x 40 bytes, all freed, then 2 x 40: 2/5, 80/200 bytes
 *  - site_ten_three: 10 x 64 bytes, 7 freed: 3/10, 192/640 bytes
 *  - site_mixed: 1 x 1000 bytes freed, then 4 x 10 bytes, 3 freed: the peak
 *    count (4) and the peak size (1000 bytes) come from different moments:
 *    1/4, 10 bytes/1000 bytes
 *  - site_all_freed: 6 x 30 bytes, all freed: not live, not reported.
 * Each site is one malloc call reached through one call path, so each is
 * one backtrace.  Allocations since start: 5 + 2 + 10 + 1 + 4 + 6 = 28
 * calls, 200 + 80 + 640 + 1000 + 40 + 180 = 2140 bytes. */
#include <stdlib.h>

static void *a[10], *b[10], *c[4], *d[6];

void site_five_two(int n)
{
	for (int i = 0; i < n; i++)
		a[i] = malloc(40);
}

void site_ten_three(int n)
{
	for (int i = 0; i < n; i++)
		b[i] = malloc(64);
}

void site_mixed(int n, size_t size)
{
	for (int i = 0; i < n; i++)
		c[i] = malloc(size);
}

void site_all_freed(int n)
{
	for (int i = 0; i < n; i++)
		d[i] = malloc(30);
}

static void release(void **v, int from, int to)
{
	for (int i = from; i < to; i++)
		free(v[i]);
}

int main(void)
{
	static const int five_two[] = { 5, 2 };
	static const struct {
		int n;
		size_t size;
	} mixed[] = { { 1, 1000 }, { 4, 10 } };

	for (int r = 0; r < 2; r++) {
		site_five_two(five_two[r]);
		if (r == 0)
			release(a, 0, 5);
	}

	site_ten_three(10);
	release(b, 3, 10);

	for (int r = 0; r < 2; r++) {
		site_mixed(mixed[r].n, mixed[r].size);
		release(c, r == 0 ? 0 : 1, r == 0 ? 1 : 4);
	}

	site_all_freed(6);
	release(d, 0, 6);
	return 0;
}
