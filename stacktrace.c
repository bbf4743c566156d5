// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * stacktrace.c - the table of unique backtraces and the accounting of blocks
 * against it.  Everything here runs inside allocation hooks: no malloc (tmem
 * only, and only when a table grows), no syscalls, no formatting, no lock
 * held while unwinding.
 *
 * The backtrace table is an open-addressing array of pointers to entries
 * (lftable.h, whose comment holds the memory-ordering argument).  Look-ups
 * read it without a lock; inserts take tab.lock, and growth publishes a new
 * array while readers may still walk the old one (which is kept: a reader
 * that misses there retries under the lock).  Entries live in
 * chunks addressed by id and are never freed, so a report may read them at
 * any time.  An entry holds --depth frames (bt_size()), so the table's
 * memory follows the depth chosen.  How a backtrace is taken is
 * lib/unwind.c's: this file only stores them.
 */
#define _GNU_SOURCE
#include <pthread.h>
#include <string.h>
#include <time.h>

#include "stacktrace.h"
#include "utils.h"
#include "lib/addrmap.h"
#include "lib/atomic.h"
#include "lib/guard.h"
#include "lib/lftable.h"
#include "lib/oom.h"
#include "lib/sample.h"
#include "lib/tmem.h"

#define BT_CHUNK_SHIFT 8
#define BT_CHUNK (1u << BT_CHUNK_SHIFT)
#define BT_MAX_CHUNKS (1u << 16) /* 16M unique backtraces */
#define BT_MIN_SLOTS 1024

/* The table's slots (lftable.h): one word, the entry, whose hash is in it. */
#define BT_SLOT_WIDTH 1

static struct {
	spinlock_t lock;  /* the table's writer */
	struct lft *slots; /* read with acquire, replaced under lock */
	uint32_t count;         /* entries 0..count-1 are published */
	uint64_t untracked;
	uint64_t missed[2]; /* [release] */
	struct bt *chunks[BT_MAX_CHUNKS];
} tab;

uint64_t ht_start_ns;

uint64_t ht_now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

/*
 * The innermost frames, where backtraces differ most, get a multiplier
 * each: the products are independent and run side by side (a serial chain
 * of multiplies cost more than the rest of the bookkeeping).  Deeper frames
 * are only folded in by xor and sum, which vectorize: at depth 64 hashing
 * them all the first way would cost more than unwinding them.  One mix at
 * the end brings the high bits down.
 */
#define HASH_MUL_FRAMES 16

static inline uint64_t hash_frames(void *const *frames, int n, bool cut)
{
	uint64_t h = (uint64_t)n << 1 | cut, x = 0, sum = 0;
	int i;

	for (i = 0; i < n && i < HASH_MUL_FRAMES; i++)
		h += (uintptr_t)frames[i] * (GOLDEN_RATIO_64 + 2 * (uint64_t)i);
	for (; i < n; i++) {
		x ^= (uintptr_t)frames[i];
		sum += (uintptr_t)frames[i];
	}
	h += x * 0xc2b2ae3d27d4eb4fULL + sum * 0x165667b19e3779f9ULL;
	h ^= h >> 32;
	h *= 0xd6e8feb86659fd93ULL;
	return h ^ (h >> 32);
}

uint32_t bt_count(void)
{
	return atomic_load_acquire(&tab.count);
}

/* Bytes of an entry with its depth frames: whole cache lines, as its counters have one. */
static inline size_t bt_size(void)
{
	size_t bytes = offsetof(struct bt, frames) + (size_t)ht_cfg.depth * sizeof(void *);

	return (bytes + CACHELINE - 1) & ~(size_t)(CACHELINE - 1);
}

struct bt *bt_get(uint32_t id)
{
	char *chunk = (char *)tab.chunks[id >> BT_CHUNK_SHIFT];

	return (struct bt *)(chunk + (id & (BT_CHUNK - 1)) * bt_size());
}

uint64_t acct_untracked(void)
{
	return atomic_load_relaxed(&tab.untracked);
}

void acct_missed(bool release)
{
	atomic_add_relaxed(&tab.missed[release], 1);
}

uint64_t acct_missed_count(bool release)
{
	return atomic_load_relaxed(&tab.missed[release]);
}

/* The tables could not grow: say so once, count every block missed. */
static void count_untracked(void)
{
	if (atomic_add_relaxed(&tab.untracked, 1) == 1)
		ht_warn("out of memory for the tracer's tables: allocations are no longer all "
			"tracked (the report counts them)");
}

/* ------------------------------------------------------------ the table */

/*
 * What names a backtrace: its frames and, below the depth, whether the
 * unwinder stopped early (cut, see bt_at_least_caller()).  At the depth
 * "truncated" is not part of the name but learned at first sight (see
 * bt_find() in stacktrace.h).
 */
static inline bool key_cut(int n, bool trunc, int depth)
{
	return n < depth && trunc;
}

/* An entry's: cut for any reason but its depth (see cut_reason()). */
static inline bool entry_key_cut(const struct bt *b)
{
	return b->truncated && b->cut_why != HT_CUT_DEPTH;
}

