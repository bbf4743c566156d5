/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * writer.h - the report's writers, one per --format (options.h'
 * HT_FORMATS, one file each: text.c, json.c, folded.c), as git's archive.c
 * has an archiver per format.  report.c takes the snapshot and gathers
 * every number once; a writer only prints, to the output report.c opened
 * and closes.  Report path only, under the report lock.
 */
#ifndef HEAPTRACE_WRITER_H
#define HEAPTRACE_WRITER_H

#include <stdbool.h>
#include <stdint.h>

#include "options.h"
#include "output.h"
#include "report.h"
#include "snapshot.h"

/* The summary's numbers beyond the snapshot's own totals. */
struct report_summary {
	uint64_t shown;         /* backtraces the sections show (items' shown) */
	uint64_t rest, rest_count, rest_bytes; /* live ones --top leaves out */
	uint64_t virtual_bytes, in_use_bytes;  /* the allocator's (mallinfo) */
	uint64_t vss_bytes, rss_bytes, shared_bytes; /* /proc/self/statm */
	uint64_t peak_ns;       /* when the heap peaked, after start */
	uint64_t missed_allocs, missed_frees; /* in signal handlers: queue full */
	uint64_t untracked;     /* allocations without room in the tables */
	bool peaks_bounded;     /* bt_peaks_bounded(): peaks are within batches */
	/* --pid without --sample: releases of blocks allocated before the
	 * attach (sampling looks up too few releases to count them) */
	bool freed_before_counted;
	uint64_t freed_before;
};

/* One report: what it is of, and its numbers. */
struct report {
	struct snapshot *s;
	enum report_when when;
	const enum ht_sort *keys; /* a section each (folded: keys[0] only) */
	int nkeys;
	char comm[64];            /* /proc/self/comm */
	uint64_t time_ns;         /* the snapshot's time, after start */
	struct report_summary sum;
};

/* A writer: r, in its format, to o.  Sorting the snapshot is all it may
 * change (snapshot_sort() for each section). */
typedef void report_writer(struct out *o, struct report *r);

#define HT_WRITER_DECL(id, name, writer, alone, binary, flame) report_writer writer;
HT_FORMATS(HT_WRITER_DECL)
#undef HT_WRITER_DECL

/* The rank'th backtraces of key's section in r's snapshot, in order:
 * each(o, r, item, rank, key) for each. */
void report_section(struct out *o, struct report *r, enum ht_sort key,
		    void (*each)(struct out *o, struct report *r, const struct item *it,
				 size_t rank, enum ht_sort key));

#endif
