// SPDX-License-Identifier: GPL-2.0-or-later
/* scan-heap [BLOCKS] [LEAKED%]: the leak scan's workload (run.py's "Leak
 * scan").  BLOCKS blocks (default 10M) of 16 to 176 bytes, about 1 GB in
 * all, in two chains: each block's first word points to the block
 * allocated before it in its chain, the rest is data that points nowhere.
 * One chain's head is kept in a global (reachable), the other's is
 * dropped: LEAKED% (default 10) of the blocks are leaked, one of them
 * directly, the rest through it.  Then it exits: the exit report scans. */
#include "wl.h"

static void **kept;

int main(int argc, char **argv)
{
	unsigned long n = wl_count(argc > 1 ? argv[1] : NULL, 10000000);
	unsigned long pct = wl_count(argc > 2 ? argv[2] : NULL, 10);
	void **chain[2] = { NULL, NULL };
	uint64_t seed = 42;

	for (unsigned long i = 0; i < n; i++) {
		size_t size = 16 + (wl_rand(&seed) % 11) * 16;
		int c = wl_rand(&seed) % 100 < pct;
		void **b = malloc(size);

		if (!b)
			return 1;
		b[0] = chain[c];
		for (size_t w = 1; w < size / sizeof(void *); w++)
			b[w] = (void *)(uintptr_t)(i ^ w); /* small numbers: no pointers */
		chain[c] = b;
	}
	kept = chain[0];
	printf("blocks=%lu\n", n);
	return 0;
}
