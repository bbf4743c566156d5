// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * report.c - writes reports from a snapshot of the backtrace table
 * (snapshot.c): the text report of the original heaptrace (sections per
 * sort key, one summary) and the folded stacks flamegraph.pl reads; JSON
 * is json.c's.  One report at a time, at exit or in the reporter thread,
 * with the caller marked busy; heaptrace's destructor readies the exit
 * report's names.  Nothing here runs inside a hook.
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
#include "json.h"
#include "output.h"
#include "report.h"
#include "snapshot.h"
#include "stacktrace.h"
#include "symbols.h"
#include "textfmt.h"
#include "tmem.h"

#define SEPARATOR "=================================================================\n"

static pthread_mutex_t report_lock = PTHREAD_MUTEX_INITIALIZER;
static bool closed; /* the exit report is written: it stays the last */
static struct out out;  /* under report_lock */

/* ------------------------------------------------------------ text report */

/*
 * Frame i of a backtrace, one line per source frame: an address where calls
 * were inlined gives a line per inlined call (innermost first, marked
 * [inlined]), then the function that holds the code.  Numbers count the
 * lines; returns the number of the next one.
 */
static int put_frame(struct out *o, struct sbuf *sb, int num, int i, void *addr)
{
	const struct sym *sym = sym_resolve(addr, i > 0);

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

		textfmt_frame(sb, num++, &line);
		out_sbuf(o, sb);
	}
	return num;
}

static void put_backtrace(const struct snapshot *s, const struct item *it, size_t rank,
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
		.age_ns = snapshot_age(it, s),
		.growth = s->growth,
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
	};

	textfmt_backtrace(&sb, &head);
	out_sbuf(&out, &sb);
	for (int i = 0, num = 0; i < b->depth; i++)
		num = put_frame(&out, &sb, num, i, b->frames[i]);
	textfmt_cut(&sb, bt_cut(b), ht_cfg.depth);
	out_sbuf(&out, &sb);
	out_puts(&out, "\n");
}

static void put_section(struct snapshot *s, enum ht_sort key, const char *comm)
{
	char line[512];
	struct sbuf sb = SBUF_INIT(line);
	size_t rank = 0;

	/* the original heaptrace's line, then what the section lists */
	sb_printf(&sb, "[heaptrace] dump allocation sorted by '%s' for /proc/%d/maps (%s): %s\n",
		  ht_sort_name(key), (int)getpid(), comm, ht_sort_header(key));
	out_sbuf(&out, &sb);
	snapshot_sort(s, key);
	for (size_t i = 0; i < s->n && (!ht_cfg.top || rank < ht_cfg.top); i++)
		if (snapshot_listed(&s->items[i], key)) {
			s->items[i].shown = true;
			put_backtrace(s, &s->items[i], ++rank, key);
		}
}

static void put_label(struct sbuf *sb, const char *label)
{
	sb_printf(sb, "[heaptrace] %-29s: ", label);
}

/*
 * The backtraces the sections showed, and the live ones --top left out:
 * the summary's count is what the reader saw, the rest is said beside it.
 */
static void put_shown(struct sbuf *sb, const struct snapshot *s)
{
	uint64_t shown = 0, rest = 0, rest_count = 0, rest_bytes = 0;

	for (size_t i = 0; i < s->n; i++) {
		const struct item *it = &s->items[i];

		shown += it->shown;
		if (!it->shown && it->live_count) {
			rest++;
			rest_count += it->live_count;
			rest_bytes += it->live_bytes;
		}
	}
	put_label(sb, "heap traced num of backtrace");
	sb_printf(sb, "%llu\n", (unsigned long long)shown);
	out_sbuf(&out, sb);
	if (!rest)
		return;
	put_label(sb, "live, not shown (--top)");
	sb_puts(sb, "... and ");
	ht_fmt_count(sb, rest, "more backtrace");
	sb_puts(sb, ", ");
	ht_fmt_bytes(sb, rest_bytes);
	sb_puts(sb, " in ");
	ht_fmt_count(sb, rest_count, "block");
	sb_putc(sb, '\n');
	out_sbuf(&out, sb);
}

