// SPDX-License-Identifier: GPL-2.0-or-later
/* s-pprof: known backtraces for --format=pprof (test_pprof.py), each
 * with its own allocations since start, live blocks and leaked ones:
 *   site_live     3 x 100 bytes, kept in a global: live, reachable
 *   site_churn    4 x 1000 bytes, 3 freed: 1 live (1000 bytes)
 *   inner_inl     always inlined into outer_inl, twice: 2 x 50
 *                 bytes, live; the report shows the inlined frame
 *   site_freed    5 x 7 bytes, all freed: allocated, not live
 *   site_leak     2 x 64 bytes, the pointers dropped: leaked
 * Live at exit: 300 + 1000 + 100 + 128 = 1528 bytes in 8 blocks.
 * "@name" marks the line each frame must give.  With an argument N, it
 * then sleeps N seconds (signal dumps while it runs). */
#include <stdlib.h>
#include <unistd.h>

#include "leak.h"

void *kept[8];

__attribute__((noinline)) void site_live(void)
{
	for (int i = 0; i < 3; i++)
		kept[i] = malloc(100); /* @site_live */
}

__attribute__((noinline)) void site_churn(void)
{
	void *p[4];

	for (int i = 0; i < 4; i++)
		p[i] = malloc(1000); /* @site_churn */
	for (int i = 1; i < 4; i++)
		free(p[i]);
	kept[3] = p[0];
}

static inline __attribute__((always_inline)) void *inner_inl(void)
{
	return malloc(50); /* @inner_inl */
}

__attribute__((noinline)) void outer_inl(void)
{
	kept[4] = inner_inl(); /* @outer_inl */
	kept[5] = inner_inl(); /* @outer_inl2 */
}

__attribute__((noinline)) void site_freed(void)
{
	for (int i = 0; i < 5; i++)
		free(malloc(7)); /* @site_freed */
}

__attribute__((noinline)) void site_leak(void)
{
	for (int i = 0; i < 2; i++) {
		void *volatile p = malloc(64); /* @site_leak */

		p = NULL;
		(void)p;
	}
}

int main(int argc, char **argv)
{
	site_live();
	site_churn();
	outer_inl();
	site_freed();
	site_leak();
	LEAK_WIPE();
	if (argc > 1)
		sleep((unsigned)atoi(argv[1]));
	return 0;
}
