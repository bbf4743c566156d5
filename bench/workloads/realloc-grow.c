// SPDX-License-Identifier: GPL-2.0-or-later
// Adapted from the team's peer benchmark lab (shared/bench), to measure
// heaptrace beside the same floors and peers.
/* realloc-grow SEQS - many realloc growth sequences (default 500k).
 * Each sequence starts with malloc(8..39), grows by +16..+271 bytes or x1.5 per
 * step until a target of 256 B..16 KiB (1 sequence in 256: up to 1 MiB, so
 * glibc's mmap/mremap path is hit too), sometimes shrinks at the end, and is
 * freed; 1 sequence in 16 is kept alive in a ring of 256 until evicted. */
#include "wl.h"

#define RING 256

NOINLINE static void *grow(uint64_t *rng, void *p, size_t *size, unsigned long *reallocs)
{
	uint64_t r = wl_rand(rng);
	size_t next = (r & 1) ? *size + 16 + ((r >> 8) & 255) : *size + *size / 2;
	void *q = realloc(p, next);
	if (!q)
		abort();
	(*reallocs)++;
	wl_touch(q, next);
	*size = next;
	return q;
}

NOINLINE static void *sequence(uint64_t *rng, unsigned long *mallocs, unsigned long *reallocs)
{
	uint64_t r = wl_rand(rng);
	size_t size = 8 + (r & 31);
	size_t target = (r >> 8 & 255) == 0 ? 65536 + ((r >> 16) & 0xFFFFF) : 256 + ((r >> 16) & 16383);
	void *p = malloc(size);
	if (!p)
		abort();
	(*mallocs)++;
	wl_touch(p, size);
	while (size < target)
		p = grow(rng, p, &size, reallocs);
	if ((r >> 40 & 3) == 0) { /* shrink to fit something smaller */
		size = size / 4 + 1;
		p = realloc(p, size);
		(*reallocs)++;
	}
	return p;
}

int main(int argc, char **argv)
{
	wl_leave_live();
	unsigned long seqs = wl_count(argc > 1 ? argv[1] : NULL, 500000);
	uint64_t rng = 0xA0761D6478BD642FULL;
	unsigned long mallocs = 0, reallocs = 0, frees = 0;
	void *ring[RING] = {0};
	uint64_t sum = 0;
	for (unsigned long i = 0; i < seqs; i++) {
		unsigned char *p = sequence(&rng, &mallocs, &reallocs);
		sum += p[0];
		if ((i & 15) == 0) {
			unsigned slot = (unsigned)(wl_rand(&rng) & (RING - 1));
			void *old = ring[slot];
			ring[slot] = p;
			p = old;
		}
		if (p) {
			free(p);
			frees++;
		}
	}
	for (unsigned i = 0; i < RING; i++)
		if (ring[i]) {
			free(ring[i]);
			frees++;
		}
	printf("realloc-grow seqs=%lu mallocs=%lu reallocs=%lu frees=%lu check=%llx\n", seqs, mallocs, reallocs,
	       frees, (unsigned long long)sum);
	return 0;
}
