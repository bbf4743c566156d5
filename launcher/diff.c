// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * diff.c - compares two JSON reports (heaptrace --json).  A file holding
 * several reports contributes its last: one per line as heaptrace writes
 * them, or reformatted over many lines (jq .), back to back.  Backtraces are
 * matched by their frames as object and offset (stable across runs of one
 * build, whatever the load addresses), by function where no object is
 * known; a backtrace absent from OLD grew from nothing.  Reports written
 * with --top=0 hold every backtrace; with a top, only the ones listed can
 * be compared.  Each report is read in one pass, checked against the field
 * tables below, into compact records (names interned, backtraces in a hash
 * table) and its text freed before the next is read: time and memory grow
 * with the file, not its square.  Launcher only: plain stdio and malloc.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "diff.h"
#include "difftab.h"
#include "jsonparse.h"
#include "options.h"
#include "textfmt.h"
#include "usage.h"
#include "utils.h"

/* Version 2 added fields --diff does not read: both are read alike. */
#define NOT_A_REPORT "is not a heaptrace JSON report (schema_version 1 to 3)"

/* A backtrace as read; its frames are the table's last. */
struct bt {
	struct dt_counts c;
	uint32_t cut;
};

/* Nothing of a section is kept: its backtraces go to the table. */
struct section {
	char unused;
};

struct report {
	uint64_t schema_version, pid, depth;
	uint32_t comm;
	uint64_t sampled; /* --sample's BYTES: its numbers are estimates; 0: exact */
};

struct diff {
	struct jreader r;
	const char *path, *file; /* the file being read, its text */
	const char *doc;         /* its last document, read to the file's end */
	size_t doc_len;
	struct report rep;       /* that document's head as far as read */
	bool estimated;          /* a report was sampled: its numbers are estimates */
	enum dt_side side;       /* the report being read */
	int section;             /* its section being read */
	struct {
		const char *list;
		size_t i;
	} where[3]; /* sections[i].backtraces[i].frames[i]: for messages */
	int nwhere;
	struct difftab t;
	struct report head; /* NEW's */
};

/* ------------------------------------------------------------ errors */

/* What is wrong with a file as a whole. */
static void __attribute__((noreturn, format(printf, 2, 3)))
die_file(const char *path, const char *fmt, ...)
{
	char what[1024];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(what, sizeof(what), fmt, ap);
	va_end(ap);
	die("%s: %s", path, what);
}

/*
 * What is wrong at byte at of the file, as FILE:LINE:COLUMN (from 1, the
 * column in bytes): a compact report is one long line, a reformatted one
 * many short ones.  Lines are counted here, on the way out, so that the
 * reader counts nothing while it reads.
 */
static void __attribute__((noreturn, format(printf, 3, 4)))
die_at(const struct diff *d, const char *at, const char *fmt, ...)
{
	const char *line = d->file, *nl;
	char what[1024];
	size_t n = 1;
	va_list ap;

	while ((nl = memchr(line, '\n', (size_t)(at - line)))) {
		line = nl + 1;
		n++;
	}
	va_start(ap, fmt);
	vsnprintf(what, sizeof(what), fmt, ap);
	va_end(ap);
	die("%s:%zu:%zu: %s", d->path, n, (size_t)(at - line) + 1, what);
}

/* The reader's error, where it is. */
static void __attribute__((noreturn)) bad_json(const struct diff *d)
{
	die_at(d, d->r.start + d->r.err_at, "%s", d->r.err);
}

/* The versions of the JSON report this reader knows: 2 added fields only. */
static bool schema_known(uint64_t v)
{
	return v >= 1 && v <= 3; /* 3 added the leak classification, which --diff ignores */
}

/*
 * Whether the document says a schema_version it knows, found where it is: members
 * come in any order (jq -S sorts them, "sections" first), so a field read
 * before schema_version can be wrong only because the document is not a
 * report of this schema, which is then what is wrong.  Errors only.
 */
