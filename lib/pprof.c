// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * pprof.c - the report as a pprof profile (--format=pprof): google/pprof's
 * profile.proto, gzipped (gzip.c), which pprof, speedscope, Pyroscope and
 * Parca read.  One sample per backtrace since start (report.c takes the
 * snapshot with every backtrace), valued alloc_objects, alloc_space,
 * inuse_objects, inuse_space and, when the leak scan ran, leaked_objects,
 * leaked_space; one location per distinct address, its inlined calls as
 * lines (innermost first, the function that holds the code last), in the
 * mapping of its object (file, offsets, build-id) so that pprof can look
 * the addresses up again.  The whole message is built in tracer memory,
 * then compressed.  Report path only, under the report lock.
 */
#define _GNU_SOURCE
#include <elf.h>
#include <link.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "config.h"
#include "gzip.h"
#include "sample.h"
#include "symbols.h"
#include "tmem.h"
#include "writer.h"

/* ------------------------------------------------------------ encoding */

enum { WIRE_VARINT = 0, WIRE_BYTES = 2 };

static void pb_varint(struct tbuf *p, uint64_t v)
{
	unsigned char b[10];
	size_t n = 0;

	do {
		b[n++] = (unsigned char)((v & 0x7f) | (v > 0x7f ? 0x80 : 0));
		v >>= 7;
	} while (v);
	tbuf_put(p, b, n);
}

/* A varint field; proto3 leaves zeros out. */
static void pb_uint(struct tbuf *p, unsigned field, uint64_t v)
{
	if (!v)
		return;
	pb_varint(p, (uint64_t)field << 3 | WIRE_VARINT);
	pb_varint(p, v);
}

static void pb_bytes(struct tbuf *p, unsigned field, const void *d, size_t n)
{
	pb_varint(p, (uint64_t)field << 3 | WIRE_BYTES);
	pb_varint(p, n);
	tbuf_put(p, d, n);
}

/* Message m as field of p; m is emptied for the next one. */
static void pb_msg(struct tbuf *p, unsigned field, struct tbuf *m)
{
	p->nomem |= m->nomem;
	pb_bytes(p, field, m->b, m->len);
	m->len = 0;
}

/* ------------------------------------------------------------ tables */

/* key -> id (from 1), open addressing; 0: absent. */
struct idmap {
	uint64_t *keys;
	uint32_t *ids;
	size_t cap, n;
};

static uint32_t *idmap_slot(struct idmap *m, uint64_t key)
{
	size_t i = hash_slot(key, m->cap - 1);

	while (m->ids[i] && m->keys[i] != key)
		i = (i + 1) & (m->cap - 1);
	m->keys[i] = key;
	return &m->ids[i];
}

static bool idmap_grow(struct idmap *m)
{
	struct idmap g = { .cap = m->cap ? m->cap * 2 : 1024 };

	g.keys = tmem_alloc_scratch(g.cap * sizeof(*g.keys));
	g.ids = tmem_alloc_scratch(g.cap * sizeof(*g.ids));
	if (!g.keys || !g.ids) {
		tmem_free(g.keys, g.cap * sizeof(*g.keys));
		tmem_free(g.ids, g.cap * sizeof(*g.ids));
		return false;
	}
	for (size_t i = 0; i < m->cap; i++)
		if (m->ids[i])
			*idmap_slot(&g, m->keys[i]) = m->ids[i];
	g.n = m->n;
	tmem_free(m->keys, m->cap * sizeof(*m->keys));
	tmem_free(m->ids, m->cap * sizeof(*m->ids));
	*m = g;
	return true;
}

/* key's id slot (0 when new: the caller sets it), NULL without memory. */
static uint32_t *idmap_at(struct idmap *m, uint64_t key)
{
	uint32_t *id;

	if ((m->n + 1) * 2 > m->cap && !idmap_grow(m))
		return NULL;
	id = idmap_slot(m, key);
	if (!*id)
		m->n++;
	return id;
}

