// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * addrmap.c - address -> (backtrace id, size) for every live traced block.
 * Runs on the hot path under a shard lock: no allocation but tmem when a
 * table grows or shrinks, no syscalls but its mmap and munmap, no output.
 * Linear probing with backward-shift deletion keeps probes short without
 * tombstones.
 */
#include <string.h>

#include "addrmap.h"
#include "atomic.h"
#include "tmem.h"

#define AM_MIN_SLOTS 64
#define AM_SIZE_BIG 0xffffffffu

struct am_big {
	uintptr_t key;
	uint64_t size;
};

struct am_shard am_shards[AM_SHARDS];
/*
 * A shard's used and mask are written under its lock and read without it,
 * by am_count() and am_bytes() (another shard's flush_count(), a report):
 * so every store is atomic, and so is every read without the lock.
 * Relaxed: such a reader wants a number that is not torn, and reaches no
 * memory through it (slots are read under the lock only).  The lock
 * holder, their only writer, reads them plainly.
 */
static inline void set_used(struct am_shard *s, uint32_t used)
{
	atomic_store_relaxed(&s->used, used);
}

static inline uint32_t slot_of(const struct am_shard *s, uint64_t h)
{
	return (uint32_t)(h >> 8) & s->mask;
}

static inline uint64_t pack(uint32_t id, uint64_t size)
{
	uint64_t sz = size < AM_SIZE_BIG ? size : AM_SIZE_BIG;

	return sz << 32 | id;
}

/* ---------------------------------------------------- blocks of 4 GiB and more */

static struct am_big *big_find(struct am_shard *s, uintptr_t key)
{
	for (uint32_t i = 0; i < s->nbig; i++)
		if (s->big[i].key == key)
			return &s->big[i];
	return NULL;
}

/* Make room for one more big record, so that big_add() cannot fail. */
static bool big_reserve(struct am_shard *s)
{
	uint32_t cap;
	struct am_big *nb;

	if (s->nbig < s->capbig)
		return true;
	cap = s->capbig ? s->capbig * 2 : 4;
	nb = tmem_alloc(cap * sizeof(*nb));
	if (!nb)
		return false;
	if (s->nbig)
		memcpy(nb, s->big, s->nbig * sizeof(*nb));
	tmem_free(s->big, s->capbig * sizeof(*nb));
	s->big = nb;
	s->capbig = cap;
	return true;
}

static void big_add(struct am_shard *s, uintptr_t key, uint64_t size)
{
	s->big[s->nbig++] = (struct am_big){ key, size };
}

/* Remove key's big record and return its size. */
static uint64_t big_take(struct am_shard *s, uintptr_t key)
{
	struct am_big *b = big_find(s, key);
	uint64_t size;

	if (!b)
		return AM_SIZE_BIG;
	size = b->size;
	*b = s->big[--s->nbig];
	return size;
}

static void unpack(struct am_shard *s, const struct am_slot *slot, struct am_rec *out)
{
	out->id = (uint32_t)slot->val;
	out->size = slot->val >> 32;
	if (out->size == AM_SIZE_BIG)
		out->size = big_take(s, slot->key);
}

/* ---------------------------------------------------- the shards' size */

/*
 * A shard that grew whenever its own load passed 3/4 made the map's memory
 * creep up with run time at a constant live count: the shards whose
 * counts wandered past the mark grew one by one (bench/'s steady: see
 * bench/README.md).  So the tables are sized from
 * their group's count instead: every shard of a group has at least the
 * group's target, the smallest size that holds the group's average shard
 * at 3/4 or less, and a shard grows on its own only past 7/8.  (Per
 * group, not over the whole map: one thread's blocks fill one group, and
 * the map's average would leave its shards near 7/8.)  A table of 1024
 * slots or more, where the memory is, wanders about its average by far
 * less than that (small ones may cross it: a few KB at most).  The count
 * is kept in batches (a shard adds its changes once they reach AM_BATCH
 * either way), so that a group's shards do not share a cache line on
 * every event, and groups never do.
 */
#define AM_BATCH 32
/*
 * Below this size a group's tables hold its average shard at 1/2 or less:
 * one thread's blocks fill 64 shards, not all of them, and a small map at
 * 3/4 probes and shifts more per event (churn's 4096 live blocks in
 * tables of 128: 5% slower than in 256); the memory is a few KB a shard.
 * The first tables stay small (1 KB, no system call: the tracer's own
 * blocks give a table to shards all over the map).
 */