static bool schema_ok(const struct diff *d)
{
	struct jreader r;
	const char *key;
	uint64_t v = 0;
	bool found = false, ok;

	if (schema_known(d->rep.schema_version))
		return true;
	jr_init(&r, d->doc, d->doc_len);
	if (jr_enter(&r))
		while (!found && jr_next(&r, &key)) {
			found = !strcmp(key, "schema_version");
			if (found)
				jr_uint(&r, 1, &v);
			else
				jr_skip(&r);
		}
	ok = r.err || schema_known(v); /* bad JSON on the way: the first error stands */
	jr_release(&r);
	return ok;
}

/*
 * What is wrong with a field, at its value: "sections[0].backtraces[3].frames
 * is not an array"; or the reader's error if a read failed on bad JSON.
 */
static void __attribute__((noreturn, format(printf, 4, 5)))
bad(const struct diff *d, const char *at, const char *field, const char *fmt, ...)
{
	char where[256], why[128];
	struct sbuf sb = SBUF_INIT(where);
	va_list ap;

	if (d->r.err)
		bad_json(d);
	if (!schema_ok(d))
		die_file(d->path, NOT_A_REPORT);
	for (int i = 0; i < d->nwhere; i++)
		sb_printf(&sb, "%s%s[%zu]", i ? "." : "", d->where[i].list, d->where[i].i);
	if (field)
		sb_printf(&sb, "%s%s", d->nwhere ? "." : "", field);
	va_start(ap, fmt);
	vsnprintf(why, sizeof(why), fmt, ap);
	va_end(ap);
	die_at(d, at, "%s %s", sb_str(&sb), why);
}

/* Where the next value starts, past white space (bad JSON: no return). */
static const char *value_at(struct diff *d)
{
	if (jr_peek(&d->r) == J_NONE)
		bad_json(d);
	return d->r.p;
}

/* ------------------------------------------------------------ reading */

enum ftype {
	F_UINT, /* an integer from 0 to max (or null: DT_NO_VALUE), into uint64_t */
	F_BOOL, /* true or false, into bool */
	F_NAME, /* a string or null, interned into uint32_t */
	F_CUT,  /* null or a name of textfmt.h's HT_CUTS, into uint32_t */
	F_LIST, /* an array, each item read by item() */
	F_SAMPLED, /* null, or an object whose "bytes" is read into uint64_t */
};

/*
 * One field of an object: every one listed is required (but an optional
 * one, absent from older reports) and must appear once; fields not listed
 * are passed over.  Members may come in any order;
 * rows are in the order heaptrace writes them, and the search for a name
 * starts after the last one found, so that order costs one comparison.
 */
struct field {
	const char *name;
	enum ftype type;
	bool nullable; /* F_UINT */
	bool optional; /* may be absent */
	uint64_t max;  /* F_UINT */
	size_t off;    /* where in the record */
	void (*item)(struct diff *d);
};

#define UINT(rec, m, lim) { #m, F_UINT, false, false, lim, offsetof(rec, m), NULL }
#define UINT_NULL(rec, m, lim) { #m, F_UINT, true, false, lim, offsetof(rec, m), NULL }
#define COUNT(m) { #m, F_UINT, false, false, INT64_MAX, offsetof(struct bt, c.m), NULL }
#define FIELD(rec, m, type) { #m, type, false, false, 0, offsetof(rec, m), NULL }
#define OPTIONAL(rec, m, type) { #m, type, false, true, 0, offsetof(rec, m), NULL }
#define LIST(name, fn) { name, F_LIST, false, false, 0, 0, fn }

static const struct field frame_fields[] = {
	UINT(struct dt_frame, address, UINT64_MAX),
	FIELD(struct dt_frame, function, F_NAME),
	UINT_NULL(struct dt_frame, offset, INT64_MAX),
	FIELD(struct dt_frame, inlined, F_BOOL),
	FIELD(struct dt_frame, file, F_NAME),
	UINT_NULL(struct dt_frame, line, UINT_MAX),
	FIELD(struct dt_frame, object, F_NAME),
	UINT(struct dt_frame, object_offset, UINT64_MAX),
};

