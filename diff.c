// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * diff.c - compares two JSON reports (heaptrace --json).  A file holding
 * several reports (JSON Lines) contributes its last.  Backtraces are
 * matched by their frames as object and offset (stable across runs of one
 * build, whatever the load addresses), by function where no object is
 * known; a backtrace absent from OLD grew from nothing.  Reports written
 * with --top=0 hold every backtrace; with a top, only the ones listed can
 * be compared.  Launcher only: plain stdio and malloc.
 */
#define _GNU_SOURCE
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "diff.h"
#include "jsonparse.h"
#include "options.h"
#include "textfmt.h"
#include "utils.h"

#define EXIT_USAGE 2

struct entry {
	char *key;                   /* the frames, as object+offset */
	const struct jval *bt;       /* in NEW (NULL for one only in OLD) */
	int64_t count, bytes;        /* in NEW */
	int64_t old_count, old_bytes;
	bool in_old;
};

struct table {
	struct entry *e;
	size_t n, cap;
};

static void die(const char *path, const char *why)
{
	fprintf(stderr, "heaptrace: --diff: %s: %s\n", path, why);
	exit(EXIT_USAGE);
}

/* The last non-empty line of path, parsed. */
static struct jval *load(const char *path)
{
	FILE *f = fopen(path, "r");
	char *line = NULL, *last = NULL;
	size_t cap = 0;
	ssize_t n;
	const char *err = NULL;
	struct jval *doc;

	if (!f)
		die(path, "cannot be read");
	while ((n = getline(&line, &cap, f)) > 0) {
		if (strspn(line, " \t\r\n") == (size_t)n)
			continue;
		free(last);
		last = strdup(line);
	}
	fclose(f);
	free(line);
	if (!last)
		die(path, "holds no report");
	doc = json_parse(last, strlen(last), &err);
	free(last);
	if (!doc)
		die(path, err ? err : "is not JSON");
	if (json_int(doc, "schema_version", 0) != 1 || !json_get(doc, "sections"))
		die(path, "is not a heaptrace JSON report (schema_version 1)");
	return doc;
}

/* "obj+0xoff;obj+0xoff;..." of a backtrace's frames, inlined ones aside. */
static char *key_of(const struct jval *bt)
{
	const struct jval *frames = json_get(bt, "frames");
	char *buf = NULL;
	size_t len = 0;
	FILE *m = open_memstream(&buf, &len);

	for (size_t i = 0; m && frames && i < frames->n; i++) {
		const struct jval *f = &frames->v[i];
		const struct jval *inl = json_get(f, "inlined");
		const char *obj = json_str(f, "object"), *func = json_str(f, "function");

		if (inl && inl->type == J_BOOL && inl->b)
			continue;
		if (obj)
			fprintf(m, "%s+%llx;", obj, (unsigned long long)json_int(f, "object_offset", 0));
		else
			fprintf(m, "%s;", func ? func : "??");
	}
	if (m)
		fclose(m);
	return buf;
}

static struct entry *find(struct table *t, const char *key)
{
	for (size_t i = 0; i < t->n; i++)
		if (!strcmp(t->e[i].key, key))
			return &t->e[i];
	return NULL;
}

/* Every backtrace of every section of doc, once each. */
static void collect(struct table *t, const struct jval *doc, bool is_new)
{
	const struct jval *sections = json_get(doc, "sections");

	for (size_t s = 0; sections && s < sections->n; s++) {
		const struct jval *bts = json_get(&sections->v[s], "backtraces");

		for (size_t i = 0; bts && i < bts->n; i++) {
			const struct jval *bt = &bts->v[i];
			char *key = key_of(bt);
			struct entry *e;

			if (!key)
				continue;
			e = find(t, key);
			if (e) {
				free(key);
				/* the same backtrace in another section: once */
				if (is_new ? e->bt != NULL : e->in_old)
					continue;
			} else {
				if (t->n == t->cap) {
					t->cap = t->cap ? 2 * t->cap : 64;
					t->e = realloc(t->e, t->cap * sizeof(*t->e));
					if (!t->e)
						die("memory", "exhausted");
				}
				e = &t->e[t->n++];
				memset(e, 0, sizeof(*e));
				e->key = key;
			}
			if (is_new) {
				e->bt = bt;
				e->count = json_int(bt, "count", 0);
				e->bytes = json_int(bt, "bytes", 0);
			} else {
				e->in_old = true;
				e->old_count = json_int(bt, "count", 0);
				e->old_bytes = json_int(bt, "bytes", 0);
			}
		}
	}
}

