// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * unit-stacktrace.c - the backtrace table and the accounting against it:
 * what the report prints comes from these counters, so they must be exact,
 * also when several threads allocate and free at once.
 *
 * Stacks and block addresses are made up: acct_*() never dereference
 * either, they only key the tables with them.
 */
#define _GNU_SOURCE
#include <pthread.h>
#include <sys/wait.h>
#include <unistd.h>

#include "../utils.c"
#include "../lib/tmem.c"
#include "../lib/addrmap.c"
#include "../lib/cfi.c"
#include "../lib/unwind.c"
#include "../lib/config.c"
#include "../stacktrace.c"
#include "../lib/sample.c"
#include "unit.h"

HT_TLS struct ht_thread ht_self;
void ht_drain(void) {} /* nothing is ever queued here */
uint64_t ht_oom_step = UINT64_MAX; /* --oom-report is off here */
void oom_wake(void) {}

/* ------------------------------------------------------------ helpers */

/* A made-up stack: frame i of stack `salt`. */
static void make_frames(void **f, int n, uint64_t salt)
{
	for (int i = 0; i < n; i++)
		f[i] = (void *)(uintptr_t)(0x400000 + salt * 0x100000 + (uint64_t)i * 0x40);
}

/* A depth every build has: make DEPTH=N may be as small as 1. */
#define NF (HT_DEPTH < 3 ? HT_DEPTH : 3)

static void *addr(uint64_t i)
{
	return (void *)(uintptr_t)(0x10000000 + i * 16);
}

/* The id of the entry with exactly these frames, or -1. */
static long find_bt(void *const *f, int n, bool trunc)
{
	for (uint32_t id = 0; id < bt_count(); id++) {
		struct bt *b = bt_get(id);

		if (b->depth == n && b->truncated == trunc &&
		    !memcmp(b->frames, f, (size_t)n * sizeof(f[0])))
			return id;
	}
	return -1;
}

/* The id acct_alloc() filed this block under, read back from the map. */
static long id_of(void *ptr)
{
	struct acct_block b;

	if (!acct_free(ptr, &b, false))
		return -1;
	acct_restore(ptr, &b, false);
	return b.id;
}

#define CHECK_STATS(id, lc, lb, pc, pb, tc, tb)               \
	do {                                                  \
		const struct bt_stats *st_ = &bt_get(id)->st; \
		CHECK_EQ(st_->live_count, (lc));              \
		CHECK_EQ(st_->live_bytes, (lb));              \
		CHECK_EQ(st_->peak_count, (pc));              \
		CHECK_EQ(st_->peak_bytes, (pb));              \
		CHECK_EQ(st_->total_count, (tc));             \
		CHECK_EQ(st_->total_bytes, (tb));             \
	} while (0)

/* Every entry's statistics, to show that something changed nothing. */
static struct bt_stats *snapshot(void)
{
	uint32_t n = bt_count();
	struct bt_stats *s = malloc((n + 1) * sizeof(*s));

	for (uint32_t i = 0; i < n; i++)
		s[i] = bt_get(i)->st;
	return s;
}

static void check_unchanged(struct bt_stats *s, uint32_t n)
{
	CHECK_EQ(bt_count(), n);
	for (uint32_t i = 0; i < n; i++)
		CHECK(!memcmp(&s[i], &bt_get(i)->st, sizeof(*s)));
	free(s);
}

/* ------------------------------------------------------------ the table */