static void read_frame(struct diff *d);
static void read_backtrace(struct diff *d);
static void read_section(struct diff *d);

static const struct field bt_fields[] = {
	COUNT(count), COUNT(peak_count), COUNT(bytes), COUNT(peak_bytes), COUNT(age_ns),
	FIELD(struct bt, cut, F_CUT),
	LIST("frames", read_frame),
};

static const struct field section_fields[] = {
	LIST("backtraces", read_backtrace),
};

/* schema_version first: what is wrong with a document of another schema
 * is that it is one (bad() checks) */
static const struct field report_fields[] = {
	UINT(struct report, schema_version, UINT64_MAX),
	UINT(struct report, pid, INT_MAX),
	FIELD(struct report, comm, F_NAME),
	UINT(struct report, depth, INT_MAX),
	OPTIONAL(struct report, sampled, F_SAMPLED), /* since --sample */
	LIST("sections", read_section),
};

/* "sampled": {"bytes": BYTES, "samples": {...}} */
static const struct field sampled_fields[] = {
	{ "bytes", F_UINT, false, false, UINT64_MAX, offsetof(struct report, sampled), NULL },
};

static void read_list(struct diff *d, const struct field *f, const char *at)
{
	size_t i = 0;

	if (d->nwhere == (int)ARRAY_SIZE(d->where))
		bad(d, at, f->name, "is nested deeper than a report's lists");
	if (jr_peek(&d->r) != J_ARRAY || !jr_enter(&d->r))
		bad(d, at, f->name, "is not an array");
	d->where[d->nwhere].list = f->name;
	d->nwhere++;
	while (jr_next(&d->r, NULL)) {
		d->where[d->nwhere - 1].i = i++;
		f->item(d);
	}
	if (d->r.err)
		bad_json(d);
	d->nwhere--;
}

static void read_uint(struct diff *d, const struct field *f, const char *at, uint64_t *v)
{
	if (f->nullable && jr_null(&d->r))
		*v = DT_NO_VALUE;
	else if (!jr_uint(&d->r, f->max, v))
		bad(d, at, f->name, "is not %san integer from 0 to %" PRIu64,
		    f->nullable ? "null or " : "", f->max);
}

static void read_name(struct diff *d, const struct field *f, const char *at, uint32_t *id)
{
	const char *s;
	size_t len;

	if (jr_null(&d->r)) {
		*id = 0;
		return;
	}
	s = jr_string(&d->r, &len);
	if (!s)
		bad(d, at, f->name, "is not a string or null");
	*id = dt_intern(&d->t, s, len);
}

static void read_cut(struct diff *d, const struct field *f, const char *at, uint32_t *cut)
{
	const char *s;
	enum ht_cut why;

	if (jr_null(&d->r)) {
		*cut = HT_CUT_NONE;
		return;
	}
	s = jr_string(&d->r, NULL);
	if (s && textfmt_cut_parse(s, &why))
		*cut = why;
	else
		bad(d, at, f->name, "is not null, \"depth\", \"unreadable\", \"handler\" or \"stack\"");
}

static const char *read_object(struct diff *d, const struct field *fields, size_t n, void *rec);

static void read_sampled(struct diff *d, const struct field *f, const char *at, void *rec)
{
	struct report *rep = rec;
	struct report in = { 0 };

	if (jr_null(&d->r)) {
		rep->sampled = 0;
		return;
	}
	if (jr_peek(&d->r) != J_OBJECT)
		bad(d, at, f->name, "is not null or an object");
	read_object(d, sampled_fields, ARRAY_SIZE(sampled_fields), &in);
	rep->sampled = in.sampled;
}

