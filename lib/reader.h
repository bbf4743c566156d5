/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * reader.h - a bounded reader over bytes that are the program's, not ours
 * (its .eh_frame for the unwinder, cfi.c; its DWARF for symbols, dwarf.c):
 * every read stays before end, and one that would pass it sets bad and
 * gives 0 (or NULL); whoever reads checks bad once at the end.  Fixed-size
 * numbers are little-endian.  No allocation, no lock: usable anywhere.
 */
#ifndef HEAPTRACE_READER_H
#define HEAPTRACE_READER_H

#include <stdbool.h>
#include <stdint.h>
#include <string.h>

#include "compat.h"

struct reader {
	const uint8_t *p, *end;
	bool bad;
	const uint8_t *start; /* where offsets count from, for readers that need it */
};

/* Are n more bytes there?  If not, the reader is bad from now on. */
static inline bool rd_has(struct reader *r, size_t n)
{
	if (unlikely(r->bad || (size_t)(r->end - r->p) < n)) {
		r->bad = true;
		return false;
	}
	return true;
}

static inline uint64_t rd_fixed(struct reader *r, int size)
{
	uint64_t v = 0;

	if (!rd_has(r, (size_t)size))
		return 0;
	memcpy(&v, r->p, (size_t)size); /* little-endian */
	r->p += size;
	return v;
}

static inline void rd_skip(struct reader *r, uint64_t n)
{
	if (rd_has(r, 0) && n <= (uint64_t)(r->end - r->p))
		r->p += n;
	else
		r->bad = true;
}

/* A NUL-terminated string, or NULL (bad) when end comes first. */
static inline const char *rd_string(struct reader *r)
{
	const char *s = (const char *)r->p;
	const uint8_t *nul = rd_has(r, 1) ? memchr(r->p, 0, (size_t)(r->end - r->p)) : NULL;

	if (!nul) {
		r->bad = true;
		return NULL;
	}
	r->p = nul + 1;
	return s;
}

/* A LEB128 number's bits; *shift tells how many were read, *last the last byte. */
static inline uint64_t rd_leb(struct reader *r, unsigned *shift, uint8_t *last)
{
	uint64_t v = 0;

	*shift = 0;
	*last = 0;
	do {
		if (!rd_has(r, 1))
			return 0; /* the number runs past the end */
		*last = *r->p++;
		if (*shift < 64)
			v |= (uint64_t)(*last & 0x7f) << *shift;
		*shift += 7;
	} while (*last & 0x80);
	return v;
}

static inline uint64_t rd_uleb(struct reader *r)
{
	unsigned shift;
	uint8_t last;

	return rd_leb(r, &shift, &last);
}

static inline int64_t rd_sleb(struct reader *r)
{
	unsigned shift;
	uint8_t last;
	uint64_t v = rd_leb(r, &shift, &last);

	if (shift < 64 && (last & 0x40))
		v |= ~(uint64_t)0 << shift; /* sign-extend */
	return (int64_t)v;
}

#endif