#define AM_ROOMY 1024
/*
 * The batches leave the count behind while the group grows (by up to
 * AM_BATCH - 1 a shard), and at a constant live count a shard's batch
 * may never fill again: so now and then the group's shards' own counts are
 * summed instead, by each shard every AM_RECOUNT of its changes, the
 * shards out of step (one sum per AM_RECOUNT changes of the group).
 */
#define AM_RECOUNT (1u << 14)

/*
 * Tables shrink when their records go: the target follows the group's
 * count down as it does up, and a shard whose table is larger than the
 * target and holds 1/8 of it or less shrinks at its next removal, to
 * the target or what holds its records at 1/2.  Between 1/8 and 7/8 a
 * table keeps its size, so a count that wanders about a target's edge
 * moves the target, not the tables.  So --max-memory's budget comes back
 * when the program frees, for the blocks of another region too.
 */
/* A group's count and target, a line each: written by its shards' batches only. */
static struct am_size {
	int64_t count;
	uint32_t target; /* 0: AM_MIN_SLOTS */
} __attribute__((aligned(CACHELINE))) am_size[AM_GROUPS];

static inline unsigned group_of(const struct am_shard *s)
{
	return (unsigned)(s - am_shards) / AM_GROUP_SHARDS;
}

uint32_t am_target_of(const struct am_shard *s)
{
	uint32_t t = atomic_load_relaxed(&am_size[group_of(s)].target);

	return t ? t : AM_MIN_SLOTS;
}

void am_size_reset(void)
{
	for (int g = 0; g < AM_GROUPS; g++) {
		atomic_store_relaxed(&am_size[g].count, 0);
		atomic_store_relaxed(&am_size[g].target, 0);
	}
}

/* Live records in the shards of group g. */
static uint64_t group_count(unsigned g)
{
	uint64_t n = 0;

	for (int i = 0; i < AM_GROUP_SHARDS; i++)
		n += atomic_load_relaxed(&am_shards[g * AM_GROUP_SHARDS + i].used);
	return n;
}

static void shrink(struct am_shard *s);

/* Is s's table larger than the least and at 1/8 or less: one to shrink? */
static inline bool sparse(const struct am_shard *s)
{
	return (uint64_t)s->used * 8 < s->mask && s->mask >= AM_MIN_SLOTS;
}

/*
 * The target of s's group came down: the group's other shards that hold
 * 1/8 of their table or less shrink now, those whose lock is free (a
 * shard that emptied while its group was large has no removal left to
 * shrink it).  Under s's lock: the others are only tried, never waited for.
 */
static NOINLINE void shrink_group(struct am_shard *s, uint32_t target)
{
	struct am_shard *t = &am_shards[group_of(s) * AM_GROUP_SHARDS];

	for (int i = 0; i < AM_GROUP_SHARDS; i++, t++) {
		if (t == s || atomic_load_relaxed(&t->mask) < target || !spin_trylock(&t->lock))
			continue;
		if (sparse(t))
			shrink(t);
		spin_unlock(&t->lock);
	}
}

/* Flush s's batch; with recount, decide from the sum of the shards' counts. */
static NOINLINE void flush_count(struct am_shard *s, bool recount)
{
	struct am_size *z = &am_size[group_of(s)];
	int64_t n = atomic_add_relaxed(&z->count, s->pending);
	uint32_t raw = atomic_load_relaxed(&z->target), want = AM_MIN_SLOTS;

	s->pending = 0;
	if (recount) {
		s->countdown = AM_RECOUNT;
		n = (int64_t)group_count(group_of(s));
	}
	while (want < (1u << 31) && n > 0 &&
	       ((uint64_t)n * 4 > (uint64_t)want * 3 * AM_GROUP_SHARDS ||
		(want < AM_ROOMY && (uint64_t)n * 2 > (uint64_t)want * AM_GROUP_SHARDS)))
		want *= 2;
	/*
	 * Another shard may change it meanwhile, from a count of its own:
	 * counts are batched anyway, and the next flush puts it right.
	 */
	while (want != (raw ? raw : AM_MIN_SLOTS) &&
	       !atomic_cas_weak_relaxed(&z->target, &raw, want))
		;
	if (want < (raw ? raw : AM_MIN_SLOTS))
		shrink_group(s, want);
}

