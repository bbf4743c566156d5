// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * json.c - the JSON report (--format=json, --json): the text report's
 * content with exact integers (bytes, counts, nanoseconds) and every
 * frame's fields apart, as one document on one line (JSON Lines when a
 * process reports several times); the schema is README's "JSON report":
 * change JSON_SCHEMA_VERSION with it.  Written piece by piece through the
 * report's output buffer; prints what report.c gathered.  Report path
 * only, under the report lock.
 */
#define _GNU_SOURCE
#include <stdio.h>
#include <unistd.h>

#include "config.h"
#include "sample.h"
#include "symbols.h"
#include "textfmt.h"
#include "writer.h"

#define JSON_SCHEMA_VERSION 3

/*
 * "key":"string" or "key":null, written out at once: escaping may make a
 * string six times longer, and the buffer holds one escaped path whole.
 */
#define JSON_BUF (6 * SYM_PATH_MAX + 256)
static void put_str(struct out *o, struct sbuf *sb, const char *key, const char *v)
{
	out_sbuf(o, sb);
	sb_printf(sb, "\"%s\":", key);
	if (v && *v)
		sb_put_json(sb, v);
	else
		sb_puts(sb, "null");
	out_sbuf(o, sb);
}

static void put_frame(struct out *o, struct sbuf *sb, void *addr, bool ret, bool *first)
{
	const struct sym *sym = sym_resolve(addr, ret);

	for (int k = 0; k < sym->n; k++) {
		const struct sym_frame *f = &sym->f[k];

		sb_puts(sb, *first ? "{" : ",{");
		*first = false;
		sb_printf(sb, "\"address\":%llu,", (unsigned long long)(uintptr_t)addr);
		put_str(o, sb, "function", f->func);
		if (f->has_off && !f->inlined)
			sb_printf(sb, ",\"offset\":%llu", (unsigned long long)f->func_off);
		else
			sb_puts(sb, ",\"offset\":null");
		sb_printf(sb, ",\"inlined\":%s,", f->inlined ? "true" : "false");
		put_str(o, sb, "file", f->file);
		if (f->line)
			sb_printf(sb, ",\"line\":%u,", f->line);
		else
			sb_puts(sb, ",\"line\":null,");
		put_str(o, sb, "object", sym->obj);
		sb_printf(sb, ",\"object_offset\":%llu}", (unsigned long long)sym->obj_off);
		out_sbuf(o, sb);
	}
}

static char buf[JSON_BUF]; /* under the report lock */

static void put_backtrace(struct out *o, struct report *r, const struct item *it, size_t rank,
			  enum ht_sort key)
{
	const struct snapshot *s = r->s;
	const struct bt *b = bt_get(it->id);
	struct sbuf sbuf = SBUF_INIT(buf), *sb = &sbuf;
	bool first = true;

	(void)key;
	if (rank > 1)
		out_puts(o, ",");
	sb_printf(sb, "{\"rank\":%zu,\"count\":%llu,\"peak_count\":%llu,\"bytes\":%llu,"
		  "\"peak_bytes\":%llu,\"age_ns\":%llu,", rank,
		  (unsigned long long)it->live_count, (unsigned long long)it->peak_count,
		  (unsigned long long)it->live_bytes, (unsigned long long)it->peak_bytes,
		  (unsigned long long)snapshot_age(it, s));
	if (s->growth)
		sb_printf(sb, "\"growth_count\":%lld,\"growth_bytes\":%lld,",
			  (long long)it->growth_count, (long long)it->growth_bytes);
	else
		sb_puts(sb, "\"growth_count\":null,\"growth_bytes\":null,");
	sb_printf(sb, "\"at_peak_count\":%llu,\"at_peak_bytes\":%llu,\"calls\":%llu,"
		  "\"calls_bytes\":%llu,\"temporary\":%llu,\"truncated\":%s,\"cut\":",
		  (unsigned long long)it->at_peak_count, (unsigned long long)it->at_peak_bytes,
		  (unsigned long long)it->total_count, (unsigned long long)it->total_bytes,
		  (unsigned long long)it->temp_count, b->truncated ? "true" : "false");
	out_sbuf(o, sb);
	if (bt_cut(b) == HT_CUT_NONE)
		sb_puts(sb, "null");
	else
		sb_printf(sb, "\"%s\"", textfmt_cut_name(bt_cut(b)));
	if (s->leaks)
		sb_printf(sb, ",\"leaked_count\":%llu,\"leaked_bytes\":%llu,\"indirect_count\":%llu,"
			  "\"indirect_bytes\":%llu", (unsigned long long)it->leaked_count,
			  (unsigned long long)it->leaked_bytes, (unsigned long long)it->indirect_count,
			  (unsigned long long)it->indirect_bytes);
	else
		sb_puts(sb, ",\"leaked_count\":null,\"leaked_bytes\":null,\"indirect_count\":null,"
			"\"indirect_bytes\":null");
	/* --sample: the counts and bytes above are estimates, of these */
	if (ht_sample_rate)
		sb_printf(sb, ",\"samples\":{\"live\":%llu,\"total\":%llu}",
			  (unsigned long long)it->samples_live, (unsigned long long)it->samples_total);
	sb_puts(sb, ",\"frames\":[");
	out_sbuf(o, sb);
	for (int i = 0; i < b->depth; i++)
		put_frame(o, sb, b->frames[i], i > 0, &first);
	sb_puts(sb, "]}");
	out_sbuf(o, sb);
}