static void test_intern(void)
{
	void *a[HT_CAPTURE_OWN], *b[HT_CAPTURE_OWN], *t[HT_CAPTURE_OWN];
	uint64_t t0 = ht_now_ns();
	long ia, ib, iz, it;
	uint32_t n, next = 0; /* the id the next new entry gets */

	CHECK_EQ(bt_count(), 0);
	make_frames(a, NF, 1);

	/* the same stack twice: one entry, two live blocks */
	acct_alloc(addr(1), 10, a, NF, false);
	acct_alloc(addr(2), 20, a, NF, false);
	CHECK_EQ(bt_count(), 1);
	ia = find_bt(a, NF, false);
	CHECK_EQ(ia, next++);
	CHECK_EQ(bt_get(0)->id, 0);
	CHECK_EQ(bt_get(0)->depth, NF);
	CHECK(!bt_get(0)->truncated);
	CHECK(bt_get(0)->first_ns >= t0 && bt_get(0)->first_ns <= ht_now_ns());
	CHECK_STATS(0, 2, 30, 2, 30, 2, 30);
	CHECK_EQ(id_of(addr(1)), 0);
	CHECK_EQ(id_of(addr(2)), 0);

	/* a stack differing in its last frame: a new entry */
	make_frames(b, NF, 1);
	b[NF - 1] = (void *)0x999999;
	acct_alloc(addr(3), 5, b, NF, false);
	CHECK_EQ(bt_count(), next + 1);
	ib = find_bt(b, NF, false);
	CHECK_EQ(ib, next++);
	CHECK_EQ(id_of(addr(3)), ib);
	CHECK_STATS(ia, 2, 30, 2, 30, 2, 30);
	CHECK_STATS(ib, 1, 5, 1, 5, 1, 5);
#if HT_DEPTH >= 2
	/* a prefix of the first stack: a new entry too */
	{
		long ip;

		acct_alloc(addr(4), 7, a, NF - 1, false);
		CHECK_EQ(bt_count(), next + 1);
		ip = find_bt(a, NF - 1, false);
		CHECK_EQ(ip, next++);
		CHECK_EQ(id_of(addr(4)), ip);
		CHECK_STATS(ip, 1, 7, 1, 7, 1, 7);
		CHECK(acct_free(addr(4), NULL, false));
	}
#endif

	/* an empty stack is a stack; a failed capture (n < 0) is the empty stack */
	acct_alloc(addr(5), 1, a, 0, false);
	CHECK_EQ(bt_count(), next + 1);
	iz = find_bt(a, 0, false);
	CHECK_EQ(iz, next++);
	acct_alloc(addr(6), 1, a, -1, false);
	CHECK_EQ(bt_count(), next);
	CHECK_STATS(iz, 2, 2, 2, 2, 2, 2);

	/* HT_DEPTH + 1 frames: cut to HT_DEPTH and marked truncated */
	make_frames(t, HT_CAPTURE_OWN, 2);
	acct_alloc(addr(7), 8, t, HT_CAPTURE_OWN, false);
	CHECK_EQ(bt_count(), next + 1);
	it = find_bt(t, HT_DEPTH, true);
	CHECK_EQ(it, next++);
	CHECK_EQ(bt_get(it)->depth, HT_DEPTH);
	CHECK(bt_get(it)->truncated);
	CHECK(!memcmp(bt_get(it)->frames, t, HT_DEPTH * sizeof(t[0])));
	/* the marker frame is not part of the backtrace */
	t[HT_DEPTH] = (void *)0x1234;
	acct_alloc(addr(8), 8, t, HT_CAPTURE_OWN, false);
	CHECK_EQ(bt_count(), next);
	CHECK_EQ(id_of(addr(8)), it);
	/* the same HT_DEPTH frames said complete: the same backtrace, still
	 * truncated (a backtrace is its frames; whether the stack went on is
	 * learned when they are first seen) */
	acct_alloc(addr(9), 9, t, HT_DEPTH, false);
	CHECK_EQ(bt_count(), next);
	CHECK_EQ(find_bt(t, HT_DEPTH, false), -1);
	CHECK_EQ(id_of(addr(9)), it);
	CHECK_STATS(it, 3, 25, 3, 25, 3, 25);
	/* the hot path finds it by its frames alone */
	CHECK(bt_find(t, HT_DEPTH, false) == bt_get(it));
	CHECK(bt_find(t, HT_DEPTH, true) == bt_get(it));
	/* and files a block against it directly */
	acct_alloc_bt(addr(11), 11, bt_get(it));
	CHECK_EQ(id_of(addr(11)), it);
	CHECK_STATS(it, 4, 36, 4, 36, 4, 36);
	CHECK(acct_free(addr(11), NULL, false));
	CHECK_STATS(it, 3, 25, 4, 36, 4, 36);
	/* new frames: none yet */
	t[0] = (void *)0x4321;
	CHECK(bt_find(t, HT_DEPTH, false) == NULL);
	t[0] = bt_get(it)->frames[0];

	/* a stack known to go on (cut) keeps its own frames, marked truncated,
	 * and is another entry than the same frames complete */
	if (HT_DEPTH >= 3) {
		long ic = -1, ia = find_bt(a, 2, false);

		acct_alloc(addr(10), 3, a, 2, true);
		ic = find_bt(a, 2, true);
		CHECK(ic >= 0 && ic != ia);
		/* below HT_DEPTH, cut is part of the name */
		CHECK(bt_find(a, 2, true) == bt_get(ic));
		CHECK(ia < 0 || bt_find(a, 2, false) == bt_get(ia));
		CHECK_EQ(bt_get(ic)->depth, 2);
		CHECK(bt_get(ic)->truncated);
		CHECK_EQ(id_of(addr(10)), ic);
		CHECK(acct_free(addr(10), NULL, false));
		next = bt_count();
	}

	/* many stacks: the table grows and entries spill over many chunks */
	n = bt_count();
	for (uint64_t i = 0; i < 5000; i++) {
		void *f[HT_CAPTURE_OWN];

		make_frames(f, HT_DEPTH, 1000 + i);
		f[i % HT_DEPTH] = (void *)(uintptr_t)i; /* differ in a varying position */
		acct_alloc(addr(1000 + i), i, f, (int)(i % HT_DEPTH) + 1, false);
	}
	CHECK_EQ(bt_count(), n + 5000);
	CHECK(tab.slots->mask + 1 >= 2 * bt_count());
	for (uint64_t i = 0; i < 5000; i++) {
		void *f[HT_CAPTURE_OWN];
		int d = (int)(i % HT_DEPTH) + 1;
		long id;

		make_frames(f, HT_DEPTH, 1000 + i);
		f[i % HT_DEPTH] = (void *)(uintptr_t)i;
		acct_alloc(addr(100000 + i), i, f, d, false);
		id = id_of(addr(100000 + i));
		CHECK_EQ(id, n + i);
		CHECK_EQ(bt_get((uint32_t)id)->id, id);
		CHECK_EQ(bt_get((uint32_t)id)->depth, d);
		CHECK(!memcmp(bt_get((uint32_t)id)->frames, f, (size_t)d * sizeof(f[0])));
		CHECK_STATS(id, 2, 2 * i, 2, 2 * i, 2, 2 * i);
	}
	CHECK_EQ(bt_count(), n + 5000);

	/* clean up the blocks, keep the entries (they are never freed) */
	for (uint64_t i = 0; i < 5000; i++) {
		CHECK(acct_free(addr(1000 + i), NULL, false));
		CHECK(acct_free(addr(100000 + i), NULL, false));
	}
	for (uint64_t i = 1; i <= 9; i++)
		CHECK(acct_free(addr(i), NULL, false) == (i != 4));
	CHECK_EQ(am_count(), 0);
	CHECK_EQ(acct_untracked(), 0);
}