static int by_growth(const void *pa, const void *pb)
{
	const struct entry *a = pa, *b = pb;
	int64_t ga = a->bytes - a->old_bytes, gb = b->bytes - b->old_bytes;

	if (ga != gb)
		return ga > gb ? -1 : 1;
	ga = a->count - a->old_count;
	gb = b->count - b->old_count;
	if (ga != gb)
		return ga > gb ? -1 : 1;
	return strcmp(a->key, b->key);
}

static bool json_true(const struct jval *obj, const char *key)
{
	const struct jval *v = json_get(obj, key);

	return v && v->type == J_BOOL && v->b;
}

/* A frame line as the text report writes it (textfmt.c). */
static void put_frame(struct sbuf *sb, int num, const struct jval *f)
{
	const struct jval *off = json_get(f, "offset");
	struct frame_line line = {
		.addr = (uintptr_t)json_int(f, "address", 0),
		.func = json_str(f, "function"),
		.file = json_str(f, "file"),
		.obj = json_str(f, "object"),
		.inlined = json_true(f, "inlined"),
		.has_off = off && off->type == J_INT,
		.off = off ? off->u : 0,
		.obj_off = (uint64_t)json_int(f, "object_offset", 0),
		.line = (unsigned)json_int(f, "line", 0),
	};

	textfmt_frame(sb, num, &line);
	fputs(sb_str(sb), stdout);
	sb->len = 0;
}

static void put_backtrace(size_t rank, const struct entry *e, int depth)
{
	const struct jval *frames = json_get(e->bt, "frames"), *cut = json_get(e->bt, "cut");
	char buf[16384];
	struct sbuf sb = SBUF_INIT(buf);
	struct bt_line head = {
		.rank = rank,
		.count = (uint64_t)e->count,
		.peak_count = (uint64_t)json_int(e->bt, "peak_count", 0),
		.bytes = (uint64_t)e->bytes,
		.peak_bytes = (uint64_t)json_int(e->bt, "peak_bytes", 0),
		.age_ns = (uint64_t)json_int(e->bt, "age_ns", 0),
		.growth = true,
		.growth_bytes = e->bytes - e->old_bytes,
		.growth_count = e->count - e->old_count,
	};

	textfmt_backtrace(&sb, &head);
	for (size_t i = 0; frames && i < frames->n; i++) {
		fputs(sb_str(&sb), stdout);
		sb.len = 0;
		put_frame(&sb, (int)i, &frames->v[i]);
	}
	if (cut && cut->type == J_STRING)
		textfmt_cut(&sb, !strcmp(cut->s, "depth") ? depth : 0);
	sb_putc(&sb, '\n');
	fputs(sb_str(&sb), stdout);
}

int diff_main(const char *old_path, const char *new_path)
{
	struct jval *old = load(old_path), *new = load(new_path);
	struct table t = { 0 };
	unsigned long top = 10;
	const char *env = getenv("HEAPTRACE_TOP");
	size_t grew = 0, rank = 0;
	int64_t total_bytes = 0, total_count = 0;
	char buf[128];
	struct sbuf sb = SBUF_INIT(buf);

	if (env && ht_parse_ulong(env, HT_TOP_MAX, &top))
		top = 10;
	collect(&t, new, true);
	collect(&t, old, false);
	qsort(t.e, t.n, sizeof(*t.e), by_growth);
	printf("=================================================================\n");
	printf("[heaptrace] dump allocation sorted by 'growth' for /proc/%lld/maps (%s)\n",
	       (long long)json_int(new, "pid", 0), json_str(new, "comm") ? json_str(new, "comm") : "");
	for (size_t i = 0; i < t.n; i++) {
		const struct entry *e = &t.e[i];

		total_bytes += e->bytes - e->old_bytes;
		total_count += e->count - e->old_count;
		if (!e->bt || e->bytes <= e->old_bytes)
			continue;
		grew++;
		if (!top || rank < top)
			put_backtrace(++rank, e, (int)json_int(new, "depth", 0));
	}
	printf("[heaptrace] %-29s: %s -> %s\n", "diff", old_path, new_path);
	printf("[heaptrace] %-29s: %zu\n", "backtraces that grew", grew);
	ht_fmt_growth(&sb, total_bytes, total_count);
	printf("[heaptrace] %-29s: %s (bytes/blocks, all backtraces compared)\n",
	       "growth of live heap", sb_str(&sb));
	printf("=================================================================\n");
	for (size_t i = 0; i < t.n; i++)
		free(t.e[i].key);
	free(t.e);
	json_free(old);
	json_free(new);
	return 0;
}
