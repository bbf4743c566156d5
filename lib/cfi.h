/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * cfi.h - the default unwinder: heaptrace's own walk of the stack by the
 * call-frame information (.eh_frame) that C++ exceptions unwind with.
 *
 * A return address's rule (where its caller's frame starts, where rbp was
 * saved) is read from .eh_frame the first time it is seen and kept in a
 * table that is read without a lock: a backtrace then costs a probe and two
 * loads per frame, where unw_backtrace() sets up a 1 KB cursor first.
 * Only frames that libunwind's own fast path walks the very same way are
 * walked here (CFA = rsp or rbp + offset, return address at CFA - 8, rbp
 * unchanged or saved at CFA + offset); any other frame, and any address
 * without .eh_frame, hands the whole backtrace to unw_backtrace(), so a
 * backtrace is the same whichever of the two took it.  --unwind=check
 * takes every backtrace both ways and counts the differences.
 */
#ifndef HEAPTRACE_CFI_H
#define HEAPTRACE_CFI_H

#include <stdbool.h>

#include "options.h"
#include "textfmt.h" /* enum ht_cut */

/*
 * Up to max frames of the caller's stack: frames[0] is the caller itself,
 * and every frame is a return address, as unw_backtrace() gives them.  No
 * allocation and no lock, except on the first sight of a return address
 * (its rule is learned under a lock).
 *
 * libunwind takes a frame the walk does not only where it is safe: not in
 * a signal handler (the walk crossed a signal frame, or handlers.c runs
 * one), whose interrupted code may hold the loader's lock that libunwind
 * takes, and not with less than HT_STACK_LIBUNWIND bytes of stack left.
 * There the backtrace is the frames walked, and *cut says why (it is left
 * alone otherwise).  cfi_backtrace_check() (--unwind=check): libunwind
 * takes every backtrace, and the walk's is counted against it.
 */
#define CFI_MAX_FRAMES (HT_DEPTH_MAX + 1)
int cfi_backtrace(void **frames, int max, enum ht_cut *cut);
int cfi_backtrace_check(void **frames, int max, enum ht_cut *cut);

/*
 * Does return address ra go back into a stack's outermost frame, whose own
 * return address the rules leave undefined (_start, a thread's clone)?
 * The frame-pointer walk (unwind.h) ends there; the rule is learned
 * on first sight, as the walk learns it.
 */
bool cfi_outermost(void *ra);

/*
 * Forget every rule learned (dlclose: code at those addresses may go, and
 * other code come in its place).  Readers in the table meanwhile find
 * nothing, or a rule they can tell is not theirs.
 */
void cfi_forget(void);

/* --unwind=check (unwind.c asks): one line on stderr, how many backtraces differed. */
void cfi_check_report(void);

void cfi_fork_prepare(void);
void cfi_fork_parent(void);
void cfi_fork_child(void);

#endif
