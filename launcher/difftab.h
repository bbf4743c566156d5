/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * difftab.h - the table heaptrace --diff fills from two reports: every
 * backtrace once, with its numbers in OLD and in NEW, matched by its
 * frames' objects and offsets (functions where no object is known), and
 * every name once.  Launcher only: plain malloc; out of memory (or past
 * 2^32 backtraces or 4 GB of names), the functions exit with status 2 and
 * one line on stderr.
 */
#ifndef HEAPTRACE_DIFFTAB_H
#define HEAPTRACE_DIFFTAB_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define DT_NO_VALUE UINT64_MAX /* a null offset or line */

enum dt_side { DT_OLD, DT_NEW };

/* Members are named as the report's fields (diff.c's tables use #name). */
struct dt_frame {
	uint64_t address, offset, line, object_offset; /* offset, line: DT_NO_VALUE if null */
	uint32_t function, file, object;                /* names; 0 when null or "" */
	bool inlined;
};

/* A backtrace's numbers in one report, each at most INT64_MAX. */
struct dt_counts {
	uint64_t count, peak_count, bytes, peak_bytes, age_ns;
};

/* One backtrace of OLD, NEW or both. */
struct dt_entry {
	size_t first, n;    /* its frames: NEW's once NEW has listed it */
	uint32_t cut;       /* enum ht_cut (textfmt.h), in NEW */
	int sect[2];        /* the section of OLD, NEW that listed it first; -1: none */
	struct dt_counts c[2];
};

/*
 * An index over records kept in an array elsewhere (names, entries): open
 * addressing, power-of-two size, linear probing, at most half full.  A slot
 * holds a record's 32-bit hash (upper half) and number + 1 (lower half; 0 is
 * an empty slot), so growing rehashes without touching the records.
 * Records are never removed.
 */
struct dt_index {
	uint64_t *slot;
	size_t mask, used;
};

/*
 * The table owns everything in it.  Pointers to frames or entries last until
 * the next dt_frame() or dt_add(), which may move them; numbers last.
 */
struct difftab {
	char *names; /* back to back, NUL-terminated; names[0] is "" */
	size_t names_len, names_cap, longest;
	struct dt_index names_ix;
	struct dt_frame *frames;
	size_t nframes, frames_cap;
	struct dt_entry *e;
	size_t n, cap;
	struct dt_index ix;
};

void dt_init(struct difftab *t);
void dt_free(struct difftab *t);

/* The number of the name s of len bytes (no NUL among them), 0 for "". */
uint32_t dt_intern(struct difftab *t, const char *s, size_t len);

static inline const char *dt_name(const struct difftab *t, uint32_t id)
{
	return t->names + id;
}

/* A new frame, zeroed, at the end of the table's frames. */
struct dt_frame *dt_frame(struct difftab *t);

/*
 * The backtrace made of the frames from first to the last, with numbers c
 * and cut, listed in the given section of side's report.  The first section
 * of a report listing a backtrace gives its numbers (a report sorted by
 * several keys lists it once per section).  Two backtraces of one section
 * with the same frames were told apart by what --diff cannot match across
 * runs (addresses without an object): they are added up.  Frames the table
 * does not keep are dropped.  NULL, or what is wrong: numbers that add up
 * past INT64_MAX.
 */
const char *dt_add(struct difftab *t, enum dt_side side, int section, size_t first,
		   const struct dt_counts *c, uint32_t cut);

/* NEW's number less OLD's (both at most INT64_MAX, so this cannot overflow). */
static inline int64_t dt_growth_bytes(const struct dt_entry *e)
{
	return (int64_t)e->c[DT_NEW].bytes - (int64_t)e->c[DT_OLD].bytes;
}

static inline int64_t dt_growth_count(const struct dt_entry *e)
{
	return (int64_t)e->c[DT_NEW].count - (int64_t)e->c[DT_OLD].count;
}

/* Frame by frame: object (or function) name, then offset; shorter first. */
int dt_cmp_frames(const struct difftab *t, const struct dt_entry *a, const struct dt_entry *b);

#endif
