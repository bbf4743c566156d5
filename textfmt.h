/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * textfmt.h - the lines of the text report, written alike by the library's
 * reports (report.c) and the launcher's --diff (diff.c), so the two never
 * drift apart and one reader (tests/htlib.py) parses both.  Formatting
 * only: no I/O, no allocation.
 */
#ifndef HEAPTRACE_TEXTFMT_H
#define HEAPTRACE_TEXTFMT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "utils.h"

/* "=== backtrace #N === [count/peak: ..] [size/peak: ..] [age: ..]" and,
 * when set, " [growth: ..]", " [at peak: ..]", " [calls: ..]",
 * " [temporary: ..]", " [leaked: ..]" and " [samples: ..]", with its
 * newline.  estimated (--sample): every count and size but the samples'
 * is an estimate, and says so with a '~' before it. */
struct bt_line {
	size_t rank;
	uint64_t count, peak_count, bytes, peak_bytes, age_ns;
	bool growth;
	int64_t growth_bytes, growth_count;
	bool at_peak;
	uint64_t at_peak_bytes, at_peak_count;
	bool calls; /* allocation calls since start, and their bytes */
	uint64_t calls_count, calls_bytes;
	bool temporary; /* of those calls, temporary allocations */
	uint64_t temp_count;
	bool leaks; /* the live blocks were classified: how many leaked */
	uint64_t leaked_bytes, leaked_count, indirect_bytes, indirect_count;
	bool estimated; /* --sample: the numbers are estimates */
	bool samples;   /* and they come from samples_live recorded blocks */
	uint64_t samples_live;
};
void textfmt_backtrace(struct sbuf *sb, const struct bt_line *b);

/* " 3 [0x55d1c2a4b17b] func +0x2b (file.c:214) (/usr/bin/myd +0x417b)" */
struct frame_line {
	uintptr_t addr;
	const char *func, *file, *obj; /* NULL or "" when unknown */
	bool inlined, has_off;
	uint64_t off, obj_off;
	unsigned line;
};
void textfmt_frame(struct sbuf *sb, int num, const struct frame_line *f);

/*
 * X(ID, name, text): why a backtrace ends before the outermost frame, by
 * its name in JSON reports ("cut") and its line in text ones, "   ... more
 * frames (TEXT)" (DEPTH's takes the depth, and below HT_DEPTH_MAX says how
 * to keep more).  The library writes both, the launcher's --diff reads the
 * name and writes the line.
 */
#define HT_CUTS(X)                                                              \
	X(NONE, NULL, NULL)                                                     \
	X(DEPTH, "depth", "the backtrace was cut at depth %d")                  \
	X(UNREADABLE, "unreadable", "the unwinder could not read them")         \
	X(HANDLER, "handler", "not unwound in a signal handler: libunwind could deadlock") \
	X(STACK, "stack", "not unwound: too little stack left")

#define HT_CUT_ID(id, name, text) HT_CUT_##id,
enum ht_cut { HT_CUTS(HT_CUT_ID) HT_CUT_COUNT };
#undef HT_CUT_ID

/* The JSON name of why (NULL for HT_CUT_NONE). */
const char *textfmt_cut_name(enum ht_cut why);
/* The reason named s; false for no name of the table. */
bool textfmt_cut_parse(const char *s, enum ht_cut *out);
/* "   ... more frames (...)\n", for a backtrace cut at depth frames. */
void textfmt_cut(struct sbuf *sb, enum ht_cut why, int depth);

#endif
