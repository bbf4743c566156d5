// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * snapshot.c - a report's copy of the backtrace table.  Each entry's
 * counters are copied under its lock, so they agree with each other, while
 * other threads keep allocating; the report then works on the copy.
 *
 * Growth: the live counts of every backtrace at the previous report of this
 * process are kept (the baseline, tracer memory indexed by backtrace id) and
 * subtracted.  Peak shares: what each backtrace held when the whole heap
 * peaked, saved lazily by the hot path (stacktrace.c).  A backtrace that
 * holds nothing and held nothing at the peak is copied only for a report
 * with a key that lists history (options.h): the others never show it,
 * and the --ignore filter names every frame of what it copies.  Report
 * path only, under the report lock; nothing here runs inside a hook.
 */
#define _GNU_SOURCE
#include <stdlib.h>
#include <string.h>

#include "ignore.h"
#include "sample.h"
#include "snapshot.h"
#include "symbols.h"
#include "tmem.h"

/* Live counts per backtrace id at the previous report; next: this one's. */
struct counts {
	uint64_t count, bytes;
};
static struct {
	struct counts *prev, *next;
	uint32_t nprev, nnext;
	bool have_prev;
} base;

static bool runtime_owned(const struct bt *b)
{
	for (int i = 1; i < b->depth; i++)
		if (sym_in_runtime(b->frames[i]))
			return true;
	return false;
}

/* Hidden if a pattern matches a function (inlined ones too) or object. */
static bool hidden(const struct bt *b)
{
	for (int i = 0; i < b->depth; i++) {
		const struct sym *sym = sym_resolve(b->frames[i], i > 0);

		for (int k = 0; k < sym->n; k++)
			if (ignore_match(sym->f[k].func, sym->obj))
				return true;
	}
	return false;
}

uint8_t *snapshot_hidden_ids(uint32_t *n)
{
	uint8_t *set;

	*n = bt_count();
	if (!ignore_active() || !*n || !(set = tmem_alloc_scratch(*n)))
		return NULL;
	for (uint32_t id = 0; id < *n; id++) {
		struct bt *b = bt_get(id);
		struct bt_stats st;

		bt_stats_read(b, &st);
		set[id] = st.live_count && hidden(b);
	}
	return set;
}

static void set_growth(struct item *it)
{
	struct counts prev = { 0, 0 };

	if (base.have_prev && it->id < base.nprev)
		prev = base.prev[it->id];
	it->growth_count = (int64_t)(it->live_count - prev.count);
	it->growth_bytes = (int64_t)(it->live_bytes - prev.bytes);
	if (base.next && it->id < base.nnext)
		base.next[it->id] = (struct counts){ it->live_count, it->live_bytes };
}

/*
 * The scan's classes of b's blocks.  It ran just before the copy, and the
 * program's threads went on in between: they may have freed some of
 * them, never below what is live now.
 */
static void set_leaks(struct item *it, const struct snapshot *s)
{
	struct leak_counts lc = leaks_of(s->leaks, it->id);

	it->leaked_count = lc.leaked_count < it->live_count ? lc.leaked_count : it->live_count;
	it->leaked_bytes = lc.leaked_bytes < it->live_bytes ? lc.leaked_bytes : it->live_bytes;
	it->indirect_count = lc.indirect_count < it->live_count - it->leaked_count
				     ? lc.indirect_count
				     : it->live_count - it->leaked_count;
	it->indirect_bytes = lc.indirect_bytes < it->live_bytes - it->leaked_bytes
				     ? lc.indirect_bytes
				     : it->live_bytes - it->leaked_bytes;
}

/*
 * --sample: the counters count blocks in fixed point (sample.h); the item
 * says blocks, as without sampling, and the recorded blocks beside them.
 * Growth is taken in fixed point first, so that it adds up from report to
 * report.
 */