static void idmap_free(struct idmap *m)
{
	tmem_free(m->keys, m->cap * sizeof(*m->keys));
	tmem_free(m->ids, m->cap * sizeof(*m->ids));
}

/* One object's executable segment: a Mapping. */
struct pmap {
	uintptr_t start, limit, offset;
	uint64_t file, build_id; /* string indexes */
	bool funcs, lines, inlines;
};

/* Everything one profile is built from. */
struct prof {
	struct tbuf strings; /* string_table, as its field records already */
	struct idmap strs; /* a string's hash -> index + 1 */
	struct str_at {
		uint32_t off, len; /* the string's bytes in strings */
	} *str_at;         /* by index */
	size_t str_cap, nstr;
	struct idmap locs, funcs;
	struct tbuf samples, locations, functions;
	/* one message being built at each level: none is inside another of its own */
	struct tbuf top, sample, ids, loc, line, fn;
	struct pmap maps[1024]; /* executable segments; past them, addresses unmapped */
	size_t nmaps;
	uint64_t truncated; /* the location id of "[truncated]", 0: none yet */
	bool nomem;         /* a table could not grow */
};

static uint64_t hash_str(const char *s, size_t n)
{
	uint64_t h = 0xcbf29ce484222325ULL;

	for (size_t i = 0; i < n; i++)
		h = (h ^ (unsigned char)s[i]) * 0x100000001b3ULL;
	return h;
}

/* The string table's index of s; 0 ("") without memory. */
static uint64_t str_index(struct prof *p, const char *s)
{
	size_t n = strlen(s);
	uint64_t h = hash_str(s, n);
	uint32_t *id;

	for (;; h++) { /* a hash taken already by another string: the next */
		id = idmap_at(&p->strs, h);
		if (!id)
			goto nomem;
		if (!*id)
			break;
		if (p->str_at[*id - 1].len == n &&
		    !memcmp(p->strings.b + p->str_at[*id - 1].off, s, n))
			return *id - 1;
	}
	if (!tmem_grow((void **)&p->str_at, &p->str_cap, p->nstr, sizeof(*p->str_at), 1024)) {
		p->strs.n--; /* the slot stays empty */
		goto nomem;
	}
	pb_varint(&p->strings, 6 << 3 | WIRE_BYTES);
	pb_varint(&p->strings, n);
	p->str_at[p->nstr] = (struct str_at){ (uint32_t)p->strings.len, (uint32_t)n };
	tbuf_put(&p->strings, s, n);
	*id = (uint32_t)++p->nstr;
	return p->nstr - 1;
nomem:
	p->nomem = true;
	return 0;
}

/* ------------------------------------------------------------ mappings */

static void hex_build_id(const ElfW(Nhdr) *nh, char *out, size_t cap)
{
	const unsigned char *d = (const unsigned char *)(nh + 1) + ((nh->n_namesz + 3) & ~3u);
	size_t k = 0;

	for (uint32_t i = 0; i < nh->n_descsz && k + 3 <= cap; i++, k += 2) {
		out[k] = "0123456789abcdef"[d[i] >> 4];
		out[k + 1] = "0123456789abcdef"[d[i] & 15];
	}
	out[k] = '\0';
}

/* The object's NT_GNU_BUILD_ID as hex, or "". */
static void build_id_of(const struct dl_phdr_info *info, char *out, size_t cap)
{
	out[0] = '\0';
	for (int i = 0; i < info->dlpi_phnum; i++) {
		const ElfW(Phdr) *ph = &info->dlpi_phdr[i];
		const char *at = (const char *)(info->dlpi_addr + ph->p_vaddr);
		const char *end = at + ph->p_memsz;

		if (ph->p_type != PT_NOTE)
			continue;
		while (at + sizeof(ElfW(Nhdr)) <= end) {
			const ElfW(Nhdr) *nh = (const ElfW(Nhdr) *)at;
			size_t size = sizeof(*nh) + ((nh->n_namesz + 3) & ~3u) +
				      ((nh->n_descsz + 3) & ~3u);

			if (nh->n_type == NT_GNU_BUILD_ID && nh->n_namesz == 4 &&
			    !memcmp(nh + 1, "GNU", 4)) {
				hex_build_id(nh, out, cap);
				return;
			}
			at += size;
		}
	}
}

