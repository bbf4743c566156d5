/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * tmem.h - the tracer's own memory, taken from the kernel with mmap and never
 * from the program's allocator.  Every table and report buffer of the
 * library lives here, so tmem_bytes() is the tracer's whole footprint.
 */
#ifndef HEAPTRACE_TMEM_H
#define HEAPTRACE_TMEM_H

#include <stdbool.h>
#include <stddef.h>

/*
 * Zeroed memory, or NULL when the system refuses it or the tables would
 * pass the limit of tmem_set_limit() (never aborts).  tmem_alloc() is for
 * the tables that grow with the program; tmem_alloc_scratch() ignores the
 * limit, for start-up settings and report buffers, which must not fail
 * because the tables filled the budget.
 */
void *tmem_alloc(size_t size);
void *tmem_alloc_scratch(size_t size);
void tmem_free(void *p, size_t size);

/*
 * Grow the array *arr of *cap elements of size bytes each, n of them used,
 * if it is full: to twice as many (at least first), copied.  Always whole
 * pages, which tmem maps without its lock: usable while the program's
 * threads are stopped for the leak scan (leaks.c).  False without memory;
 * the array is unchanged then.
 */
bool tmem_grow(void **arr, size_t *cap, size_t n, size_t size, size_t first);

/*
 * A growing byte buffer for a report (scratch memory, the limit ignored):
 * nomem once it could not grow, and what did not fit is dropped.
 */
struct tbuf {
	unsigned char *b;
	size_t len, cap;
	bool nomem;
};
bool tbuf_reserve(struct tbuf *t, size_t more);
void tbuf_put(struct tbuf *t, const void *d, size_t n);
void tbuf_free(struct tbuf *t);

/* HEAPTRACE_MAX_MEMORY: at most this many bytes for tables (0: no limit). */
void tmem_set_limit(size_t bytes);

/* Bytes the tracer holds right now. */
size_t tmem_bytes(void);

/* fork(): hold the tmem lock across it (see process.c). */
void tmem_fork_prepare(void);
void tmem_fork_parent(void);
void tmem_fork_child(void);

#endif
