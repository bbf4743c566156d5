// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * unit-addrmap.c - the address map and the tracer memory under it.
 *
 * The map decides whether a free() is attributed to the right backtrace, so
 * every way a key can go missing is exercised: growth, clusters that wrap
 * around the end of a table, backward-shift deletion from the middle of a
 * run, and the side list of sizes that do not fit in 32 bits.  am_hash() is
 * a bijection, so the tests build keys from the hash they want (its
 * inverse), which places keys in a chosen shard at a chosen home slot.
 */
#define _GNU_SOURCE
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include "../lib/tmem.c"
#include "../lib/addrmap.c"
#include "unit.h"

HT_TLS struct ht_thread ht_self;
void ht_drain(void) {} /* nothing is ever queued here */

/* ------------------------------------------------------------ helpers */

static uint64_t mul_inverse(uint64_t c)
{
	uint64_t x = c; /* right to 3 bits for odd c; each step doubles them */

	for (int i = 0; i < 6; i++)
		x *= 2 - c * x;
	return x;
}

/* The key whose am_hash() is h. */
static uintptr_t key_of_hash(uint64_t h)
{
	static uint64_t inv;

	if (!inv)
		inv = mul_inverse(GOLDEN_RATIO_64);
	h ^= h >> 32; /* undoes the fold: the top half was left as it was */
	return (uintptr_t)(h * inv);
}

/*
 * A key of shard `shard` whose home slot is `home` in every table of up to
 * 2^16 slots (home modulo the capacity); `salt` (>0) makes it unique.  The
 * hash picks the shard within a group, the key's region the group: keys of
 * the hash's other bits are tried until one lies in a region of the group
 * (one in AM_GROUPS does).
 */
static uintptr_t make_key(unsigned shard, uint32_t home, uint64_t salt)
{
	shard &= AM_SHARDS - 1;
	for (uint64_t t = salt << 12;; t++) {
		uint64_t h = t << 24 | (uint64_t)(home & 0xffff) << 8 | shard % AM_GROUP_SHARDS;
		uintptr_t key = key_of_hash(h);

		if (am_shard_of(key, h) == &am_shards[shard])
			return key;
	}
}

/* Back to the state of a fresh process: every shard empty and unallocated. */
static void am_reset(void)
{
	for (int i = 0; i < AM_SHARDS; i++) {
		struct am_shard *s = &am_shards[i];

		if (s->mask)
			tmem_free(s->slots, (size_t)(s->mask + 1) * sizeof(*s->slots));
		if (s->capbig)
			tmem_free(s->big, s->capbig * sizeof(*s->big));
		memset(s, 0, sizeof(*s));
	}
	am_size_reset();
}

/* Insert/remove as the library does: under the shard's lock. */
static enum am_result ins(uintptr_t key, uint32_t id, uint64_t size, struct am_rec *old)
{
	uint64_t h = am_hash(key);
	struct am_shard *s = am_shard_of(key, h);
	struct am_rec rec = {id, size};
	enum am_result r;

	spin_lock(&s->lock);
	r = am_insert(s, h, key, &rec, old);
	spin_unlock(&s->lock);
	return r;
}

static bool rem(uintptr_t key, struct am_rec *out)
{
	uint64_t h = am_hash(key);
	struct am_shard *s = am_shard_of(key, h);
	bool found;

	spin_lock(&s->lock);
	found = am_remove(s, h, key, out);
	spin_unlock(&s->lock);
	return found;
}

/*
 * A read-only look-up: walk the probe run from the key's home slot as
 * am_insert()/am_remove() do.  This is the map's invariant: every key is
 * reachable from its home without crossing an empty slot.  The slot where
 * the walk stops, or -1.
 */
static long probe(uintptr_t key)
{
	uint64_t h = am_hash(key);
	struct am_shard *s = am_shard_of(key, h);
	uint32_t i = slot_of(s, h);

	if (!s->mask)
		return -1;
	for (uint32_t n = 0; n <= s->mask && s->slots[i].key; n++, i = (i + 1) & s->mask)
		if (s->slots[i].key == key)
			return i;
	return -1;
}

static bool find(uintptr_t key, struct am_rec *out)
{
	struct am_shard *s = am_shard_of(key, am_hash(key));
	long i = probe(key);

	if (i < 0)
		return false;
	out->id = (uint32_t)s->slots[i].val;
	out->size = s->slots[i].val >> 32;
	if (out->size == AM_SIZE_BIG) {
		struct am_big *b = big_find(s, key);

		out->size = b ? b->size : 0; /* 0: a big record without its size */
	}
	return true;
}

/* The slot index of key, or -1. */
static long slot_index(struct am_shard *s, uintptr_t key)
{
	for (uint32_t i = 0; s->mask && i <= s->mask; i++)
		if (s->slots[i].key == key)
			return i;
	return -1;
}

/* Structure of one shard: used matches the table, no key twice, every key
 * reachable, the side list exactly the slots marked big.  Returns used. */
static uint32_t check_shard(struct am_shard *s)
{
	uint32_t used = 0, nbig = 0;

	for (uint32_t i = 0; s->mask && i <= s->mask; i++) {
		if (!s->slots[i].key) {
			CHECK_EQ(s->slots[i].val, 0);
			continue;
		}
		used++;
		CHECK(am_shard_of(s->slots[i].key, am_hash(s->slots[i].key)) == s);
		/* reachable, and no copy of the key earlier in its run */
		CHECK_EQ(probe(s->slots[i].key), i);
		if (s->slots[i].val >> 32 == AM_SIZE_BIG) {
			nbig++;
			CHECK(big_find(s, s->slots[i].key) != NULL);
		}
	}
	CHECK_EQ(used, s->used);
	CHECK_EQ(nbig, s->nbig);
	CHECK(s->nbig <= s->capbig);
	return used;
}