static inline bool same(const struct bt *b, uint64_t h, void *const *frames, int n, bool kc)
{
	if (b->hash != h || b->depth != n || entry_key_cut(b) != kc)
		return false;
	if (n > HASH_MUL_FRAMES) /* long: memcmp's vector loop wins */
		return !memcmp(b->frames, frames, (size_t)n * sizeof(frames[0]));
	for (int i = 0; i < n; i++) /* a few words: cheaper inline than memcmp */
		if (b->frames[i] != frames[i])
			return false;
	return true;
}

/* kc: key_cut() of the frames looked for */
static inline struct bt *lookup(const struct lft *t, uint64_t h, void *const *frames, int n,
				bool kc)
{
	for (size_t i = lft_first(t, h);; i = lft_next(t, i)) {
		struct bt *b = (struct bt *)lft_key(lft_cslot(t, i, BT_SLOT_WIDTH));

		if (!b)
			return NULL;
		if (same(b, h, frames, n, kc))
			return b;
	}
}

static uint64_t bt_slot_hash(const uintptr_t *slot)
{
	return ((const struct bt *)slot[0])->hash;
}

static bool reserve_slot(void)
{
	return lft_reserve(&tab.slots, BT_SLOT_WIDTH, BT_MIN_SLOTS, bt_slot_hash);
}

/*
 * Why a backtrace of n frames ends there (HT_CUT_NONE: at the outermost
 * frame).  HT_CUT_DEPTH exactly at the depth: entry_key_cut() relies on it.
 */
static enum ht_cut cut_reason(int n, bool trunc, enum ht_cut why)
{
	if (!trunc)
		return HT_CUT_NONE;
	if (n == ht_cfg.depth)
		return HT_CUT_DEPTH;
	return why && why != HT_CUT_DEPTH ? why : HT_CUT_UNREADABLE;
}

static struct bt *new_entry(uint64_t h, void *const *frames, int n, bool trunc, enum ht_cut why)
{
	uint32_t id = tab.count;
	struct bt **chunk = &tab.chunks[id >> BT_CHUNK_SHIFT];
	struct bt *b;

	if (id >> BT_CHUNK_SHIFT >= BT_MAX_CHUNKS)
		return NULL;
	if (!*chunk && !(*chunk = tmem_alloc(BT_CHUNK * bt_size())))
		return NULL;
	b = bt_get(id);
	b->hash = h;
	b->first_ns = ht_now_ns();
	b->id = id;
	b->depth = (uint16_t)n;
	b->truncated = trunc;
	b->cut_why = (uint8_t)cut_reason(n, trunc, why);
	memcpy(b->frames, frames, (size_t)n * sizeof(frames[0]));
	return b;
}

static struct bt *insert(uint64_t h, void *const *frames, int n, bool trunc, enum ht_cut why)
{
	struct bt *b;

	if (!reserve_slot())
		return NULL;
	b = new_entry(h, frames, n, trunc, why);
	if (!b)
		return NULL;
	lft_put(tab.slots, h, &(uintptr_t){ (uintptr_t)b }, BT_SLOT_WIDTH);
	atomic_store_release(&tab.count, tab.count + 1);
	return b;
}

static struct bt *bt_intern(void *const *frames, int n, bool trunc, enum ht_cut why)
{
	bool kc = key_cut(n, trunc, ht_cfg.depth);
	uint64_t h = hash_frames(frames, n, kc);
	struct lft *t = atomic_load_acquire(&tab.slots);
	struct bt *b = t ? lookup(t, h, frames, n, kc) : NULL;

	if (likely(b))
		return b;
	spin_lock(&tab.lock);
	b = tab.slots ? lookup(tab.slots, h, frames, n, kc) : NULL;
	if (!b)
		b = insert(h, frames, n, trunc, why);
	spin_unlock(&tab.lock);
	return b;
}

static inline __attribute__((always_inline)) struct bt *find(const struct lft *t,
							     void *const *frames, int n, bool kc)
{
	return lookup(t, hash_frames(frames, n, kc), frames, n, kc);
}

static NOINLINE struct bt *find_deep(const struct lft *t, void *const *frames, int n,
				     bool kc)
{
	return find(t, frames, n, kc);
}

/*
 * Up to the build's DEPTH, n's bound is known where find() is inlined, so
 * that the hash and the compare unroll for it as they did when the depth
 * was fixed at build time; deeper backtraces go out of line, so that their
 * code takes no registers here (35 instructions per look-up in all,
 * callgrind).
 */
struct bt *bt_find(void *const *frames, int n, enum ht_cut cut)
{
	struct lft *t = atomic_load_acquire(&tab.slots);
	int depth = ht_cfg.depth;
	bool trunc = cut != HT_CUT_NONE;

	if (unlikely(!t))
		return NULL;
	if (n > depth) { /* depth + 1 frames, or at depth 1 the hook and its caller */
		n = depth;
		trunc = true;
	}
	if (unlikely(n > HT_DEPTH))
		return find_deep(t, frames, n, key_cut(n, trunc, depth));
	return find(t, frames, n, key_cut(n, trunc, depth));
}