static int add_object(struct dl_phdr_info *info, size_t size, void *arg)
{
	struct prof *p = arg;
	uintptr_t page = (uintptr_t)sysconf(_SC_PAGESIZE);
	char exe[SYM_PATH_MAX], id[2 * 64 + 1];
	const char *name = info->dlpi_name;

	if (!name[0]) { /* the executable */
		ssize_t n = readlink("/proc/self/exe", exe, sizeof(exe) - 1);

		exe[n > 0 ? n : 0] = '\0';
		name = exe;
	}
	build_id_of(info, id, sizeof(id));
	for (int i = 0; i < info->dlpi_phnum && p->nmaps < ARRAY_SIZE(p->maps); i++) {
		const ElfW(Phdr) *ph = &info->dlpi_phdr[i];
		uintptr_t start = info->dlpi_addr + ph->p_vaddr;
		struct pmap *m;

		if (ph->p_type != PT_LOAD || !(ph->p_flags & PF_X))
			continue;
		/* as /proc/PID/maps shows it: whole pages, the offset of the first */
		m = &p->maps[p->nmaps++];
		*m = (struct pmap){
			.start = start & ~(page - 1),
			.limit = (start + ph->p_memsz + page - 1) & ~(page - 1),
			.offset = ph->p_offset & ~(page - 1),
			.file = str_index(p, name),
			.build_id = str_index(p, id),
		};
	}
	return 0;
}

static int by_start(const void *a, const void *b)
{
	const struct pmap *x = a, *y = b;

	return x->start < y->start ? -1 : x->start > y->start;
}

/* The mapping that holds addr, or NULL. */
static struct pmap *map_of(struct prof *p, uintptr_t addr)
{
	size_t lo = 0, hi = p->nmaps;

	while (lo < hi) {
		size_t mid = (lo + hi) / 2;

		if (addr < p->maps[mid].start)
			hi = mid;
		else if (addr >= p->maps[mid].limit)
			lo = mid + 1;
		else
			return &p->maps[mid];
	}
	return NULL;
}

static void put_mappings(struct prof *p, struct tbuf *out)
{
	for (size_t i = 0; i < p->nmaps; i++) {
		const struct pmap *m = &p->maps[i];

		pb_uint(&p->top, 1, i + 1);
		pb_uint(&p->top, 2, m->start);
		pb_uint(&p->top, 3, m->limit);
		pb_uint(&p->top, 4, m->offset);
		pb_uint(&p->top, 5, m->file);
		pb_uint(&p->top, 6, m->build_id);
		pb_uint(&p->top, 7, m->funcs);
		pb_uint(&p->top, 8, m->lines);
		pb_uint(&p->top, 9, m->lines);
		pb_uint(&p->top, 10, m->inlines);
		pb_msg(out, 3, &p->top);
	}
}

/* ------------------------------------------------------------ locations */

static uint64_t function_id(struct prof *p, const struct sym_frame *f)
{
	uint64_t name = str_index(p, f->func), file = str_index(p, f->file);
	uint32_t *id = idmap_at(&p->funcs, name << 32 | file);

	if (!id) {
		p->nomem = true;
		return 0;
	}
	if (!*id) {
		*id = (uint32_t)p->funcs.n;
		pb_uint(&p->fn, 1, *id);
		pb_uint(&p->fn, 2, name);
		pb_uint(&p->fn, 3, name);
		pb_uint(&p->fn, 4, file);
		pb_msg(&p->functions, 5, &p->fn);
	}
	return *id;
}