#define REC_EQ(r, i, s)                  \
	do {                             \
		CHECK_EQ((r).id, (i));   \
		CHECK_EQ((r).size, (s)); \
	} while (0)

/* ------------------------------------------------------------ tmem */

static bool all_zero(const void *p, size_t n)
{
	const unsigned char *c = p;

	for (size_t i = 0; i < n; i++)
		if (c[i])
			return false;
	return true;
}

static void test_tmem(void)
{
	size_t base = tmem_bytes();
	char *p, *q, *r, *s, *blocks[100];
	size_t before;
	int changes, first = -1, second = -1;

	/* the first small block maps one region; later ones come from it */
	CHECK_EQ(base, 0);
	p = tmem_alloc(100);
	CHECK(p != NULL);
	CHECK_EQ(tmem_bytes(), REGION);
	CHECK(all_zero(p, 128));
	CHECK_EQ((uintptr_t)p % 16, 0);
	q = tmem_alloc(128);
	CHECK(q && q != p);
	CHECK(q >= p + 128 || q + 128 <= p);
	CHECK_EQ(tmem_bytes(), REGION);

	/* a freed block is reused by its class, and comes back zeroed */
	memset(p, 0xaa, 128);
	tmem_free(p, 100);
	CHECK_EQ(tmem_bytes(), REGION); /* small blocks stay with the tracer */
	r = tmem_alloc(120);
	CHECK(r == p);
	CHECK(all_zero(r, 128));
	/* ... and only by its class */
	memset(q, 0xbb, 128);
	tmem_free(q, 128);
	s = tmem_alloc(64);
	CHECK(s && s != q);
	CHECK(all_zero(s, 64));
	r = tmem_alloc(65);
	CHECK(r == q);
	CHECK(all_zero(r, 128));
	tmem_free(s, 64);
	tmem_free(r, 128);
	tmem_free(p, 128);

	/* every class, at both of its edges */
	for (unsigned shift = SMALL_MIN_SHIFT; shift <= SMALL_MAX_SHIFT; shift++) {
		size_t size = (size_t)1 << shift, lo = shift == SMALL_MIN_SHIFT ? 1 : size / 2 + 1;
		char *a = tmem_alloc(lo), *b;

		CHECK(a != NULL);
		CHECK(all_zero(a, size));
		memset(a, 0xcc, size);
		tmem_free(a, lo);
		b = tmem_alloc(size);
		CHECK(b == a);
		CHECK(all_zero(b, size));
		memset(b, 0xdd, size);
		tmem_free(b, size);
		b = tmem_alloc(size);
		CHECK(b == a);
		CHECK(all_zero(b, size));
		tmem_free(b, size);
	}
	/* several freed blocks all come back, none twice */
	{
		char *x[3], *y[3];

		for (int i = 0; i < 3; i++)
			x[i] = tmem_alloc(256);
		for (int i = 0; i < 3; i++) {
			memset(x[i], 0xee, 256);
			tmem_free(x[i], 256);
		}
		for (int i = 0; i < 3; i++) {
			y[i] = tmem_alloc(256);
			CHECK(all_zero(y[i], 256));
		}
		for (int i = 0; i < 3; i++) {
			int hits = 0;

			for (int j = 0; j < 3; j++)
				hits += x[i] == y[j];
			CHECK_EQ(hits, 1);
		}
		for (int i = 0; i < 3; i++)
			tmem_free(y[i], 256);
	}
	/* size 0 is a valid request */
	p = tmem_alloc(0);
	CHECK(p != NULL);
	tmem_free(p, 0);
	CHECK(tmem_alloc(1) == p);
	tmem_free(p, 1);
	tmem_free(NULL, 100);
	tmem_free(NULL, 1 << 20);

	/* a region holds 32 blocks of 2048 bytes; then the next one is mapped */
	before = tmem_bytes();
	changes = 0;
	for (int i = 0; i < 100; i++) {
		size_t now;

		blocks[i] = tmem_alloc(2048);
		CHECK(blocks[i] != NULL);
		CHECK(all_zero(blocks[i], 2048));
		memset(blocks[i], 0x11, 2048);
		now = tmem_bytes();
		if (now != before) {
			CHECK_EQ(now - before, REGION);
			if (changes == 0)
				first = i;
			else if (changes == 1)
				second = i;
			changes++;
			before = now;
		}
	}
	CHECK(changes >= 2);
	CHECK_EQ(second - first, REGION / 2048);
	for (int i = 0; i < 100; i++)
		for (int j = i + 1; j < 100; j++)
			CHECK(blocks[i] + 2048 <= blocks[j] || blocks[j] + 2048 <= blocks[i]);
	for (int i = 0; i < 100; i++)
		tmem_free(blocks[i], 2048);
	CHECK_EQ(tmem_bytes(), before);

	/* larger requests are whole pages, mapped and unmapped */
	before = tmem_bytes();
	p = tmem_alloc(2049);
	CHECK(p != NULL);
	CHECK_EQ((uintptr_t)p % 4096, 0);
	CHECK_EQ(tmem_bytes(), before + 4096);
	CHECK(all_zero(p, 4096));
	memset(p, 0x22, 4096);
	q = tmem_alloc(5000);
	CHECK(q != NULL);
	CHECK_EQ((uintptr_t)q % 4096, 0);
	CHECK_EQ(tmem_bytes(), before + 4096 + 8192);
	CHECK(all_zero(q, 8192));
	r = tmem_alloc(1 << 20);
	CHECK(r != NULL);
	CHECK_EQ(tmem_bytes(), before + 4096 + 8192 + (1 << 20));
	CHECK(all_zero(r, 1 << 20));
	memset(r, 0x33, 1 << 20);
	tmem_free(q, 5000);
	CHECK_EQ(tmem_bytes(), before + 4096 + (1 << 20));
	tmem_free(r, 1 << 20);
	CHECK_EQ(tmem_bytes(), before + 4096);
	tmem_free(p, 2049);
	CHECK_EQ(tmem_bytes(), before);
	/* a large block is zeroed again after its pages went back */
	r = tmem_alloc(1 << 20);
	CHECK(r != NULL);
	CHECK(all_zero(r, 1 << 20));
	tmem_free(r, 1 << 20);
	CHECK_EQ(tmem_bytes(), before);

	/* impossible requests fail cleanly and cost nothing */
	CHECK(tmem_alloc(SIZE_MAX) == NULL);
	CHECK(tmem_alloc(SIZE_MAX - 4095) == NULL);
	CHECK(tmem_alloc(SIZE_MAX - 4096) == NULL);
	CHECK(tmem_alloc((size_t)1 << 62) == NULL);
	CHECK_EQ(tmem_bytes(), before);

	/* the fork handlers balance the lock */
	tmem_fork_prepare();
	CHECK_EQ(ht_self.locks, 1);
	tmem_fork_parent();
	CHECK_EQ(ht_self.locks, 0);
	CHECK_EQ(tm.lock.v, 0);
}