/* ------------------------------------------------------------ accounting */

/* Stores a report may read at any time: whole words, never torn. */
#define SET(field, v) atomic_store_relaxed(&(field), (v))

/*
 * The whole heap, for its peak: one counter every event updates (its own
 * cache line), and the peak, moved on with a compare-and-swap only when
 * the heap passes it (no lock: in a growing program that is every
 * allocation).  A backtrace's counters at the peak are saved lazily (copy
 * on the first change after a new peak), so no event log and no walk of
 * the table are needed.  With threads, an event that another thread's new
 * peak overtakes between its counter update and its epoch check is
 * attributed as if it came first: the peak's total is exact, its shares
 * exact up to the events in flight at that instant.
 */
static struct {
	int64_t bytes __attribute__((aligned(CACHELINE)));
} heap;
static struct {
	uint64_t bytes __attribute__((aligned(CACHELINE)));
	uint64_t ns;    /* when: the one clock read, per new peak */
	uint64_t epoch; /* counts new peaks; read on every event */
} peak;

/*
 * With threads, each carries its own change of the heap's bytes and adds
 * it to heap.bytes only once it passes HEAP_BATCH either way, at its exit
 * (a key destructor) and at fork(): two threads then rarely write that
 * line.  heap.bytes is only there to find the peak, which is then exact to
 * within HEAP_BATCH bytes per thread (README: Peak); while a single
 * thread records events (heaptrace's reporter thread records none) every
 * event is added, and the peak is exact.  Read and written with the block's shard lock
 * held, so a signal handler's hook on this thread queues instead of
 * racing it (guard.h).
 */
#define HEAP_BATCH BT_PEAK_BYTES
static HT_TLS int64_t heap_pending;
static HT_TLS bool heap_keyed; /* counted in event_threads; its exit carries heap_pending */
static pthread_key_t heap_key;
static bool heap_key_made;
/* Threads that recorded an event and have not exited (not the reporter,
 * which records none): batches only when there are two.  Read by every
 * event, written when a thread starts or ends: a line of its own. */
static struct {
	int n __attribute__((aligned(CACHELINE)));
} event_threads;
/* Two threads recorded events at once at some time: peaks are bounds. */
static bool bt_threads_met;

_Static_assert(offsetof(struct bt_stats, peak_epoch) == CACHELINE,
	       "what every event writes fills the first cache line of bt_stats");

/* Before st changes: keep its value at the last peak if not kept yet. */
static inline void save_at_peak(struct bt_stats *st)
{
	uint64_t epoch = atomic_load_acquire(&peak.epoch);

	if (likely(st->peak_epoch == epoch))
		return;
	SET(st->at_peak_count, st->live_count);
	SET(st->at_peak_bytes, st->live_bytes);
	SET(st->peak_epoch, epoch);
}

static NOINLINE void new_peak(struct bt_stats *st, uint64_t bytes)
{
	uint64_t cur = atomic_load_relaxed(&peak.bytes), epoch;

	do {
		if (bytes <= cur)
			return; /* another thread's peak is higher */
	} while (!atomic_cas_weak_relaxed(&peak.bytes, &cur, bytes));
	SET(peak.ns, ht_now_ns());
	epoch = atomic_add_release(&peak.epoch, 1);
	oom_peak(bytes); /* a compare; a wake-up once per --oom-report step */
	if (!st)
		return;
	/* the event that made the peak is part of it */
	SET(st->at_peak_count, st->live_count);
	SET(st->at_peak_bytes, st->live_bytes);
	SET(st->peak_epoch, epoch);
}

/* Carry d over to heap.bytes; a new peak then is st's event's (st may be
 * NULL: a thread's exit). */
static NOINLINE void heap_carry(struct bt_stats *st, int64_t d)
{
	int64_t bytes = atomic_add_relaxed(&heap.bytes, d);

	if (d > 0 && (uint64_t)bytes > atomic_load_relaxed(&peak.bytes))
		new_peak(st, (uint64_t)bytes);
}

static inline void heap_add(struct bt_stats *st, int64_t size, bool threads)
{
	int64_t d = heap_pending + size;

	if (threads && d < HEAP_BATCH && d > -HEAP_BATCH) {
		heap_pending = d;
		return;
	}
	heap_pending = 0;
	heap_carry(st, d);
}

/*
 * One event's change of a backtrace's counters, or a thread's sum of them.
 * With --sample, counts and bytes are estimates (sample.h) and samples the
 * recorded blocks themselves; threads' tables never hold those (sampled
 * events are few: they take the backtrace's lock).
 */
struct change {
	int64_t count, bytes; /* live */
	uint64_t total_count, total_bytes;
	int64_t temp;
	int64_t samples; /* live */
	uint64_t samples_total;
};

/* Add c to st, whose lock the caller holds.  By value: an event's
 * constants stay constants (a free adds no totals). */
