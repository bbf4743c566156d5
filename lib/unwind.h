/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * unwind.h - taking a backtrace, apart from keeping it (stacktrace.h):
 * the --unwind methods behind one set-up, unwind_init(), and one capture,
 * unwind_capture(), inlined into the hook whose stack it takes.
 *
 *   dwarf      (default) heaptrace's walk of .eh_frame (cfi.c), libunwind
 *              for the backtraces the walk cannot take, where it is safe
 *   libunwind  libunwind's unw_backtrace() alone, the walk where it is not
 *   fp         the chain of saved frame pointers, checked (unwind_walk_fp),
 *              the default's way wherever the chain is not sound
 *   check      the walk and libunwind both, the differences counted and
 *              told at exit (unwind_check_report)
 *
 * Only this module keeps the method.  Nothing here allocates or takes a
 * lock of the table; see cfi.h for the walk's own rule table.
 */
#ifndef HEAPTRACE_UNWIND_H
#define HEAPTRACE_UNWIND_H

#include <stdbool.h>

#define UNW_LOCAL_ONLY
#include <libunwind.h>

#include "compat.h"
#include "options.h"
#include "lib/atomic.h"
#include "lib/cfi.h"
#include "lib/guard.h"
#include "textfmt.h" /* enum ht_cut */

/*
 * Set libunwind up (once: at the first backtrace, before the program has
 * threads) and take method from now on.  Called first with the default,
 * by the first allocation's set-up (process_setup()), then at start-up
 * with --unwind.
 */
void unwind_init(enum ht_unwinder method);

/* The method, for the inline capture: unwind_init() alone writes it. */
extern enum ht_unwinder unwind_method;

/*
 * A sandbox (seccomp) forbids every call that can tell a readable address:
 * libunwind's slow path then returns garbage, so no more unwinding in this
 * process; bt_at_least_caller() keeps the hook and its caller.
 */
extern bool unwind_sandboxed;

/*
 * --unwind=fp: follow the chain of saved frame pointers instead (two
 * loads and a few compares per frame, no table).  Every word is read from
 * a page known to be readable.  A chain that breaks before max frames or
 * the stack's outermost frame gives 0, and the default unwinder (cfi.h)
 * takes that backtrace: the walk only ever replaces it where the whole
 * chain is sound.  Broken is a frame pointer outside the thread's stack,
 * not above the one before, misaligned, or NULL short of the outermost
 * frame, and a return address outside the loaded objects' code: what the
 * register holds in code built without frame pointers (Debian's libc; a
 * program's own -O1 code that keeps data in rbp).  Not seen: a function
 * without frame pointer that leaves rbp alone (its caller is missing from
 * the chain), and data laid out exactly as a chain of frames.
 */
int unwind_walk_fp(void **frames, int max, void *pc, void *fp);

/* dlclose(): the code the unwinders know (rules, code ranges) may be gone. */
void unwind_forget(void);

/* --unwind=check: one line on stderr at exit, how many backtraces differed. */
void unwind_check_report(void);

/* After fork(): the child reads its own memory under its own pid. */
void unwind_fork_child(void);

/*
 * --unwind=libunwind where libunwind is not safe (see cfi.h): in a signal
 * handler, or on a small stack, the walk of cfi.c takes the backtrace.
 */
static inline bool unwind_libunwind_here(void)
{
	return likely(!ht_self.signal) && likely(stack_room() >= HT_STACK_LIBUNWIND);
}

/*
 * Up to max frames of the stack of the hook this is inlined into:
 * frames[0] is the hook itself.  With less than HT_STACK_WALK bytes of
 * stack left, no unwinding at all: *cut says so (it is set only when the
 * backtrace is cut short).  0 in a sandbox (unwind_sandboxed).
 */
static inline __attribute__((always_inline)) int unwind_capture(void **frames, int max,
								enum ht_cut *cut)
{
	enum ht_unwinder method = unwind_method;
	int n;

	if (unlikely(atomic_load_relaxed(&unwind_sandboxed)))
		return 0;
	if (unlikely(stack_room() < HT_STACK_WALK)) {
		*cut = HT_CUT_STACK;
		return 0;
	}
	n = 0;
	/* not in a signal handler: the chain skips the function it interrupted */
	if (method == HT_UNWIND_FP && likely(!ht_self.signal))
		n = unwind_walk_fp(frames, max, ht_current_pc(), __builtin_frame_address(0));
	if (likely(!n)) {
		if (unlikely(method == HT_UNWIND_CHECK))
			n = cfi_backtrace_check(frames, max, cut);
		else
			n = likely(method != HT_UNWIND_LIBUNWIND) || !unwind_libunwind_here()
				    ? cfi_backtrace(frames, max, cut)
				    : unw_backtrace(frames, max);
	}
	return likely(!atomic_load_relaxed(&unwind_sandboxed)) ? n : 0;
}

/*
 * Capture up to max frames of the stack of the hook this is inlined into
 * (unwind_capture()): frames[0] is the hook itself.  The hot path asks for
 * the depth; whether the stack goes on beyond them costs one frame more to
 * learn, so that is asked (depth + 1) only when a backtrace is new
 * (bt_find()).  A hook holds HT_CAPTURE_OWN frames in its own stack frame,
 * enough up to the build's DEPTH; a deeper --depth captures elsewhere
 * (libheaptrace.c), up to HT_CAPTURE_LIMIT.
 */
#define HT_CAPTURE_OWN (HT_DEPTH + 1)
#define HT_CAPTURE_LIMIT (HT_DEPTH_MAX + 1)
/* What the hot path asks for: depth frames, and the hook's caller always. */
static inline int unwind_capture_hot(int depth)
{
	return depth < 2 ? 2 : depth;
}

/*
 * Does the stack of the hook this is inlined into go on beyond depth
 * frames?  (depth at most HT_DEPTH: the frames are held here.)
 */
static inline __attribute__((always_inline)) bool unwind_goes_on(int depth)
{
	void *deeper[HT_CAPTURE_OWN];
	enum ht_cut cut = HT_CUT_NONE;

	return unwind_capture(deeper, depth + 1, &cut) > depth;
}

#endif
