// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * sample.c - the sampler of --sample=BYTES (see sample.h): the per-thread
 * distances, drawn from xorshift64* and -log, and the weights.  Hook path
 * (sample_next(), once per recorded allocation); start-up (sample_init()).
 * libm's log and expm1 allocate nothing and take no lock.
 */
#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <unistd.h>

#include "sample.h"
#include "stacktrace.h"
#include "tmem.h"
#include "utils.h"

uint64_t ht_sample_rate;
uint32_t *sample_filter;
HT_TLS int64_t sample_left;

static uint64_t seed;            /* HEAPTRACE_SAMPLE_SEED, or of the clock */
static unsigned threads_seeded;  /* each thread's stream starts apart */
static HT_TLS uint64_t rng;      /* 0: this thread has not drawn yet */

void sample_init(uint64_t rate)
{
	const char *s = getenv("HEAPTRACE_SAMPLE_SEED");
	unsigned long v;

	if (!rate)
		return;
	sample_filter = tmem_alloc_scratch(sizeof(uint32_t) << SAMPLE_FILTER_BITS);
	if (!sample_filter) {
		ht_warn("no memory for --sample: every allocation is recorded");
		return;
	}
	if (s && *s) {
		const char *err = ht_parse_ulong(s, (unsigned long)-1, &v);

		if (err)
			ht_warn("HEAPTRACE_SAMPLE_SEED=%s: %s; a seed of the clock is used", s, err);
		else
			seed = v;
	}
	if (!seed)
		seed = ht_now_ns() ^ (uint64_t)getpid() << 40;
	ht_sample_rate = rate;
}

static uint64_t next_random(void)
{
	if (unlikely(!rng)) {
		unsigned n = atomic_add_relaxed(&threads_seeded, 1);

		rng = hash_word(seed + n * 0x9e3779b97f4a7c15ULL) | 1;
	}
	rng ^= rng >> 12;
	rng ^= rng << 25;
	rng ^= rng >> 27;
	return rng * 0x2545f4914f6cdd1dULL;
}

/* Bytes to the next recorded one: exponential, of mean the rate. */
static int64_t draw(void)
{
	/* u in (0, 1]: 53 random bits, never 0 (log would be infinite) */
	double u = (double)((next_random() >> 11) + 1) * 0x1p-53;
	double d = -log(u) * (double)ht_sample_rate;

	return d < 1 ? 1 : d > 0x1p62 ? (int64_t)1 << 62 : (int64_t)d;
}

/*
 * The allocation that made sample_left reach zero or less: recorded, and
 * the next distance counts from its end (the distances have no memory).
 * A thread's first allocation draws its first distance instead.
 */
bool sample_next(size_t size)
{
	int saved = errno; /* libm's, on a path that must keep the program's */
	bool take = true;

	if (unlikely(!rng)) {
		sample_left = draw() - (int64_t)size;
		take = sample_left <= 0;
	}
	if (take)
		sample_left = draw();
	errno = saved;
	return take;
}

/* 1 - exp(-size/rate), the chance that a block of size bytes is recorded */
static double chance(uint64_t size)
{
	return -expm1(-(double)(size ? size : 1) / (double)ht_sample_rate);
}

uint64_t sample_count_weight(uint64_t size)
{
	int saved = errno;
	uint64_t w = (uint64_t)((double)SAMPLE_ONE / chance(size) + 0.5);

	errno = saved;
	return w;
}

uint64_t sample_bytes_weight(uint64_t size)
{
	int saved = errno;
	uint64_t w = (uint64_t)((double)size / chance(size) + 0.5);

	errno = saved;
	return w;
}
