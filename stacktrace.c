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
 * within HEAP_BATCH bytes per thread (README: Guarantees); while a single
 * thread records events (heaptrace's reporter thread records none) every
 * event is added, and the peak is exact.  Read and written with the block's shard lock
 * held, so a signal handler's hook on this thread queues instead of
 * racing it (guard.h).
 */
#define HEAP_BATCH (64 * 1024)
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

static void heap_thread_exit(void *arg)
{
	int64_t d = heap_pending;

	(void)arg;
	heap_pending = 0;
	if (d)
		heap_carry(NULL, d);
	atomic_sub_relaxed(&event_threads.n, 1);
}

/* A thread's first event: it counts, and its exit carries its count. */
static NOINLINE void heap_key_thread(void)
{
	heap_keyed = true;
	atomic_add_relaxed(&event_threads.n, 1);
	/* glibc keeps the first 32 keys' values in the thread itself; a later
	 * key's would be allocated, here, under a shard lock (a thread of
	 * such a process loses at most a batch to the peak at its exit) */
	if (atomic_load_acquire(&heap_key_made) && heap_key < 32)
		pthread_setspecific(heap_key, &heap_key); /* any non-NULL value */
}

static inline void heap_add(struct bt_stats *st, int64_t size)
{
	int64_t d = heap_pending + size;

	if (unlikely(!heap_keyed))
		heap_key_thread();
	if (atomic_load_relaxed(&event_threads.n) > 1 && d < HEAP_BATCH && d > -HEAP_BATCH) {
		heap_pending = d;
		return;
	}
	heap_pending = 0;
	heap_carry(st, d);
}

/* How a block comes to a backtrace: a new allocation, or a record put back
 * (acct_restore()) whose release had counted a temporary allocation or not. */
enum came {
	CAME_NEW,
	CAME_BACK,
	CAME_BACK_TEMPORARY,
};

/* Called with the block's shard lock held (see record()). */
static inline void stats_add(struct bt_stats *st, uint64_t size, enum came how)
{
	spin_lock_nested(&st->lock);
	save_at_peak(st);
	SET(st->live_count, st->live_count + 1);
	SET(st->live_bytes, st->live_bytes + size);
	if (st->live_count > st->peak_count)
		SET(st->peak_count, st->live_count);
	if (st->live_bytes > st->peak_bytes)
		SET(st->peak_bytes, st->live_bytes);
	if (how == CAME_NEW) {
		SET(st->total_count, st->total_count + 1);
		SET(st->total_bytes, st->total_bytes + size);
	} else if (how == CAME_BACK_TEMPORARY) {
		SET(st->temp_count, st->temp_count - 1);
	}
	heap_add(st, (int64_t)size);
	spin_unlock_nested(&st->lock);
}

static inline void stats_sub(struct bt_stats *st, uint64_t size, bool temporary)
{
	spin_lock_nested(&st->lock);
	save_at_peak(st);
	SET(st->live_count, st->live_count - 1);
	SET(st->live_bytes, st->live_bytes - size);
	if (temporary)
		SET(st->temp_count, st->temp_count + 1);
	heap_add(st, -(int64_t)size);
	spin_unlock_nested(&st->lock);
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

	*count = saved ? st->at_peak_count : st->live_count;
	*bytes = saved ? st->at_peak_bytes : st->live_bytes;
}

void bt_stats_read(struct bt *b, struct bt_stats *out)
{
	spin_lock(&b->st.lock);
	*out = b->st;
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
	struct am_shard *s = am_shard_of(h);
	struct am_rec rec = { id, size }, old;
	enum am_result r;

	spin_lock(&s->lock);
	r = am_insert(s, h, (uintptr_t)ptr, &rec, &old);
	/* the replaced block goes first: it was never live together with ptr */
	if (unlikely(r == AM_REPLACED) && old.id != ACCT_TRACER_ID)
		stats_sub(&bt_get(old.id)->st, old.size, false);
	if (likely(r != AM_NOMEM) && b)
		stats_add(&b->st, size, how);
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
	if (!am_find(am_shard_of(h), h, a, &rec) || rec.id != ACCT_TRACER_ID)
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
	struct am_shard *s = am_shard_of(h);
	struct am_rec rec;
	bool found;

	spin_lock(&s->lock);
	found = am_remove(s, h, (uintptr_t)ptr, &rec);
	if (found && rec.id != ACCT_TRACER_ID)
		stats_sub(&bt_get(rec.id)->st, rec.size, temporary);
	spin_unlock(&s->lock);
	if (found && out)
		*out = (struct acct_block){ rec.id, rec.size };
	return found;
}

bool acct_lookup(void *ptr, struct acct_block *out)
{
	uint64_t h = am_hash((uintptr_t)ptr);
	struct am_shard *s = am_shard_of(h);
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
	 * to the peak, at most a batch each, once */
	atomic_store_relaxed(&event_threads.n, heap_keyed);
	spin_unlock_in_child(&tab.lock);
}