/* The value at at into rec. */
static void read_field(struct diff *d, const struct field *f, const char *at, void *rec)
{
	void *to = (char *)rec + f->off;

	switch (f->type) {
	case F_UINT: read_uint(d, f, at, to); break;
	case F_BOOL:
		if (!jr_bool(&d->r, to))
			bad(d, at, f->name, "is not true or false");
		break;
	case F_NAME: read_name(d, f, at, to); break;
	case F_CUT: read_cut(d, f, at, to); break;
	case F_LIST: read_list(d, f, at); break;
	case F_SAMPLED: read_sampled(d, f, at, rec); break;
	}
}

static const struct field *find_field(const struct field *fields, size_t n, size_t *next,
				      const char *key)
{
	for (size_t k = 0; k < n; k++) {
		size_t i = (*next + k) % n;

		if (!strcmp(fields[i].name, key)) {
			*next = i + 1;
			return &fields[i];
		}
	}
	return NULL;
}

/*
 * The object next into rec, every field of fields in it once; returns where
 * it starts.
 */
static const char *read_object(struct diff *d, const struct field *fields, size_t n, void *rec)
{
	const char *start = value_at(d), *key;
	uint32_t seen = 0;
	size_t next = 0;

	if (jr_peek(&d->r) != J_OBJECT || !jr_enter(&d->r))
		bad(d, start, NULL, "is not an object");
	while (jr_next(&d->r, &key)) {
		const struct field *f = find_field(fields, n, &next, key);
		const char *at = value_at(d);
		uint32_t bit;

		if (!f) {
			jr_skip(&d->r);
			continue;
		}
		bit = 1u << (f - fields);
		if (seen & bit)
			bad(d, at, f->name, "appears twice");
		seen |= bit;
		read_field(d, f, at, rec);
	}
	if (d->r.err)
		bad_json(d);
	for (size_t i = 0; i < n; i++)
		if (!(seen & 1u << i) && !fields[i].optional)
			bad(d, start, fields[i].name, "is missing");
	return start;
}

#define READ_OBJECT(d, fields, rec) read_object(d, fields, ARRAY_SIZE(fields), rec)

static void read_frame(struct diff *d)
{
	READ_OBJECT(d, frame_fields, dt_frame(&d->t));
}

static void read_backtrace(struct diff *d)
{
	size_t first = d->t.nframes;
	struct bt b = { 0 };
	const char *at = READ_OBJECT(d, bt_fields, &b), *why;

	why = dt_add(&d->t, d->side, d->section, first, &b.c, b.cut);
	if (why)
		bad(d, at, NULL, "%s", why);
}

static void read_section(struct diff *d)
{
	struct section s;

	d->section = (int)d->where[d->nwhere - 1].i;
	READ_OBJECT(d, section_fields, &s);
}

/* ------------------------------------------------------------ the files */

/* A report file's text: mapped when it is a regular file, else read whole. */
struct text {
	char *p;
	size_t len;
	bool mapped;
};

static void read_all(const char *path, int fd, struct text *t)
{
	size_t cap = 0;

	for (;;) {
		ssize_t n;

		if (cap - t->len < 65536) {
			cap = cap ? 2 * cap : 1 << 20;
			t->p = realloc(t->p, cap);
			if (!t->p)
				die_file(path, "out of memory");
		}
		n = read(fd, t->p + t->len, cap - t->len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			die_file(path, "cannot be read (%s)", strerror(errno));
		if (!n)
			return;
		t->len += (size_t)n;
	}
}

/*
 * Mapped, not read: on a virtual machine, faulting in fresh anonymous pages
 * for a copy took 0.4-0.6 s of a 100 MB file, the mapping 0.04 s.
 */
static void load(const char *path, struct text *t)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	struct stat st;

	*t = (struct text){ 0 };
	if (fd < 0)
		die_file(path, "cannot be read");
	if (fstat(fd, &st))
		die_file(path, "cannot be read (%s)", strerror(errno));
	if (S_ISREG(st.st_mode) && st.st_size > 0 && (uint64_t)st.st_size <= SIZE_MAX) {
		t->p = mmap(NULL, (size_t)st.st_size, PROT_READ, MAP_PRIVATE, fd, 0);
		t->mapped = t->p != MAP_FAILED;
	}
	if (t->mapped) {
		t->len = (size_t)st.st_size;
	} else {
		t->p = NULL;
		read_all(path, fd, t);
	}
	close(fd);
}

