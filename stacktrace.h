/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * stacktrace.h - the table of unique backtraces with their statistics, and
 * the accounting of each allocation and free against them.  Backtraces are
 * taken by the hooks with lib/unwind.h (unwind_capture()), stored here:
 * this module knows nothing of how.
 *
 * The hot path is capture (unwinding, before any lock), bt_find (lock-free)
 * and acct_* (one shard lock of the address map and a few atomic
 * operations); a backtrace seen for the first time takes acct_alloc().
 * Reports read the table through bt_get() while the program runs on;
 * entries are never freed or moved.
 */
#ifndef HEAPTRACE_STACKTRACE_H
#define HEAPTRACE_STACKTRACE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "compat.h"
#include "options.h"
#include "textfmt.h" /* enum ht_cut */
#include "lib/atomic.h"
#include "lib/config.h"
#include "lib/guard.h"

/*
 * Statistics of one backtrace, changed and read under its lock: one locked
 * instruction per event instead of one per counter, and reports read a
 * consistent copy (bt_stats_read).  The lock is only ever taken inside an
 * address-map shard lock, or by a report (which fork() excludes).  While
 * threads run, the events of a backtrace that two threads touched gather
 * in the threads' own tables first and come here in batches (stacktrace.c:
 * threads' tables); bt_stats_read() adds what the tables hold.
 */
struct bt_stats {
	spinlock_t lock;
	/* threads' tables holding changes not added here yet (stacktrace.c):
	 * bt_stats_read() adds them */
	uint16_t cached;
	/* the one thread whose events these were so far, or BT_SHARED */
	uint16_t writer;
	uint64_t live_count, live_bytes;
	uint64_t peak_count, peak_bytes;
	uint64_t total_count, total_bytes; /* since start: calls, requested bytes */
	/* blocks released directly after their allocation (acct_free()) */
	uint64_t temp_count;
	/*
	 * The first cache line ends here: it holds what events write, so that
	 * threads allocating from one backtrace pass one line between them,
	 * not two.  Below, what they only read until the heap peaks again:
	 * live_count/bytes when the whole heap last peaked, saved lazily, by
	 * the first change after that peak (peak_epoch tells which peak).
	 */
	uint64_t peak_epoch;
	uint64_t at_peak_count, at_peak_bytes;
	/* --sample: the counts above are estimates (in SAMPLE_ONE fixed
	 * point), the bytes estimated; these are the recorded blocks */
	uint64_t samples_live, samples_total;
};

/*
 * The whole traced heap's peak: live bytes of the program's blocks at their
 * highest, when (CLOCK_MONOTONIC), and an epoch that counts new peaks.  The
 * blocks live then are the sum of the backtraces' (bt_stats_at_peak).
 */
struct bt_peak {
	uint64_t bytes, ns, epoch;
};
void bt_peak_read(struct bt_peak *out);
/*
 * Have two threads recorded events at once?  Then the whole heap's peak is
 * within BT_PEAK_BYTES bytes per thread of the true one, and a backtrace's
 * peaks, once two threads' events touched it, within BT_PEAK_BLOCKS
 * blocks and BT_PEAK_BYTES bytes per thread (stacktrace.c: the batches);
 * before that, exact.
 */
bool bt_peaks_bounded(void);
#define BT_PEAK_BYTES (16 * 1024)
#define BT_PEAK_BLOCKS 32
/* live_count/bytes of st when the heap peaked (st read with bt_stats_read). */
void bt_stats_at_peak(const struct bt_stats *st, const struct bt_peak *peak, uint64_t *count,
		      uint64_t *bytes);

struct bt {
	/* written on every event: a cache line of its own */
	struct bt_stats st __attribute__((aligned(CACHELINE)));
	/* immutable once published */
	uint64_t hash __attribute__((aligned(CACHELINE)));
	uint64_t first_ns; /* CLOCK_MONOTONIC when first seen */
	uint32_t id;
	uint16_t depth;
	bool truncated; /* the stack went on beyond its depth frames */
	uint8_t cut_why; /* enum ht_cut: why, when it did */
	/* frames[0] is the hook the program called; an entry has room for
	 * ht_cfg.depth of them (stacktrace.c sizes the table's entries) */
	void *frames[];
};

/* Why b ends before the outermost frame (HT_CUT_NONE: it does not). */
static inline enum ht_cut bt_cut(const struct bt *b)
{
	return b->truncated ? (enum ht_cut)b->cut_why : HT_CUT_NONE;
}