static void put_summary(const struct snapshot *s)
{
	char line[512], statm[128];
	struct sbuf sb = SBUF_INIT(line);
	struct ht_mallinfo mi = ht_mallinfo();
	unsigned long long vss = 0, rss = 0, shared = 0;
	uint64_t page = (uint64_t)sysconf(_SC_PAGESIZE);

	put_shown(&sb, s);
	put_label(&sb, "heap traced allocation size");
	ht_fmt_bytes(&sb, s->live_bytes);
	sb_puts(&sb, " in ");
	ht_fmt_count(&sb, s->live_count, "block");
	sb_putc(&sb, '\n');
	out_sbuf(&out, &sb);
	if (s->hidden_bts) {
		put_label(&sb, "hidden by --ignore");
		ht_fmt_count(&sb, s->hidden_bts, "backtrace");
		sb_puts(&sb, ", ");
		ht_fmt_bytes(&sb, s->hidden_bytes);
		sb_puts(&sb, " in ");
		ht_fmt_count(&sb, s->hidden_count, "block");
		sb_putc(&sb, '\n');
		out_sbuf(&out, &sb);
	}
	if (s->runtime_count) {
		put_label(&sb, "kept by the C runtime");
		ht_fmt_bytes(&sb, s->runtime_bytes);
		sb_puts(&sb, " in ");
		ht_fmt_count(&sb, s->runtime_count, "block");
		sb_puts(&sb, " (thread control blocks)\n");
		out_sbuf(&out, &sb);
	}
	put_label(&sb, "allocator info (virtual)");
	ht_fmt_bytes(&sb, mi.arena + mi.hblkhd);
	sb_putc(&sb, '\n');
	put_label(&sb, "allocator info (in-use)");
	ht_fmt_bytes(&sb, mi.uordblks + mi.hblkhd);
	sb_putc(&sb, '\n');
	out_sbuf(&out, &sb);
	ht_read_line("/proc/self/statm", statm, sizeof(statm));
	sscanf(statm, "%llu %llu %llu", &vss, &rss, &shared);
	put_label(&sb, "statm info (VSS/RSS/shared)");
	ht_fmt_bytes(&sb, vss * page);
	sb_puts(&sb, " / ");
	ht_fmt_bytes(&sb, rss * page);
	sb_puts(&sb, " / ");
	ht_fmt_bytes(&sb, shared * page);
	sb_putc(&sb, '\n');
	put_label(&sb, "allocations since start");
	ht_fmt_count(&sb, s->total_count, "call");
	sb_puts(&sb, ", ");
	ht_fmt_bytes(&sb, s->total_bytes);
	sb_putc(&sb, '\n');
	put_label(&sb, "peak of live heap");
	ht_fmt_bytes(&sb, s->peak.bytes);
	sb_puts(&sb, " in ");
	ht_fmt_count(&sb, s->peak_count, "block");
	sb_puts(&sb, ", ");
	ht_fmt_duration(&sb, s->peak.ns > ht_start_ns ? s->peak.ns - ht_start_ns : 0);
	sb_puts(&sb, " after start\n");
	put_label(&sb, "tracer memory");
	ht_fmt_bytes(&sb, s->tracer_bytes);
	sb_putc(&sb, '\n');
	out_sbuf(&out, &sb);
	if (acct_missed_count(false) || acct_missed_count(true)) {
		put_label(&sb, "missed in signal handlers");
		ht_fmt_count(&sb, acct_missed_count(false), "allocation");
		sb_puts(&sb, ", ");
		ht_fmt_count(&sb, acct_missed_count(true), "free");
		sb_puts(&sb, " (their queue was full)\n");
		out_sbuf(&out, &sb);
	}
	if (acct_untracked()) {
		put_label(&sb, "not tracked");
		ht_fmt_count(&sb, acct_untracked(), "allocation");
		sb_puts(&sb, acct_untracked() == 1 ? " was" : " were");
		sb_puts(&sb, " not tracked (no memory for the tables)\n");
		out_sbuf(&out, &sb);
	}
}

static void write_text(struct snapshot *s, const enum ht_sort *keys, int nkeys)
{
	char comm[64];

	ht_read_line("/proc/self/comm", comm, sizeof(comm));
	out_puts(&out, SEPARATOR);
	for (int k = 0; k < nkeys; k++)
		put_section(s, keys[k], comm);
	put_summary(s);
	out_puts(&out, SEPARATOR);
}

/* ------------------------------------------------------------ flame graph */

