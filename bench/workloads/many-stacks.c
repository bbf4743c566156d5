// SPDX-License-Identifier: GPL-2.0-or-later
// Adapted from the team's peer benchmark lab (shared/bench), to measure
// heaptrace beside the same floors and peers.
/* many-stacks ALLOCS LEVELS - allocations from a very large number of distinct
 * backtraces, to stress a tracer's stack table.  Defaults: 5M allocations,
 * LEVELS 8.
 *
 * Four distinct functions w0..w3 call each other LEVELS+1 deep; at every level
 * two bits of a key choose which of the four is called next, and the last one
 * calls malloc.  Every return address on the stack names its function, so
 * there are 4^(LEVELS+1) distinct allocation backtraces (LEVELS 8: 262,144).
 * The key is the allocation counter times an odd constant, so all paths are
 * visited round-robin in a scattered order, each ALLOCS/4^(LEVELS+1) times.
 * 1 allocation in 8 is kept in a ring of 8192; the rest are freed at once. */
#include "wl.h"

#define RING 8192

struct st {
	void *ring[RING];
	unsigned long mallocs, frees;
};

typedef uint64_t (*walk_fn)(struct st *, unsigned, uint64_t, uint64_t);
static walk_fn const table[4];

static inline uint64_t leaf(struct st *s, uint64_t key, uint64_t i)
{
	unsigned char *p = malloc(16 + (key & 63));
	if (!p)
		abort();
	s->mallocs++;
	p[0] = (unsigned char)i;
	if ((i & 7) == 0) {
		unsigned slot = (unsigned)(i >> 3) & (RING - 1);
		void *old = s->ring[slot];
		s->ring[slot] = p;
		p = old;
	}
	if (p) {
		free(p);
		s->frees++;
	}
	return key;
}

/* level 0 allocates; otherwise the next two key bits pick the next function */
#define WALKER(K)                                                                  \
	NOINLINE static uint64_t w##K(struct st *s, unsigned level, uint64_t key, uint64_t i) \
	{                                                                          \
		uint64_t v;                                                        \
		if (level == 0)                                                    \
			v = leaf(s, key, i);                                       \
		else                                                               \
			v = table[key & 3](s, level - 1, key >> 2, i);             \
		WL_OPAQUE(v);                                                      \
		return v + K;                                                      \
	}
WALKER(0)
WALKER(1)
WALKER(2)
WALKER(3)
static walk_fn const table[4] = {w0, w1, w2, w3};

int main(int argc, char **argv)
{
	wl_leave_live();
	unsigned long allocs = wl_count(argc > 1 ? argv[1] : NULL, 5000000);
	unsigned long levels = wl_count(argc > 2 ? argv[2] : NULL, 8);
	if (levels > 30)
		levels = 30;
	static struct st s;
	uint64_t paths = 1ULL << (2 * (levels + 1)), sum = 0;
	for (unsigned long i = 0; i < allocs; i++) {
		uint64_t key = (i * 0x9E3779B97F4A7C15ULL) & (paths - 1);
		sum += table[key & 3](&s, (unsigned)levels, key >> 2, i);
	}
	for (unsigned i = 0; i < RING; i++)
		if (s.ring[i]) {
			free(s.ring[i]);
			s.frees++;
		}
	printf("many-stacks allocs=%lu levels=%lu distinct_paths=%llu mallocs=%lu frees=%lu check=%llx\n", allocs,
	       levels, (unsigned long long)paths, s.mallocs, s.frees, (unsigned long long)sum);
	return 0;
}
