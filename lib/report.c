// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * report.c - one report at a time, at exit or in the reporter thread, with
 * the caller marked busy: a snapshot of the backtrace table (snapshot.c),
 * its numbers gathered once, then the writer of --format (writer.h: the
 * rows of HT_FORMATS) prints them where output.c says.  heaptrace's
 * destructor readies the exit report's names.  Nothing here runs inside a
 * hook.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "compat.h"
#include "config.h"
#include "guard.h"
#include "gzip.h"
#include "leaks.h"
#include "output.h"
#include "report.h"
#include "sample.h"
#include "snapshot.h"
#include "stacktrace.h"
#include "symbols.h"
#include "tmem.h"
#include "writer.h"

static pthread_mutex_t report_lock = PTHREAD_MUTEX_INITIALIZER;
static bool closed; /* the exit report is written: it stays the last */
static struct out out;  /* under report_lock */

#define HT_WRITER_ROW(id, name, writer, alone, binary, flame) [HT_FORMAT_##id] = writer,
static report_writer *const writers[HT_FORMAT_COUNT] = { HT_FORMATS(HT_WRITER_ROW) };
#undef HT_WRITER_ROW

void report_section(struct out *o, struct report *r, enum ht_sort key,
		    void (*each)(struct out *o, struct report *r, const struct item *it,
				 size_t rank, enum ht_sort key))
{
	struct snapshot *s = r->s;
	size_t rank = 0;

	snapshot_sort(s, key);
	for (size_t i = 0; i < s->n && (!ht_cfg.top || rank < ht_cfg.top); i++)
		if (snapshot_listed(&s->items[i], key))
			each(o, r, &s->items[i], ++rank, key);
}

static void mark_shown(struct out *o, struct report *r, const struct item *it, size_t rank,
		       enum ht_sort key)
{
	(void)o, (void)r, (void)rank, (void)key;
	((struct item *)it)->shown = true;
}

/*
 * The backtraces the sections show, and the live ones --top leaves out:
 * the summary's count is what the reader sees, the rest is said beside
 * it.  Each section is sorted here, and again by the writer.
 */
static void gather_shown(struct report *r)
{
	struct report_summary *m = &r->sum;

	for (int k = 0; k < r->nkeys; k++)
		report_section(NULL, r, r->keys[k], mark_shown);
	for (size_t i = 0; i < r->s->n; i++) {
		const struct item *it = &r->s->items[i];

		m->shown += it->shown;
		if (!it->shown && it->live_count) {
			m->rest++;
			m->rest_count += it->live_count;
			m->rest_bytes += it->live_bytes;
		}
	}
}

/* Every number a writer prints beyond the snapshot's, read once. */
static void gather(struct report *r)
{
	struct report_summary *m = &r->sum;
	const struct snapshot *s = r->s;
	struct ht_mallinfo mi = ht_mallinfo();
	unsigned long long vss = 0, rss = 0, shared = 0;
	uint64_t page = (uint64_t)sysconf(_SC_PAGESIZE);
	char statm[128];

	ht_read_line("/proc/self/comm", r->comm, sizeof(r->comm));
	r->time_ns = s->now_ns - ht_start_ns;
	/* it sorts: folded stacks, which show no summary, keep the order
	 * the snapshot was taken in (as they always did); pprof has no order */
	if (!ht_format_alone(ht_cfg.format))
		gather_shown(r);
	m->virtual_bytes = mi.arena + mi.hblkhd;
	m->in_use_bytes = mi.uordblks + mi.hblkhd;
	ht_read_line("/proc/self/statm", statm, sizeof(statm));
	sscanf(statm, "%llu %llu %llu", &vss, &rss, &shared);
	m->vss_bytes = vss * page;
	m->rss_bytes = rss * page;
	m->shared_bytes = shared * page;
	m->peak_ns = s->peak.ns > ht_start_ns ? s->peak.ns - ht_start_ns : 0;
	m->missed_allocs = acct_missed_count(false);
	m->missed_frees = acct_missed_count(true);
	m->untracked = acct_untracked();
	m->peaks_bounded = bt_peaks_bounded();
	m->freed_before_counted = ht_process.attached && !ht_sample_rate;
	m->freed_before = acct_freed_before_count();
}

/* ------------------------------------------------------------ entry */

const char *report_when_name(enum report_when when)
{
	static const char *const names[] = {
		[REPORT_AT_EXIT] = "exit",
		[REPORT_ON_SIGNAL] = "signal",
		[REPORT_PERIODIC] = "interval",
		[REPORT_MEMORY] = "memory",
	};

	return names[when];
}

