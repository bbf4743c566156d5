// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * difftab.c - heaptrace --diff's table of backtraces and names (see
 * difftab.h): records in growing arrays, found through hash indexes, so
 * that each backtrace read costs the same however many came before.
 * Launcher only: plain stdio and malloc.
 */
#define _GNU_SOURCE
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "difftab.h"
#include "usage.h"
#include "utils.h"

#define NO_RECORD UINT32_MAX

static void __attribute__((noreturn)) give_up(const char *why)
{
	die("--diff: %s", why);
}

/* p, with room for need items of size bytes; its capacity doubles. */
static void *grow(void *p, size_t *cap, size_t need, size_t size)
{
	size_t n = *cap ? *cap : 64;

	while (n < need)
		n *= 2;
	if (n == *cap)
		return p;
	p = reallocarray(p, n, size);
	if (!p)
		give_up("out of memory");
	*cap = n;
	return p;
}

/* ------------------------------------------------------------ the index */

/* One step of the hash of names and of backtraces (FxHash's). */
static uint64_t mix(uint64_t h, uint64_t v)
{
	return ((h << 5 | h >> 59) ^ v) * GOLDEN_RATIO_64;
}

/* The upper half: the multiplications carry every input bit up there. */
static uint32_t fold(uint64_t h)
{
	return (uint32_t)(h >> 32);
}

typedef bool same_fn(const struct difftab *t, uint32_t rec, const void *key);

static uint32_t index_find(const struct difftab *t, const struct dt_index *ix, uint32_t h,
			   same_fn *same, const void *key)
{
	if (!ix->slot)
		return NO_RECORD;
	for (size_t i = h & ix->mask; ix->slot[i]; i = (i + 1) & ix->mask) {
		uint64_t s = ix->slot[i];

		if ((uint32_t)(s >> 32) == h && same(t, (uint32_t)s - 1, key))
			return (uint32_t)s - 1;
	}
	return NO_RECORD;
}

static void index_put(struct dt_index *ix, uint64_t s)
{
	size_t i = (size_t)(s >> 32) & ix->mask;

	while (ix->slot[i])
		i = (i + 1) & ix->mask;
	ix->slot[i] = s;
}

/* Add record rec under h; the caller has found it absent. */
static void index_add(struct dt_index *ix, uint32_t h, uint32_t rec)
{
	if (!ix->slot || 2 * (ix->used + 1) > ix->mask + 1) {
		struct dt_index old = *ix;
		size_t size = old.slot ? 2 * (old.mask + 1) : 1024;

		ix->slot = calloc(size, sizeof(*ix->slot));
		if (!ix->slot)
			give_up("out of memory");
		ix->mask = size - 1;
		for (size_t i = 0; old.slot && i <= old.mask; i++)
			if (old.slot[i])
				index_put(ix, old.slot[i]);
		free(old.slot);
	}
	index_put(ix, (uint64_t)h << 32 | (rec + 1));
	ix->used++;
}

/* ------------------------------------------------------------ names */

struct name_key {
	const char *s;
	size_t len;
};

static uint32_t hash_name(const char *s, size_t len)
{
	uint64_t h = len, w;

	for (; len >= 8; s += 8, len -= 8) {
		memcpy(&w, s, 8);
		h = mix(h, w);
	}
	w = 0;
	memcpy(&w, s, len);
	return fold(mix(h, w));
}

static bool same_name(const struct difftab *t, uint32_t rec, const void *key)
{
	const struct name_key *k = key;

	return !memcmp(t->names + rec, k->s, k->len) && !t->names[rec + k->len];
}

uint32_t dt_intern(struct difftab *t, const char *s, size_t len)
{
	struct name_key key = { s, len };
	uint32_t h, id;

	if (!len)
		return 0;
	h = hash_name(s, len);
	id = index_find(t, &t->names_ix, h, same_name, &key);
	if (id != NO_RECORD)
		return id;
	if (len >= NO_RECORD - t->names_len)
		give_up("more than 4 GB of distinct names");
	t->names = grow(t->names, &t->names_cap, t->names_len + len + 1, 1);
	memcpy(t->names + t->names_len, s, len);
	t->names[t->names_len + len] = '\0';
	id = (uint32_t)t->names_len;
	t->names_len += len + 1;
	if (len > t->longest)
		t->longest = len;
	index_add(&t->names_ix, h, id);
	return id;
}

/* ------------------------------------------------------------ backtraces */

void dt_init(struct difftab *t)
{
	*t = (struct difftab){ 0 };
	t->names = grow(NULL, &t->names_cap, 1, 1);
	t->names[0] = '\0';
	t->names_len = 1;
}

