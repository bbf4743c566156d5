/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * snapshot.h - one report's copy of the backtrace table: per backtrace its
 * counters, its growth since the previous report of this process, and its
 * share of the whole heap's peak; the totals of the summary.  Taken and
 * used under the report lock (report.c); read by the writers (text.c,
 * json.c, folded.c), which may only sort it.
 */
#ifndef HEAPTRACE_SNAPSHOT_H
#define HEAPTRACE_SNAPSHOT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "leaks.h"
#include "options.h"
#include "stacktrace.h"

struct item {
	uint32_t id;
	uint64_t live_count, live_bytes, peak_count, peak_bytes, first_ns;
	int64_t growth_count, growth_bytes;  /* since the previous report */
	uint64_t at_peak_count, at_peak_bytes; /* when the whole heap peaked */
	bool shown;                            /* in a section (report.c marks it) */
	uint64_t total_count, total_bytes;   /* allocation calls since start */
	uint64_t temp_count;                 /* temporary ones (stacktrace.h) */
	/* of the live blocks, by the leak scan (leaks.h; zeros without it) */
	uint64_t leaked_count, leaked_bytes, indirect_count, indirect_bytes;
	/* --sample: the counts and bytes above are estimates, of these
	 * recorded blocks (live, and since start) */
	uint64_t samples_live, samples_total;
};

struct snapshot {
	/* live now, or live at the peak; and, when a key asked for lists
	 * history (options.h), every backtrace since start */
	struct item *items;
	size_t n, cap;
	uint64_t now_ns;
	bool growth;                         /* a previous report gives growth */
	uint64_t total_count, total_bytes;   /* allocations since start, all */
	uint64_t temp_count;                 /* of which temporary */
	uint64_t samples_live, samples_total; /* --sample: recorded blocks */
	uint64_t nlive, live_count, live_bytes;          /* listed now */
	uint64_t hidden_bts, hidden_count, hidden_bytes; /* by --ignore */
	uint64_t runtime_count, runtime_bytes;           /* kept by the runtime */
	struct bt_peak peak;
	uint64_t peak_count;  /* blocks live at the peak */
	uint64_t tracer_bytes; /* before this report adds its own (symbols) */
	const struct leaks *leaks; /* the scan's, or NULL: none ran */
	uint64_t leaked_count, leaked_bytes, indirect_count, indirect_bytes; /* listed */
};

/* A copy for a report with sections by keys[0..nkeys-1]; leaks: the
 * classification of a scan just made, or NULL. */
bool snapshot_take(struct snapshot *s, const enum ht_sort *keys, int nkeys,
		   const struct leaks *leaks);
/* Per backtrace id (n of them), whether --ignore hides it: tracer memory
 * of n bytes, or NULL when nothing is hidden.  The leak scan takes their
 * blocks for roots. */
uint8_t *snapshot_hidden_ids(uint32_t *n);
/* Does a section by one of keys list backtraces that hold nothing now? */
bool snapshot_lists_history(const enum ht_sort *keys, int nkeys);
/* The report is written: its counts are the next report's baseline. */
void snapshot_done(void);
void snapshot_free(struct snapshot *s);

/*
 * Sort for key; listed(): does the item belong in key's section (see
 * HT_SORT_KEYS' lists)?  weight(): what a flame graph by key counts for it
 * (only for keys that have a weight).
 */
void snapshot_sort(struct snapshot *s, enum ht_sort key);
bool snapshot_listed(const struct item *it, enum ht_sort key);
uint64_t snapshot_weight(const struct item *it, enum ht_sort key);
uint64_t snapshot_age(const struct item *it, const struct snapshot *s);

/* After fork(): the child has had no report yet. */
void snapshot_fork_child(void);

#endif