static bool has_key(const enum ht_sort *keys, int nkeys, enum ht_sort key)
{
	for (int k = 0; k < nkeys; k++)
		if (keys[k] == key)
			return true;
	return false;
}

/* The exit report with leaks: their section first, then those of --sort. */
static int leaked_first(const enum ht_sort *keys, int nkeys, enum ht_sort *out)
{
	int n = 0;

	out[n++] = HT_SORT_LEAKED;
	for (int k = 0; k < nkeys && n < HT_MAX_SORTS; k++)
		if (keys[k] != HT_SORT_LEAKED)
			out[n++] = keys[k];
	return n;
}

/*
 * What --check fails on: leaked blocks (when the scan ran), or any listed
 * one (--check=live, or no scan); and blocks it could not see.
 */
static bool check_fails(const struct snapshot *s)
{
	if (acct_untracked() > 0)
		return true;
	if (ht_cfg.check == HT_CHECK_LEAKS && s->leaks)
		return s->leaked_count + s->indirect_count > 0;
	return s->live_count > 0;
}

/* The leak scan, the blocks that --ignore hides taken for roots. */
static void scan_leaks(struct leaks *leaks)
{
	uint32_t n;
	uint8_t *hidden = snapshot_hidden_ids(&n);

	if (!leaks_scan(leaks, hidden, n))
		ht_warn("no memory for the leak scan: live blocks are not classified");
	tmem_free(hidden, n);
}

/* pprof's samples: allocations since start too, so every backtrace. */
static const enum ht_sort pprof_keys[] = { HT_SORT_CALLS };

bool report_write(enum report_when when, const enum ht_sort *keys, int nkeys)
{
	enum ht_sort with_leaks[HT_MAX_SORTS];
	struct leaks leaks = { 0 };
	struct snapshot s;
	struct report r;
	bool leaked = false;

	pthread_mutex_lock(&report_lock);
	if (closed)
		goto out;
	if (ht_format_alone(ht_cfg.format)) /* one graph, by the first key */
		nkeys = 1;
	if (ht_cfg.format == HT_FORMAT_PPROF) /* every backtrace since start */
		keys = pprof_keys;
	if (when == REPORT_AT_EXIT)
		closed = true;
	sym_begin();
	/* classify at exit, and for a section of leaks */
	if ((when == REPORT_AT_EXIT && ht_cfg.leak_check) || has_key(keys, nkeys, HT_SORT_LEAKED))
		scan_leaks(&leaks);
	if (!snapshot_take(&s, keys, nkeys, &leaks)) {
		ht_warn("no memory for a report");
		goto end;
	}
	leaked = check_fails(&s);
	if (when == REPORT_AT_EXIT && s.leaked_count + s.indirect_count &&
	    !ht_format_alone(ht_cfg.format)) {
		nkeys = leaked_first(keys, nkeys, with_leaks);
		keys = with_leaks;
	}
	/* at exit, silence means nothing is live (hidden blocks are live, and
	 * untracked ones may be), unless a key asked for the past */
	if (when == REPORT_AT_EXIT && s.live_count + s.hidden_count == 0 && !acct_untracked() &&
	    !snapshot_lists_history(keys, nkeys))
		goto done;
	r = (struct report){ .s = &s, .when = when, .keys = keys, .nkeys = nkeys };
	gather(&r);
	/* folded stacks are data for a pipe, the report a diagnostic */
	out_open(&out, ht_format_alone(ht_cfg.format) ? STDOUT_FILENO : STDERR_FILENO);
	do
		writers[ht_cfg.format](&out, &r);
	while (!out_close(&out)); /* again, whole, where it falls back to */
	snapshot_done();
done:
	snapshot_free(&s);
end:
	sym_end();
	leaks_free(&leaks);
out:
	pthread_mutex_unlock(&report_lock);
	return leaked;
}

/* In the loader's destructor pass, before the exit report: the last moment
 * the report may load what it needs (symbols.c). */
__attribute__((destructor)) static void report_fini(void)
{
	int saved = errno;

	if (ht_process.untraced)
		return;
	tracer_enter();
	pthread_mutex_lock(&report_lock);
	sym_fini();
	if (ht_cfg.format == HT_FORMAT_PPROF)
		gz_fini();
	pthread_mutex_unlock(&report_lock);
	tracer_exit();
	errno = saved;
}

void report_fork_prepare(void)
{
	pthread_mutex_lock(&report_lock);
}

void report_fork_parent(void)
{
	pthread_mutex_unlock(&report_lock);
}

void report_fork_child(void)
{
	closed = false;
	snapshot_fork_child();
	pthread_mutex_init(&report_lock, NULL);
}
