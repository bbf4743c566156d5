// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * atomic.h - the library's atomic operations, each named by its memory
 * ordering, so that every ordering in the code can be found with grep and
 * is argued where the variable it orders is declared.  Used on the hook
 * path, by the reporter and by signal handlers; lock-free, never a call.
 *
 * The orderings heaptrace uses, and what each is for:
 *   relaxed   a value that orders nothing else: counters and sizes that a
 *             report reads while hooks change them (a report may see a
 *             count one event old, never a torn one), monotonic maxima
 *             and ranges moved by compare-and-swap, flags shared only with
 *             the thread's own signal handler (see signal_fence());
 *   acquire / release
 *             publication: a table, an entry or a job written, then its
 *             pointer or flag stored with release; a reader that loads it
 *             with acquire sees what was written before (lftable.h), and a
 *             spinlock's exchange and store (guard.h) order the section;
 *   acq_rel   an exchange that both claims and publishes (a one-time
 *             set-up that another thread may be waiting on);
 *   signal_fence()
 *             no instruction: keeps the compiler from moving memory
 *             accesses across it, which is all the ordering a thread needs
 *             against its own signal handler.
 * Nothing here is sequentially consistent: no algorithm of heaptrace's
 * needs a total order of stores to different variables.
 */
#ifndef HEAPTRACE_ATOMIC_H
#define HEAPTRACE_ATOMIC_H

#define atomic_load_relaxed(p) __atomic_load_n((p), __ATOMIC_RELAXED)
#define atomic_load_acquire(p) __atomic_load_n((p), __ATOMIC_ACQUIRE)
#define atomic_store_relaxed(p, v) __atomic_store_n((p), (v), __ATOMIC_RELAXED)
#define atomic_store_release(p, v) __atomic_store_n((p), (v), __ATOMIC_RELEASE)

/* Read-modify-write: add/sub/or return the new value, fetch_add the old. */
#define atomic_add_relaxed(p, v) __atomic_add_fetch((p), (v), __ATOMIC_RELAXED)
#define atomic_add_release(p, v) __atomic_add_fetch((p), (v), __ATOMIC_RELEASE)
#define atomic_fetch_add_relaxed(p, v) __atomic_fetch_add((p), (v), __ATOMIC_RELAXED)
#define atomic_sub_relaxed(p, v) __atomic_sub_fetch((p), (v), __ATOMIC_RELAXED)
#define atomic_or_relaxed(p, v) __atomic_or_fetch((p), (v), __ATOMIC_RELAXED)

/* Exchange: returns the old value. */
#define atomic_xchg_relaxed(p, v) __atomic_exchange_n((p), (v), __ATOMIC_RELAXED)
#define atomic_xchg_acquire(p, v) __atomic_exchange_n((p), (v), __ATOMIC_ACQUIRE)
#define atomic_xchg_acq_rel(p, v) __atomic_exchange_n((p), (v), __ATOMIC_ACQ_REL)

/*
 * Compare-and-swap of *p from *expected to v; false, with *expected
 * updated, when *p held something else.  The weak form may also fail
 * spuriously: for loops that read again anyway.
 */
#define atomic_cas_weak_relaxed(p, expected, v)                                        \
	__atomic_compare_exchange_n((p), (expected), (v), true, __ATOMIC_RELAXED,      \
				    __ATOMIC_RELAXED)
#define atomic_cas_strong_relaxed(p, expected, v)                                      \
	__atomic_compare_exchange_n((p), (expected), (v), false, __ATOMIC_RELAXED,     \
				    __ATOMIC_RELAXED)
/* Publishes what was written before it (a node pushed on a list). */
#define atomic_cas_weak_release(p, expected, v)                                        \
	__atomic_compare_exchange_n((p), (expected), (v), true, __ATOMIC_RELEASE,      \
				    __ATOMIC_RELAXED)

#define signal_fence() __atomic_signal_fence(__ATOMIC_SEQ_CST)

#endif
