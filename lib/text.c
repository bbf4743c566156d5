// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * text.c - the text report (--format=text), the original heaptrace's: a
 * section per sort key, each backtrace with its frames, one summary.
 * Prints what report.c gathered; report path only, under the report lock.
 */
#define _GNU_SOURCE
#include <string.h>
#include <unistd.h>

#include "config.h"
#include "cxxname.h"
#include "sample.h"
#include "symbols.h"
#include "textfmt.h"
#include "writer.h"

#define SEPARATOR "=================================================================\n"

/*
 * Frame i of a backtrace, one line per source frame: an address where calls
 * were inlined gives a line per inlined call (innermost first, marked
 * [inlined]), then the function that holds the code.  Numbers count the
 * lines; returns the number of the next one.
 */
static int put_frame(struct out *o, struct sbuf *sb, int num, int i, void *addr)
{
	const struct sym *sym = sym_resolve(addr, i > 0);
	char name[SYM_NAME_MAX];

	for (int k = 0; k < sym->n; k++) {
		const struct sym_frame *f = &sym->f[k];
		struct frame_line line = {
			.addr = (uintptr_t)addr,
			.func = f->func,
			.file = f->file,
			.obj = sym->obj,
			.inlined = f->inlined,
			.has_off = f->has_off,
			.off = f->func_off,
			.obj_off = sym->obj_off,
			.line = f->line,
		};

		if (ht_cfg.short_names) {
			cxx_short_name(name, sizeof(name), f->func);
			line.func = name;
		}
		textfmt_frame(sb, num++, &line);
		out_sbuf(o, sb);
	}
	return num;
}

static void put_backtrace(struct out *o, struct report *r, const struct item *it, size_t rank,
			  enum ht_sort key)
{
	const struct bt *b = bt_get(it->id);
	char line[SYM_NAME_MAX + 2 * SYM_PATH_MAX + 128]; /* a frame: function, file, object */
	struct sbuf sb = SBUF_INIT(line);
	struct bt_line head = {
		.rank = rank,
		.count = it->live_count,
		.peak_count = it->peak_count,
		.bytes = it->live_bytes,
		.peak_bytes = it->peak_bytes,
		.age_ns = snapshot_age(it, r->s),
		.growth = r->s->growth,
		.growth_bytes = it->growth_bytes,
		.growth_count = it->growth_count,
		.at_peak = key == HT_SORT_PEAK_SHARE,
		.at_peak_bytes = it->at_peak_bytes,
		.at_peak_count = it->at_peak_count,
		.calls = key == HT_SORT_CALLS || key == HT_SORT_TEMPORARY,
		.calls_count = it->total_count,
		.calls_bytes = it->total_bytes,
		.temporary = key == HT_SORT_TEMPORARY,
		.temp_count = it->temp_count,
		.leaks = r->s->leaks != NULL,
		.leaked_bytes = it->leaked_bytes,
		.leaked_count = it->leaked_count,
		.indirect_bytes = it->indirect_bytes,
		.indirect_count = it->indirect_count,
		.estimated = ht_sample_rate != 0,
		.samples = ht_sample_rate != 0,
		.samples_live = it->samples_live,
	};

	textfmt_backtrace(&sb, &head);
	out_sbuf(o, &sb);
	for (int i = 0, num = 0; i < b->depth; i++)
		num = put_frame(o, &sb, num, i, b->frames[i]);
	textfmt_cut(&sb, bt_cut(b), ht_cfg.depth);
	out_sbuf(o, &sb);
	out_puts(o, "\n");
}

static void put_section(struct out *o, struct report *r, enum ht_sort key)
{
	char line[512];
	struct sbuf sb = SBUF_INIT(line);

	/* the original heaptrace's line, then what the section lists */
	sb_printf(&sb, "[heaptrace] dump allocation sorted by '%s' for /proc/%d/maps (%s): %s\n",
		  ht_sort_name(key), (int)getpid(), r->comm, ht_sort_header(key));
	out_sbuf(o, &sb);
	report_section(o, r, key, put_backtrace);
}