static inline __attribute__((always_inline)) void stats_apply(struct bt_stats *st,
							      const struct change c)
{
	save_at_peak(st);
	SET(st->live_count, st->live_count + (uint64_t)c.count);
	SET(st->live_bytes, st->live_bytes + (uint64_t)c.bytes);
	/* signed: with threads' tables, the part counted here may be below
	 * zero for a while (a thread's frees of blocks whose allocations
	 * another thread's table still holds) */
	if ((int64_t)st->live_count > (int64_t)st->peak_count)
		SET(st->peak_count, st->live_count);
	if ((int64_t)st->live_bytes > (int64_t)st->peak_bytes)
		SET(st->peak_bytes, st->live_bytes);
	if (c.total_count)
		SET(st->total_count, st->total_count + c.total_count);
	if (c.total_bytes)
		SET(st->total_bytes, st->total_bytes + c.total_bytes);
	if (c.temp)
		SET(st->temp_count, st->temp_count + (uint64_t)c.temp);
	if (c.samples)
		SET(st->samples_live, st->samples_live + (uint64_t)c.samples);
	if (c.samples_total)
		SET(st->samples_total, st->samples_total + c.samples_total);
}

/*
 * Threads' tables.  While two or more threads record events, each keeps
 * its changes of a backtrace's counters in a slot of a table of its own
 * and adds them to the backtrace's (under its lock) only when the live
 * count or bytes pass TC_BATCH_COUNT or TC_BATCH_BYTES either way, when the
 * slot is wanted for another backtrace, when the thread exits, and when
 * it is again the only one recording: threads allocating from the same
 * call sites then rarely write the same line (bench/README: Threads).
 * Counts and bytes stay exact, as reports add the slots' changes
 * (bt_stats_read()); a backtrace's own peaks are taken when changes are
 * added, so with threads they are within a batch per thread of the true
 * ones (README: Peak).
 *
 * A slot's fields are written by its thread alone, with relaxed stores,
 * under the block's shard lock (a signal handler's hook on the thread
 * queues meanwhile, guard.h), and read by reports with relaxed loads.  Its
 * id changes, and its changes are emptied, only under the backtrace's
 * lock, which the report holds while it reads: a report sees a slot's
 * backtrace and changes either before a flush or after it, never both.
 * Tables are made once per thread alive at a time, kept on one list that
 * only grows, and taken over by a new thread once their owner exited.
 */
#define TC_SLOTS 256 /* direct-mapped by backtrace id */
#define TC_BATCH_COUNT BT_PEAK_BLOCKS
#define TC_BATCH_BYTES BT_PEAK_BYTES
#define TC_MAX 0xffff /* tables: bt_stats.cached counts them in 16 bits */
#define BT_SHARED 0xffff /* bt_stats.writer: two threads' events or more */

struct tc_slot {
	uint32_t id; /* the backtrace's id + 1; 0: empty */
	struct change c;
};

struct tcache {
	struct tc_slot slot[TC_SLOTS];
	struct tcache *next; /* tc_all's list; set before the table is published */
	int owned;           /* a live thread's; 0 after its exit, exchanged to take it */
	bool holds;          /* the owner's: a slot may be taken */
};

static struct tcache *tc_all;   /* every table; read with acquire, pushed with release */
static int tc_made;
static HT_TLS struct tcache *tc_mine;
static HT_TLS bool tc_usable; /* this thread's exit will give its table back */
/* This thread as bt_stats.writer knows it: 1 to BT_SHARED - 1.  Two threads
 * with one number (65,534 threads apart) are taken for one: their shared
 * backtraces are then counted under the lock, exactly, as one thread's. */
static HT_TLS uint16_t writer_me;
static unsigned writers;
/* Keyed, and no slot of a table taken: count_event()'s one test of this
 * thread's state. */
static HT_TLS bool ev_plain;

static inline void change_add(struct change *to, const struct change *c)
{
	SET(to->count, to->count + c->count);
	SET(to->bytes, to->bytes + c->bytes);
	SET(to->total_count, to->total_count + c->total_count);
	SET(to->total_bytes, to->total_bytes + c->total_bytes);
	SET(to->temp, to->temp + c->temp);
}

/* Add s's changes to its backtrace and empty it; release: and free s. */
static void tc_flush(struct tc_slot *s, bool release)
{
	struct bt_stats *st = &bt_get(s->id - 1)->st;

	spin_lock_nested(&st->lock);
	stats_apply(st, s->c);
	SET(s->c.count, 0);
	SET(s->c.bytes, 0);
	SET(s->c.total_count, 0);
	SET(s->c.total_bytes, 0);
	SET(s->c.temp, 0);
	if (release) {
		SET(st->cached, st->cached - 1);
		SET(s->id, 0);
	}
	spin_unlock_nested(&st->lock);
}

static NOINLINE void tc_flush_all(struct tcache *t)
{
	for (int i = 0; i < TC_SLOTS; i++)
		if (t->slot[i].id)
			tc_flush(&t->slot[i], true);
	t->holds = false;
}

