/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * guard.h - per-thread tracer state and the tracer's spinlock.
 *
 * A thread is "busy" while it runs tracer code: a hook between entry and
 * return, the reporter, a fork handler.  Allocations made while busy (by the
 * unwinder, libbfd, the real operator new calling malloc, ...) belong to the
 * tracer and are forwarded untraced.  A signal handler of the program does
 * not inherit that state: the trampoline it runs through (handlers.c) clears
 * busy, tracer and freeing for its duration.
 *
 * "locks" counts tracer locks held.  A hook entered while it is non-zero (a
 * signal handler that interrupted a table update on this thread) must not
 * take a lock: it does its real work at once and queues its bookkeeping
 * ("pending", libheaptrace.c), which the thread does when its last lock is
 * released.  Everything here is async-signal-safe and never allocates.
 *
 * The library's locks, outermost first.  A thread holding one takes only
 * locks below it; fork_prepare() (process.c) takes 1 to 4 and 6 in this
 * order and fork_parent() releases them in reverse, so that the child
 * inherits no table in mid-update:
 *   1. report_lock (report.c, a mutex): one report at a time.  Only
 *      reports, report_fini() and fork take it, never a hook.  Under it
 *      a report reads counters (5), and its symbolization and copies
 *      allocate tracer memory (6), each block then recorded under a
 *      shard lock (4).
 *   2. tab.lock (stacktrace.c): the insertion of a new backtrace; takes
 *      6 when the table or its entries grow.
 *   3. learn_lock (cfi.c): the call-frame rules learned by return
 *      address; takes 6 when the rule table grows.
 *   4. the address map's shard locks (addrmap.h): a hook holds one, for
 *      one block's record, and may try (never wait for) the others of
 *      its group, to shrink their tables; only fork holds them all, in
 *      index order.  Takes 5 and, when a shard's table grows, 6.
 *   5. a backtrace's statistics lock (struct bt_stats, stacktrace.h):
 *      nested in its block's shard lock (spin_lock_nested(), uncounted),
 *      or taken alone by a report under 1.  Fork holds 1 and every 4, so
 *      no thread is inside one when the child is made.
 *   6. tm.lock (tmem.c): the tracer's free lists; takes nothing.
 * 2, 3 and 4 never nest in one another but in fork_prepare() and the leak
 * scan: under 1, the scan (leaks.c) takes the loader's lock (it runs in a
 * dl_iterate_phdr() callback), then every 4 in index order, then stops
 * the other threads with ptrace; while they are stopped it takes no lock
 * at all (tmem's page-sized allocations take none).  The
 * reporter thread (reporter.c) holds none of them while it waits, and a
 * thread waiting for its report (reporter_run()) holds none either.
 * No lock of the program's (libc's, the loader's: the real allocator,
 * libunwind's dl_iterate_phdr()) is taken while 2 to 6 are held: hooks
 * unwind and call the real function outside them.
 */
#ifndef HEAPTRACE_GUARD_H
#define HEAPTRACE_GUARD_H

#include <errno.h>
#include <sched.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "atomic.h"
#include "compat.h"

struct ht_thread {
	unsigned busy;
	unsigned locks;
	unsigned tracer; /* running heaptrace's own code (start-up, reports, fork) */
	unsigned pending; /* bookkeeping queued while locks were held */
	unsigned signal;  /* program's signal handlers running (handlers.c) */
	void *freeing;   /* the block an outer hook is releasing right now */
	int *errno_at;   /* this thread's errno: __errno_location() is a call */
	/* the lowest byte of the stack this thread runs on, when it is one of
	 * the small stacks heaptrace knows: a signal stack (handlers.c), a
	 * makecontext() stack (libheaptrace.c); 0 for a thread's own stack */
	uintptr_t stack_lo;
};

extern HT_TLS struct ht_thread ht_self;

/*
 * Must a hook queue its bookkeeping?  While locks are held (see above), and
 * while older entries wait, so that the queue keeps the order of events.
 */
static inline bool must_defer(void)
{
	return unlikely(ht_self.locks | ht_self.pending);
}

/* Do the queued bookkeeping (libheaptrace.c); called with no lock held. */
void ht_drain(void);

/*
 * Bytes of stack left below the caller's frame: meaningful when the thread
 * runs on a small stack that heaptrace knows (stack_lo), huge otherwise (a
 * thread's own stack is taken to be large; a stale stack_lo, below or above
 * the stack in use, also reads as huge, or as small for a stack right
 * above it: a shorter backtrace, never a fault).
 */
static inline __attribute__((always_inline)) size_t stack_room(void)
{
	return (uintptr_t)__builtin_frame_address(0) - ht_self.stack_lo;
}

/*
 * What heaptrace's code needs below a hook's frame, measured by
 * tests/s-stackuse.c (see the design document): the walk of a backtrace
 * by learned rules and the record (HT_STACK_WALK), and libunwind with the
 * lazy binding of its first calls (HT_STACK_LIBUNWIND), each with a margin.
 * With less room, a hook records its caller only, or what the walk got,
 * and marks the backtrace cut.
 */
#define HT_STACK_WALK 2560
#define HT_STACK_LIBUNWIND 12288

/* This thread's errno, found once (hooks save and restore it). */
static inline int *errno_ptr(void)
{
	if (unlikely(!ht_self.errno_at))
		ht_self.errno_at = &errno;
	return ht_self.errno_at;
}

/* Paired: if (!guard_enter()) return forward(...); ... guard_exit(); */
static inline bool guard_enter(void)
{
	return ht_self.busy++ == 0;
}

static inline void guard_exit(void)
{
	ht_self.busy--;
}

/*
 * Paired, around heaptrace's own code that calls into libc and libbfd:
 * start-up, reports, fork handlers.  Allocations made there come from the
 * tracer's memory, not the program's heap (libheaptrace.c).
 */
static inline void tracer_enter(void)
{
	guard_enter();
	ht_self.tracer++;
}

static inline void tracer_exit(void)
{
	ht_self.tracer--;
	guard_exit();
}

/* For __attribute__((cleanup)): a throwing operator new leaves its hook
 * through the unwinder, and the guard must still be released. */
struct guard_scope {
	bool owned;
};

static inline void guard_scope_exit(struct guard_scope *g)
{
	(void)g;
	guard_exit();
}

#define GUARD_SCOPE(g) \
	struct guard_scope g __attribute__((cleanup(guard_scope_exit), unused)) = { guard_enter() }

/*
 * Test-and-test-and-set spinlock.  Critical sections are a few dozen
 * instructions and never call out (no allocation, no unwinding, no I/O),
 * so spinning is cheaper than a futex; a waiter that spins long yields,
 * which only happens when the holder was preempted.
 */
typedef struct {
	int v;
} spinlock_t;

static inline void spin_acquire(spinlock_t *l)
{
	for (unsigned n = 0; atomic_xchg_acquire(&l->v, 1); ) {
		while (atomic_load_relaxed(&l->v)) {
			if (++n < 256)
				cpu_relax();
			else
				sched_yield();
		}
	}
}

/* Take l if it is free; counted as spin_lock() when taken. */
static inline bool spin_trylock(spinlock_t *l)
{
	if (atomic_load_relaxed(&l->v) || atomic_xchg_acquire(&l->v, 1))
		return false;
	ht_self.locks++;
	return true;
}

static inline void spin_lock(spinlock_t *l)
{
	ht_self.locks++;
	spin_acquire(l);
}

static inline void spin_unlock(spinlock_t *l)
{
	atomic_store_release(&l->v, 0);
	if (--ht_self.locks == 0 && unlikely(ht_self.pending))
		ht_drain();
}

/*
 * The same lock for a caller that already holds a counted one (the order
 * of nesting is fixed, so the inner lock needs no counting of its own).
 */
static inline void spin_lock_nested(spinlock_t *l)
{
	spin_acquire(l);
}

static inline void spin_unlock_nested(spinlock_t *l)
{
	atomic_store_release(&l->v, 0);
}

/*
 * After fork(), in the child: a lock that the parent's fork handler took
 * with spin_lock() (the child's copy of it, which no thread of the child
 * will release) is free again and no longer counted.  The pending queue
 * is empty: the fork handlers run with every signal blocked.
 */
static inline void spin_unlock_in_child(spinlock_t *l)
{
	atomic_store_relaxed(&l->v, 0);
	ht_self.locks--;
}

#endif
