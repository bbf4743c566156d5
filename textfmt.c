// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * textfmt.c - the text report's backtrace, frame and cut lines (see
 * textfmt.h).  Shared by the library and the launcher.
 */
#include <stdio.h>
#include <string.h>

#include "options.h"
#include "textfmt.h"

/* A count, or bytes: '~' first when it is an estimate. */
static void put_count(struct sbuf *sb, const struct bt_line *b, uint64_t n)
{
	sb_printf(sb, "%s%llu", b->estimated ? "~" : "", (unsigned long long)n);
}

static void put_bytes(struct sbuf *sb, const struct bt_line *b, uint64_t n)
{
	if (b->estimated)
		sb_putc(sb, '~');
	ht_fmt_bytes(sb, n);
}

void textfmt_backtrace(struct sbuf *sb, const struct bt_line *b)
{
	sb_printf(sb, "=== backtrace #%zu === [count/peak: ", b->rank);
	put_count(sb, b, b->count);
	sb_putc(sb, '/');
	put_count(sb, b, b->peak_count);
	sb_puts(sb, "] [size/peak: ");
	put_bytes(sb, b, b->bytes);
	sb_putc(sb, '/');
	put_bytes(sb, b, b->peak_bytes);
	sb_puts(sb, "] [age: ");
	ht_fmt_duration(sb, b->age_ns);
	sb_putc(sb, ']');
	if (b->growth) {
		sb_puts(sb, " [growth: ");
		ht_fmt_growth(sb, b->growth_bytes, b->growth_count, b->estimated);
		sb_putc(sb, ']');
	}
	if (b->at_peak) {
		sb_puts(sb, " [at peak: ");
		put_bytes(sb, b, b->at_peak_bytes);
		sb_putc(sb, '/');
		put_count(sb, b, b->at_peak_count);
		sb_putc(sb, ']');
	}
	if (b->calls) {
		sb_puts(sb, " [calls: ");
		put_count(sb, b, b->calls_count);
		sb_putc(sb, '/');
		put_bytes(sb, b, b->calls_bytes);
		sb_putc(sb, ']');
	}
	if (b->temporary) {
		sb_puts(sb, " [temporary: ");
		put_count(sb, b, b->temp_count);
		sb_putc(sb, ']');
	}
	if (b->leaks) {
		sb_puts(sb, " [leaked: ");
		put_bytes(sb, b, b->leaked_bytes);
		sb_putc(sb, '/');
		put_count(sb, b, b->leaked_count);
		sb_puts(sb, ", indirect: ");
		put_bytes(sb, b, b->indirect_bytes);
		sb_putc(sb, '/');
		put_count(sb, b, b->indirect_count);
		sb_putc(sb, ']');
	}
	if (b->samples)
		sb_printf(sb, " [samples: %llu]", (unsigned long long)b->samples_live);
	sb_putc(sb, '\n');
}

static bool known(const char *s)
{
	return s && *s;
}

void textfmt_frame(struct sbuf *sb, int num, const struct frame_line *f)
{
	char hex[24];

	snprintf(hex, sizeof(hex), "%#llx", (unsigned long long)f->addr);
	sb_printf(sb, "%2d [%14s] ", num, hex);
	if (!known(f->func) && !known(f->file)) {
		if (known(f->obj))
			sb_printf(sb, "%s (+0x%llx)\n", f->obj, (unsigned long long)f->obj_off);
		else
			sb_puts(sb, "??\n");
		return;
	}
	sb_puts(sb, known(f->func) ? f->func : "??");
	if (f->inlined)
		sb_puts(sb, " [inlined]");
	else if (f->has_off)
		sb_printf(sb, " +0x%llx", (unsigned long long)f->off);
	if (known(f->file))
		sb_printf(sb, " (%s:%u)", f->file, f->line);
	sb_printf(sb, " (%s +0x%llx)\n", known(f->obj) ? f->obj : "??",
		  (unsigned long long)f->obj_off);
}

#define HT_CUT_ROW(id, name, text) { name, text },
static const struct {
	const char *name, *text;
} cuts[HT_CUT_COUNT] = { HT_CUTS(HT_CUT_ROW) };

const char *textfmt_cut_name(enum ht_cut why)
{
	return cuts[why].name;
}

bool textfmt_cut_parse(const char *s, enum ht_cut *out)
{
	for (int i = HT_CUT_NONE + 1; i < HT_CUT_COUNT; i++)
		if (!strcmp(s, cuts[i].name)) {
			*out = (enum ht_cut)i;
			return true;
		}
	return false;
}

void textfmt_cut(struct sbuf *sb, enum ht_cut why, int depth)
{
	if (why == HT_CUT_NONE)
		return;
	sb_puts(sb, "   ... more frames (");
	if (why == HT_CUT_DEPTH)
		sb_printf(sb, cuts[why].text, depth);
	else
		sb_puts(sb, cuts[why].text);
	if (why == HT_CUT_DEPTH && depth < HT_DEPTH_MAX)
		sb_puts(sb, ": --depth=N shows more");
	sb_puts(sb, ")\n");
}