/* ------------------------------------------------------------ basics */

static void test_basic(void)
{
	uintptr_t k = make_key(7, 5, 1), k2 = 0x7f0000001240;
	struct am_rec r, sentinel = {0xdeadbeef, 0x1234};

	am_reset();
	CHECK_EQ(am_count(), 0);
	CHECK_EQ(am_bytes(), 0);

	/* absent keys, in a shard never used and in one that is */
	r = sentinel;
	CHECK(!rem(k, &r));
	REC_EQ(r, sentinel.id, sentinel.size);

	CHECK_EQ(ins(k, 7, 100, &r), AM_INSERTED);
	CHECK_EQ(am_count(), 1);
	CHECK_EQ(am_bytes(), AM_MIN_SLOTS * sizeof(struct am_slot));
	CHECK(find(k, &r));
	REC_EQ(r, 7, 100);
	r = sentinel;
	CHECK(!rem(k2, &r));
	REC_EQ(r, sentinel.id, sentinel.size);
	CHECK(!rem(make_key(7, 5, 2), &r)); /* same shard and home */
	REC_EQ(r, sentinel.id, sentinel.size);
	CHECK_EQ(am_count(), 1);

	CHECK(rem(k, &r));
	REC_EQ(r, 7, 100);
	CHECK_EQ(am_count(), 0);
	CHECK(!find(k, &r));
	r = sentinel;
	CHECK(!rem(k, &r));
	REC_EQ(r, sentinel.id, sentinel.size);
	CHECK_EQ(am_bytes(), AM_MIN_SLOTS * sizeof(struct am_slot)); /* tables do not shrink */

	/* a duplicate insert replaces the record and returns the old one */
	CHECK_EQ(ins(k, 1, 10, &r), AM_INSERTED);
	r = sentinel;
	CHECK_EQ(ins(k, 2, 20, &r), AM_REPLACED);
	REC_EQ(r, 1, 10);
	CHECK_EQ(am_count(), 1);
	CHECK_EQ(ins(k, 3, 30, &r), AM_REPLACED);
	REC_EQ(r, 2, 20);
	CHECK_EQ(am_count(), 1);
	CHECK(rem(k, &r));
	REC_EQ(r, 3, 30);
	CHECK(!rem(k, &r));
	CHECK_EQ(am_count(), 0);

	/* the extremes of the packed fields */
	CHECK_EQ(ins(k, 0, 0, &r), AM_INSERTED);
	CHECK_EQ(ins(k2, UINT32_MAX, 0xfffffffeu, &r), AM_INSERTED);
	CHECK_EQ(am_shard_of(k2, am_hash(k2))->nbig, 0); /* the largest inline size */
	CHECK(rem(k, &r));
	REC_EQ(r, 0, 0);
	CHECK(rem(k2, &r));
	REC_EQ(r, UINT32_MAX, 0xfffffffeu);

	/* records in different shards count separately */
	for (unsigned i = 0; i < AM_SHARDS; i++)
		CHECK_EQ(ins(make_key(i, 3, 1), i, i, &r), AM_INSERTED);
	CHECK_EQ(am_count(), AM_SHARDS);
	CHECK_EQ(am_bytes(), (uint64_t)AM_SHARDS * AM_MIN_SLOTS * sizeof(struct am_slot));
	for (unsigned i = 0; i < AM_SHARDS; i++) {
		CHECK(rem(make_key(i, 3, 1), &r));
		REC_EQ(r, i, i);
		CHECK_EQ(am_count(), AM_SHARDS - 1 - i);
	}

	/* the hash inverse the other tests rely on */
	for (uint64_t h = 1; h < 1000; h++)
		CHECK_EQ(am_hash(key_of_hash(hash_word(h))), hash_word(h));
	CHECK_EQ(am_shard_of(make_key(5, 9, 3), am_hash(make_key(5, 9, 3))) - am_shards, 5);
	CHECK_EQ(am_shard_of(make_key(700, 9, 3), am_hash(make_key(700, 9, 3))) - am_shards, 700);
}