static void in_blocks(struct item *it, const struct bt_stats *st)
{
	uint64_t *counts[] = { &it->live_count, &it->peak_count, &it->at_peak_count,
			       &it->total_count, &it->temp_count, &it->leaked_count,
			       &it->indirect_count };

	for (size_t i = 0; i < ARRAY_SIZE(counts); i++)
		*counts[i] = sample_blocks(*counts[i]);
	it->growth_count = it->growth_count < 0 ? -(int64_t)sample_blocks((uint64_t)-it->growth_count)
						: (int64_t)sample_blocks((uint64_t)it->growth_count);
	it->samples_live = st->samples_live;
	it->samples_total = st->samples_total;
}

/* keep_all: a key lists history, so backtraces that hold nothing count. */
static void take(struct snapshot *s, struct bt *b, bool keep_all)
{
	struct bt_stats st;
	struct item it;

	bt_stats_read(b, &st);
	it = (struct item){
		.id = b->id,
		.live_count = st.live_count,
		.live_bytes = st.live_bytes,
		.peak_count = st.peak_count,
		.peak_bytes = st.peak_bytes,
		.first_ns = b->first_ns,
		.total_count = st.total_count,
		.total_bytes = st.total_bytes,
		.temp_count = st.temp_count,
	};
	bt_stats_at_peak(&st, &s->peak, &it.at_peak_count, &it.at_peak_bytes);
	set_growth(&it);
	set_leaks(&it, s);
	if (ht_sample_rate)
		in_blocks(&it, &st);
	s->total_count += it.total_count;
	s->total_bytes += it.total_bytes;
	s->temp_count += it.temp_count;
	s->samples_live += it.samples_live;
	s->samples_total += it.samples_total;
	s->peak_count += it.at_peak_count;
	if (!it.live_count && !it.at_peak_count && !(keep_all && it.total_count))
		return;
	if (runtime_owned(b)) {
		s->runtime_count += it.live_count;
		s->runtime_bytes += it.live_bytes;
		return;
	}
	if (ignore_active() && hidden(b)) {
		s->hidden_bts += it.live_count > 0;
		s->hidden_count += it.live_count;
		s->hidden_bytes += it.live_bytes;
		return;
	}
	if (it.live_count) {
		s->nlive++;
		s->live_count += it.live_count;
		s->live_bytes += it.live_bytes;
		s->leaked_count += it.leaked_count;
		s->leaked_bytes += it.leaked_bytes;
		s->indirect_count += it.indirect_count;
		s->indirect_bytes += it.indirect_bytes;
	}
	if (s->n < s->cap)
		s->items[s->n++] = it;
}

bool snapshot_lists_history(const enum ht_sort *keys, int nkeys)
{
	for (int k = 0; k < nkeys; k++)
		if (ht_sort_lists(keys[k]) == HT_LISTS_HISTORY)
			return true;
	return false;
}

bool snapshot_take(struct snapshot *s, const enum ht_sort *keys, int nkeys,
		   const struct leaks *leaks)
{
	uint32_t count = bt_count();
	bool keep_all = snapshot_lists_history(keys, nkeys);

	memset(s, 0, sizeof(*s));
	s->leaks = leaks && leaks->done ? leaks : NULL;
	s->now_ns = ht_now_ns();
	s->tracer_bytes = tmem_bytes();
	s->growth = base.have_prev;
	bt_peak_read(&s->peak);
	s->cap = count ? count : 1;
	s->items = tmem_alloc_scratch(s->cap * sizeof(struct item));
	if (!s->items)
		return false;
	/* without room for the next baseline, the next growth counts from 0 */
	base.nnext = count;
	base.next = count ? tmem_alloc_scratch(count * sizeof(struct counts)) : NULL;
	for (uint32_t id = 0; id < count; id++)
		take(s, bt_get(id), keep_all);
	return true;
}

void snapshot_done(void)
{
	tmem_free(base.prev, base.nprev * sizeof(struct counts));
	base.prev = base.next;
	base.nprev = base.next ? base.nnext : 0;
	base.next = NULL;
	base.nnext = 0;
	base.have_prev = true;
}

void snapshot_free(struct snapshot *s)
{
	tmem_free(base.next, base.nnext * sizeof(struct counts));
	base.next = NULL;
	base.nnext = 0;
	tmem_free(s->items, s->cap * sizeof(struct item));
}

