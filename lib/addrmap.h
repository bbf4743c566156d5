/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * addrmap.h - the map from a live block's address to its backtrace id and
 * requested size: 16 bytes a slot, open addressing with linear probing,
 * split into AM_SHARDS independently locked shards.  A block's 64 MiB
 * region of address space picks a group of AM_GROUP_SHARDS shards, its
 * hash one of them: glibc gives each thread an arena of its own, in a
 * 64 MiB heap of its own, so threads that free their own blocks write
 * their own shards (locks, slots, counts), and threads that free each
 * other's meet in one of 64.  Tables are sized per group.
 *
 * Contract: the caller locks the shard of a key (am_shard_of()) around
 * am_insert()/am_remove() and may update counters while holding it;
 * nothing else may be called with a shard lock held but tmem.  Key 0 is
 * never stored.  Entries are owned by the map; am_remove() copies them out.
 */
#ifndef HEAPTRACE_ADDRMAP_H
#define HEAPTRACE_ADDRMAP_H

#include <stdbool.h>
#include <stdint.h>

#include "guard.h"
#include "utils.h"

#define AM_SHARDS 1024
#define AM_GROUP_SHARDS 64
#define AM_GROUPS (AM_SHARDS / AM_GROUP_SHARDS)
#define AM_REGION_SHIFT 26 /* glibc's HEAP_MAX_SIZE: a thread's arena heap */

struct am_slot {
	uintptr_t key;
	uint64_t val; /* backtrace id in the low 32 bits, size (or AM_BIG) above */
};

struct am_big; /* sizes that do not fit in 32 bits, per shard */

struct am_shard {
	spinlock_t lock;
	uint32_t mask; /* capacity - 1, or 0 before the first insert */
	uint32_t used;
	int32_t pending; /* changes of used not yet in its group's count */
	uint32_t countdown; /* changes until this shard sums them all (addrmap.c) */
	struct am_slot *slots;
	struct am_big *big;
	uint32_t nbig, capbig;
} __attribute__((aligned(CACHELINE)));

struct am_rec {
	uint32_t id;
	uint64_t size;
};

enum am_result { AM_NOMEM = -1, AM_INSERTED = 0, AM_REPLACED = 1 };

extern struct am_shard am_shards[AM_SHARDS];

/*
 * Addresses are aligned and clustered: one multiply spreads them into the
 * high bits, the fold brings those down to where shard and slot are taken.
 * Invertible (the unit tests build keys for chosen slots from it).
 */
static inline uint64_t am_hash(uintptr_t key)
{
	uint64_t h = hash_word(key);

	return h ^ (h >> 32);
}

/*
 * The group by the region's own bits, not a hash: the heaps of arenas are
 * mapped next to each other, so up to AM_GROUPS threads' arenas get
 * groups of their own (a hash of 8 regions into 16 groups would put two
 * in one group most of the time).
 */
static inline struct am_shard *am_shard_of(uintptr_t key, uint64_t h)
{
	unsigned g = (unsigned)(key >> AM_REGION_SHIFT) & (AM_GROUPS - 1);

	return &am_shards[g * AM_GROUP_SHARDS + (h & (AM_GROUP_SHARDS - 1))];
}

/*
 * Insert key.  If it is present already (its free was never seen: a free
 * made from a signal handler inside a hook, or a block released behind our
 * back), the old record is returned in *old and replaced: AM_REPLACED.
 * AM_NOMEM when the table cannot grow; nothing changed then.
 */
enum am_result am_insert(struct am_shard *s, uint64_t h, uintptr_t key, const struct am_rec *rec,
			 struct am_rec *old);

/* Copy key's record out, leaving it in place; false when absent. */
bool am_find(struct am_shard *s, uint64_t h, uintptr_t key, struct am_rec *out);

/* Remove key; false when it is not in the map. */
bool am_remove(struct am_shard *s, uint64_t h, uintptr_t key, struct am_rec *out);

/* Every record, fn(key, rec, arg); the caller holds every shard lock
 * (am_fork_prepare()), as the leak scan does. */
void am_each(void (*fn)(uintptr_t key, const struct am_rec *rec, void *arg), void *arg);

/* Forget every record but keep's (ACCT_TRACER_ID: the tracer's blocks),
 * each key to removed(); the caller holds every shard lock
 * (am_fork_prepare()). */
void am_remove_all_but(uint32_t keep, void (*removed)(uintptr_t key));

/* Live records in all shards (approximate while other threads run). */
uint64_t am_count(void);
/* The table size every shard of s's group has at least (see addrmap.c). */
uint32_t am_target_of(const struct am_shard *s);
/* Forget the whole map's size (tests that empty the shards by hand). */
void am_size_reset(void);
/* Bytes the map holds, for tests of the per-block overhead. */
uint64_t am_bytes(void);

/*
 * Every shard lock, in index order, as am_fork_prepare(), but giving up
 * (none held) at deadline_ns by now_ns(): the leak scan, which a thread
 * that died inside a record (a fatal signal in a hook) must not hang.
 * am_fork_parent() releases them.
 */
bool am_lock_all(uint64_t deadline_ns, uint64_t (*now_ns)(void));

void am_fork_prepare(void);
void am_fork_parent(void);
void am_fork_child(void);

#endif