/*
 * Function names only, so that call sites in one function merge; the
 * outer function first, then the calls inlined into it, each marked with
 * flamegraph.pl's "_[i]" suffix.
 */
static void put_flame_frame(struct out *o, struct sbuf *sb, void *addr, bool ret)
{
	const struct sym *sym = sym_resolve(addr, ret);

	for (int k = sym->n - 1; k >= 0; k--) {
		const struct sym_frame *f = &sym->f[k];
		size_t start = sb->len;

		if (f->func[0])
			sb_puts(sb, f->func);
		else if (sym->obj[0])
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
		out_sbuf(o, sb);
	}
}

/*
 * Dumps after a process's first, on a stream (stdout, or stderr when the
 * file failed), start with a line that splits them (README's "Flame
 * graph"); it ends without a number, so flamegraph.pl skips it.
 */
static void put_flame_separator(enum report_when when, const char *weight)
{
	char buf[128];
	struct sbuf sb = SBUF_INIT(buf);

	if (out.own || (out.dump == 1 && getpid() == ht_cfg.root_pid))
		return;
	sb_printf(&sb, "# heaptrace dump %u of pid %d (%s): %s\n", out.dump, (int)getpid(),
		  report_when_name(when), weight);
	out_sbuf(&out, &sb);
}

/*
 * Each backtrace that key's section lists, weighed by key's measure
 * (options.h); keys without one are refused at start-up (config.c).
 */
static void write_flame(const struct snapshot *s, enum report_when when, enum ht_sort key)
{
	char buf[SYM_NAME_MAX + SYM_PATH_MAX + 64];
	struct sbuf sb = SBUF_INIT(buf);

	if (!ht_sort_weight(key))
		key = HT_SORT_SIZE;
	put_flame_separator(when, ht_sort_weight(key));
	for (size_t i = 0; i < s->n; i++) {
		const struct bt *b = bt_get(s->items[i].id);

		if (!snapshot_listed(&s->items[i], key))
			continue;
		if (b->truncated)
			sb_puts(&sb, "[truncated];");
		for (int f = b->depth - 1; f >= 0; f--) {
			put_flame_frame(&out, &sb, b->frames[f], f > 0);
			if (f)
				sb_putc(&sb, ';');
			out_sbuf(&out, &sb);
		}
		sb_printf(&sb, " %llu\n", (unsigned long long)snapshot_weight(&s->items[i], key));
		out_sbuf(&out, &sb);
	}
}

/* ------------------------------------------------------------ entry */

const char *report_when_name(enum report_when when)
{
	static const char *const names[] = {
		[REPORT_AT_EXIT] = "exit",
		[REPORT_ON_SIGNAL] = "signal",
		[REPORT_PERIODIC] = "interval",
	};

	return names[when];
}

bool report_write(enum report_when when, const enum ht_sort *keys, int nkeys)
{
	struct snapshot s;
	bool leaked = false;

	pthread_mutex_lock(&report_lock);
	if (closed)
		goto out;
	if (ht_cfg.flame_graph) /* one graph, by the first key */
		nkeys = 1;
	if (when == REPORT_AT_EXIT)
		closed = true;
	sym_begin();
	if (!snapshot_take(&s, keys, nkeys)) {
		ht_warn("no memory for a report");
		goto end;
	}
	/* what --check fails on: listed blocks, or blocks it could not see */
	leaked = s.live_count > 0 || acct_untracked() > 0;
	/* at exit, silence means nothing is live (hidden blocks are live, and
	 * untracked ones may be), unless a key asked for the past */
	if (when == REPORT_AT_EXIT && s.live_count + s.hidden_count == 0 && !acct_untracked() &&
	    !snapshot_lists_history(keys, nkeys))
		goto done;
	/* a flame graph is data for a pipe, the report a diagnostic */
	out_open(&out, ht_cfg.flame_graph ? STDOUT_FILENO : STDERR_FILENO);
	do {
		if (ht_cfg.flame_graph)
			write_flame(&s, when, keys[0]);
		else if (ht_cfg.json)
			json_write(&out, &s, when, keys, nkeys);
		else
			write_text(&s, keys, nkeys);
	} while (!out_close(&out)); /* again, whole, where it falls back to */
	snapshot_done();
done:
	snapshot_free(&s);
end:
	sym_end();
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