/* This thread's table: a dead thread's, or a new one (NULL without memory). */
static NOINLINE struct tcache *tc_take(void)
{
	struct tcache *t, *head;

	if (!tc_usable)
		return NULL;
	for (t = atomic_load_acquire(&tc_all); t; t = t->next)
		if (!atomic_load_relaxed(&t->owned) && !atomic_xchg_acquire(&t->owned, 1)) {
			tc_flush_all(t); /* what threads gone at a fork() left (bt_fork_child()) */
			return tc_mine = t;
		}
	if (atomic_add_relaxed(&tc_made, 1) > TC_MAX) {
		atomic_sub_relaxed(&tc_made, 1);
		return NULL;
	}
	t = tmem_alloc(sizeof(*t));
	if (!t) {
		atomic_sub_relaxed(&tc_made, 1);
		return NULL;
	}
	t->owned = 1;
	head = atomic_load_relaxed(&tc_all);
	do
		t->next = head;
	while (!atomic_cas_weak_release(&tc_all, &head, t));
	return tc_mine = t;
}

/* Give slot s to b: what s held goes to its backtrace first. */
static NOINLINE void tc_claim(struct tc_slot *s, struct bt *b)
{
	if (s->id)
		tc_flush(s, true);
	spin_lock_nested(&b->st.lock);
	SET(b->st.cached, b->st.cached + 1);
	SET(s->id, b->id + 1);
	spin_unlock_nested(&b->st.lock);
	tc_mine->holds = true;
	ev_plain = false;
}

static inline void tc_add(struct tcache *t, struct bt *b, const struct change *c)
{
	struct tc_slot *s = &t->slot[b->id & (TC_SLOTS - 1)];

	if (unlikely(s->id != b->id + 1))
		tc_claim(s, b);
	change_add(&s->c, c);
	if (unlikely(s->c.count >= TC_BATCH_COUNT || s->c.count <= -TC_BATCH_COUNT ||
		     s->c.bytes >= TC_BATCH_BYTES || s->c.bytes <= -TC_BATCH_BYTES))
		tc_flush(s, false);
}

/*
 * Reports: add the threads' changes of backtrace id to out (its lock held).
 * The slots are read one after the other while their threads run on, so
 * one thread's allocation and another's free of that block may be seen
 * as only the free: the sum is then exact up to the events in flight
 * during the read, never below zero.
 */
static void tc_sum(uint32_t id, struct bt_stats *out)
{
	int64_t count = (int64_t)out->live_count, bytes = (int64_t)out->live_bytes;

	for (struct tcache *t = atomic_load_acquire(&tc_all); t; t = t->next) {
		const struct tc_slot *s = &t->slot[id & (TC_SLOTS - 1)];

		if (atomic_load_relaxed(&s->id) != id + 1)
			continue;
		count += atomic_load_relaxed(&s->c.count);
		bytes += atomic_load_relaxed(&s->c.bytes);
		out->total_count += atomic_load_relaxed(&s->c.total_count);
		out->total_bytes += atomic_load_relaxed(&s->c.total_bytes);
		out->temp_count += (uint64_t)atomic_load_relaxed(&s->c.temp);
	}
	out->live_count = count > 0 ? (uint64_t)count : 0;
	out->live_bytes = count > 0 && bytes > 0 ? (uint64_t)bytes : 0;
	if (out->live_count > out->peak_count)
		out->peak_count = out->live_count;
	if (out->live_bytes > out->peak_bytes)
		out->peak_bytes = out->live_bytes;
}

static void (*thread_exit_fn)(void); /* acct_on_thread_exit() */

/*
 * A thread's exit: carry its count of the heap's bytes and its table's
 * changes, and give the table back.  Under a counted shard lock, as events
 * are, so that a signal handler's hook on this thread queues, and fork()
 * copies no half-flushed table.  Then thread_exit_fn, unlocked: it may
 * unmap.
 */
static void heap_thread_exit(void *arg)
{
	void (*fn)(void) = atomic_load_relaxed(&thread_exit_fn);
	int64_t d;

	(void)arg;
	spin_lock(&am_shards[0].lock);
	d = heap_pending;
	heap_pending = 0;
	if (d)
		heap_carry(NULL, d);
	if (tc_mine) {
		tc_flush_all(tc_mine);
		atomic_store_release(&tc_mine->owned, 0);
		tc_mine = NULL;
	}
	tc_usable = false;
	atomic_sub_relaxed(&event_threads.n, 1);
	spin_unlock(&am_shards[0].lock);
	if (fn)
		fn();
}

bool acct_thread_exit_unseen(void)
{
	return heap_keyed && !tc_usable;
}

/* Relaxed: the pointer is all there is to see, and it never changes once set. */
void acct_on_thread_exit(void (*fn)(void))
{
	atomic_store_relaxed(&thread_exit_fn, fn);
}

