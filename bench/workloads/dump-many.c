// SPDX-License-Identifier: GPL-2.0-or-later
/* dump-many LEVELS - one live block from each of 4 x 16^LEVELS distinct
 * backtraces (default LEVELS 4: 262,144, all within 6 frames, so the default
 * DEPTH keeps them apart), then exit, so that the exit report sorts and
 * prints a table of that many live backtraces.  Four functions call each
 * other through four call sites each: every frame has 16 possible return
 * addresses.  Prints "t0=NS" (CLOCK_MONOTONIC) just before returning from
 * main: the time from then to the end of the process is the exit report. */
#include <time.h>
#include "wl.h"

typedef void (*walk_fn)(unsigned, uint64_t);
static walk_fn const table[4];

/* a distinct call instruction per site: the asm after each keeps the
 * compiler from merging them */
#define CALL(site) table[(key >> 2) & 3](level - 1, key >> 4)
#define WALKER(K)                                                          \
	NOINLINE static void w##K(unsigned level, uint64_t key)            \
	{                                                                  \
		if (level == 0) {                                          \
			void *p = malloc(16 + K);                          \
			WL_OPAQUE(p);                                      \
			return;                                            \
		}                                                          \
		switch (key & 3) {                                         \
		case 0: CALL(0); __asm__ volatile("" ::"i"(0)); break;     \
		case 1: CALL(1); __asm__ volatile("" ::"i"(1)); break;     \
		case 2: CALL(2); __asm__ volatile("" ::"i"(2)); break;     \
		default: CALL(3); __asm__ volatile("" ::"i"(3)); break;    \
		}                                                          \
		__asm__ volatile("");                                      \
	}
WALKER(0)
WALKER(1)
WALKER(2)
WALKER(3)
static walk_fn const table[4] = { w0, w1, w2, w3 };

int main(int argc, char **argv)
{
	unsigned long levels = wl_count(argc > 1 ? argv[1] : NULL, 4);
	uint64_t paths = 4ULL << (4 * levels);
	struct timespec ts;

	for (uint64_t key = 0; key < paths; key++)
		table[key & 3]((unsigned)levels, key >> 2);
	clock_gettime(CLOCK_MONOTONIC, &ts);
	printf("dump-many paths=%llu\nt0=%llu\n", (unsigned long long)paths,
	       (unsigned long long)ts.tv_sec * 1000000000ULL + (unsigned long long)ts.tv_nsec);
	fflush(stdout);
	return 0;
}