static void put_label(struct sbuf *sb, const char *label)
{
	sb_printf(sb, "[heaptrace] %-29s: ", label);
}

/* bytes " in " blocks; estimates (--sample) say so with '~' */
static void put_bytes_in(struct sbuf *sb, uint64_t bytes, uint64_t blocks)
{
	const char *est = ht_sample_rate ? "~" : "";

	sb_puts(sb, est);
	ht_fmt_bytes(sb, bytes);
	sb_printf(sb, " in %s", est);
	ht_fmt_count(sb, blocks, "block");
}

/* --sample: what the estimates come from. */
static void put_sampled(struct out *o, struct sbuf *sb, const struct snapshot *s)
{
	if (!ht_sample_rate)
		return;
	put_label(sb, "sampled (--sample)");
	sb_puts(sb, "one allocation per ");
	ht_fmt_bytes(sb, ht_sample_rate);
	sb_printf(sb, " on average, %llu recorded (%llu live): '~' marks estimates\n",
		  (unsigned long long)s->samples_total, (unsigned long long)s->samples_live);
	out_sbuf(o, sb);
}

/*
 * The backtraces the sections showed, and the live ones --top left out:
 * the summary's count is what the reader saw, the rest is said beside it.
 */
static void put_shown(struct out *o, struct sbuf *sb, const struct report_summary *m)
{
	put_label(sb, "heap traced num of backtrace");
	sb_printf(sb, "%llu\n", (unsigned long long)m->shown);
	out_sbuf(o, sb);
	if (!m->rest)
		return;
	put_label(sb, "live, not shown (--top)");
	sb_puts(sb, "... and ");
	ht_fmt_count(sb, m->rest, "more backtrace");
	sb_puts(sb, ", ");
	put_bytes_in(sb, m->rest_bytes, m->rest_count);
	sb_putc(sb, '\n');
	out_sbuf(o, sb);
}

/* What the program's heap holds beyond the sections: hidden, the runtime's. */
static void put_held(struct out *o, struct sbuf *sb, const struct snapshot *s)
{
	put_label(sb, "heap traced allocation size");
	put_bytes_in(sb, s->live_bytes, s->live_count);
	sb_putc(sb, '\n');
	out_sbuf(o, sb);
	if (s->hidden_bts) {
		put_label(sb, "hidden by --ignore");
		ht_fmt_count(sb, s->hidden_bts, "backtrace");
		sb_puts(sb, ", ");
		put_bytes_in(sb, s->hidden_bytes, s->hidden_count);
		sb_putc(sb, '\n');
		out_sbuf(o, sb);
	}
	if (s->runtime_count) {
		put_label(sb, "kept by the C runtime");
		put_bytes_in(sb, s->runtime_bytes, s->runtime_count);
		sb_puts(sb, " (thread control blocks)\n");
		out_sbuf(o, sb);
	}
}

/* The leak scan's classes of what is listed, and what it could not do. */
static void put_leaks(struct out *o, struct sbuf *sb, const struct snapshot *s)
{
	const struct leaks *l = s->leaks;

	if (!l)
		return;
	put_label(sb, "leaked (no pointer reaches)");
	put_bytes_in(sb, s->leaked_bytes, s->leaked_count);
	sb_putc(sb, '\n');
	put_label(sb, "indirectly leaked");
	put_bytes_in(sb, s->indirect_bytes, s->indirect_count);
	sb_putc(sb, '\n');
	put_label(sb, "reachable");
	put_bytes_in(sb, s->live_bytes - s->leaked_bytes - s->indirect_bytes,
		     s->live_count - s->leaked_count - s->indirect_count);
	sb_putc(sb, '\n');
	out_sbuf(o, sb);
	put_label(sb, "leak scan");
	ht_fmt_bytes(sb, l->scanned);
	sb_puts(sb, " scanned with ");
	ht_fmt_bytes(sb, l->memory);
	sb_puts(sb, " of tracer memory, ");
	ht_fmt_count(sb, l->threads - l->unstopped, "thread");
	sb_puts(sb, " stopped for ");
	ht_fmt_duration(sb, l->pause_ns);
	if (l->unstopped) {
		sb_puts(sb, "; ");
		ht_fmt_count(sb, l->unstopped, "thread");
		sb_printf(sb, " not stopped (%s): %s stack scanned whole, results may vary",
			  strerror(l->why), l->unstopped == 1 ? "its" : "their");
	}
	sb_putc(sb, '\n');
	out_sbuf(o, sb);
}