static void unload(struct text *t)
{
	if (t->mapped)
		munmap(t->p, t->len);
	else
		free(t->p);
}

static bool space(char c)
{
	return c == ' ' || c == '\t' || c == '\r' || c == '\n';
}

/* Past the string whose first byte after the quote is at p: past its closing quote. */
static const char *string_end(const char *p, const char *end)
{
	for (const char *q; (q = memchr(p, '"', (size_t)(end - p))); p = q + 1) {
		const char *b = q;

		while (b > p && b[-1] == '\\')
			b--;
		if ((q - b) % 2 == 0) /* not escaped: an even run of backslashes */
			return q + 1;
	}
	return end;
}

/* The bytes that open or close a string, object or array. */
static const bool structural[256] = { ['"'] = 1, ['{'] = 1, ['}'] = 1, ['['] = 1, [']'] = 1 };

/*
 * Where the last JSON value of t starts: the file's last report, whether
 * the reports are one per line (JSON Lines, as heaptrace writes them) or
 * reformatted over many lines (jq . of such a file writes them back to
 * back).  Brackets are counted outside strings, nothing else is checked:
 * the reader checks the value found, from there to the file's end.  A
 * stray closing bracket starts nothing, so the reader finds it after the
 * document; an earlier report cut short merges with what follows and is
 * found where the reader stops making sense of it.  A table of the bytes
 * that matter outside strings, memchr() inside them: 0.05 s of CPU per
 * 100 MB, where a plain byte loop took 0.06-0.1 s.
 */
static const char *last_document(const char *path, const struct text *t, size_t *len)
{
	const char *p = t->p, *end = p + t->len, *last = NULL;
	bool scalar = false; /* inside a value at the top that is not a string or container */
	size_t depth = 0;

	while (p < end) {
		char c;

		if (depth)
			while (p < end && !structural[(unsigned char)*p])
				p++;
		if (p == end)
			break;
		c = *p++;
		if (c == '"') {
			if (!depth)
				last = p - 1;
			p = string_end(p, end);
		} else if (c == '{' || c == '[') {
			if (!depth++)
				last = p - 1;
		} else if (c == '}' || c == ']') {
			depth -= depth > 0;
		} else if (!space(c)) {
			if (!depth && !scalar)
				last = p - 1;
			scalar = !depth;
			continue;
		}
		scalar = false;
	}
	if (!last)
		die_file(path, "holds no report");
	*len = (size_t)(end - last);
	return last;
}

static void parse(struct diff *d, const char *path, enum dt_side side, const struct text *t)
{
	d->path = path;
	d->file = t->p;
	d->side = side;
	d->doc = last_document(path, t, &d->doc_len);
	d->rep = (struct report){ 0 };
	jr_init(&d->r, d->doc, d->doc_len);
	if (jr_peek(&d->r) != J_OBJECT) {
		if (d->r.err)
			bad_json(d);
		die_file(path, NOT_A_REPORT);
	}
	READ_OBJECT(d, report_fields, &d->rep);
	if (!schema_known(d->rep.schema_version))
		die_file(path, NOT_A_REPORT);
	if (!jr_finish(&d->r))
		bad_json(d);
	jr_release(&d->r);
	if (side == DT_NEW)
		d->head = d->rep;
	if (d->rep.sampled)
		d->estimated = true;
}

/* A mapped file that shrinks under us raises SIGBUS past its new end. */
static sigjmp_buf shrunk;

static void on_sigbus(int sig)
{
	siglongjmp(shrunk, 1);
}

