/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * scan.h - the mark phase of leak classification: given every live block
 * (address, size, backtrace id) and the roots (ranges of memory the
 * program reaches without the heap), which blocks are reachable, which
 * are leaked, and which are only indirectly leaked (reached from leaked
 * blocks only).  Pure computation over memory the caller guarantees
 * readable; all its memory is tracer memory (tmem), freed by scan_free().
 * Runs in the report path, while the program's other threads are stopped
 * (world.c); the unit tests drive it alone.
 *
 * The rules are memcheck's (and LSan's where memcheck has none):
 *  - any aligned word whose value is the address of a block or of a byte
 *    inside it counts as a pointer to it (conservative; memcheck calls a
 *    block reached only through interior pointers "possibly lost", LSan
 *    and heaptrace count it reachable);
 *  - reachable: pointed to from a root or from a reachable block;
 *  - among the rest, in address order, each block not yet classified
 *    leads a "clique": the blocks it reaches that are not classified yet
 *    become indirectly leaked, including earlier leaders; a leader that
 *    no other clique reaches stays (directly) leaked.  A cycle of leaked
 *    blocks thus counts one block leaked (its lowest address) and the
 *    rest indirect, as memcheck says; LSan would call them all indirect.
 */
#ifndef HEAPTRACE_SCAN_H
#define HEAPTRACE_SCAN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

enum scan_class {
	SCAN_LEAKED = 0, /* not reached (yet): what is left at the end leaked */
	SCAN_REACHABLE,
	SCAN_INDIRECT,
	SCAN_IGNORED, /* a root of its own (a block --ignore hides) */
};

/* A block, 16 bytes: the scan's memory is mostly these. */
struct scan_block {
	uintptr_t addr;
	uint32_t id;   /* backtrace */
	uint32_t size; /* SCAN_BIG: 4 GiB or more, kept aside (scan_size()) */
};
#define SCAN_BIG UINT32_MAX

struct scan;

/*
 * The allocator's usable size of a block, or 0: glibc keeps the header of
 * the next chunk in the last word of a block's usable area, and its own
 * lists (in libc's data, a root) point at such headers; a pointer exactly
 * there is the allocator's, not the program's.  NULL: no such filter.
 */
typedef size_t scan_usable_fn(void *block);

/* Room for up to n blocks, faulted in; NULL without tracer memory. */
struct scan *scan_new(size_t n, scan_usable_fn *usable);
/* Room for n blocks in all, now that their number is known. */
bool scan_reserve(struct scan *s, size_t n);
/* Add a block (before scan_index()); false when full. */
bool scan_add(struct scan *s, uintptr_t addr, uint64_t size, uint32_t id);
/* Sort and index the blocks; false without tracer memory for the index. */
bool scan_index(struct scan *s);
/* The block containing addr, or NULL. */
struct scan_block *scan_find(struct scan *s, uintptr_t addr);
/* Mark a block a root of its own (after scan_index()). */
void scan_ignore(struct scan *s, struct scan_block *b);
/* Never read b's contents (after scan_index()): memory the program made
 * unreadable, which reading would fault on.  It is classified all the same. */
void scan_opaque(struct scan *s, struct scan_block *b);
/* Scan [lo, hi) as a root: what it points to is reachable. */
void scan_root(struct scan *s, const void *lo, const void *hi);
/* Finish: reachable closure, then cliques.  Call once, after the roots. */
void scan_classify(struct scan *s);
/* The blocks in address order, classified. */
struct scan_block *scan_blocks(struct scan *s, size_t *n);
uint64_t scan_size(const struct scan *s, const struct scan_block *b);
enum scan_class scan_class(const struct scan *s, const struct scan_block *b);
/* Bytes of memory scanned so far (roots and blocks), for the report. */
uint64_t scan_bytes(const struct scan *s);
/* Bytes of tracer memory the scan holds at most (blocks, classes, index). */
uint64_t scan_memory(const struct scan *s);
void scan_free(struct scan *s);

#endif