static inline void count_change(struct am_shard *s, int d)
{
	bool recount = --s->countdown == 0;

	s->pending += d;
	if (unlikely((uint32_t)(s->pending + AM_BATCH - 1) > 2 * (AM_BATCH - 1) || recount))
		flush_count(s, recount);
}

/* ---------------------------------------------------- table */

/* Make slots, of cap slots, s's table: its records moved there, the old freed. */
static void move_to(struct am_shard *s, struct am_slot *slots, uint32_t cap)
{
	struct am_slot *old = s->slots;
	uint32_t old_cap = s->mask ? s->mask + 1 : 0;

	s->slots = slots;
	atomic_store_relaxed(&s->mask, cap - 1); /* see set_used() */
	for (uint32_t i = 0; i < old_cap; i++) {
		uint32_t j;

		if (!old[i].key)
			continue;
		j = slot_of(s, am_hash(old[i].key));
		while (slots[j].key)
			j = (j + 1) & s->mask;
		slots[j] = old[i];
	}
	tmem_free(old, (size_t)old_cap * sizeof(*old));
}

/* To the target, or twice the size past 7/8; false when it cannot. */
static bool grow(struct am_shard *s, uint32_t target)
{
	uint32_t cap = s->mask ? (s->mask + 1) * 2 : AM_MIN_SLOTS;
	struct am_slot *slots;

	if (cap < target)
		cap = target;
	if (cap == 0) /* 2^32 slots in one shard: refuse rather than wrap */
		return false;
	slots = tmem_alloc((size_t)cap * sizeof(*slots));
	if (!slots)
		return false;
	if (!s->mask) /* the shards out of step: one sum per AM_RECOUNT changes */
		s->countdown = AM_RECOUNT - (uint32_t)(s - am_shards) % AM_GROUP_SHARDS *
						    (AM_RECOUNT / AM_GROUP_SHARDS);
	move_to(s, slots, cap);
	return true;
}

enum am_result am_insert(struct am_shard *s, uint64_t h, uintptr_t key, const struct am_rec *rec,
			 struct am_rec *old)
{
	bool big = rec->size >= AM_SIZE_BIG;
	uint32_t i, cap = s->mask ? s->mask + 1 : 0, target = am_target_of(s);
	bool full = !cap || (uint64_t)(s->used + 1) * 8 > (uint64_t)cap * 7;

	/* a table that cannot reach the target may still fill to 7/8 */
	if ((full || cap < target) && !grow(s, target) && full)
		return AM_NOMEM;
	if (big && !big_reserve(s))
		return AM_NOMEM;
	for (i = slot_of(s, h); s->slots[i].key; i = (i + 1) & s->mask) {
		if (s->slots[i].key != key)
			continue;
		unpack(s, &s->slots[i], old);
		if (big)
			big_add(s, key, rec->size);
		s->slots[i].val = pack(rec->id, rec->size);
		return AM_REPLACED;
	}
	if (big)
		big_add(s, key, rec->size);
	s->slots[i].key = key;
	s->slots[i].val = pack(rec->id, rec->size);
	set_used(s, s->used + 1);
	count_change(s, 1);
	return AM_INSERTED;
}

/* Close the hole at i by shifting back later members of its probe run. */
static void backshift(struct am_shard *s, uint32_t i)
{
	uint32_t j = i;

	for (;;) {
		uint32_t home;

		j = (j + 1) & s->mask;
		if (!s->slots[j].key)
			break;
		home = slot_of(s, am_hash(s->slots[j].key));
		/* j may move to i only if its home is not in the cyclic range (i, j] */
		if (((j - home) & s->mask) < ((j - i) & s->mask))
			continue;
		s->slots[i] = s->slots[j];
		i = j;
	}
	s->slots[i].key = 0;
	s->slots[i].val = 0;
}

bool am_find(struct am_shard *s, uint64_t h, uintptr_t key, struct am_rec *out)
{
	if (!s->mask)
		return false;
	for (uint32_t i = slot_of(s, h); s->slots[i].key; i = (i + 1) & s->mask) {
		if (s->slots[i].key != key)
			continue;
		out->id = (uint32_t)s->slots[i].val;
		out->size = s->slots[i].val >> 32;
		if (out->size == AM_SIZE_BIG) {
			struct am_big *b = big_find(s, key);

			out->size = b ? b->size : AM_SIZE_BIG;
		}
		return true;
	}
	return false;
}

