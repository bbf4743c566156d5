// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * json.c - the JSON report: the text report's content with exact integers
 * (bytes, counts, nanoseconds) and every frame's fields apart.  Written
 * piece by piece through the report's output buffer, like the text report;
 * report path only, under the report lock.
 */
#define _GNU_SOURCE
#include <stdio.h>
#include <unistd.h>

#include "compat.h"
#include "config.h"
#include "json.h"
#include "symbols.h"

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

static void put_backtrace(struct out *o, struct sbuf *sb, const struct snapshot *s,
			  const struct item *it, size_t rank)
{
	const struct bt *b = bt_get(it->id);
	bool first = true;

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
	if (bt_cut(b) == HT_CUT_NONE)
		sb_puts(sb, "null");
	else
		sb_printf(sb, "\"%s\"", textfmt_cut_name(bt_cut(b)));
	sb_puts(sb, ",\"frames\":[");
	out_sbuf(o, sb);
	for (int i = 0; i < b->depth; i++)
		put_frame(o, sb, b->frames[i], i > 0, &first);
	sb_puts(sb, "]}");
	out_sbuf(o, sb);
}

static void put_section(struct out *o, struct sbuf *sb, struct snapshot *s, enum ht_sort key)
{
	size_t rank = 0;

	sb_puts(sb, "{\"sort\":");
	sb_put_json(sb, ht_sort_name(key));
	sb_printf(sb, ",\"lists\":\"%s\",\"backtraces\":[",
		  ht_sort_lists(key) == HT_LISTS_HISTORY ? "history" : "live");
	out_sbuf(o, sb);
	snapshot_sort(s, key);
	for (size_t i = 0; i < s->n && (!ht_cfg.top || rank < ht_cfg.top); i++) {
		if (!snapshot_listed(&s->items[i], key))
			continue;
		if (rank++)
			out_puts(o, ",");
		put_backtrace(o, sb, s, &s->items[i], rank);
	}
	out_puts(o, "]}");
}

static void put_summary(struct out *o, struct sbuf *sb, const struct snapshot *s)
{
	struct ht_mallinfo mi = ht_mallinfo();
	unsigned long long vss = 0, rss = 0, shared = 0;
	uint64_t page = (uint64_t)sysconf(_SC_PAGESIZE);
	char statm[128];

	ht_read_line("/proc/self/statm", statm, sizeof(statm));
	sscanf(statm, "%llu %llu %llu", &vss, &rss, &shared);
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
		  (unsigned long long)(mi.arena + mi.hblkhd),
		  (unsigned long long)(mi.uordblks + mi.hblkhd), vss * page, rss * page,
		  shared * page, (unsigned long long)s->total_count,
		  (unsigned long long)s->total_bytes, (unsigned long long)s->temp_count);
	out_sbuf(o, sb);
	sb_printf(sb, "\"peak\":{\"bytes\":%llu,\"blocks\":%llu,\"time_ns\":%llu},"
		  "\"tracer_bytes\":%llu,\"untracked\":%llu}",
		  (unsigned long long)s->peak.bytes, (unsigned long long)s->peak_count,
		  (unsigned long long)(s->peak.ns > ht_start_ns ? s->peak.ns - ht_start_ns : 0),
		  (unsigned long long)s->tracer_bytes, (unsigned long long)acct_untracked());
	out_sbuf(o, sb);
}

void json_write(struct out *o, struct snapshot *s, enum report_when when,
		const enum ht_sort *keys, int nkeys)
{
	static char buf[JSON_BUF]; /* under the report lock */
	char comm[64];
	struct sbuf sb = SBUF_INIT(buf);

	ht_read_line("/proc/self/comm", comm, sizeof(comm));
	sb_printf(&sb, "{\"schema_version\":%d,\"pid\":%d,\"comm\":", JSON_SCHEMA_VERSION,
		  (int)getpid());
	sb_put_json(&sb, comm);
	sb_printf(&sb, ",\"event\":\"%s\",\"time_ns\":%llu,\"depth\":%d,\"sections\":[",
		  report_when_name(when), (unsigned long long)(s->now_ns - ht_start_ns),
		  ht_cfg.depth);
	out_sbuf(o, &sb);
	for (int k = 0; k < nkeys; k++) {
		if (k)
			out_puts(o, ",");
		put_section(o, &sb, s, keys[k]);
	}
	out_puts(o, "],");
	put_summary(o, &sb, s);
	out_puts(o, "}\n");
}