/* ------------------------------------------------------------ accounting */

static void test_peaks(void)
{
	void *f[HT_CAPTURE_OWN];
	struct acct_block blk;
	struct bt_stats *snap;
	uint32_t n;
	long id, id2;

	/* allocate 10, free 7, allocate 2 */
	make_frames(f, NF, 50);
	for (uint64_t i = 0; i < 10; i++)
		acct_alloc(addr(200 + i), 100, f, NF, false);
	id = find_bt(f, NF, false);
	CHECK(id >= 0);
	CHECK_STATS(id, 10, 1000, 10, 1000, 10, 1000);
	for (uint64_t i = 0; i < 7; i++) {
		blk = (struct acct_block){ 0 };
		CHECK(acct_free(addr(200 + i), &blk, false));
		CHECK_EQ(blk.id, id);
		CHECK_EQ(blk.size, 100);
	}
	CHECK_STATS(id, 3, 300, 10, 1000, 10, 1000);
	acct_alloc(addr(300), 50, f, NF, false);
	acct_alloc(addr(301), 60, f, NF, false);
	CHECK_STATS(id, 5, 410, 10, 1000, 12, 1110);

	/* the count and the bytes peak at different moments */
	make_frames(f, NF, 51);
	acct_alloc(addr(400), 1000, f, NF, false);
	id2 = find_bt(f, NF, false);
	CHECK(acct_free(addr(400), &blk, false));
	CHECK_EQ(blk.id, id2);
	CHECK_EQ(blk.size, 1000);
	for (uint64_t i = 0; i < 3; i++)
		acct_alloc(addr(401 + i), 10, f, NF, false);
	CHECK_STATS(id2, 3, 30, 3, 1000, 4, 1030);
	/* a new peak of bytes, none of count */
	acct_alloc(addr(404), 2000, f, NF, false);
	CHECK_STATS(id2, 4, 2030, 4, 2030, 5, 3030);
	CHECK(acct_free(addr(404), NULL, false));
	CHECK_STATS(id2, 3, 30, 4, 2030, 5, 3030);

	/* unknown pointers, and a pointer freed twice: false, nothing changes */
	n = bt_count();
	snap = snapshot();
	blk = (struct acct_block){ .id = 77, .size = 88 };
	CHECK(!acct_free(addr(999999), &blk, false));
	CHECK(!acct_free(addr(200), &blk, false)); /* freed above */
	CHECK(!acct_free((void *)1, &blk, false));
	CHECK(!acct_free(addr(999999), NULL, false));
	CHECK_EQ(blk.id, 77);
	CHECK_EQ(blk.size, 88);
	check_unchanged(snap, n);
	CHECK_EQ(am_count(), 8);

	/* blocks of 4 GiB and more keep their size through the map */
	acct_alloc(addr(500), 5ULL << 30, f, NF, false);
	CHECK_STATS(id2, 4, 30 + (5ULL << 30), 4, 30 + (5ULL << 30), 6, 3030 + (5ULL << 30));
	CHECK(acct_free(addr(500), &blk, false));
	CHECK_EQ(blk.size, 5ULL << 30);
	CHECK_STATS(id2, 3, 30, 4, 30 + (5ULL << 30), 6, 3030 + (5ULL << 30));

	for (uint64_t i = 7; i < 10; i++)
		CHECK(acct_free(addr(200 + i), NULL, false));
	CHECK(acct_free(addr(300), NULL, false));
	CHECK(acct_free(addr(301), NULL, false));
	for (uint64_t i = 0; i < 3; i++)
		CHECK(acct_free(addr(401 + i), NULL, false));
	CHECK_STATS(id, 0, 0, 10, 1000, 12, 1110);
	CHECK_STATS(id2, 0, 0, 4, 30 + (5ULL << 30), 6, 3030 + (5ULL << 30));
	CHECK_EQ(am_count(), 0);
}