/*
 * s's table, larger than its group's target and at 1/8 or less, to the
 * target or the size that holds its records at 1/2 or less.  Shrinking
 * gives memory back, so it may take a table of tracer memory past
 * --max-memory's limit for as long as it copies; when it cannot, the
 * table stays.
 */
static void shrink(struct am_shard *s)
{
	uint32_t want = am_target_of(s);
	struct am_slot *slots;

	while ((uint64_t)want < (uint64_t)s->used * 2)
		want *= 2;
	if (want > s->mask || !(slots = tmem_alloc_scratch((size_t)want * sizeof(*slots))))
		return;
	move_to(s, slots, want);
}

bool am_remove(struct am_shard *s, uint64_t h, uintptr_t key, struct am_rec *out)
{
	if (!s->mask)
		return false;
	for (uint32_t i = slot_of(s, h); s->slots[i].key; i = (i + 1) & s->mask) {
		if (s->slots[i].key != key)
			continue;
		unpack(s, &s->slots[i], out);
		backshift(s, i);
		set_used(s, s->used - 1);
		count_change(s, -1);
		if (unlikely(sparse(s)))
			shrink(s);
		return true;
	}
	return false;
}

/*
 * Remove every record whose backtrace id is not keep, shard by shard, with
 * every shard lock held (the caller's), telling removed() of each key.
 * Backward-shift deletion may move a later record into slot i: so i is
 * looked at again.  Tables keep their size: a map emptied and refilled
 * takes no more memory than before.
 */
void am_remove_all_but(uint32_t keep, void (*removed)(uintptr_t key))
{
	for (int k = 0; k < AM_SHARDS; k++) {
		struct am_shard *s = &am_shards[k];

		for (uint32_t i = 0; s->mask && i <= s->mask;) {
			struct am_rec rec;

			if (!s->slots[i].key || (uint32_t)s->slots[i].val == keep) {
				i++;
				continue;
			}
			unpack(s, &s->slots[i], &rec);
			removed(s->slots[i].key);
			backshift(s, i);
			set_used(s, s->used - 1);
		}
		s->pending = 0;
	}
	for (unsigned g = 0; g < AM_GROUPS; g++)
		atomic_store_relaxed(&am_size[g].count, (int64_t)group_count(g));
}

void am_each(void (*fn)(uintptr_t key, const struct am_rec *rec, void *arg), void *arg)
{
	for (int k = 0; k < AM_SHARDS; k++) {
		struct am_shard *s = &am_shards[k];

		for (uint32_t i = 0; s->mask && i <= s->mask; i++) {
			struct am_rec rec = { (uint32_t)s->slots[i].val, s->slots[i].val >> 32 };
			struct am_big *b;

			if (!s->slots[i].key)
				continue;
			if (rec.size == AM_SIZE_BIG && (b = big_find(s, s->slots[i].key)))
				rec.size = b->size;
			fn(s->slots[i].key, &rec, arg);
		}
	}
}

uint64_t am_count(void)
{
	uint64_t n = 0;

	for (int i = 0; i < AM_SHARDS; i++)
		n += atomic_load_relaxed(&am_shards[i].used);
	return n;
}

uint64_t am_bytes(void)
{
	uint64_t n = 0;

	for (int i = 0; i < AM_SHARDS; i++) {
		uint32_t mask = atomic_load_relaxed(&am_shards[i].mask);

		n += mask ? (uint64_t)(mask + 1) * sizeof(struct am_slot) : 0;
	}
	return n;
}

bool am_lock_all(uint64_t deadline_ns, uint64_t (*now_ns)(void))
{
	for (int i = 0; i < AM_SHARDS; i++)
		while (!spin_trylock(&am_shards[i].lock)) {
			if (now_ns() < deadline_ns) {
				sched_yield();
				continue;
			}
			while (i-- > 0)
				spin_unlock(&am_shards[i].lock);
			return false;
		}
	return true;
}

void am_fork_prepare(void)
{
	for (int i = 0; i < AM_SHARDS; i++)
		spin_lock(&am_shards[i].lock);
}

void am_fork_parent(void)
{
	for (int i = AM_SHARDS - 1; i >= 0; i--)
		spin_unlock(&am_shards[i].lock);
}

void am_fork_child(void)
{
	for (int i = 0; i < AM_SHARDS; i++)
		spin_unlock_in_child(&am_shards[i].lock);
}
