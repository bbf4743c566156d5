/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * leaks.h - leak classification of every live block (scan.h's rules):
 * with the program's other threads stopped (world.h), the blocks of the
 * address map are marked from the program's roots (writable segments of
 * its objects, its threads' registers, stacks and thread-local storage)
 * and counted per backtrace.  Report path only, under the report lock.
 */
#ifndef HEAPTRACE_LEAKS_H
#define HEAPTRACE_LEAKS_H

#include <stdbool.h>
#include <stdint.h>

struct leak_counts {
	uint64_t leaked_count, leaked_bytes;     /* not reachable */
	uint64_t indirect_count, indirect_bytes; /* reachable from leaked ones only */
};

struct leaks {
	bool done;                 /* the scan ran: the counts below are its */
	struct leak_counts *by_id; /* per backtrace id, n of them */
	uint32_t n;
	uint32_t threads;   /* threads of the program it stopped */
	uint32_t unstopped; /* threads it could not stop: their stacks whole */
	int why;            /* errno of the first of those */
	uint64_t blocks;    /* blocks classified */
	uint64_t scanned;   /* bytes of memory read */
	uint64_t memory;    /* bytes of tracer memory it took (and gave back) */
	uint64_t pause_ns;  /* how long the other threads were stopped */
};

/* Classify; false (l->done false) without tracer memory for it.  The
 * blocks of the backtrace ids with roots[id] set (n of them; roots may be
 * NULL) are roots of their own: hidden by --ignore, never leaked, and
 * what they point to is reachable. */
bool leaks_scan(struct leaks *l, const uint8_t *roots, uint32_t n);
void leaks_free(struct leaks *l);

/* l's counts for backtrace id (zeros if it has none). */
struct leak_counts leaks_of(const struct leaks *l, uint32_t id);

#endif