/* A thread's first event: it counts, and its exit carries its count. */
static NOINLINE void heap_key_thread(void)
{
	heap_keyed = true;
	writer_me = (uint16_t)(atomic_add_relaxed(&writers, 1) % (BT_SHARED - 1) + 1);
	if (atomic_add_relaxed(&event_threads.n, 1) > 1)
		atomic_store_relaxed(&bt_threads_met, true);
	/* glibc keeps the first 32 keys' values in the thread itself; a later
	 * key's would be allocated, here, under a shard lock (a thread of
	 * such a process loses at most a batch to the peak at its exit, and
	 * takes no table: nothing would give it back) */
	if (atomic_load_acquire(&heap_key_made) && heap_key < 32)
		tc_usable = !pthread_setspecific(heap_key, &heap_key); /* any non-NULL value */
}

/*
 * While threads record events: which thread's are b's events?  The first
 * one's, or BT_SHARED from the second one's on (for good: a backtrace's
 * events from two threads were seen, and will again).  While one thread
 * records, nothing is noted: a second thread's first event finds the
 * first's backtraces unmarked.  Changes twice at most per backtrace.
 */
static NOINLINE void note_writer(struct bt_stats *st)
{
	if (st->writer == writer_me)
		return;
	spin_lock_nested(&st->lock);
	SET(st->writer, st->writer ? BT_SHARED : writer_me);
	spin_unlock_nested(&st->lock);
}

/*
 * count_event()'s part for a thread's first event and for threads: true
 * when c went to this thread's table.  Out of line, so that a process of
 * one thread runs the code it ran before tables were there.
 */
static NOINLINE bool count_slow(struct bt *b, const struct change *c, bool threads)
{
	struct tcache *t = tc_mine;

	if (!heap_keyed)
		heap_key_thread();
	if (!threads) {
		if (t && t->holds)
			tc_flush_all(t); /* the only thread left: exact from here on */
		ev_plain = true;
		return false;
	}
	if (ht_sample_rate)
		return false; /* see struct change */
	if (unlikely(atomic_load_relaxed(&b->st.writer) != BT_SHARED)) {
		note_writer(&b->st);
		return false;
	}
	if (!t && !(t = tc_take()))
		return false;
	tc_add(t, b, c);
	heap_add(NULL, c->bytes, true);
	return true;
}

/*
 * Count an event of b (called with the block's shard lock held, see
 * record()).  A backtrace that only one thread's events touched so far is
 * counted at once, under its lock, whose line then stays in that thread's
 * cache, and its peaks are exact; one that two threads touched goes to
 * this thread's table while other threads record events too.
 */
static inline __attribute__((always_inline)) void count_event(struct bt *b,
							      const struct change c)
{
	bool threads = atomic_load_relaxed(&event_threads.n) > 1;

	if (unlikely(threads || !ev_plain)) {
		struct change copy = c; /* its address goes out, c's does not */

		if (count_slow(b, &copy, threads))
			return;
	}
	spin_lock_nested(&b->st.lock);
	stats_apply(&b->st, c);
	heap_add(&b->st, c.bytes, threads);
	spin_unlock_nested(&b->st.lock);
}

/* How a block comes to a backtrace: a new allocation, or a record put back
 * (acct_restore()) whose release had counted a temporary allocation or not. */
enum came {
	CAME_NEW,
	CAME_BACK,
	CAME_BACK_TEMPORARY,
};

/*
 * With --sample, a recorded block stands for its estimate (sample.h):
 * counts in fixed point, bytes weighed, and one sample more or less.
 * Out of line: a process without sampling runs the code it ran before.
 */
static NOINLINE void count_sampled(struct bt *b, uint64_t size, int dir, bool total, int temp)
{
	int64_t cw = (int64_t)sample_count_weight(size), bw = (int64_t)sample_bytes_weight(size);

	count_event(b, (struct change){ .count = dir * cw, .bytes = dir * bw,
					 .total_count = total ? (uint64_t)cw : 0,
					 .total_bytes = total ? (uint64_t)bw : 0, .temp = temp * cw,
					 .samples = dir, .samples_total = total });
}

static inline void stats_add(struct bt *b, uint64_t size, enum came how)
{
	bool new = how == CAME_NEW;
	int temp = how == CAME_BACK_TEMPORARY ? -1 : 0;

	if (unlikely(ht_sample_rate))
		count_sampled(b, size, 1, new, temp);
	else
		count_event(b, (struct change){ .count = 1, .bytes = (int64_t)size,
						 .total_count = new, .total_bytes = new ? size : 0,
						 .temp = temp });
}

static inline void stats_sub(struct bt *b, uint64_t size, bool temporary)
{
	if (unlikely(ht_sample_rate))
		count_sampled(b, size, -1, false, temporary);
	else
		count_event(b, (struct change){ .count = -1, .bytes = -(int64_t)size,
						 .temp = temporary });
}