/* ------------------------------------------------------------ sizes >= 4 GiB */

static void test_big(void)
{
	const uint64_t G5 = 5ULL << 30, G6 = 6ULL << 30;
	uintptr_t k = make_key(9, 1, 1), k2 = make_key(9, 1, 2);
	struct am_shard *s = &am_shards[9];
	struct am_rec r;

	am_reset();
	CHECK_EQ(ins(k, 1, G5, &r), AM_INSERTED);
	CHECK_EQ(s->nbig, 1);
	CHECK(find(k, &r));
	REC_EQ(r, 1, G5);
	CHECK(rem(k, &r));
	REC_EQ(r, 1, G5);
	CHECK_EQ(s->nbig, 0);
	CHECK_EQ(am_count(), 0);

	/* exactly 2^32 - 1 is the marker itself: it goes to the side list */
	CHECK_EQ(ins(k, 2, 0xffffffffu, &r), AM_INSERTED);
	CHECK_EQ(s->nbig, 1);
	CHECK(rem(k, &r));
	REC_EQ(r, 2, 0xffffffffu);
	CHECK_EQ(s->nbig, 0);
	CHECK_EQ(ins(k, 3, 1ULL << 32, &r), AM_INSERTED);
	CHECK(rem(k, &r));
	REC_EQ(r, 3, 1ULL << 32);
	CHECK_EQ(ins(k, 4, UINT64_MAX, &r), AM_INSERTED);
	CHECK(rem(k, &r));
	REC_EQ(r, 4, UINT64_MAX);
	CHECK_EQ(s->nbig, 0);

	/* big replaced by small */
	CHECK_EQ(ins(k, 1, G5, &r), AM_INSERTED);
	CHECK_EQ(ins(k, 2, 100, &r), AM_REPLACED);
	REC_EQ(r, 1, G5);
	CHECK_EQ(s->nbig, 0);
	CHECK(rem(k, &r));
	REC_EQ(r, 2, 100);
	/* small replaced by big */
	CHECK_EQ(ins(k, 1, 100, &r), AM_INSERTED);
	CHECK_EQ(ins(k, 2, G5, &r), AM_REPLACED);
	REC_EQ(r, 1, 100);
	CHECK_EQ(s->nbig, 1);
	/* big replaced by big */
	CHECK_EQ(ins(k, 3, G6, &r), AM_REPLACED);
	REC_EQ(r, 2, G5);
	CHECK_EQ(s->nbig, 1);
	CHECK_EQ(ins(k, 4, 0xffffffffu, &r), AM_REPLACED);
	REC_EQ(r, 3, G6);
	CHECK_EQ(s->nbig, 1);
	/* a neighbour in the same probe run keeps its own size */
	CHECK_EQ(ins(k2, 5, G5 + 1, &r), AM_INSERTED);
	CHECK_EQ(s->nbig, 2);
	CHECK(rem(k, &r));
	REC_EQ(r, 4, 0xffffffffu);
	CHECK(find(k2, &r));
	REC_EQ(r, 5, G5 + 1);
	CHECK(rem(k2, &r));
	REC_EQ(r, 5, G5 + 1);
	CHECK_EQ(s->nbig, 0);
	CHECK_EQ(am_count(), 0);

	/* many big records in one shard, mixed with small ones, removed out of order */
	{
		enum { N = 300 };
		uint64_t rng = 42;
		int order[N];

		for (int i = 0; i < N; i++) {
			uint64_t size = i % 3 ? G5 + (uint64_t)i * 4097 : (uint64_t)i;

			CHECK_EQ(ins(make_key(9, (uint32_t)i % 7, 100 + i), i, size, &r),
				 AM_INSERTED);
			order[i] = i;
		}
		CHECK_EQ(s->nbig, 200);
		check_shard(s);
		for (int i = N - 1; i > 0; i--) {
			int j = (int)(unit_rand(&rng) % (uint64_t)(i + 1)), t = order[i];

			order[i] = order[j];
			order[j] = t;
		}
		for (int n = 0; n < N; n++) {
			int i = order[n];
			uint64_t size = i % 3 ? G5 + (uint64_t)i * 4097 : (uint64_t)i;

			CHECK(rem(make_key(9, (uint32_t)i % 7, 100 + i), &r));
			REC_EQ(r, i, size);
			if (n % 50 == 0)
				check_shard(s);
		}
		CHECK_EQ(s->nbig, 0);
		CHECK_EQ(am_count(), 0);
	}

	/* big records of other shards are not seen from this one */
	CHECK_EQ(ins(make_key(10, 1, 1), 1, G5, &r), AM_INSERTED);
	CHECK_EQ(ins(make_key(11, 1, 1), 2, G6, &r), AM_INSERTED);
	CHECK(rem(make_key(11, 1, 1), &r));
	REC_EQ(r, 2, G6);
	CHECK(rem(make_key(10, 1, 1), &r));
	REC_EQ(r, 1, G5);
}

/* ------------------------------------------------------------ backward shift */

struct placed {
	uintptr_t key;
	long slot; /* where it must be, -1 once removed */
};