static void put_section(struct out *o, struct sbuf *sb, struct report *r, enum ht_sort key)
{
	sb_puts(sb, "{\"sort\":");
	sb_put_json(sb, ht_sort_name(key));
	sb_printf(sb, ",\"lists\":\"%s\",\"backtraces\":[",
		  ht_sort_lists(key) == HT_LISTS_HISTORY ? "history" : "live");
	out_sbuf(o, sb);
	report_section(o, r, key, put_backtrace);
	out_puts(o, "]}");
}

/* "leaks":{...} or null: no scan ran for this report. */
static void put_leaks(struct out *o, struct sbuf *sb, const struct snapshot *s)
{
	const struct leaks *l = s->leaks;

	if (!l) {
		sb_puts(sb, "\"leaks\":null,");
		out_sbuf(o, sb);
		return;
	}
	sb_printf(sb, "\"leaks\":{\"leaked\":{\"bytes\":%llu,\"blocks\":%llu},"
		  "\"indirect\":{\"bytes\":%llu,\"blocks\":%llu},"
		  "\"reachable\":{\"bytes\":%llu,\"blocks\":%llu},",
		  (unsigned long long)s->leaked_bytes, (unsigned long long)s->leaked_count,
		  (unsigned long long)s->indirect_bytes, (unsigned long long)s->indirect_count,
		  (unsigned long long)(s->live_bytes - s->leaked_bytes - s->indirect_bytes),
		  (unsigned long long)(s->live_count - s->leaked_count - s->indirect_count));
	sb_printf(sb, "\"scanned_bytes\":%llu,\"scan_memory_bytes\":%llu,\"threads_stopped\":%u,"
		  "\"threads_not_stopped\":%u,\"pause_ns\":%llu},",
		  (unsigned long long)l->scanned, (unsigned long long)l->memory,
		  l->threads - l->unstopped, l->unstopped, (unsigned long long)l->pause_ns);
	out_sbuf(o, sb);
}

static void put_summary(struct out *o, struct sbuf *sb, const struct report *r)
{
	const struct snapshot *s = r->s;
	const struct report_summary *m = &r->sum;

	sb_printf(sb, "\"summary\":{\"backtraces\":%llu,\"bytes\":%llu,\"blocks\":%llu,"
		  "\"hidden\":{\"backtraces\":%llu,\"bytes\":%llu,\"blocks\":%llu},"
		  "\"runtime\":{\"bytes\":%llu,\"blocks\":%llu},",
		  (unsigned long long)s->nlive, (unsigned long long)s->live_bytes,
		  (unsigned long long)s->live_count, (unsigned long long)s->hidden_bts,
		  (unsigned long long)s->hidden_bytes, (unsigned long long)s->hidden_count,
		  (unsigned long long)s->runtime_bytes, (unsigned long long)s->runtime_count);
	out_sbuf(o, sb);
	sb_printf(sb, "\"allocator\":{\"virtual_bytes\":%llu,\"in_use_bytes\":%llu},"
		  "\"statm\":{\"vss_bytes\":%llu,\"rss_bytes\":%llu,\"shared_bytes\":%llu},"
		  "\"since_start\":{\"calls\":%llu,\"bytes\":%llu,\"temporary\":%llu},",
		  (unsigned long long)m->virtual_bytes, (unsigned long long)m->in_use_bytes,
		  (unsigned long long)m->vss_bytes, (unsigned long long)m->rss_bytes,
		  (unsigned long long)m->shared_bytes, (unsigned long long)s->total_count,
		  (unsigned long long)s->total_bytes, (unsigned long long)s->temp_count);
	out_sbuf(o, sb);
	put_leaks(o, sb, s);
	sb_printf(sb, "\"peak\":{\"bytes\":%llu,\"blocks\":%llu,\"time_ns\":%llu",
		  (unsigned long long)s->peak.bytes, (unsigned long long)s->peak_count,
		  (unsigned long long)m->peak_ns);
	/* with threads, peaks are within these (README: Peak) */
	if (m->peaks_bounded)
		sb_printf(sb, ",\"within_per_thread\":{\"bytes\":%d,\"blocks\":%d}",
			  BT_PEAK_BYTES, BT_PEAK_BLOCKS);
	sb_printf(sb, "},\"tracer_bytes\":%llu,\"untracked\":%llu",
		  (unsigned long long)s->tracer_bytes, (unsigned long long)m->untracked);
	/* --pid: traced since the attach */
	if (m->freed_before_counted)
		sb_printf(sb, ",\"freed_before_attach\":%llu", (unsigned long long)m->freed_before);
	sb_putc(sb, '}');
	out_sbuf(o, sb);
}

void json_write(struct out *o, struct report *r)
{
	struct sbuf sb = SBUF_INIT(buf);

	sb_printf(&sb, "{\"schema_version\":%d,\"pid\":%d,\"comm\":", JSON_SCHEMA_VERSION,
		  (int)getpid());
	sb_put_json(&sb, r->comm);
	sb_printf(&sb, ",\"event\":\"%s\",\"time_ns\":%llu,\"depth\":%d,\"sampled\":",
		  report_when_name(r->when), (unsigned long long)r->time_ns, ht_cfg.depth);
	if (ht_sample_rate)
		sb_printf(&sb, "{\"bytes\":%llu,\"samples\":{\"live\":%llu,\"total\":%llu}}",
			  (unsigned long long)ht_sample_rate, (unsigned long long)r->s->samples_live,
			  (unsigned long long)r->s->samples_total);
	else
		sb_puts(&sb, "null");
	sb_puts(&sb, ",\"sections\":[");
	out_sbuf(o, &sb);
	for (int k = 0; k < r->nkeys; k++) {
		if (k)
			out_puts(o, ",");
		put_section(o, &sb, r, r->keys[k]);
	}
	out_puts(o, "],");
	put_summary(o, &sb, r);
	out_puts(o, "}\n");
}