void dt_free(struct difftab *t)
{
	free(t->names);
	free(t->names_ix.slot);
	free(t->frames);
	free(t->e);
	free(t->ix.slot);
	*t = (struct difftab){ 0 };
}

struct dt_frame *dt_frame(struct difftab *t)
{
	struct dt_frame *f;

	t->frames = grow(t->frames, &t->frames_cap, t->nframes + 1, sizeof(*t->frames));
	f = &t->frames[t->nframes++];
	*f = (struct dt_frame){ 0 };
	return f;
}

struct frames_key {
	size_t first, n;
};

static const struct dt_frame *skip_inlined(const struct dt_frame *f, const struct dt_frame *end)
{
	while (f < end && f->inlined)
		f++;
	return f;
}

/* What matches a frame across runs: its object and offset, else its function. */
static uint64_t frame_key(const struct dt_frame *f)
{
	return f->object ? f->object_offset : f->function;
}

static uint32_t hash_frames(const struct difftab *t, const struct frames_key *k)
{
	const struct dt_frame *f = t->frames + k->first, *end = f + k->n;
	uint64_t h = 0;

	for (f = skip_inlined(f, end); f < end; f = skip_inlined(f + 1, end))
		h = mix(mix(h, f->object), frame_key(f));
	return fold(h);
}

static bool same_frames(const struct difftab *t, uint32_t rec, const void *key)
{
	const struct frames_key *k = key;
	const struct dt_frame *a = t->frames + t->e[rec].first, *aend = a + t->e[rec].n;
	const struct dt_frame *b = t->frames + k->first, *bend = b + k->n;

	for (;; a++, b++) {
		a = skip_inlined(a, aend);
		b = skip_inlined(b, bend);
		if (a == aend || b == bend)
			return a == aend && b == bend;
		if (a->object != b->object || frame_key(a) != frame_key(b))
			return false;
	}
}

static bool add_up(uint64_t *to, uint64_t v)
{
	if (*to > INT64_MAX - v)
		return false;
	*to += v;
	return true;
}

/* Counts and peaks add up (the peaks to a bound); the age is the oldest. */
static const char *add_counts(struct dt_counts *to, const struct dt_counts *c)
{
	if (!add_up(&to->count, c->count) || !add_up(&to->peak_count, c->peak_count) ||
	    !add_up(&to->bytes, c->bytes) || !add_up(&to->peak_bytes, c->peak_bytes))
		return "adds up past 2^63-1 with a backtrace of the same frames";
	if (c->age_ns > to->age_ns)
		to->age_ns = c->age_ns;
	return NULL;
}

static struct dt_entry *new_entry(struct difftab *t, uint32_t h, const struct frames_key *k)
{
	struct dt_entry *e;

	if (t->n == NO_RECORD)
		give_up("more than 2^32 backtraces");
	t->e = grow(t->e, &t->cap, t->n + 1, sizeof(*t->e));
	e = &t->e[t->n];
	*e = (struct dt_entry){ .first = k->first, .n = k->n, .sect = { -1, -1 } };
	index_add(&t->ix, h, (uint32_t)t->n++);
	return e;
}

const char *dt_add(struct difftab *t, enum dt_side side, int section, size_t first,
		   const struct dt_counts *c, uint32_t cut)
{
	struct frames_key k = { first, t->nframes - first };
	uint32_t h = hash_frames(t, &k), i = index_find(t, &t->ix, h, same_frames, &k);
	struct dt_entry *e = i == NO_RECORD ? new_entry(t, h, &k) : &t->e[i];

	if (e->sect[side] < 0) {
		e->sect[side] = section;
		e->c[side] = *c;
		if (side == DT_NEW) {
			/* NEW's frames are the ones printed */
			e->first = k.first;
			e->n = k.n;
			e->cut = cut;
		}
		return NULL;
	}
	t->nframes = first;
	return e->sect[side] == section ? add_counts(&e->c[side], c) : NULL;
}

int dt_cmp_frames(const struct difftab *t, const struct dt_entry *x, const struct dt_entry *y)
{
	const struct dt_frame *a = t->frames + x->first, *aend = a + x->n;
	const struct dt_frame *b = t->frames + y->first, *bend = b + y->n;

	for (;; a++, b++) {
		int c;

		a = skip_inlined(a, aend);
		b = skip_inlined(b, bend);
		if (a == aend || b == bend)
			return (a != aend) - (b != bend);
		c = strcmp(dt_name(t, a->object), dt_name(t, b->object));
		if (!c && a->object && a->object_offset != b->object_offset)
			c = a->object_offset < b->object_offset ? -1 : 1;
		if (!c && !a->object)
			c = strcmp(dt_name(t, a->function), dt_name(t, b->function));
		if (c)
			return c;
	}
}