/* The whole heap's peak and what each backtrace held then. */
#define GIB (1ULL << 30)
static void check_at_peak(long id, uint64_t count, uint64_t bytes)
{
	struct bt_peak p;
	struct bt_stats st;
	uint64_t c, b;

	bt_peak_read(&p);
	bt_stats_read(bt_get(id), &st);
	bt_stats_at_peak(&st, &p, &c, &b);
	CHECK_EQ(c, count);
	CHECK_EQ(b, bytes);
}

static void test_heap_peak(void)
{
	void *x[HT_CAPTURE_OWN], *y[HT_CAPTURE_OWN];
	struct bt_peak p;
	uint64_t t0 = ht_now_ns(), epoch;
	long ix, iy;

	/* test_peaks peaked at 5 GiB and freed all: blocks of GiB pass it */
	CHECK_EQ(am_count(), 0);
	make_frames(x, NF, 960);
	make_frames(y, NF, 961);
	acct_alloc(addr(600), 4 * GIB, x, NF, false);
	acct_alloc(addr(601), 4 * GIB, x, NF, false);
	acct_alloc(addr(602), GIB, y, NF, false);
	ix = find_bt(x, NF, false);
	iy = find_bt(y, NF, false);
	CHECK(acct_free(addr(601), NULL, false));
	acct_alloc(addr(603), GIB, y, NF, false); /* 6 GiB: no new peak */
	bt_peak_read(&p);
	CHECK_EQ(p.bytes, 9 * GIB);
	CHECK(p.ns >= t0 && p.ns <= ht_now_ns());
	epoch = p.epoch;
	check_at_peak(ix, 2, 8 * GIB); /* saved when X changed after the peak */
	check_at_peak(iy, 1, GIB);

	/* a new peak: X, untouched since, holds then what it holds now */
	acct_alloc(addr(604), 4 * GIB, y, NF, false);
	bt_peak_read(&p);
	CHECK_EQ(p.bytes, 10 * GIB);
	CHECK_EQ(p.epoch, epoch + 1);
	check_at_peak(ix, 1, 4 * GIB);
	check_at_peak(iy, 3, 6 * GIB);
	CHECK(acct_free(addr(600), NULL, false));
	CHECK(acct_free(addr(602), NULL, false));
	check_at_peak(ix, 1, 4 * GIB);
	check_at_peak(iy, 3, 6 * GIB);
	CHECK(acct_free(addr(603), NULL, false));
	CHECK(acct_free(addr(604), NULL, false));
	bt_peak_read(&p);
	CHECK_EQ(p.bytes, 10 * GIB);
	CHECK_EQ(am_count(), 0);
}

static void test_restore(void)
{
	void *f[HT_CAPTURE_OWN];
	struct acct_block blk, again;
	long id;

	make_frames(f, NF, 60);
	acct_alloc(addr(600), 64, f, NF, false);
	acct_alloc(addr(601), 32, f, NF, false);
	acct_alloc(addr(602), 16, f, NF, false);
	id = find_bt(f, NF, false);
	CHECK_STATS(id, 3, 112, 3, 112, 3, 112);

	/* a realloc that failed: its block goes back, as if never taken */
	CHECK(acct_free(addr(600), &blk, false));
	CHECK_STATS(id, 2, 48, 3, 112, 3, 112);
	acct_restore(addr(600), &blk, false);
	CHECK_STATS(id, 3, 112, 3, 112, 3, 112);
	CHECK(acct_free(addr(600), &again, false));
	CHECK_EQ(again.id, id);
	CHECK_EQ(again.size, 64);

	/* restored below the peak: the peak stays */
	CHECK(acct_free(addr(601), &blk, false));
	CHECK_STATS(id, 1, 16, 3, 112, 3, 112);
	acct_restore(addr(601), &blk, false);
	CHECK_STATS(id, 2, 48, 3, 112, 3, 112);
	CHECK_EQ(id_of(addr(601)), id);

	/* a big block restored keeps its size */
	acct_alloc(addr(603), 6ULL << 30, f, NF, false);
	CHECK(acct_free(addr(603), &blk, false));
	CHECK_EQ(blk.size, 6ULL << 30);
	acct_restore(addr(603), &blk, false);
	CHECK(acct_free(addr(603), &again, false));
	CHECK_EQ(again.id, id);
	CHECK_EQ(again.size, 6ULL << 30);
	CHECK_STATS(id, 2, 48, 3, 48 + (6ULL << 30), 4, 112 + (6ULL << 30));

	CHECK(acct_free(addr(601), NULL, false));
	CHECK(acct_free(addr(602), NULL, false));
	CHECK_EQ(am_count(), 0);
}

