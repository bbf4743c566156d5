// SPDX-License-Identifier: GPL-2.0-or-later
/* s-leak-cycle: cycles of blocks.
 *   lost_ring  3 blocks of 64 bytes in a ring, nothing else points to them
 *   lost_self  one 40-byte block that points to itself only
 *   kept_ring  3 blocks of 56 bytes in a ring, the global kept points to one:
 *              all reachable
 * What memcheck calls a lost ring (see test_leaks.py): the block of the ring
 * it meets first (the lowest address) is "definitely lost", the others
 * "indirectly lost" (LSan would call all three indirect).  The blocks of a
 * ring have the same size and backtrace, so which one leads does not
 * change the numbers. */
#include <stdlib.h>

#include "leak.h"

struct link {
	struct link *next;
};

struct link *kept;

/* n blocks of size bytes in a ring, from one call site (one backtrace). */
__attribute__((noinline)) struct link *ring_new(size_t size, int n)
{
	struct link *first = NULL, *last = NULL;

	for (int i = 0; i < n; i++) {
		struct link *l = calloc(1, size);

		if (last)
			last->next = l;
		else
			first = l;
		last = l;
	}
	last->next = first;
	return first;
}

__attribute__((noinline)) void lost_ring(void)
{
	struct link *volatile r = ring_new(64, 3);

	r = NULL;
	(void)r;
}

__attribute__((noinline)) void lost_self(void)
{
	struct link *volatile r = ring_new(40, 1);

	r = NULL;
	(void)r;
}

__attribute__((noinline)) void kept_ring(void)
{
	kept = ring_new(56, 3);
}

int main(void)
{
	lost_ring();
	lost_self();
	kept_ring();
	LEAK_WIPE();
	return 0;
}
