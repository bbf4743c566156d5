/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * tmem.h - the tracer's own memory, taken from the kernel with mmap and never
 * from the program's allocator.  Every table and report buffer of the
 * library lives here, so tmem_bytes() is the tracer's whole footprint.
 */
#ifndef HEAPTRACE_TMEM_H
#define HEAPTRACE_TMEM_H

#include <stddef.h>

/* Zeroed memory, or NULL when the system refuses it (never aborts). */
void *tmem_alloc(size_t size);
void tmem_free(void *p, size_t size);

/* Bytes the tracer holds right now. */
size_t tmem_bytes(void);

/* fork(): hold the tmem lock across it (see libheaptrace.c). */
void tmem_fork_prepare(void);
void tmem_fork_parent(void);
void tmem_fork_child(void);

#endif