/* Every key at its expected slot, found by look-up and by am_insert(). */
static void check_layout(struct am_shard *s, struct placed *p, int n)
{
	uint32_t live = 0;

	for (int i = 0; i < n; i++) {
		struct am_rec r;

		if (p[i].slot < 0) {
			CHECK(!find(p[i].key, &r));
			CHECK_EQ(slot_index(s, p[i].key), (uint64_t)-1);
			continue;
		}
		live++;
		CHECK_EQ(slot_index(s, p[i].key), p[i].slot);
		CHECK(find(p[i].key, &r));
		REC_EQ(r, (uint32_t)i, 1000u + (unsigned)i);
		/* through the public interface: an insert finds it and replaces it */
		CHECK_EQ(ins(p[i].key, (uint32_t)i, 1000u + (unsigned)i, &r), AM_REPLACED);
		REC_EQ(r, (uint32_t)i, 1000u + (unsigned)i);
	}
	CHECK_EQ(check_shard(s), live);
}

/* Build a cluster in a fresh shard (AM_MIN_SLOTS): key i has home homes[i]. */
static void build(unsigned shard, struct placed *p, const uint32_t *homes, const long *slots, int n)
{
	struct am_shard *s = &am_shards[shard];
	struct am_rec r;

	for (int i = 0; i < n; i++) {
		p[i].key = make_key(shard, homes[i], 1000 + (uint64_t)i);
		p[i].slot = slots[i];
		CHECK_EQ(ins(p[i].key, (uint32_t)i, 1000u + (unsigned)i, &r), AM_INSERTED);
	}
	CHECK_EQ(s->mask, AM_MIN_SLOTS - 1);
	check_layout(s, p, n);
}

static void removed(struct placed *p, int i)
{
	struct am_rec r;

	CHECK(rem(p[i].key, &r));
	REC_EQ(r, (uint32_t)i, 1000u + (unsigned)i);
	p[i].slot = -1;
}

/* The capacity of a fresh shard's table: where a run wraps. */
#define C AM_MIN_SLOTS

static void test_backshift(void)
{
	struct placed p[8];

	am_reset();

	/* the middle of a run: R and S sit at their homes and must not move, T must */
	{
		static const uint32_t homes[] = {10, 10, 12, 12, 10};
		static const long slots[] = {10, 11, 12, 13, 14};
		struct am_shard *s = &am_shards[1];

		build(1, p, homes, slots, 5);
		removed(p, 1);
		p[4].slot = 11;
		check_layout(s, p, 5);
		/* now P T R S: removing P pulls T to its home, R and S stay */
		removed(p, 0);
		p[4].slot = 10;
		check_layout(s, p, 5);
		removed(p, 3); /* the end of a run: nothing moves */
		check_layout(s, p, 5);
		removed(p, 4);
		removed(p, 2);
		check_layout(s, p, 5);
		CHECK_EQ(s->used, 0);
	}

	/* a run wrapping around the end of the table, everything shifts back */
	{
		static const uint32_t homes[] = {C - 2, C - 2, C - 1, 0, C - 2, 2};
		static const long slots[] = {C - 2, C - 1, 0, 1, 2, 3};
		struct am_shard *s = &am_shards[2];

		build(2, p, homes, slots, 6);
		removed(p, 0);
		p[1].slot = C - 2;
		p[2].slot = C - 1;
		p[3].slot = 0;
		p[4].slot = 1;
		p[5].slot = 2;
		check_layout(s, p, 6);
		/* a hole at C-1: D stays at its home 0, E (home C-2) jumps over it
		 * to C-1, F stays at its home 2 */
		removed(p, 2);
		p[4].slot = C - 1;
		check_layout(s, p, 6);
		CHECK_EQ(s->used, 4);
	}

	/* across the wrap, a key at its home stays and one behind it jumps over */
	{
		static const uint32_t homes[] = {C - 2, C - 2, 0, C - 1, 0};
		static const long slots[] = {C - 2, C - 1, 0, 1, 2};
		struct am_shard *s = &am_shards[3];

		build(3, p, homes, slots, 5);
		removed(p, 0); /* Y C-1 -> C-2; Z stays at its home 0; W (home C-1) 1 -> C-1; V 2->1 */
		p[1].slot = C - 2;
		p[3].slot = C - 1;
		p[4].slot = 1;
		check_layout(s, p, 5);
		removed(p, 1); /* W at C-1 has home C-1: it stays, nothing moves */
		check_layout(s, p, 5);
		removed(p, 3); /* hole at C-1: Z is at home, V (home 0) at 1 stays behind Z */
		check_layout(s, p, 5);
	}

	/* the last slot: a key homed at C-1 wraps to 0 and comes back */
	{
		static const uint32_t homes[] = {C - 1, C - 1, C - 1};
		static const long slots[] = {C - 1, 0, 1};
		struct am_shard *s = &am_shards[4];

		build(4, p, homes, slots, 3);
		removed(p, 0);
		p[1].slot = C - 1;
		p[2].slot = 0;
		check_layout(s, p, 3);
		removed(p, 2);
		check_layout(s, p, 3);
		removed(p, 1);
		check_layout(s, p, 3);
		CHECK_EQ(s->used, 0);
	}

	/* a long run of equal homes, emptied from the front */
	{
		uint32_t homes[8];
		long slots[8];
		struct am_shard *s = &am_shards[5];

		for (int i = 0; i < 8; i++) {
			homes[i] = C - 4;
			slots[i] = (C - 4 + i) & (C - 1);
		}
		build(5, p, homes, slots, 8);
		for (int i = 0; i < 8; i++) {
			removed(p, i);
			for (int j = i + 1; j < 8; j++)
				p[j].slot = (C - 4 + j - i - 1) & (C - 1);
			check_layout(s, p, 8);
		}
	}
}

