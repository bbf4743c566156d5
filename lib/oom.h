/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * oom.h - --oom-report: a report when the process's memory first passes
 * PCT of its limit, and one when an allocation first fails with ENOMEM.
 * The hooks only compare and wake (oom_peak(), oom_failed()); the
 * reporter thread reads the process's memory and writes (oom_run()).
 */
#ifndef HEAPTRACE_OOM_H
#define HEAPTRACE_OOM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "atomic.h"

/* The heap's peak (stacktrace.c) at which the reporter looks again:
 * UINT64_MAX while there is nothing to look at. */
extern uint64_t ht_oom_step;

/* Find the limits (start-up, before the reporter thread starts). */
void oom_init(void);
void oom_wake(void);
/* The heap reached a new peak of bytes (called from the peak's slow path). */
static inline void oom_peak(uint64_t bytes)
{
	if (__builtin_expect(bytes >= atomic_load_relaxed(&ht_oom_step), 0))
		oom_wake();
}
/* An allocation of size bytes failed with ENOMEM (a hook;
 * async-signal-safe).  Sizes no allocator can give (larger than the
 * address space, most callocs whose n * m overflows) are not a memory
 * shortage. */
void oom_failed(size_t size);
/* On the reporter thread after every wake-up: the reports that are due. */
void oom_run(void);
/* In a forked child: its own memory, its own reports. */
void oom_fork_child(void);

#endif
