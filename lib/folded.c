// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * folded.c - folded stacks for flamegraph.pl (--format=folded,
 * --flame-graph): one line per backtrace, outermost frame first, and its
 * weight.  Prints what report.c gathered; report path only, under the
 * report lock.
 */
#define _GNU_SOURCE
#include <unistd.h>

#include "config.h"
#include "cxxname.h"
#include "folded.h"
#include "symbols.h"
#include "writer.h"

/*
 * Function names only, so that call sites in one function merge; the
 * outer function first, then the calls inlined into it, each marked with
 * flamegraph.pl's "_[i]" suffix.
 */
void folded_frame(struct sbuf *sb, void *addr, bool ret)
{
	const struct sym *sym = sym_resolve(addr, ret);
	char name[SYM_NAME_MAX];

	for (int k = sym->n - 1; k >= 0; k--) {
		const struct sym_frame *f = &sym->f[k];
		size_t start = sb->len;

		if (f->func[0] && ht_cfg.short_names) {
			cxx_short_name(name, sizeof(name), f->func);
			sb_puts(sb, name);
		} else if (f->func[0]) {
			sb_puts(sb, f->func);
		} else if (sym->obj[0])
			sb_printf(sb, "%s+0x%lx", sym->obj, (unsigned long)sym->obj_off);
		else
			sb_printf(sb, "%#lx", (unsigned long)(uintptr_t)addr);
		if (f->inlined)
			sb_puts(sb, "_[i]");
		/* ';' separates frames and a line ends a stack: keep both out */
		for (size_t i = start; i < sb->len; i++) {
			if (sb->buf[i] == ';')
				sb->buf[i] = ':';
			else if (sb->buf[i] == '\n' || sb->buf[i] == '\r' || sb->buf[i] == '\t')
				sb->buf[i] = ' ';
		}
		if (k)
			sb_putc(sb, ';');
	}
}

/*
 * Dumps after a process's first, on a stream (stdout, or stderr when the
 * file failed), start with a line that splits them (README's "Flame
 * graph"); it ends without a number, so flamegraph.pl skips it.
 */
static void put_flame_separator(struct out *o, enum report_when when, const char *weight)
{
	char buf[128];
	struct sbuf sb = SBUF_INIT(buf);

	if (o->own || (o->dump == 1 && getpid() == ht_cfg.root_pid))
		return;
	sb_printf(&sb, "# heaptrace dump %u of pid %d (%s): %s\n", o->dump, (int)getpid(),
		  report_when_name(when), weight);
	out_sbuf(o, &sb);
}

/*
 * Each backtrace that the first key's section lists, in the snapshot's
 * order, weighed by the key's measure (options.h); keys without one are
 * refused at start-up (config.c).
 */
void folded_write(struct out *o, struct report *r)
{
	const struct snapshot *s = r->s;
	enum ht_sort key = r->keys[0];
	char buf[FOLDED_FRAME_MAX];
	struct sbuf sb = SBUF_INIT(buf);

	if (!ht_sort_weight(key))
		key = HT_SORT_SIZE;
	put_flame_separator(o, r->when, ht_sort_weight(key));
	for (size_t i = 0; i < s->n; i++) {
		const struct bt *b = bt_get(s->items[i].id);

		if (!snapshot_listed(&s->items[i], key))
			continue;
		if (b->truncated)
			sb_puts(&sb, "[truncated];");
		for (int f = b->depth - 1; f >= 0; f--) {
			folded_frame(&sb, b->frames[f], f > 0);
			if (f)
				sb_putc(&sb, ';');
			out_sbuf(o, &sb);
		}
		sb_printf(&sb, " %llu\n", (unsigned long long)snapshot_weight(&s->items[i], key));
		out_sbuf(o, &sb);
	}
}