/*
 * Temporary allocations: counted by the free the caller says is one, on
 * the freed block's backtrace; taken back when a failed realloc puts the
 * block back; never for a block not traced, or of the tracer's.
 */
static void test_temporary(void)
{
	void *f[HT_CAPTURE_OWN], *g[HT_CAPTURE_OWN];
	struct acct_block blk;
	long id, other;

	make_frames(f, NF, 65);
	make_frames(g, NF, 66);
	acct_alloc(addr(650), 10, f, NF, false);
	acct_alloc(addr(651), 20, f, NF, false);
	acct_alloc(addr(652), 30, g, NF, false);
	id = find_bt(f, NF, false);
	other = find_bt(g, NF, false);
	CHECK(acct_free(addr(651), &blk, true));
	CHECK(acct_free(addr(650), &blk, false));
	CHECK_EQ(bt_get(id)->st.temp_count, 1);
	CHECK_EQ(bt_get(other)->st.temp_count, 0);
	CHECK_STATS(id, 0, 0, 2, 30, 2, 30);

	/* a realloc that failed did not release its block */
	CHECK(acct_free(addr(652), &blk, true));
	CHECK_EQ(bt_get(other)->st.temp_count, 1);
	acct_restore(addr(652), &blk, true);
	CHECK_EQ(bt_get(other)->st.temp_count, 0);
	CHECK_STATS(other, 1, 30, 1, 30, 1, 30);
	CHECK(acct_free(addr(652), &blk, true));
	CHECK_EQ(bt_get(other)->st.temp_count, 1);

	/* nothing to count against */
	CHECK(!acct_free(addr(653), &blk, true));
	CHECK(acct_tracer_block(addr(654), 40));
	CHECK(acct_free(addr(654), &blk, true));
	CHECK_EQ(bt_get(id)->st.temp_count, 1);
	CHECK_EQ(bt_get(other)->st.temp_count, 1);
	CHECK_EQ(am_count(), 0);
}

/* A block whose free was never seen, its address handed out again. */
static void test_missed_free(void)
{
	void *x[HT_CAPTURE_OWN], *y[HT_CAPTURE_OWN];
	struct acct_block blk;
	long ix, iy;

	make_frames(x, NF, 70);
	make_frames(y, NF, 71);
	acct_alloc(addr(700), 100, x, NF, false);
	ix = find_bt(x, NF, false);
	acct_alloc(addr(700), 30, y, NF, false);
	iy = find_bt(y, NF, false);
	CHECK_EQ(am_count(), 1);
	CHECK_STATS(ix, 0, 0, 1, 100, 1, 100);
	CHECK_STATS(iy, 1, 30, 1, 30, 1, 30);
	CHECK(acct_free(addr(700), &blk, false));
	CHECK_EQ(blk.id, iy);
	CHECK_EQ(blk.size, 30);
	CHECK_STATS(iy, 0, 0, 1, 30, 1, 30);
	CHECK(!acct_free(addr(700), &blk, false));

	/* big replaced by small and back, across backtraces */
	acct_alloc(addr(701), 5ULL << 30, x, NF, false);
	acct_alloc(addr(701), 7, y, NF, false);
	CHECK_STATS(ix, 0, 0, 1, 5ULL << 30, 2, 100 + (5ULL << 30));
	CHECK_STATS(iy, 1, 7, 1, 30, 2, 37);
	acct_alloc(addr(701), 6ULL << 30, x, NF, false);
	CHECK_STATS(ix, 1, 6ULL << 30, 1, 6ULL << 30, 3, 100 + (11ULL << 30));
	CHECK_STATS(iy, 0, 0, 1, 30, 2, 37);
	CHECK(acct_free(addr(701), &blk, false));
	CHECK_EQ(blk.id, ix);
	CHECK_EQ(blk.size, 6ULL << 30);
	CHECK_EQ(am_count(), 0);
}