/* Lines: the calls inlined at sym's address, innermost first. */
static void put_lines(struct prof *p, const struct sym *sym, struct pmap *m)
{
	for (int k = 0; k < sym->n; k++) {
		const struct sym_frame *f = &sym->f[k];

		if (!f->func[0])
			continue; /* pprof may find it in the mapping's file */
		pb_uint(&p->line, 1, function_id(p, f));
		pb_uint(&p->line, 2, f->line);
		pb_msg(&p->loc, 4, &p->line);
		if (m) {
			m->funcs = true;
			m->lines |= f->line != 0;
			m->inlines |= f->inlined;
		}
	}
}

/*
 * The location of a frame, written the first time its address comes:
 * a return address (ret) is looked up, and given, one byte back, inside
 * its call instruction, as profile.proto allows for non-leaf frames.
 */
static uint64_t location_id(struct prof *p, void *frame, bool ret)
{
	uintptr_t addr = (uintptr_t)frame - ret;
	uint32_t *id = idmap_at(&p->locs, addr);
	struct pmap *m;

	if (!id) {
		p->nomem = true;
		return 0;
	}
	if (*id)
		return *id;
	*id = (uint32_t)p->locs.n;
	m = map_of(p, addr);
	pb_uint(&p->loc, 1, *id);
	pb_uint(&p->loc, 2, m ? (uint64_t)(m - p->maps) + 1 : 0);
	pb_uint(&p->loc, 3, addr);
	put_lines(p, sym_resolve(frame, ret), m);
	pb_msg(&p->locations, 4, &p->loc);
	return *id;
}

/* A backtrace cut at --depth ends in a frame that says so, as in folded stacks. */
static uint64_t truncated_id(struct prof *p)
{
	static const struct sym_frame f = { .func = "[truncated]", .file = "" };

	if (p->truncated)
		return p->truncated;
	p->truncated = ++p->locs.n; /* no address: not in the map */
	pb_uint(&p->loc, 1, p->truncated);
	pb_uint(&p->line, 1, function_id(p, &f));
	pb_msg(&p->loc, 4, &p->line);
	pb_msg(&p->locations, 4, &p->loc);
	return p->truncated;
}

/* ------------------------------------------------------------ samples */

enum { V_ALLOC_N, V_ALLOC_B, V_INUSE_N, V_INUSE_B, V_LEAK_N, V_LEAK_B, NVALUES };

static const char *const value_type[NVALUES][2] = {
	[V_ALLOC_N] = { "alloc_objects", "count" }, [V_ALLOC_B] = { "alloc_space", "bytes" },
	[V_INUSE_N] = { "inuse_objects", "count" }, [V_INUSE_B] = { "inuse_space", "bytes" },
	[V_LEAK_N] = { "leaked_objects", "count" }, [V_LEAK_B] = { "leaked_space", "bytes" },
};

/* leaked_*: direct and indirect together, all that no root reaches. */
static void put_sample(struct prof *p, const struct item *it, int nvalues)
{
	const struct bt *b = bt_get(it->id);
	uint64_t v[NVALUES] = {
		[V_ALLOC_N] = it->total_count, [V_ALLOC_B] = it->total_bytes,
		[V_INUSE_N] = it->live_count,  [V_INUSE_B] = it->live_bytes,
		[V_LEAK_N] = it->leaked_count + it->indirect_count,
		[V_LEAK_B] = it->leaked_bytes + it->indirect_bytes,
	};

	for (int f = 0; f < b->depth; f++)
		pb_varint(&p->ids, location_id(p, b->frames[f], f > 0));
	if (b->truncated)
		pb_varint(&p->ids, truncated_id(p));
	pb_msg(&p->sample, 1, &p->ids);
	for (int k = 0; k < nvalues; k++)
		pb_varint(&p->ids, v[k]);
	pb_msg(&p->sample, 2, &p->ids);
	pb_msg(&p->samples, 2, &p->sample);
}