#undef C

/* ------------------------------------------------------------ against a model */

struct model {
	uintptr_t key;
	bool present;
	uint32_t id;
	uint64_t size;
};

static uint64_t random_size(uint64_t *rng)
{
	uint64_t x = unit_rand(rng);

	switch (x % 100) {
	case 0 ... 2:
		return 0xffffffffu;
	case 3 ... 4:
		return 0xfffffffeu;
	case 5 ... 9:
		return (1ULL << 32) + (x >> 24);
	case 10:
		return 0;
	default:
		return (x >> 8) % (1 << 20);
	}
}

static void check_model(struct am_shard *s, const struct model *m, int n)
{
	uint32_t present = 0, big = 0;

	for (int i = 0; i < n; i++) {
		struct am_rec r;
		bool found = find(m[i].key, &r);

		CHECK(found == m[i].present);
		if (!m[i].present || !found)
			continue;
		present++;
		big += m[i].size >= 0xffffffffu;
		REC_EQ(r, m[i].id, m[i].size);
	}
	CHECK_EQ(check_shard(s), present);
	CHECK_EQ(am_count(), present);
	CHECK_EQ(s->nbig, big);
}

static void test_model(void)
{
	enum { POOL = 40000, OPS = 200000, BATCH = 4000, SHARD = 17 };
	struct am_shard *s = &am_shards[SHARD];
	struct model *m = calloc(POOL, sizeof(*m));
	uint64_t rng = 0x5eed, salt = 1;
	uint32_t grows = 0, last_mask = 0, wrapped = 0;
	int n = 0;

	am_reset();
	/*
	 * The pool, in groups of 16 keys: random keys of the shard; keys sharing
	 * one home in every table size; runs of consecutive homes; and keys homed
	 * in the last 64 slots, so that clusters wrap around whatever the
	 * capacity.
	 */
	while (n < POOL) {
		unsigned kind = (unsigned)(n / 16 % 16);
		uint32_t home = (uint32_t)unit_rand(&rng);

		for (int i = 0; i < 16 && n < POOL; i++, n++) {
			if (kind < 7)
				home = (uint32_t)unit_rand(&rng);
			else if (kind < 12)
				; /* the same home */
			else if (kind < 15)
				home += i & 1;
			else
				home = 0xffff - (uint32_t)(unit_rand(&rng) % 64);
			m[n].key = make_key(SHARD, home, salt++);
		}
	}

	for (int op = 0; op < OPS; op++) {
		/* fill, churn, then drain: the table grows through many sizes */
		unsigned insert_pct = op < OPS / 3 ? 75 : op < 2 * OPS / 3 ? 50 : 25;
		uint64_t x = unit_rand(&rng);
		struct model *e = &m[(x >> 8) % POOL];
		struct am_rec r = {0xabababab, 0xcdcdcdcd};

		if (x % 100 < insert_pct) {
			uint32_t id = (uint32_t)unit_rand(&rng);
			uint64_t size = random_size(&rng);
			enum am_result res = ins(e->key, id, size, &r);

			if (e->present) {
				CHECK_EQ(res, AM_REPLACED);
				REC_EQ(r, e->id, e->size);
			} else {
				CHECK_EQ(res, AM_INSERTED);
			}
			*e = (struct model){e->key, true, id, size};
		} else {
			bool found = rem(e->key, &r);

			CHECK(found == e->present);
			if (e->present)
				REC_EQ(r, e->id, e->size);
			else
				REC_EQ(r, 0xabababab, 0xcdcdcdcd);
			e->present = false;
		}
		if (s->mask != last_mask) {
			grows++;
			last_mask = s->mask;
		}
		/* every batch, and often while the table is small and grows fast */
		if ((op + 1) % BATCH == 0 || (op < 3000 && (op + 1) % 50 == 0)) {
			check_model(s, m, POOL);
			wrapped += s->slots[0].key && s->slots[s->mask].key;
		}
	}
	CHECK(grows >= 9);  /* 64 -> 32768 */
	CHECK(wrapped > 0); /* runs across the end of the table were seen */

	/* drain: every record comes back once */
	for (int i = 0; i < POOL; i++) {
		struct am_rec r;

		CHECK(rem(m[i].key, &r) == m[i].present);
		if (m[i].present)
			REC_EQ(r, m[i].id, m[i].size);
		m[i].present = false;
		if (i % 10000 == 0)
			check_model(s, m, POOL);
	}
	check_model(s, m, POOL);
	CHECK_EQ(s->used, 0);
	CHECK_EQ(s->nbig, 0);
	free(m);
}

/* ------------------------------------------------------------ memory per record */

