// SPDX-License-Identifier: GPL-2.0-or-later
// Adapted from the team's peer benchmark lab (shared/bench), to measure
// heaptrace beside the same floors and peers.
/* wl.h - shared helpers for the allocation workloads (deterministic, no libc rand). */
#ifndef WL_H
#define WL_H
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define NOINLINE __attribute__((noinline, noclone))

/* xorshift64*: fast, deterministic, good enough for picking sizes and paths */
static inline uint64_t wl_rand(uint64_t *s)
{
	uint64_t x = *s;
	x ^= x >> 12;
	x ^= x << 25;
	x ^= x >> 27;
	*s = x;
	return x * 0x2545F4914F6CDD1DULL;
}

/* parse a positive count; accepts plain integers and suffixes k/M (e.g. 10M) */
static inline unsigned long wl_count(const char *arg, unsigned long dflt)
{
	if (!arg || !*arg)
		return dflt;
	char *end;
	double v = strtod(arg, &end);
	if (*end == 'k' || *end == 'K')
		v *= 1e3;
	else if (*end == 'm' || *end == 'M')
		v *= 1e6;
	if (v < 1)
		v = 1;
	return (unsigned long)(v + 0.5);
}

/* one block left live at exit, so that heaptrace writes an exit report (with
 * its own memory) even after a workload that frees everything else */
static inline void wl_leave_live(void)
{
	static void *marker;

	marker = malloc(1);
	__asm__ volatile("" ::"r"(marker) : "memory");
}

/* keep a value alive without the optimiser seeing through it */
#define WL_OPAQUE(v) __asm__ volatile("" : "+r"(v))

/* touch an allocation so that it is really used */
static inline void wl_touch(void *p, size_t n)
{
	unsigned char *c = (unsigned char *)p;
	c[0] = (unsigned char)n;
	c[n - 1] = (unsigned char)(n >> 3);
}
#endif