/*
 * Best effort, not a seqlock: new_peak() moves bytes (its compare-and-swap)
 * before ns and the epoch, with no in-progress mark, and several threads
 * may move it at once.  A correct seqlock would need the writers to
 * serialize and mark the update (a lock, or a second counter and fences)
 * on every new peak, which in a growing program is every allocation.
 * What a report can get instead: the epoch read twice the same tells that
 * no peak completed in between, so bytes is at least that epoch's peak;
 * if another peak is in flight, bytes may be the newer one with the
 * previous peak's time and epoch.  That peak is older by the events in
 * flight, the same approximation as the shares of a peak already are
 * (see heap and peak above), and the next report reads it whole.
 */
bool bt_peaks_bounded(void)
{
	return atomic_load_relaxed(&bt_threads_met);
}

void bt_peak_read(struct bt_peak *out)
{
	uint64_t epoch;

	/* a peak completed while reading: read again */
	do {
		epoch = atomic_load_acquire(&peak.epoch);
		*out = (struct bt_peak){ atomic_load_relaxed(&peak.bytes),
					 atomic_load_relaxed(&peak.ns), epoch };
	} while (atomic_load_acquire(&peak.epoch) != epoch);
}

void bt_stats_at_peak(const struct bt_stats *st, const struct bt_peak *p, uint64_t *count,
		      uint64_t *bytes)
{
	/* unchanged since that peak: its value then is its value now */
	bool saved = st->peak_epoch == p->epoch;
	int64_t c = (int64_t)(saved ? st->at_peak_count : st->live_count);
	int64_t b = (int64_t)(saved ? st->at_peak_bytes : st->live_bytes);

	/* below zero: see stats_apply() */
	*count = c > 0 ? (uint64_t)c : 0;
	*bytes = c > 0 && b > 0 ? (uint64_t)b : 0;
}

void bt_stats_read(struct bt *b, struct bt_stats *out)
{
	spin_lock(&b->st.lock);
	*out = b->st;
	if (out->cached)
		tc_sum(b->id, out);
	spin_unlock(&b->st.lock);
}

/*
 * Counters change while the block's shard lock is held, so that fork(),
 * which takes every shard lock, never copies a half-done update.
 */
/* b is bt_get(id), or NULL for a block of the tracer's. */
static bool record(void *ptr, uint32_t id, struct bt *b, uint64_t size, enum came how)
{
	uint64_t h = am_hash((uintptr_t)ptr);
	struct am_shard *s = am_shard_of((uintptr_t)ptr, h);
	struct am_rec rec = { id, size }, old;
	enum am_result r;

	spin_lock(&s->lock);
	r = am_insert(s, h, (uintptr_t)ptr, &rec, &old);
	if (unlikely(ht_sample_rate) && r == AM_INSERTED)
		sample_filter_add((uintptr_t)ptr, 1);
	/* the replaced block goes first: it was never live together with ptr */
	if (unlikely(r == AM_REPLACED) && old.id != ACCT_TRACER_ID)
		stats_sub(bt_get(old.id), old.size, false);
	if (likely(r != AM_NOMEM) && b)
		stats_add(b, size, how);
	spin_unlock(&s->lock);
	return r != AM_NOMEM;
}

/*
 * The addresses the tracer's blocks have ever taken, widened as they come
 * (rarely: heaptrace's own code allocating), so that an untraced child
 * looks up only the frees that fall between them (acct_untraced_block()).
 */
static uintptr_t tracer_lo = UINTPTR_MAX, tracer_hi;

static void widen_tracer_range(uintptr_t lo, uintptr_t hi)
{
	uintptr_t v = atomic_load_relaxed(&tracer_lo);

	while (lo < v && !atomic_cas_weak_relaxed(&tracer_lo, &v, lo))
		;
	v = atomic_load_relaxed(&tracer_hi);
	while (hi > v && !atomic_cas_weak_relaxed(&tracer_hi, &v, hi))
		;
}

bool acct_tracer_block(void *ptr, size_t size)
{
	widen_tracer_range((uintptr_t)ptr, (uintptr_t)ptr + (size ? size : 1));
	return record(ptr, ACCT_TRACER_ID, NULL, size, CAME_BACK);
}

/*
 * Without the shard's lock: in an untraced process nothing writes the map
 * (libheaptrace.c), so reading it cannot race, and a signal handler's free
 * that interrupts this one cannot wait for a lock.
 */
bool acct_untraced_block(const void *ptr, size_t *size)
{
	uintptr_t a = (uintptr_t)ptr;
	uint64_t h;
	struct am_rec rec;

	if (likely(a < tracer_lo || a >= tracer_hi))
		return false;
	h = am_hash(a);
	if (!am_find(am_shard_of(a, h), h, a, &rec) || rec.id != ACCT_TRACER_ID)
		return false;
	*size = rec.size;
	return true;
}

void acct_alloc_bt(void *ptr, size_t size, struct bt *b)
{
	if (unlikely(!record(ptr, b->id, b, size, CAME_NEW)))
		count_untracked();
}

void acct_alloc(void *ptr, size_t size, void **frames, int n, enum ht_cut cut)
{
	bool trunc = cut != HT_CUT_NONE || n > ht_cfg.depth;
	struct bt *b;

	if (n < 0)
		n = 0;
	if (n > ht_cfg.depth)
		n = ht_cfg.depth;
	b = bt_intern(frames, n, trunc, cut);
	if (unlikely(!b))
		count_untracked();
	else
		acct_alloc_bt(ptr, size, b);
}