static void test_memory(void)
{
	const uintptr_t base = 0x7f3a12340010;
	enum { LOW = 100000, HIGH = 400000, CHURN = 300000 };
	struct am_rec r;
	uint64_t worst = 0;
	uintptr_t lo = 0, hi = 0; /* live blocks are base + 48 * [lo, hi) */

	am_reset();
	while (hi < LOW) {
		CHECK_EQ(ins(base + 48 * hi, (uint32_t)hi, 48, &r), AM_INSERTED);
		hi++;
	}
	/* steady churn at 100,000 live blocks: no growth without tombstones */
	for (int i = 0; i < CHURN; i++) {
		CHECK(rem(base + 48 * lo, &r));
		REC_EQ(r, (uint32_t)lo, 48);
		lo++;
		CHECK_EQ(ins(base + 48 * hi, (uint32_t)hi, 48, &r), AM_INSERTED);
		hi++;
		if (i % 10000 == 0) {
			CHECK_EQ(am_count(), LOW);
			CHECK(am_bytes() <= 48 * am_count());
		}
	}
	/* growth up to 400,000 */
	while (hi - lo < HIGH) {
		CHECK_EQ(ins(base + 48 * hi, (uint32_t)hi, 48, &r), AM_INSERTED);
		hi++;
		if (hi % 1000 == 0) {
			uint64_t per = am_bytes() * 1000 / am_count();

			CHECK_EQ(am_count(), hi - lo);
			CHECK(per <= 48000);
			worst = per > worst ? per : worst;
		}
	}
	for (int i = 0; i < AM_SHARDS; i++)
		check_shard(&am_shards[i]);
	while (lo < hi) {
		CHECK(rem(base + 48 * lo, &r));
		REC_EQ(r, (uint32_t)lo, 48);
		lo++;
	}
	CHECK_EQ(am_count(), 0);
	printf("addrmap: at most %llu.%03llu bytes per live record\n",
	       (unsigned long long)worst / 1000, (unsigned long long)worst % 1000);
}

/*
 * A constant live count, the block replaced each time picked at random (as
 * bench/'s steady does): each shard's count wanders around its average.
 * The map's memory is set by the group's count and stays put; shards that
 * grew on their own when they passed 3/4 grew one by one for as long as
 * the run went on.  One thread's blocks: one 64 MiB region, one group.
 */
static void test_no_growth_with_run_time(void)
{
	enum { LIVE = 25000, OPS = 1000000, SETTLE = 20000 };
	const uintptr_t base = (uintptr_t)0x7f0000000000 + (3u << AM_REGION_SHIFT);
	static uintptr_t live[LIVE];
	uint64_t rng = 0x9e3779b97f4a7c15ULL, settled = 0;
	struct am_rec r;

	am_reset();
	for (int op = -LIVE; op < OPS; op++) {
		unsigned i = op < 0 ? (unsigned)(op + LIVE) : 0;

		rng ^= rng << 13, rng ^= rng >> 7, rng ^= rng << 17;
		if (op >= 0) {
			i = (unsigned)(rng % LIVE);
			CHECK(rem(live[i], &r));
		}
		/* somewhere in an arena's heap: each of its group's 64 shards'
		 * counts wanders around 390 */
		do
			live[i] = base + ((rng >>= 7, rng) & ((1u << AM_REGION_SHIFT) - 16));
		while (find(live[i], &r));
		CHECK_EQ(ins(live[i], 1, 16, &r), AM_INSERTED);
		if (op == SETTLE) {
			/* more than 3/4 of 512 on average: every shard of the
			 * group at 1024, whether its own count passed the mark or
			 * not; the other groups' shards have no table */
			for (int k = 0; k < AM_SHARDS; k++) {
				bool mine = k / AM_GROUP_SHARDS == 3;

				CHECK_EQ(am_shards[k].mask + 1, mine ? 1024u : 1u);
				if (mine)
					CHECK_EQ(am_target_of(&am_shards[k]), 1024);
			}
			settled = am_bytes();
		}
		if (op > SETTLE && op % 10000 == 0)
			CHECK_EQ(am_bytes(), settled);
	}
	CHECK_EQ(am_count(), LIVE);
	am_reset();
}

/*
 * Groups: the blocks of one 64 MiB region go to one group of shards, those
 * of the next region to the next group, and a group's tables are sized
 * from its own count, not the others'.
 */
static void test_groups_by_region(void)
{
	const uintptr_t base = (uintptr_t)0x7f0000000000;
	struct am_rec r;

	am_reset();
	for (unsigned g = 0; g < AM_GROUPS; g++)
		for (uintptr_t off = 16; off < (1u << AM_REGION_SHIFT); off += (1u << AM_REGION_SHIFT) / 97) {
			uintptr_t key = base + ((uintptr_t)g << AM_REGION_SHIFT) + (off & ~(uintptr_t)15);

			CHECK_EQ((am_shard_of(key, am_hash(key)) - am_shards) / AM_GROUP_SHARDS, g);
		}
	/* a full group: its shards grow, the next group's stay at their first table */
	for (unsigned i = 0; i < 64 * 420; i++) /* 3/4 of 512 is 384 */
		CHECK_EQ(ins(base + 16 * (i + 1), 1, 16, &r), AM_INSERTED);
	CHECK_EQ(ins(base + (1u << AM_REGION_SHIFT) + 16, 1, 16, &r), AM_INSERTED);
	CHECK_EQ(am_target_of(&am_shards[0]), 1024);
	CHECK_EQ(am_target_of(&am_shards[AM_GROUP_SHARDS]), AM_MIN_SLOTS);
	for (int k = 0; k < AM_GROUP_SHARDS; k++)
		CHECK(am_shards[k].mask + 1 >= 1024);
	CHECK_EQ(am_bytes(), (uint64_t)(AM_GROUP_SHARDS * 1024 + AM_MIN_SLOTS) * sizeof(struct am_slot));
	am_reset();
}

