// SPDX-License-Identifier: GPL-2.0-or-later
/* s-sample RATE: a live heap of known shape, for --sample's estimates
 * (test_sample.py).  Six sites hold 50, 20, 14, 10, 5 and 1 percent of
 * 200 MiB: site_50 .. site_1, in blocks of sizes spread evenly over the
 * powers of two from 16 bytes to 256 KiB (and between them), allocated in
 * an order mixed by a fixed generator, each kept block followed by one
 * that is freed at once (temp_site).  Then, for each site, it writes
 * "SITE BYTES BLOCKS SD" on stdout: what it holds, and the standard
 * deviation of the estimate of BYTES when one allocation per RATE bytes
 * is recorded (the variance of the estimator is the sum over blocks of
 * s^2 exp(-s/RATE) / (1 - exp(-s/RATE))).  Exits 0; its blocks stay,
 * reachable from keep[]. */
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

#define MIB (1024.0 * 1024.0)
#define SITES 6
#define MAX_BLOCKS 8192

static void *keep[MAX_BLOCKS];
static unsigned kept;

static uint64_t state = 0x9e3779b97f4a7c15ULL;

static uint64_t next(void)
{
	state ^= state << 13;
	state ^= state >> 7;
	state ^= state << 17;
	return state;
}

/* 16 B .. 256 KiB, as many blocks of each power of two */
static size_t block_size(void)
{
	uint64_t r = next();
	size_t base = (size_t)16 << (r % 15);

	return base + (size_t)((r >> 8) % base);
}

#define SITE(n) \
	__attribute__((noinline)) void *site_##n(size_t size) { return malloc(size); }
SITE(50)
SITE(20)
SITE(14)
SITE(10)
SITE(5)
SITE(1)

__attribute__((noinline)) void temp_site(size_t size)
{
	free(malloc(size));
}

static void *(*const sites[SITES])(size_t) = { site_50, site_20, site_14, site_10, site_5, site_1 };
static const char *const names[SITES] = { "site_50", "site_20", "site_14", "site_10", "site_5", "site_1" };
static const int percent[SITES] = { 50, 20, 14, 10, 5, 1 };

int main(int argc, char **argv)
{
	double rate = argc > 1 ? atof(argv[1]) : 512 * 1024.0;
	double held[SITES] = { 0 }, var[SITES] = { 0 };
	unsigned long blocks[SITES] = { 0 };
	int open = SITES;

	while (open) {
		int s = (int)(next() % SITES);
		size_t size;

		if (held[s] >= percent[s] * 2 * MIB)
			continue;
		size = block_size();
		if (kept == MAX_BLOCKS || !(keep[kept++] = sites[s](size)))
			return 1;
		temp_site(size);
		held[s] += (double)size;
		blocks[s]++;
		var[s] += (double)size * size * exp(-(double)size / rate) /
			  -expm1(-(double)size / rate);
		if (held[s] >= percent[s] * 2 * MIB)
			open--;
	}
	for (int s = 0; s < SITES; s++)
		printf("%s %.0f %lu %.0f\n", names[s], held[s], blocks[s], sqrt(var[s]));
	return 0;
}
