// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * textfmt.c - the text report's backtrace, frame and cut lines (see
 * textfmt.h).  Shared by the library and the launcher.
 */
#include <stdio.h>
#include <string.h>

#include "options.h"
#include "textfmt.h"

void textfmt_backtrace(struct sbuf *sb, const struct bt_line *b)
{
	sb_printf(sb, "=== backtrace #%zu === [count/peak: %llu/%llu] [size/peak: ", b->rank,
		  (unsigned long long)b->count, (unsigned long long)b->peak_count);
	ht_fmt_bytes(sb, b->bytes);
	sb_putc(sb, '/');
	ht_fmt_bytes(sb, b->peak_bytes);
	sb_puts(sb, "] [age: ");
	ht_fmt_duration(sb, b->age_ns);
	sb_putc(sb, ']');
	if (b->growth) {
		sb_puts(sb, " [growth: ");
		ht_fmt_growth(sb, b->growth_bytes, b->growth_count);
		sb_putc(sb, ']');
	}
	if (b->at_peak) {
		sb_puts(sb, " [at peak: ");
		ht_fmt_bytes(sb, b->at_peak_bytes);
		sb_printf(sb, "/%llu]", (unsigned long long)b->at_peak_count);
	}
	if (b->calls) {
		sb_printf(sb, " [calls: %llu/", (unsigned long long)b->calls_count);
		ht_fmt_bytes(sb, b->calls_bytes);
		sb_putc(sb, ']');
	}
	if (b->temporary)
		sb_printf(sb, " [temporary: %llu]", (unsigned long long)b->temp_count);
	if (b->leaks) {
		sb_puts(sb, " [leaked: ");
		ht_fmt_bytes(sb, b->leaked_bytes);
		sb_printf(sb, "/%llu, indirect: ", (unsigned long long)b->leaked_count);
		ht_fmt_bytes(sb, b->indirect_bytes);
		sb_printf(sb, "/%llu]", (unsigned long long)b->indirect_count);
	}
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