/*
 * Tables give their memory back when their records go (addrmap.c):
 * one group's tables take a limit of tracer memory whole, another
 * group's shard cannot get a table; once the records are removed, the
 * first group's target and tables are down to the least (shards that
 * emptied while the group was still large too), and the other shard gets
 * its table.
 */
static void test_shrink_gives_back(void)
{
	const uintptr_t base = (uintptr_t)0x7f0000000000;
	const uintptr_t other = base + (1u << AM_REGION_SHIFT) + 16;
	size_t before = tmem_bytes(), limit = 1u << 20;
	unsigned n = 0, refused = 0;
	struct am_rec r;

	am_reset();
	tmem_set_limit(before + limit);
	/* until nothing fits: 1,000 refusals in a row */
	for (uintptr_t i = 1; refused < 1000; i++) {
		if (ins(base + 16 * i, 1, 16, &r) == AM_INSERTED) {
			n++;
			refused = 0;
		} else {
			CHECK(rem(base + 16 * i, &r) == false);
			refused++;
		}
	}
	CHECK(n > 20000);
	CHECK(tmem_bytes() > before + limit / 2);
	CHECK_EQ(ins(other, 2, 16, &r), AM_NOMEM);
	for (uintptr_t i = 1; n; i++)
		if (rem(base + 16 * i, &r))
			n--;
	CHECK_EQ(am_count(), 0);
	CHECK_EQ(am_target_of(&am_shards[0]), AM_MIN_SLOTS);
	for (int k = 0; k < AM_GROUP_SHARDS; k++)
		CHECK_EQ(am_shards[k].mask + 1, AM_MIN_SLOTS);
	CHECK_EQ(ins(other, 2, 16, &r), AM_INSERTED);
	tmem_set_limit(0);
	am_reset();
}

/* ------------------------------------------------------------ fork */

static void test_fork(void)
{
	pid_t pid;
	int status;
	struct am_rec r;
	uintptr_t k = make_key(7, 1, 1);

	am_reset();
	CHECK_EQ(ins(k, 1, 2, &r), AM_INSERTED);
	am_fork_prepare();
	CHECK_EQ(ht_self.locks, AM_SHARDS);
	fflush(stdout);
	fflush(stderr);
	pid = fork();
	if (pid == 0) {
		/* the child: locks released, the map copied whole */
		alarm(10);
		am_fork_child();
		if (ht_self.locks != 0)
			_exit(2);
		if (!rem(k, &r) || r.id != 1 || r.size != 2)
			_exit(3);
		if (ins(k, 3, 4, &r) != AM_INSERTED)
			_exit(4);
		_exit(0);
	}
	am_fork_parent();
	CHECK_EQ(ht_self.locks, 0);
	for (int i = 0; i < AM_SHARDS; i++)
		CHECK_EQ(am_shards[i].lock.v, 0);
	CHECK(pid > 0);
	CHECK(waitpid(pid, &status, 0) == pid);
	CHECK(WIFEXITED(status));
	CHECK_EQ(WEXITSTATUS(status), 0);
	CHECK(rem(k, &r)); /* the parent's map is its own */
	REC_EQ(r, 1, 2);
}

/* ------------------------------------------------------------ am_remove_all_but */

static uintptr_t removed_keys[4096];
static int nremoved;

static void note_removed(uintptr_t key)
{
	if (nremoved < (int)ARRAY_SIZE(removed_keys))
		removed_keys[nremoved++] = key;
}

static int by_key(const void *a, const void *b)
{
	uintptr_t x = *(const uintptr_t *)a, y = *(const uintptr_t *)b;

	return x < y ? -1 : x > y;
}

/* An attach after a detach (acct_reset()): every record but the kept id's
 * goes, each removed key told once, in runs that backward shifts move. */
static void test_remove_all_but(void)
{
	enum { N = 3000, KEEP = 1 };
	struct am_rec r;

	am_reset();
	nremoved = 0;
	for (uintptr_t i = 0; i < N; i++) /* every third one kept */
		CHECK_EQ(ins(0x7f0000000000 + 16 * i, i % 3 ? 5 + (uint32_t)i % 7 : KEEP,
			     i == 10 ? 1ULL << 33 : 32, &r), AM_INSERTED);
	am_fork_prepare();
	am_remove_all_but(KEEP, note_removed);
	am_fork_parent();
	CHECK_EQ(am_count(), N / 3);
	CHECK_EQ(nremoved, N - N / 3);
	qsort(removed_keys, (size_t)nremoved, sizeof(removed_keys[0]), by_key);
	for (uintptr_t i = 0, k = 0; i < N; i++) {
		bool kept = i % 3 == 0;

		CHECK_EQ(probe(0x7f0000000000 + 16 * i) >= 0, kept);
		if (!kept)
			CHECK_EQ(removed_keys[k++], 0x7f0000000000 + 16 * i);
	}
	for (int i = 0; i < AM_SHARDS; i++) /* nothing left of the big record */
		CHECK_EQ(am_shards[i].nbig, 0);
}

int main(void)
{
	unit_watchdog(60);
	test_tmem();
	if (unit_fails) /* the map is built on it: stop here */
		return unit_done("unit-addrmap");
	test_basic();
	test_big();
	test_backshift();
	test_model();
	test_memory();
	test_no_growth_with_run_time();
	test_groups_by_region();
	test_shrink_gives_back();
	test_fork();
	test_remove_all_but();
	CHECK_EQ(ht_self.locks, 0);
	return unit_done("unit-addrmap");
}
