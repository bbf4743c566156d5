/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * sample.h - --sample=BYTES: which allocations are recorded, and what each
 * recorded one stands for.  As tcmalloc's and jemalloc's samplers do, each
 * thread counts down the bytes it allocates from a distance drawn from an
 * exponential distribution of mean BYTES; the allocation that crosses zero
 * is recorded (with its backtrace) and a new distance drawn.  So a block of
 * size s is recorded with probability 1 - exp(-s/BYTES), and stands for
 * 1 / (1 - exp(-s/BYTES)) blocks and s times that in bytes: the unbiased
 * estimator the allocators use.  Counts are kept in fixed point
 * (SAMPLE_ONE to a block), bytes whole.
 *
 * Hook path: sample_pass() in a hook's entry (a thread-local subtraction
 * and a compare for an allocation not recorded), sample_skip() in its
 * recording path, and sample_maybe() (a load, for a release: was the
 * block recorded?).  The rest runs once per recorded block.
 */
#ifndef HEAPTRACE_SAMPLE_H
#define HEAPTRACE_SAMPLE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "atomic.h"
#include "compat.h"

#define SAMPLE_ONE 1024 /* an estimated count's fixed point: one block */

/* The mean distance in bytes between recorded allocations; 0: record all.
 * Set once at start-up (sample_init()), before any thread but the first. */
extern uint64_t ht_sample_rate;

void sample_init(uint64_t rate);

/* Bytes this thread may still allocate before the next recorded one. */
extern HT_TLS int64_t sample_left;
bool sample_next(size_t size);

/* A hook's entry, with sampling on: true when an allocation of size bytes
 * is not to be recorded, and it is counted down; false leaves the count
 * to sample_skip().  Stored only when the count stays above zero, so
 * that the entry needs no second test. */
static inline bool sample_pass(size_t size)
{
	int64_t left = sample_left - (int64_t)size;

	if (unlikely(left <= 0))
		return false;
	sample_left = left;
	return true;
}

/* The recording path, with sampling on: true when an allocation of size
 * bytes is not to be recorded. */
static inline bool sample_skip(size_t size)
{
	if (likely((sample_left -= (int64_t)size) > 0))
		return true;
	return !sample_next(size);
}

/*
 * What a recorded block of size bytes stands for: blocks in fixed point
 * (SAMPLE_ONE each) and bytes.  Pure functions of size and the rate, so
 * that a release takes back exactly what the allocation added.
 */
uint64_t sample_count_weight(uint64_t size);
uint64_t sample_bytes_weight(uint64_t size);

/* An estimated count in blocks, rounded. */
static inline uint64_t sample_blocks(uint64_t fixed)
{
	return (fixed + SAMPLE_ONE / 2) / SAMPLE_ONE;
}

/*
 * Which addresses may be in the address map: a counter per bucket of
 * addresses, raised by every record and lowered by every removal (under
 * the block's shard lock), read without a lock by a release
 * (sample_maybe()): zero means "not recorded", the common answer with
 * sampling on, at the cost of one load.  A record happens before the
 * release of its block in the program's order, so that load sees the
 * raise.  The bucket is the address's own bits, not a hash: the blocks a
 * program frees are near those it just allocated, and their counters
 * then share cache lines (a hash made each release a cache miss: 3 ns of
 * churn's 4 per event at --sample=512k).  Addresses 1 MiB apart share a
 * counter; a release that finds it raised by another block looks the
 * address map up, and finds nothing.
 */
#define SAMPLE_FILTER_BITS 16
extern uint32_t *sample_filter;

static inline uint32_t *sample_bucket(uintptr_t addr)
{
	return &sample_filter[(addr >> 4) & ((1u << SAMPLE_FILTER_BITS) - 1)];
}

static inline bool sample_maybe(uintptr_t addr)
{
	return atomic_load_relaxed(sample_bucket(addr)) != 0;
}

static inline void sample_filter_add(uintptr_t addr, int d)
{
	atomic_add_relaxed(sample_bucket(addr), (uint32_t)d);
}

#endif