/*
 * Record a successful allocation: ptr of size bytes, n frames from
 * unwind_capture() (more than the depth: the stack was cut); cut also marks a
 * stack known to go on beyond its n frames.
 */
void acct_alloc(void *ptr, size_t size, void **frames, int n, enum ht_cut cut);

/*
 * The hot path's two halves: the known entry for the n frames of
 * unwind_capture(frames, unwind_capture_hot(depth)) (lock-free; NULL when the
 * backtrace is new, and then acct_alloc() with the deeper capture files
 * it), and the record of ptr against it.
 *
 * A backtrace is its depth frames: whether the stack went on beyond
 * them ("truncated") is learned when they are first seen.  The same frames
 * with and without more stack would need the same return address to be
 * the outermost frame one time and not the next, which unwinding (by the
 * same call-frame rules at the same address) does not give.
 */
struct bt *bt_find(void *const *frames, int n, enum ht_cut cut);
void acct_alloc_bt(void *ptr, size_t size, struct bt *b);

/*
 * When the unwinder gives less than the hook and its caller (it could not
 * read memory, e.g. in a sandbox that forbids the calls it validates
 * addresses with; or there was too little stack to unwind), make do with
 * those two, marked cut.  Returns n.
 */
static inline int bt_at_least_caller(void **frames, int n, void *hook_pc, void *caller,
				     enum ht_cut *cut)
{
	if (likely(n >= 2))
		return n;
	frames[0] = hook_pc;
	frames[1] = caller;
	if (!*cut)
		*cut = HT_CUT_UNREADABLE;
	return 2;
}

/*
 * Remove ptr's record before it is released; false if it was not traced.
 * temporary: the release directly follows ptr's allocation in this thread
 * (heaptrack's "temporary allocation": no other allocation or release of
 * the thread in between); it is counted against ptr's backtrace, unless
 * ptr is a block of the tracer's.
 */
struct acct_block {
	uint32_t id; /* ACCT_TRACER_ID: a block of heaptrace's own */
	uint64_t size;
};
bool acct_free(void *ptr, struct acct_block *out, bool temporary);
/* ptr's record, left in place. */
bool acct_lookup(void *ptr, struct acct_block *out);

/*
 * Blocks heaptrace's own code got from malloc (tracer memory, see
 * libheaptrace.c) are kept in the same map under this id, without
 * statistics, so that free() knows them at no extra cost.  False when the
 * map cannot hold one more.
 */
#define ACCT_TRACER_ID 0xffffffffu
bool acct_tracer_block(void *ptr, size_t size);
/*
 * In a process that records nothing any more (config.h: ht_process), is
 * ptr a block of the tracer's, and of what size?  Such a block must never
 * reach the real allocator.  Lock-free, for the untraced hooks.
 */
bool acct_untraced_block(const void *ptr, size_t *size);
/* Put back a record taken by acct_free() (a realloc that failed), and
 * take back the temporary allocation it counted, if it was told one. */
void acct_restore(void *ptr, const struct acct_block *b, bool temporary);

/* The table, for reports. */
uint32_t bt_count(void);
struct bt *bt_get(uint32_t id);
void bt_stats_read(struct bt *b, struct bt_stats *out);

/* Allocations that could not be recorded for want of tracer memory. */
uint64_t acct_untracked(void);

/*
 * Events of signal handlers that a full queue could not keep (see
 * libheaptrace.c): allocations not recorded, releases not seen.
 */
void acct_missed(bool release);
uint64_t acct_missed_count(bool release);

/*
 * --pid: a release of a block the map does not hold, allocated before the
 * attach (libheaptrace.c counts it while attached); and the start of a new
 * recording, when attached again after a detach (lib/attach.c).
 */
void acct_freed_before(void);
uint64_t acct_freed_before_count(void);
void acct_reset(void);

/* At start-up: threads' exits carry their count of the heap's bytes. */
void bt_threads_init(void);
/*
 * A thread's exit is seen when its first counted event found a
 * thread-specific key to spare (nearly always): fn, once set, runs there
 * too, after the thread's counts are carried, so that what the hooks keep
 * per thread outside TLS goes back (libheaptrace.c, --pid's spill areas).
 * True when this thread's exit is known not to be seen.
 */
bool acct_thread_exit_unseen(void);
void acct_on_thread_exit(void (*fn)(void));

void bt_fork_prepare(void);
void bt_fork_parent(void);
void bt_fork_child(void);

/* Monotonic clock in nanoseconds (vDSO, no syscall). */
uint64_t ht_now_ns(void);
/* ht_now_ns() when the library started (ages and the peak's time count from it). */
extern uint64_t ht_start_ns;

#endif