/*
 * The same, with the same backtrace both times (a loop that allocates the
 * same object again): the old block was gone before the new one came, so
 * one block was live at any time and the peak must not count two.
 */
static void test_missed_free_same_bt(void)
{
	void *z[HT_CAPTURE_OWN];
	long iz;

	make_frames(z, NF, 72);
	acct_alloc(addr(710), 50, z, NF, false);
	iz = find_bt(z, NF, false);
	CHECK_STATS(iz, 1, 50, 1, 50, 1, 50);
	acct_alloc(addr(710), 50, z, NF, false);
	CHECK_STATS(iz, 1, 50, 1, 50, 2, 100);
	acct_alloc(addr(710), 80, z, NF, false);
	CHECK_STATS(iz, 1, 80, 1, 80, 3, 180);
	CHECK(acct_free(addr(710), NULL, false));
	CHECK_STATS(iz, 0, 0, 1, 80, 3, 180);
}

/* ------------------------------------------------------------ threads */

enum {
	THREADS = 4,
	PAIRS = 200000, /* alloc/free pairs per thread */
	SHARED = 3,	/* backtraces all threads use */
	FRESH = 1000,	/* new backtraces all threads intern at the same moment */
	CROSS = 10000,	/* blocks per thread that the next thread frees */
	LEAVE = 1000,	/* blocks per thread left live */
	BIG_PAIR = 1000,
};

static pthread_barrier_t barrier;
static void *shared_frames[SHARED][HT_DEPTH];
static uint32_t shared_id[SHARED];

/*
 * A barrier that releases every thread within a few hundred nanoseconds
 * (pthread's wakes them one by one), so that they race for the same entry.
 */
static unsigned spin_arrived, spin_generation;

static void spin_barrier(void)
{
	unsigned gen = __atomic_load_n(&spin_generation, __ATOMIC_ACQUIRE);

	if (__atomic_add_fetch(&spin_arrived, 1, __ATOMIC_ACQ_REL) == THREADS) {
		__atomic_store_n(&spin_arrived, 0, __ATOMIC_RELAXED);
		__atomic_store_n(&spin_generation, gen + 1, __ATOMIC_RELEASE);
		return;
	}
	while (__atomic_load_n(&spin_generation, __ATOMIC_ACQUIRE) == gen)
		sched_yield();
}

struct worker {
	int t;
	uint64_t errors;
	unsigned locks;
};

/* Block addresses: kind 0 own pairs, 1 cross, 2 left live, 3 fresh stacks. */
static void *taddr(int t, int kind, uint64_t i)
{
	return (void *)(uintptr_t)((uint64_t)(t + 1) << 40 | (uint64_t)kind << 32 | (i * 16 + 16));
}

static uint64_t pair_size(uint64_t i)
{
	return i % BIG_PAIR + 1;
}

/* The first cross block of each stack is the largest block of all (see below). */
static uint64_t cross_size(int t, uint64_t j)
{
	return j < SHARED ? BIG_PAIR : (uint64_t)t * 7 + j % 100 + 1;
}

static uint64_t leave_size(int t, uint64_t j)
{
	return (uint64_t)t + j % 10 + 1;
}

static uint64_t fresh_size(int t)
{
	return (uint64_t)t + 1;
}

static void fresh_frames(void **f, uint64_t i)
{
	make_frames(f, HT_DEPTH, 10000 + i);
}

static bool free_cross(int prev, uint64_t j)
{
	struct acct_block b;

	return acct_free(taddr(prev, 1, j), &b, false) && b.id == shared_id[j % SHARED] &&
	       b.size == cross_size(prev, j);
}