/* The process: its allocator, its pages, its history, heaptrace's share. */
static void put_process(struct out *o, struct sbuf *sb, const struct report *r)
{
	const struct report_summary *m = &r->sum;

	put_label(sb, "allocator info (virtual)");
	ht_fmt_bytes(sb, m->virtual_bytes);
	sb_putc(sb, '\n');
	put_label(sb, "allocator info (in-use)");
	ht_fmt_bytes(sb, m->in_use_bytes);
	sb_putc(sb, '\n');
	out_sbuf(o, sb);
	put_label(sb, "statm info (VSS/RSS/shared)");
	ht_fmt_bytes(sb, m->vss_bytes);
	sb_puts(sb, " / ");
	ht_fmt_bytes(sb, m->rss_bytes);
	sb_puts(sb, " / ");
	ht_fmt_bytes(sb, m->shared_bytes);
	sb_putc(sb, '\n');
	put_label(sb, "allocations since start");
	if (ht_sample_rate)
		sb_putc(sb, '~');
	ht_fmt_count(sb, r->s->total_count, "call");
	sb_puts(sb, ht_sample_rate ? ", ~" : ", ");
	ht_fmt_bytes(sb, r->s->total_bytes);
	sb_putc(sb, '\n');
	put_label(sb, "peak of live heap");
	put_bytes_in(sb, r->s->peak.bytes, r->s->peak_count);
	sb_puts(sb, ", ");
	ht_fmt_duration(sb, m->peak_ns);
	sb_puts(sb, " after start\n");
	if (m->peaks_bounded) {
		/* rule 2: a number that is a bound says so */
		put_label(sb, "peaks, with threads");
		sb_printf(sb, "within %d KiB and %d blocks per thread\n", BT_PEAK_BYTES / 1024,
			  BT_PEAK_BLOCKS);
	}
	put_label(sb, "tracer memory");
	ht_fmt_bytes(sb, r->s->tracer_bytes);
	sb_putc(sb, '\n');
	out_sbuf(o, sb);
}

/* What heaptrace could not count. */
static void put_lost(struct out *o, struct sbuf *sb, const struct report_summary *m)
{
	if (m->missed_allocs || m->missed_frees) {
		put_label(sb, "missed in signal handlers");
		ht_fmt_count(sb, m->missed_allocs, "allocation");
		sb_puts(sb, ", ");
		ht_fmt_count(sb, m->missed_frees, "free");
		sb_puts(sb, " (their queue was full)\n");
		out_sbuf(o, sb);
	}
	if (m->freed_before_counted) {
		put_label(sb, "freed before tracing");
		ht_fmt_count(sb, m->freed_before, "block");
		sb_puts(sb, " allocated before heaptrace attached\n");
		out_sbuf(o, sb);
	}
	if (m->untracked) {
		put_label(sb, "not tracked");
		ht_fmt_count(sb, m->untracked, "allocation");
		sb_puts(sb, m->untracked == 1 ? " was" : " were");
		sb_puts(sb, " not tracked (no memory for the tables)\n");
		out_sbuf(o, sb);
	}
}

void text_write(struct out *o, struct report *r)
{
	char line[512];
	struct sbuf sb = SBUF_INIT(line);

	out_puts(o, SEPARATOR);
	for (int k = 0; k < r->nkeys; k++)
		put_section(o, r, r->keys[k]);
	put_sampled(o, &sb, r->s);
	put_shown(o, &sb, &r->sum);
	put_held(o, &sb, r->s);
	put_leaks(o, &sb, r->s);
	put_process(o, &sb, r);
	put_lost(o, &sb, &r->sum);
	out_puts(o, SEPARATOR);
}