static void read_report(struct diff *d, const char *path, enum dt_side side, struct text *t)
{
	struct sigaction sa = { .sa_handler = on_sigbus }, old_sa;

	sigemptyset(&sa.sa_mask);
	sigaction(SIGBUS, &sa, &old_sa);
	if (sigsetjmp(shrunk, 1))
		die_file(path, "was cut short while being read");
	parse(d, path, side, t);
	sigaction(SIGBUS, &old_sa, NULL);
}

/* ------------------------------------------------------------ the diff */

/*
 * What --diff sorts by, a section each (--sort=size,count): the key of
 * --sort that selects it, its header's name, the growth that lists a
 * backtrace and orders the list, and the one that breaks ties.
 */
static const struct diff_key {
	enum ht_sort key;
	const char *name;
	int64_t (*growth)(const struct dt_entry *e);
	int64_t (*then)(const struct dt_entry *e);
} diff_keys[] = {
	{ HT_SORT_SIZE, "growth", dt_growth_bytes, dt_growth_count },
	{ HT_SORT_COUNT, "growth-count", dt_growth_count, dt_growth_bytes },
};

static const struct diff_key *find_key(enum ht_sort key)
{
	for (size_t i = 0; i < ARRAY_SIZE(diff_keys); i++)
		if (diff_keys[i].key == key)
			return &diff_keys[i];
	return NULL;
}

const char *diff_check_sort(const enum ht_sort *keys, int n)
{
	for (int i = 0; i < n; i++)
		if (!find_key(keys[i]))
			return "names a key --diff does not sort by (size: growth of live "
			       "bytes; count: growth of live blocks)";
	return NULL;
}

struct order {
	const struct difftab *t;
	const struct diff_key *k;
};

static int by_growth(const void *pa, const void *pb, void *arg)
{
	const struct dt_entry *a = *(struct dt_entry *const *)pa;
	const struct dt_entry *b = *(struct dt_entry *const *)pb;
	const struct order *o = arg;
	int64_t ga = o->k->growth(a), gb = o->k->growth(b);

	if (ga != gb)
		return ga > gb ? -1 : 1;
	ga = o->k->then(a);
	gb = o->k->then(b);
	if (ga != gb)
		return ga > gb ? -1 : 1;
	return dt_cmp_frames(o->t, a, b);
}

static void put_frame(const struct difftab *t, int num, const struct dt_frame *f,
		      struct sbuf *sb)
{
	struct frame_line line = {
		.addr = (uintptr_t)f->address,
		.func = dt_name(t, f->function),
		.file = dt_name(t, f->file),
		.obj = dt_name(t, f->object),
		.inlined = f->inlined,
		.has_off = f->offset != DT_NO_VALUE,
		.off = f->offset,
		.obj_off = f->object_offset,
		.line = f->line == DT_NO_VALUE ? 0 : (unsigned)f->line,
	};

	sb->len = 0;
	textfmt_frame(sb, num, &line);
	fputs(sb_str(sb), stdout);
}

static void put_backtrace(const struct diff *d, size_t rank, const struct dt_entry *e,
			  struct sbuf *sb)
{
	const struct dt_counts *c = &e->c[DT_NEW];
	struct bt_line head = {
		.rank = rank,
		.count = c->count,
		.peak_count = c->peak_count,
		.bytes = c->bytes,
		.peak_bytes = c->peak_bytes,
		.age_ns = c->age_ns,
		.growth = true,
		.growth_bytes = dt_growth_bytes(e),
		.growth_count = dt_growth_count(e),
		.estimated = d->estimated,
	};

	sb->len = 0;
	textfmt_backtrace(sb, &head);
	fputs(sb_str(sb), stdout);
	for (size_t i = 0; i < e->n; i++)
		put_frame(&d->t, (int)i, &d->t.frames[e->first + i], sb);
	sb->len = 0;
	textfmt_cut(sb, (enum ht_cut)e->cut, (int)d->head.depth);
	sb_putc(sb, '\n');
	fputs(sb_str(sb), stdout);
}

/* Over every backtrace compared. */
struct totals {
	int64_t bytes, count; /* the whole heap's growth */
	size_t more_bytes, more_blocks; /* backtraces whose live bytes, blocks grew */
};