bool acct_free(void *ptr, struct acct_block *out, bool temporary)
{
	uint64_t h = am_hash((uintptr_t)ptr);
	struct am_shard *s = am_shard_of((uintptr_t)ptr, h);
	struct am_rec rec;
	bool found;

	if (unlikely(ht_sample_rate) && !sample_maybe((uintptr_t)ptr))
		return false; /* not recorded: the common case when sampling */
	spin_lock(&s->lock);
	found = am_remove(s, h, (uintptr_t)ptr, &rec);
	if (unlikely(ht_sample_rate) && found)
		sample_filter_add((uintptr_t)ptr, -1);
	if (found && rec.id != ACCT_TRACER_ID)
		stats_sub(bt_get(rec.id), rec.size, temporary);
	spin_unlock(&s->lock);
	if (found && out)
		*out = (struct acct_block){ rec.id, rec.size };
	return found;
}

bool acct_lookup(void *ptr, struct acct_block *out)
{
	uint64_t h = am_hash((uintptr_t)ptr);
	struct am_shard *s = am_shard_of((uintptr_t)ptr, h);
	struct am_rec rec;
	bool found;

	spin_lock(&s->lock);
	found = am_find(s, h, (uintptr_t)ptr, &rec);
	spin_unlock(&s->lock);
	if (found)
		*out = (struct acct_block){ rec.id, rec.size };
	return found;
}

void acct_restore(void *ptr, const struct acct_block *b, bool temporary)
{
	if (!record(ptr, b->id, b->id == ACCT_TRACER_ID ? NULL : bt_get(b->id), b->size,
		    temporary ? CAME_BACK_TEMPORARY : CAME_BACK))
		count_untracked();
}

/* ------------------------------------------------------------ attach */

/*
 * Releases of blocks the map does not hold, while tracing a process it
 * attached to (--pid): blocks allocated before the attach.  A line of its
 * own, written once per such block at most (each is freed once): their
 * number is bounded by the blocks live at the attach, not by run time.
 */
static struct {
	uint64_t n __attribute__((aligned(CACHELINE)));
} freed_before;

void acct_freed_before(void)
{
	atomic_add_relaxed(&freed_before.n, 1);
}

uint64_t acct_freed_before_count(void)
{
	return atomic_load_relaxed(&freed_before.n);
}

/* A block acct_reset() forgets: --sample's filter forgets it too. */
static void reset_block(uintptr_t key)
{
	if (ht_sample_rate)
		sample_filter_add(key, -1);
}

/*
 * Start over (an attach after a detach): forget every block and zero every
 * count, so that the report shows what was allocated since.  Every shard
 * lock is held, as fork() holds them: no event is counted meanwhile (the
 * hooks forward until the caller says otherwise, and one that started
 * before the detach finishes first).  What a thread carries of the heap's
 * bytes (heap_pending, at most HEAP_BATCH) stays with it.
 */
void acct_reset(void)
{
	am_fork_prepare();
	am_remove_all_but(ACCT_TRACER_ID, reset_block);
	for (struct tcache *t = atomic_load_acquire(&tc_all); t; t = t->next)
		for (int i = 0; i < TC_SLOTS; i++)
			t->slot[i].c = (struct change){ 0 };
	for (uint32_t id = 0; id < bt_count(); id++) {
		struct bt_stats *st = &bt_get(id)->st;

		spin_lock_nested(&st->lock);
		*st = (struct bt_stats){ .lock = st->lock, .cached = st->cached,
					 .writer = st->writer };
		spin_unlock_nested(&st->lock);
	}
	atomic_store_relaxed(&heap.bytes, 0);
	atomic_store_relaxed(&peak.bytes, 0);
	atomic_store_relaxed(&peak.ns, 0);
	atomic_store_relaxed(&tab.untracked, 0);
	atomic_store_relaxed(&tab.missed[0], 0);
	atomic_store_relaxed(&tab.missed[1], 0);
	atomic_store_relaxed(&freed_before.n, 0);
	am_fork_parent();
}

/* ------------------------------------------------------------ fork */

void bt_threads_init(void)
{
	if (!pthread_key_create(&heap_key, heap_thread_exit))
		atomic_store_release(&heap_key_made, true);
}

void bt_fork_prepare(void)
{
	spin_lock(&tab.lock);
}

void bt_fork_parent(void)
{
	spin_unlock(&tab.lock);
}

void bt_fork_child(void)
{
	/* the child's one thread; what the others had not carried is lost
	 * to the peak, at most a batch each, once.  Their tables' changes
	 * stay counted, and go to their backtraces when a thread takes one. */
	atomic_store_relaxed(&event_threads.n, heap_keyed);
	for (struct tcache *t = tc_all; t; t = t->next)
		if (t != tc_mine)
			t->owned = 0;
	spin_unlock_in_child(&tab.lock);
}