static void *worker(void *arg)
{
	struct worker *w = arg;
	int t = w->t, prev = (t + THREADS - 1) % THREADS;
	struct acct_block b;
	uint64_t j;

	/*
	 * Every thread interns the same new stacks at the same moment, and
	 * keeps its block: each stack's count climbs from 1 to THREADS by
	 * racing increments, and the peak must still be exactly THREADS.
	 */
	for (uint64_t i = 0; i < FRESH; i++) {
		void *f[HT_CAPTURE_OWN];

		fresh_frames(f, i);
		spin_barrier();
		acct_alloc(taddr(t, 3, i), fresh_size(t), f, HT_DEPTH, false);
	}
	pthread_barrier_wait(&barrier);
	for (uint64_t i = 0; i < FRESH; i++)
		w->errors += !acct_free(taddr(t, 3, i), &b, false) || b.size != fresh_size(t);

	/* allocations only: the live counts climb to their peaks together */
	pthread_barrier_wait(&barrier);
	for (uint64_t i = 0; i < CROSS; i++)
		acct_alloc(taddr(t, 1, i), cross_size(t, i), shared_frames[i % SHARED], HT_DEPTH, false);
	pthread_barrier_wait(&barrier);

	/*
	 * Free the previous thread's largest block of each stack first: from
	 * then on a thread's block in flight never lifts a stack's live count
	 * or bytes above the peak reached above, so that peak stays exact.
	 */
	for (j = 0; j < SHARED; j++)
		w->errors += !free_cross(prev, j);
	/* alloc/free pairs, and every 20th time a block of the previous thread */
	for (uint64_t i = 0; i < PAIRS; i++) {
		int k = (int)(i % SHARED);
		void *p = taddr(t, 0, i % 8192);

		acct_alloc(p, pair_size(i), shared_frames[k], HT_DEPTH, false);
		w->errors += !acct_free(p, &b, false) || b.id != shared_id[k] || b.size != pair_size(i);
		if (i % (PAIRS / CROSS) == 0 && j < CROSS)
			w->errors += !free_cross(prev, j++);
	}
	while (j < CROSS)
		w->errors += !free_cross(prev, j++);
	pthread_barrier_wait(&barrier);

	/* blocks left live at the end */
	for (uint64_t i = 0; i < LEAVE; i++)
		acct_alloc(taddr(t, 2, i), leave_size(t, i), shared_frames[i % SHARED], HT_DEPTH, false);
	w->locks = ht_self.locks;
	return NULL;
}

static void test_threads(void)
{
	pthread_t th[THREADS];
	struct worker w[THREADS];
	uint32_t n0;
	uint64_t calls = 0, all_total = 0, fresh_bytes = 0;

	for (int t = 0; t < THREADS; t++)
		fresh_bytes += fresh_size(t);
	for (int k = 0; k < SHARED; k++) {
		make_frames(shared_frames[k], HT_DEPTH, 900 + (uint64_t)k);
		acct_alloc(addr(800), 1, shared_frames[k], HT_DEPTH, false);
		shared_id[k] = (uint32_t)find_bt(shared_frames[k], HT_DEPTH, false);
		CHECK(acct_free(addr(800), NULL, false));
	}
	n0 = bt_count();
	for (uint32_t id = 0; id < n0; id++)
		all_total += bt_get(id)->st.total_count;

	pthread_barrier_init(&barrier, NULL, THREADS);
	for (int t = 0; t < THREADS; t++) {
		w[t] = (struct worker){.t = t};
		CHECK(!pthread_create(&th[t], NULL, worker, &w[t]));
	}
	for (int t = 0; t < THREADS; t++) {
		CHECK(!pthread_join(th[t], NULL));
		CHECK_EQ(w[t].errors, 0);
		CHECK_EQ(w[t].locks, 0);
	}
	pthread_barrier_destroy(&barrier);

	/* the stacks interned by all threads at once: each exactly once */
	CHECK_EQ(bt_count(), n0 + FRESH);
	for (uint64_t i = 0; i < FRESH; i++) {
		void *f[HT_CAPTURE_OWN];
		long id;

		fresh_frames(f, i);
		id = find_bt(f, HT_DEPTH, false);
		CHECK_EQ(id, n0 + i);
		if (id < 0)
			continue;
		CHECK_STATS(id, 0, 0, THREADS, fresh_bytes, THREADS, fresh_bytes);
	}

	/* the shared stacks: totals are the sums of what the threads did */
	for (int k = 0; k < SHARED; k++) {
		const struct bt_stats *st = &bt_get(shared_id[k])->st;
		uint64_t tc = 1, tb = 1, lc = 0, lb = 0, cc = 0, cb = 0;

		for (uint64_t i = (uint64_t)k; i < PAIRS; i += SHARED) {
			tc += THREADS;
			tb += THREADS * pair_size(i);
		}
		for (int t = 0; t < THREADS; t++) {
			for (uint64_t j = (uint64_t)k; j < CROSS; j += SHARED) {
				cc++;
				cb += cross_size(t, j);
			}
			for (uint64_t j = (uint64_t)k; j < LEAVE; j += SHARED) {
				lc++;
				lb += leave_size(t, j);
			}
		}
		tc += cc + lc;
		tb += cb + lb;
		CHECK_EQ(st->total_count, tc);
		CHECK_EQ(st->total_bytes, tb);
		CHECK_EQ(st->live_count, lc);
		CHECK_EQ(st->live_bytes, lb);
		/* every cross block live at once, and never more than that */
		CHECK_EQ(st->peak_count, cc);
		CHECK_EQ(st->peak_bytes, cb);
	}

	for (uint32_t id = 0; id < bt_count(); id++)
		calls += bt_get(id)->st.total_count;
	CHECK_EQ(calls - all_total, (uint64_t)THREADS * (FRESH + CROSS + PAIRS + LEAVE));
	CHECK_EQ(am_count(), (uint64_t)THREADS * LEAVE);

	for (int t = 0; t < THREADS; t++)
		for (uint64_t i = 0; i < LEAVE; i++)
			CHECK(acct_free(taddr(t, 2, i), NULL, false));
	CHECK_EQ(am_count(), 0);
	for (int k = 0; k < SHARED; k++)
		CHECK_EQ(bt_get(shared_id[k])->st.live_count, 0);
	CHECK_EQ(acct_untracked(), 0);
}

