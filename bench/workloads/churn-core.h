// SPDX-License-Identifier: GPL-2.0-or-later
// Adapted from the team's peer benchmark lab (shared/bench), to measure
// heaptrace beside the same floors and peers.
/* churn-core.h - the malloc/free churn shared by churn.c and mt-churn.c.
 *
 * One "pair" = one malloc + one free.  Each pair picks a call site (6 distinct
 * functions with different size classes) and a recursion depth 5..30, recurses
 * that deep, allocates at the leaf, and then either frees the new block at once
 * or (1 pair in 8) parks it in a ring of RING_SIZE slots and frees the block it
 * evicts, so there are always up to RING_SIZE live objects per thread.
 * Distinct allocation backtraces: 6 sites x 26 depths = 156 per thread entry.
 */
#include "wl.h"

#define RING_SIZE 4096
#define DEPTH_MIN 5
#define DEPTH_SPAN 26 /* depths 5..30 */

struct churn {
	uint64_t rng;
	void **ring;
	unsigned long mallocs, frees;
	uint64_t sum;
};

NOINLINE static void *site0(struct churn *c) { return malloc(16 + (wl_rand(&c->rng) & 47)); }      /* 16..63 */
NOINLINE static void *site1(struct churn *c) { return malloc(8 + (wl_rand(&c->rng) & 15)); }       /* 8..23 */
NOINLINE static void *site2(struct churn *c) { return malloc(32 + (wl_rand(&c->rng) & 223)); }     /* 32..255 */
NOINLINE static void *site3(struct churn *c) { return malloc(64 + (wl_rand(&c->rng) & 447)); }     /* 64..511 */
NOINLINE static void *site4(struct churn *c) { (void)c; return malloc(40); }                      /* fixed 40 */
NOINLINE static void *site5(struct churn *c)                                                       /* mostly small, 1/64 up to 4 KiB */
{
	uint64_t r = wl_rand(&c->rng);
	return malloc((r & 63) == 0 ? 512 + ((r >> 8) & 3583) : 24 + ((r >> 8) & 31));
}

NOINLINE static uint64_t churn_leaf(struct churn *c, unsigned site, uint64_t r)
{
	void *p;
	switch (site) {
	case 0: p = site0(c); break;
	case 1: p = site1(c); break;
	case 2: p = site2(c); break;
	case 3: p = site3(c); break;
	case 4: p = site4(c); break;
	default: p = site5(c); break;
	}
	if (!p)
		abort();
	c->mallocs++;
	((unsigned char *)p)[0] = (unsigned char)r;
	if ((r & 7) == 0) { /* keep it: park in the ring, free the one it evicts */
		unsigned slot = (unsigned)(r >> 20) & (RING_SIZE - 1);
		/* atomic: mt-churn's threads share one ring, and a block parked
		 * by one thread is freed by whichever thread evicts it */
		void *old = __atomic_exchange_n(&c->ring[slot], p, __ATOMIC_ACQ_REL);
		if (old) {
			free(old);
			c->frees++;
			return 1;
		}
		return 0;
	}
	free(p);
	c->frees++;
	return 1;
}

NOINLINE static uint64_t churn_rec(struct churn *c, unsigned depth, unsigned site, uint64_t r)
{
	uint64_t v;
	if (depth == 0)
		v = churn_leaf(c, site, r);
	else
		v = churn_rec(c, depth - 1, site, r);
	WL_OPAQUE(v); /* no tail call, no accumulator-recursion rewrite */
	return v + depth;
}

/* Allocates and empties its own ring unless given one (c->ring set). */
static void churn_run(struct churn *c, unsigned long pairs)
{
	int own = !c->ring;

	if (own) {
		c->ring = calloc(RING_SIZE, sizeof(void *));
		c->mallocs++;
	}
	for (unsigned long i = 0; i < pairs; i++) {
		uint64_t r = wl_rand(&c->rng);
		unsigned site = (unsigned)((r >> 8) % 6);
		unsigned depth = DEPTH_MIN + (unsigned)((r >> 16) % DEPTH_SPAN);
		c->sum += churn_rec(c, depth, site, r);
	}
	if (!own)
		return;
	for (unsigned i = 0; i < RING_SIZE; i++)
		if (c->ring[i]) {
			free(c->ring[i]);
			c->frees++;
		}
	free(c->ring);
	c->frees++;
}
