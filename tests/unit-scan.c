// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * unit-scan.c - the mark phase of leak classification (lib/scan.c) on
 * blocks the test lays out itself in one arena: every lookup case of the
 * index (start, interior, one past the end, gaps, regions, pages, zero
 * sizes), and the classification rules of scan.h against what memcheck
 * says of the same shapes (chains, cycles, a leaked block reached only from
 * another clique, interior pointers, the allocator's header word).
 */
#define _GNU_SOURCE
#include <sys/mman.h>

#include "../lib/tmem.c"
#include "../lib/scan.c"
#include "unit.h"

HT_TLS struct ht_thread ht_self;
void ht_drain(void) {} /* nothing is ever queued here */

#define ARENA (64u << 20)
static char *arena;

/* A block at arena + off (8-aligned) of size bytes, zeroed. */
static uintptr_t at(size_t off)
{
	return (uintptr_t)arena + off;
}

static void put(uintptr_t where, uintptr_t value)
{
	*(uintptr_t *)where = value;
}

static enum scan_class cls_of(struct scan *s, uintptr_t a)
{
	struct scan_block *b = scan_find(s, a);

	return b ? scan_class(s, b) : (enum scan_class)-1;
}

static struct scan *build(const uintptr_t *addr, const uint64_t *size, size_t n,
			  scan_usable_fn *usable)
{
	struct scan *s = scan_new(n, usable);

	CHECK(s != NULL);
	/* in reverse: the index must sort them */
	for (size_t i = n; i-- > 0;)
		CHECK(scan_add(s, addr[i], size[i], (uint32_t)i));
	CHECK(!scan_add(s, 1, 1, 0)); /* full */
	CHECK(scan_index(s));
	return s;
}

static void test_find(void)
{
	/* two regions (a gap of 8 MiB), blocks across page boundaries,
	 * many small blocks in one page, a zero-size block */
	uintptr_t a[] = { at(0), at(16), at(32), at(4090), at(8192), at(8192 + 64),
			  at(9000), at(8 << 20), at((8 << 20) + 100000) };
	uint64_t sz[] = { 16, 16, 0, 4000, 64, 16, 3, 100000, 24 };
	struct scan *s = build(a, sz, 9, NULL);
	size_t n;
	struct scan_block *b = scan_blocks(s, &n);

	CHECK_EQ(n, 9);
	for (size_t i = 0; i < n; i++) {
		CHECK_EQ(b[i].addr, a[i]); /* sorted */
		CHECK(scan_find(s, a[i]) == &b[i]);
		if (sz[i] > 1)
			CHECK(scan_find(s, a[i] + sz[i] - 1) == &b[i]);
	}
	CHECK(scan_find(s, at(33)) == NULL);         /* past a zero-size block */
	CHECK(scan_find(s, at(4089)) == NULL);       /* gap before a block */
	CHECK(scan_find(s, at(4090 + 4000)) == NULL); /* one past the end */
	CHECK(scan_find(s, at(4096 + 50)) == &b[3]); /* a page the block spans */
	CHECK(scan_find(s, at(9003)) == NULL);
	CHECK(scan_find(s, at(1 << 20)) == NULL);   /* between the regions */
	CHECK(scan_find(s, at((8 << 20) + 50000)) == &b[7]);
	CHECK(scan_find(s, at((8 << 20) + 100000 + 23)) == &b[8]);
	CHECK(scan_find(s, at((8 << 20) + 100000 + 24)) == NULL);
	CHECK(scan_find(s, 0) == NULL);
	CHECK(scan_find(s, UINTPTR_MAX) == NULL);
	CHECK_EQ(s->nreg, 2);
	scan_free(s);
}

/* 4096 blocks of 16 bytes back to back: every one found from its middle. */
static void test_find_dense(void)
{
	enum { N = 4096 };
	static uintptr_t a[N];
	static uint64_t sz[N];
	struct scan *s;

	for (size_t i = 0; i < N; i++) {
		a[i] = at(1 << 20) + i * 16;
		sz[i] = 16;
	}
	s = build(a, sz, N, NULL);
	for (size_t i = 0; i < N; i++)
		CHECK(scan_find(s, a[i] + 9) && scan_find(s, a[i] + 9)->addr == a[i]);
	scan_free(s);
}

/* Addresses all over the address space, in no order: sorted, every one
 * found (the radix sort's every level, and its buckets of one). */
static void test_sort_scattered(void)
{
	enum { N = 200000 };
	struct scan *s = scan_new(N, NULL);
	uint64_t x = 88172645463325252ull;
	size_t n;
	struct scan_block *b;

	CHECK(s != NULL);
	for (size_t i = 0; i < N; i++) {
		x ^= x << 13, x ^= x >> 7, x ^= x << 17;
		/* distinct (i in the low bits), apart by far more than 64 bytes */
		CHECK(scan_add(s, ((x & 0x7fffffffull) << 24 | i << 6) & 0x7fffffffffc0ull, 48,
			       (uint32_t)i));
	}
	CHECK(scan_index(s));
	b = scan_blocks(s, &n);
	for (size_t i = 1; i < n; i++)
		CHECK(b[i - 1].addr < b[i].addr);
	for (size_t i = 0; i < n; i += 97)
		CHECK(scan_find(s, b[i].addr + 47) == &b[i] && scan_find(s, b[i].addr + 48) == NULL);
	scan_free(s);
}

/* A block of 4 GiB or more keeps its size aside: found to its end. */
static void test_big_block(void)
{
	uintptr_t a[2] = { 0x100000000000ull, 0x100000000000ull + (6ull << 30) };
	uint64_t sz[2] = { 5ull << 30, 16 };
	struct scan *s = build(a, sz, 2, NULL);
	size_t n;
	struct scan_block *b = scan_blocks(s, &n);

	CHECK_EQ(scan_size(s, &b[0]), 5ull << 30);
	CHECK_EQ(scan_size(s, &b[1]), 16);
	CHECK(scan_find(s, a[0] + (5ull << 30) - 1) == &b[0]);
	CHECK(scan_find(s, a[0] + (5ull << 30)) == NULL);
	scan_free(s);
}

static uintptr_t root[8];

static void test_classes(void)
{
	/*
	 * 0: reachable from the root, points to 1 (reachable) by its middle;
	 * 2 -> 3 -> 4 -> 2: a cycle nothing reaches: 2 leaked, 3 and 4 indirect;
	 * 5 leaked, points to 6 -> 7: indirect;
	 * 8 leaked, alone; 9 leaked but reached from 10 (a later leader): 9
	 * becomes indirect, 10 leaked; 11 reached from the root by its
	 * interior only: reachable (memcheck: possibly lost).
	 */
	uintptr_t a[12];
	uint64_t sz[12];
	struct scan *s;

	memset(arena, 0, 1 << 20);
	for (int i = 0; i < 12; i++) {
		a[i] = at(4096 * (size_t)i);
		sz[i] = 64;
	}
	put(a[0] + 8, a[1] + 40);
	put(a[2], a[3]);
	put(a[3] + 16, a[4]);
	put(a[4] + 56, a[2] + 1);
	put(a[5], a[6]);
	put(a[6], a[7]);
	put(a[10], a[9]);
	memset(root, 0, sizeof(root));
	root[0] = a[0];
	root[3] = a[11] + 63;
	s = build(a, sz, 12, NULL);
	scan_root(s, root, root + 8);
	scan_classify(s);
	static const enum scan_class want[12] = {
		SCAN_REACHABLE, SCAN_REACHABLE, SCAN_LEAKED,   SCAN_INDIRECT,
		SCAN_INDIRECT,  SCAN_LEAKED,    SCAN_INDIRECT, SCAN_INDIRECT,
		SCAN_LEAKED,    SCAN_INDIRECT,  SCAN_LEAKED,   SCAN_REACHABLE,
	};
	for (int i = 0; i < 12; i++) {
		if (cls_of(s, a[i]) != want[i])
			fprintf(stderr, "block %d: class %d, want %d\n", i, cls_of(s, a[i]), want[i]);
		CHECK_EQ(cls_of(s, a[i]), want[i]);
	}
	/* 0, 1 and 11; the leaders and their cliques, 9 twice (leader, then indirect) */
	CHECK_EQ(scan_bytes(s), sizeof(root) + 3 * 64 + 10 * 64);
	scan_free(s);
}

/* A root word that is unaligned, or the last partial word, is not read. */
static void test_alignment(void)
{
	uintptr_t a[1] = { at(0) };
	uint64_t sz[1] = { 32 };
	char buf[24] __attribute__((aligned(8)));
	struct scan *s;

	memset(buf, 0, sizeof(buf));
	memcpy(buf + 4, &a[0], sizeof(a[0]));
	s = build(a, sz, 1, NULL);
	scan_root(s, buf, buf + sizeof(buf));
	memcpy(buf + 16, &a[0], sizeof(a[0]));
	scan_root(s, buf, buf + 20); /* the word at 16 is not whole */
	scan_classify(s);
	CHECK_EQ(cls_of(s, a[0]), SCAN_LEAKED);
	scan_free(s);
}

/* glibc's header word: a pointer to a block's usable size - 8 is not one. */
static size_t fake_usable(void *p)
{
	(void)p;
	return 40; /* malloc(40): chunk 48, next header at +32 */
}

static void test_allocator_word(void)
{
	uintptr_t a[2] = { at(0), at(4096) };
	uint64_t sz[2] = { 40, 40 };
	struct scan *s;

	memset(root, 0, sizeof(root));
	root[0] = a[0] + 32; /* where the next chunk's header is */
	root[1] = a[1] + 24;
	s = build(a, sz, 2, fake_usable);
	scan_root(s, root, root + 8);
	scan_classify(s);
	CHECK_EQ(cls_of(s, a[0]), SCAN_LEAKED);
	CHECK_EQ(cls_of(s, a[1]), SCAN_REACHABLE);
	scan_free(s);
}

/* An ignored block is a root: what it points to is reachable. */
static void test_ignored(void)
{
	uintptr_t a[3] = { at(0), at(4096), at(8192) };
	uint64_t sz[3] = { 16, 16, 16 };
	struct scan *s;

	memset(arena, 0, 3 * 4096);
	put(a[0], a[1]);
	s = build(a, sz, 3, NULL);
	scan_ignore(s, scan_find(s, a[0]));
	scan_classify(s);
	CHECK_EQ(cls_of(s, a[0]), SCAN_IGNORED);
	CHECK_EQ(cls_of(s, a[1]), SCAN_REACHABLE);
	CHECK_EQ(cls_of(s, a[2]), SCAN_LEAKED);
	scan_free(s);
}

/* An opaque block is classified, its contents never read. */
static void test_opaque(void)
{
	uintptr_t a[2] = { at(0), at(4096) };
	uint64_t sz[2] = { 16, 16 };
	struct scan *s;

	memset(arena, 0, 2 * 4096);
	put(a[0], a[1]);
	memset(root, 0, sizeof(root));
	root[0] = a[0];
	s = build(a, sz, 2, NULL);
	scan_opaque(s, scan_find(s, a[0]));
	scan_root(s, root, root + 8);
	scan_classify(s);
	CHECK_EQ(cls_of(s, a[0]), SCAN_REACHABLE);
	CHECK_EQ(cls_of(s, a[1]), SCAN_LEAKED);
	CHECK_EQ(scan_bytes(s), sizeof(root) + 16); /* the root, and b[1] as a leader */
	scan_free(s);
}

/* A long chain marks without recursion; nothing at all scans nothing. */
static void test_chain(void)
{
	enum { N = 100000 };
	static uintptr_t a[N];
	static uint64_t sz[N];
	struct scan *s;

	for (size_t i = 0; i < N; i++) {
		a[i] = at(2 << 20) + i * 32;
		sz[i] = 32;
		put(a[i], i + 1 < N ? at(2 << 20) + (i + 1) * 32 : 0);
	}
	s = build(a, sz, N, NULL);
	scan_classify(s);
	CHECK_EQ(cls_of(s, a[0]), SCAN_LEAKED);
	CHECK_EQ(cls_of(s, a[N - 1]), SCAN_INDIRECT);
	scan_free(s);
	s = scan_new(0, NULL);
	CHECK(s && scan_index(s));
	scan_root(s, root, root + 8);
	scan_classify(s);
	scan_free(s);
}

int main(void)
{
	arena = mmap(NULL, ARENA, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	CHECK(arena != MAP_FAILED);
	test_find();
	test_find_dense();
	test_sort_scattered();
	test_big_block();
	test_classes();
	test_alignment();
	test_allocator_word();
	test_ignored();
	test_opaque();
	test_chain();
	CHECK_EQ(tmem_bytes() <= 4096 * 64, 1); /* all freed but tmem's own regions */
	return unit_done("unit-scan");
}