/* ------------------------------------------------------------ --depth */

/*
 * A depth other than the build's, set before the first entry (in a child
 * of its own: the table's entries are sized by it): entries hold that many
 * frames, and only a backtrace cut there is cut "depth".
 */
#define RT_DEPTH 20

static void depth_child(void)
{
	void *t[RT_DEPTH + 1];
	long full, cut_stack, cut_handler;

	ht_cfg.depth = RT_DEPTH;
	make_frames(t, RT_DEPTH + 1, 77);
	acct_alloc(addr(1), 10, t, RT_DEPTH + 1, HT_CUT_NONE);
	full = find_bt(t, RT_DEPTH, true);
	CHECK_EQ(full, 0);
	CHECK_EQ(bt_cut(bt_get(0)), HT_CUT_DEPTH);
	CHECK(!memcmp(bt_get(0)->frames, t, RT_DEPTH * sizeof(t[0])));
	/* the same frames, complete or found: the same entry */
	acct_alloc(addr(2), 10, t, RT_DEPTH, HT_CUT_NONE);
	CHECK(bt_find(t, RT_DEPTH + 1, HT_CUT_NONE) == bt_get(0));
	CHECK(bt_find(t, RT_DEPTH, HT_CUT_NONE) == bt_get(0));
	CHECK_EQ(bt_count(), 1);
	/* cut at the build's DEPTH or short of it, for another reason */
	acct_alloc(addr(3), 10, t, HT_DEPTH, HT_CUT_HANDLER);
	cut_handler = find_bt(t, HT_DEPTH, true);
	CHECK_EQ(cut_handler, 1);
	CHECK_EQ(bt_cut(bt_get(1)), HT_CUT_HANDLER);
	acct_alloc(addr(4), 10, t, 2, HT_CUT_STACK);
	cut_stack = find_bt(t, 2, true);
	CHECK_EQ(cut_stack, 2);
	CHECK_EQ(bt_cut(bt_get(2)), HT_CUT_STACK);
	CHECK_STATS(0, 2, 20, 2, 20, 2, 20);
	/* 20 frames, 8 bytes each, after the entry's 152: 5 cache lines */
	CHECK_EQ((char *)bt_get(1) - (char *)bt_get(0), 320);
	CHECK_EQ((char *)bt_get(2) - (char *)bt_get(1), 320);
	_exit(unit_fails ? 1 : 0);
}

static void test_depth(void)
{
	pid_t pid;
	int status;

	CHECK_EQ(bt_count(), 0);
	fflush(stderr);
	pid = fork();
	if (pid == 0)
		depth_child();
	CHECK(pid > 0);
	CHECK(waitpid(pid, &status, 0) == pid);
	CHECK(WIFEXITED(status));
	CHECK_EQ(WEXITSTATUS(status), 0);
	CHECK_EQ(bt_count(), 0);
}

/* ------------------------------------------------------------ fork */

static void test_fork(void)
{
	void *f[HT_CAPTURE_OWN];
	pid_t pid;
	int status;

	bt_fork_prepare();
	CHECK_EQ(ht_self.locks, 1);
	fflush(stdout);
	fflush(stderr);
	pid = fork();
	if (pid == 0) {
		alarm(10);
		bt_fork_child();
		if (ht_self.locks != 0)
			_exit(2);
		/* a new stack needs the table lock */
		make_frames(f, NF, 5555);
		acct_alloc(addr(5555), 1, f, NF, false);
		_exit(find_bt(f, NF, false) >= 0 ? 0 : 3);
	}
	bt_fork_parent();
	CHECK_EQ(ht_self.locks, 0);
	CHECK_EQ(tab.lock.v, 0);
	CHECK(pid > 0);
	CHECK(waitpid(pid, &status, 0) == pid);
	CHECK(WIFEXITED(status));
	CHECK_EQ(WEXITSTATUS(status), 0);
}

int main(void)
{
	unit_watchdog(60);
	ht_cfg.depth = HT_DEPTH; /* the build's, whatever HEAPTRACE_DEPTH says */
	test_depth();
	test_intern();
	test_peaks();
	test_heap_peak();
	test_restore();
	test_temporary();
	test_missed_free();
	test_missed_free_same_bt();
	test_threads();
	test_fork();
	CHECK_EQ(ht_self.locks, 0);
	return unit_done("unit-stacktrace");
}
