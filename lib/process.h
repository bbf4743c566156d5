/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * process.h - what the process's tracing life (process.c) gives the
 * interposers: the set-up that the first allocation may have to do itself,
 * when it comes before our constructor (another library's constructor
 * allocating).  Read on the hook path.
 */
#ifndef HEAPTRACE_PROCESS_H
#define HEAPTRACE_PROCESS_H

#include <stdbool.h>

#include "compat.h"
#include "atomic.h"
#include "config.h"

/*
 * Set the unwinder and the depth up, once: the first allocation does it
 * (process_depth()), or start-up, whichever comes first.
 */
extern bool process_ready;
void process_setup(void);

/* --pid: the start-up the constructor left to heaptrace_attach() (attach.c). */
void process_attach(void (*take_handlers)(void));

/*
 * Frames kept per backtrace (--depth, ht_cfg.depth): fixed before the
 * first backtrace is taken, as the table's entries are sized by it.
 */
static inline __attribute__((always_inline)) int process_depth(void)
{
	if (unlikely(!atomic_load_acquire(&process_ready)))
		process_setup();
	return ht_cfg.depth;
}

#endif