void snapshot_fork_child(void)
{
	base.have_prev = false;
}

/* ------------------------------------------------------------ sorting */

uint64_t snapshot_age(const struct item *it, const struct snapshot *s)
{
	return s->now_ns > it->first_ns ? s->now_ns - it->first_ns : 0;
}

/* A history key lists what it counts: blocks, so zero-byte ones too. */
bool snapshot_listed(const struct item *it, enum ht_sort key)
{
	switch (key) {
	case HT_SORT_PEAK:
		return it->peak_count > 0;
	case HT_SORT_PEAK_SHARE:
		return it->at_peak_count > 0;
	case HT_SORT_CALLS:
		return it->total_count > 0;
	case HT_SORT_TEMPORARY:
		return it->temp_count > 0;
	case HT_SORT_LEAKED:
		return it->leaked_count + it->indirect_count > 0;
	default:
		return it->live_count > 0;
	}
}

uint64_t snapshot_weight(const struct item *it, enum ht_sort key)
{
	switch (key) {
	case HT_SORT_COUNT:
		return it->live_count;
	case HT_SORT_PEAK_SHARE:
		return it->at_peak_bytes;
	case HT_SORT_CALLS:
		return it->total_count;
	case HT_SORT_TEMPORARY:
		return it->temp_count;
	case HT_SORT_LEAKED:
		return it->leaked_bytes + it->indirect_bytes;
	default:
		return it->live_bytes;
	}
}

#define CMP_DESC(a, b) ((a) > (b) ? -1 : (a) < (b) ? 1 : 0)

/* Key first; ties by bytes, count, then first seen: stable across runs. */
static int compare(const void *pa, const void *pb, void *arg)
{
	const struct item *a = pa, *b = pb;
	enum ht_sort key = *(const enum ht_sort *)arg;
	int c = 0;

	switch (key) {
	case HT_SORT_SIZE:
		c = CMP_DESC(a->live_bytes, b->live_bytes);
		break;
	case HT_SORT_COUNT:
		c = CMP_DESC(a->live_count, b->live_count);
		break;
	case HT_SORT_LEAKED: /* directly leaked first, then indirectly */
		c = CMP_DESC(a->leaked_bytes, b->leaked_bytes);
		if (!c)
			c = CMP_DESC(a->indirect_bytes, b->indirect_bytes);
		if (!c)
			c = CMP_DESC(a->leaked_count + a->indirect_count,
				     b->leaked_count + b->indirect_count);
		break;
	case HT_SORT_PEAK:
		c = CMP_DESC(a->peak_bytes, b->peak_bytes);
		break;
	case HT_SORT_AGE:
		c = CMP_DESC(b->first_ns, a->first_ns); /* oldest first */
		break;
	case HT_SORT_GROWTH:
		c = CMP_DESC(a->growth_bytes, b->growth_bytes);
		if (!c)
			c = CMP_DESC(a->growth_count, b->growth_count);
		break;
	case HT_SORT_PEAK_SHARE:
		c = CMP_DESC(a->at_peak_bytes, b->at_peak_bytes);
		if (!c)
			c = CMP_DESC(a->at_peak_count, b->at_peak_count);
		break;
	case HT_SORT_CALLS:
		c = CMP_DESC(a->total_count, b->total_count);
		if (!c)
			c = CMP_DESC(a->total_bytes, b->total_bytes);
		break;
	case HT_SORT_TEMPORARY:
		c = CMP_DESC(a->temp_count, b->temp_count);
		if (!c)
			c = CMP_DESC(a->total_count, b->total_count);
		break;
	default:
		break;
	}
	if (!c)
		c = CMP_DESC(a->live_bytes, b->live_bytes);
	if (!c)
		c = CMP_DESC(a->live_count, b->live_count);
	if (!c)
		c = CMP_DESC(b->id, a->id);
	return c;
}

void snapshot_sort(struct snapshot *s, enum ht_sort key)
{
	qsort_r(s->items, s->n, sizeof(struct item), compare, &key);
}
