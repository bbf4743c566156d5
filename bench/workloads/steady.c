// SPDX-License-Identifier: GPL-2.0-or-later
/* steady LIVE OPS - a constant live heap: LIVE blocks (default 100k) are
 * allocated from 16 call sites, then OPS times (default 4M) one of them, at a
 * pseudo-random slot, is freed and replaced by a new block of a new size.
 * The live heap is the same from the first replacement to the last, so the
 * tracer's memory must be the same at OPS and at 10 x OPS.  The blocks are
 * left live at exit, so heaptrace writes a report (with its own memory). */
#include "wl.h"

static void **slots;

#define SITE(n) \
	NOINLINE static void *site##n(uint64_t r) { return malloc(16 + n * 8 + (r & 63)); }
SITE(0) SITE(1) SITE(2) SITE(3) SITE(4) SITE(5) SITE(6) SITE(7)
SITE(8) SITE(9) SITE(10) SITE(11) SITE(12) SITE(13) SITE(14) SITE(15)
static void *(*const sites[16])(uint64_t) = {
	site0, site1, site2, site3, site4, site5, site6, site7,
	site8, site9, site10, site11, site12, site13, site14, site15,
};

int main(int argc, char **argv)
{
	unsigned long live = wl_count(argc > 1 ? argv[1] : NULL, 100000);
	unsigned long ops = wl_count(argc > 2 ? argv[2] : NULL, 4000000);
	uint64_t rng = 0x2545F4914F6CDD1DULL, sum = 0;

	slots = calloc(live, sizeof(*slots));
	for (unsigned long i = 0; i < live; i++)
		slots[i] = sites[i & 15](wl_rand(&rng));
	for (unsigned long i = 0; i < ops; i++) {
		uint64_t r = wl_rand(&rng);
		unsigned long k = (unsigned long)(r % live);

		free(slots[k]);
		slots[k] = sites[(r >> 32) & 15](r >> 8);
		((unsigned char *)slots[k])[0] = (unsigned char)r;
		sum += (uintptr_t)slots[k] & 0xff;
	}
	printf("steady live=%lu ops=%lu mallocs=%lu frees=%lu check=%llx\n", live, ops,
	       live + ops + 1, ops, (unsigned long long)sum);
	return 0;
}