static void add_totals(const struct diff *d, struct totals *sum)
{
	*sum = (struct totals){ 0 };
	for (size_t i = 0; i < d->t.n; i++) {
		const struct dt_entry *e = &d->t.e[i];

		if (__builtin_add_overflow(sum->bytes, dt_growth_bytes(e), &sum->bytes) ||
		    __builtin_add_overflow(sum->count, dt_growth_count(e), &sum->count))
			die_file(d->path, "the heap's growth does not fit in 64 bits");
		sum->more_bytes += dt_growth_bytes(e) > 0;
		sum->more_blocks += dt_growth_count(e) > 0;
	}
}

/* One section: the backtraces that grew by k, most first, top of them. */
static void put_section(const struct diff *d, const struct diff_key *k, unsigned long top,
			struct dt_entry **grew, struct sbuf *sb)
{
	struct order o = { &d->t, k };
	size_t n = 0;

	for (size_t i = 0; i < d->t.n; i++)
		if (k->growth(&d->t.e[i]) > 0)
			grew[n++] = &d->t.e[i];
	qsort_r(grew, n, sizeof(*grew), by_growth, &o);
	printf("[heaptrace] dump allocation sorted by '%s' for /proc/%" PRIu64 "/maps (%s)\n",
	       k->name, d->head.pid, dt_name(&d->t, d->head.comm));
	for (size_t i = 0; i < n && (!top || i < top); i++)
		put_backtrace(d, i + 1, grew[i], sb);
}

/*
 * Only backtraces NEW lists can grow (one that OLD alone lists went to 0),
 * so each one printed has NEW's frames.
 */
static void put_diff(const struct diff *d, const char *old_path, const char *new_path,
		     const struct diff_opts *o, const struct totals *sum)
{
	struct dt_entry **grew = calloc(d->t.n ? d->t.n : 1, sizeof(*grew));
	/* a frame line: its three names and at most 256 bytes of the rest */
	size_t cap = 3 * d->t.longest + 256;
	struct sbuf sb = { malloc(cap), 0, cap };
	char buf[128];
	struct sbuf growth = SBUF_INIT(buf);

	if (!grew || !sb.buf)
		die_file(new_path, "out of memory");
	printf("=================================================================\n");
	for (int i = 0; i < o->nkeys; i++)
		put_section(d, find_key(o->keys[i]), o->top, grew, &sb);
	printf("[heaptrace] %-29s: %s -> %s\n", "diff", old_path, new_path);
	printf("[heaptrace] %-29s: %zu\n", "backtraces that grew", sum->more_bytes);
	printf("[heaptrace] %-29s: %zu\n", "backtraces with more blocks", sum->more_blocks);
	ht_fmt_growth(&growth, sum->bytes, sum->count, d->estimated);
	printf("[heaptrace] %-29s: %s (all backtraces compared)\n",
	       "growth of live heap", sb_str(&growth));
	printf("=================================================================\n");
	free(sb.buf);
	free(grew);
}

int diff_main(const char *old_path, const char *new_path, const struct diff_opts *o)
{
	struct diff d = { 0 };
	struct text text;
	struct totals sum;

	dt_init(&d.t);
	/* OLD first, so that only NEW's text is held beside both tables */
	load(old_path, &text);
	read_report(&d, old_path, DT_OLD, &text);
	unload(&text);
	load(new_path, &text);
	read_report(&d, new_path, DT_NEW, &text);
	unload(&text);
	add_totals(&d, &sum);
	put_diff(&d, old_path, new_path, o, &sum);
	dt_free(&d.t);
	if (fflush(stdout) || ferror(stdout))
		die_file("stdout", "cannot be written (%s)", strerror(errno));
	/* --check: the gate fails on any growth, whichever sections are shown */
	return o->check && (sum.more_bytes || sum.more_blocks) ? HT_CHECK_STATUS : 0;
}