static void put_value_type(struct prof *p, struct tbuf *out, unsigned field, const char *type,
			   const char *unit)
{
	pb_uint(&p->top, 1, str_index(p, type));
	pb_uint(&p->top, 2, str_index(p, unit));
	pb_msg(out, field, &p->top);
}

/* What the profile is of, as pprof shows it (-comments). */
static void put_comments(struct prof *p, struct tbuf *out, const struct report *r)
{
	char buf[256];
	struct sbuf sb = SBUF_INIT(buf);

	sb_printf(&sb, "heaptrace %s: pid %d (%s), %s report, %d frames a backtrace", HT_VERSION,
		  (int)getpid(), r->comm, report_when_name(r->when), ht_cfg.depth);
	pb_uint(out, 13, str_index(p, sb_str(&sb)));
	if (!ht_sample_rate)
		return;
	sb.len = 0;
	sb_printf(&sb,
		  "sampled: one allocation per %llu bytes recorded (%llu), the values estimates",
		  (unsigned long long)ht_sample_rate, (unsigned long long)r->s->samples_total);
	pb_uint(out, 13, str_index(p, sb_str(&sb)));
}

static void prof_free(struct prof *p)
{
	tbuf_free(&p->strings);
	tbuf_free(&p->samples);
	tbuf_free(&p->locations);
	tbuf_free(&p->functions);
	tbuf_free(&p->top);
	tbuf_free(&p->sample);
	tbuf_free(&p->ids);
	tbuf_free(&p->loc);
	tbuf_free(&p->line);
	tbuf_free(&p->fn);
	idmap_free(&p->strs);
	idmap_free(&p->locs);
	idmap_free(&p->funcs);
	tmem_free(p->str_at, p->str_cap * sizeof(*p->str_at));
}

/* The whole message, in field order; false without memory. */
static bool build(struct prof *p, struct tbuf *msg, const struct report *r)
{
	const struct snapshot *s = r->s;
	int nvalues = s->leaks ? NVALUES : V_LEAK_N;
	struct timespec now;

	str_index(p, ""); /* index 0, as profile.proto requires */
	dl_iterate_phdr(add_object, p);
	qsort(p->maps, p->nmaps, sizeof(p->maps[0]), by_start);
	for (int k = 0; k < nvalues; k++)
		put_value_type(p, msg, 1, value_type[k][0], value_type[k][1]);
	for (size_t i = 0; i < s->n; i++)
		put_sample(p, &s->items[i], nvalues);
	tbuf_put(msg, p->samples.b, p->samples.len);
	put_mappings(p, msg);
	tbuf_put(msg, p->locations.b, p->locations.len);
	tbuf_put(msg, p->functions.b, p->functions.len);
	clock_gettime(CLOCK_REALTIME, &now);
	pb_uint(msg, 9, (uint64_t)now.tv_sec * 1000000000ULL + (uint64_t)now.tv_nsec);
	pb_uint(msg, 10, r->time_ns);
	put_value_type(p, msg, 11, "space", "bytes");
	pb_uint(msg, 12, ht_sample_rate);
	put_comments(p, msg, r);
	pb_uint(msg, 14, str_index(p, "inuse_space"));
	/* last: every string is in by now */
	tbuf_put(msg, p->strings.b, p->strings.len);
	return !(p->nomem || msg->nomem || p->strings.nomem || p->samples.nomem ||
		 p->locations.nomem || p->functions.nomem || p->top.nomem || p->sample.nomem ||
		 p->ids.nomem || p->loc.nomem || p->line.nomem || p->fn.nomem);
}

void pprof_write(struct out *o, struct report *r)
{
	struct prof *p = tmem_alloc_scratch(sizeof(*p));
	struct tbuf msg = { 0 };

	if (!p) {
		ht_warn("no memory for the pprof profile");
		return;
	}
	gz_begin();
	if (build(p, &msg, r))
		gz_write(o, msg.b, msg.len, true);
	else
		ht_warn("no memory for the pprof profile");
	tbuf_free(&msg);
	prof_free(p);
	tmem_free(p, sizeof(*p));
}
