/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * lftable.h - the lock-free-read, grow-and-publish hash table, written once
 * for its two users: the table of unique backtraces (stacktrace.c) and the
 * walk's table of call-frame rules (cfi.c).  Open addressing with linear
 * probing over a power-of-two array of slots of `width` words; a slot's
 * first word is its key, 0 when the slot is empty.  One writer at a time,
 * under the user's lock; readers take no lock at all.  Nothing here
 * allocates but lft_reserve(), from tracer memory.
 *
 * The memory-ordering argument, for both users:
 *  - A writer fills the rest of a slot (and whatever the key points to)
 *    first, then stores the key with release (lft_put()).  A reader loads
 *    the key with acquire (lft_key()): when it sees the key, it sees all
 *    that was stored before it.  The other words of a slot are read and
 *    written whole (relaxed atomics), never torn.
 *  - An array is never grown in place: at half full the writer fills a
 *    twice larger one, and publishes it with a release store of the
 *    table's pointer, which readers load with acquire.  The old array is
 *    kept (tracer memory is never given back; all arrays together stay
 *    under twice the last one), so a reader still probing it reads valid
 *    slots, only not the newest: a miss there must be looked up again
 *    under the writer's lock before the user inserts.
 *  - Load stays at most 1/2, so every probe ends at an empty slot.
 *  - lft_clear() empties slots under the readers (relaxed): a reader then
 *    finds nothing, or a slot taken again by another key while it read
 *    it.  A user that clears must tell such a slot from its own by its
 *    value (cfi.c keeps a tag of the key in it).
 */
#ifndef HEAPTRACE_LFTABLE_H
#define HEAPTRACE_LFTABLE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "atomic.h"
#include "tmem.h"

struct lft {
	size_t mask; /* slots - 1 */
	size_t used; /* the writer's: slots taken */
	uintptr_t word[];
};

static inline uintptr_t *lft_slot(struct lft *t, size_t i, unsigned width)
{
	return &t->word[i * width];
}

static inline const uintptr_t *lft_cslot(const struct lft *t, size_t i, unsigned width)
{
	return &t->word[i * width];
}

/* The probe sequence from hash h: lft_first(), then lft_next() until a hit or 0. */
static inline size_t lft_first(const struct lft *t, uint64_t h)
{
	return (size_t)h & t->mask;
}

static inline size_t lft_next(const struct lft *t, size_t i)
{
	return (i + 1) & t->mask;
}

/* A slot's key, for a reader (acquire: the slot's other words come with it). */
static inline uintptr_t lft_key(const uintptr_t *slot)
{
	return atomic_load_acquire(slot);
}

/* Word w (1..width-1) of a slot whose key was read with lft_key(). */
static inline uintptr_t lft_word(const uintptr_t *slot, unsigned w)
{
	return atomic_load_relaxed(&slot[w]);
}

/*
 * Writer: put words[0..width) (words[0], the key, not 0) in the first empty
 * slot from hash h, the key last (release).  There is room (lft_reserve()).
 */
static inline void lft_put(struct lft *t, uint64_t h, const uintptr_t *words, unsigned width)
{
	size_t i = lft_first(t, h);
	uintptr_t *slot;

	while (lft_cslot(t, i, width)[0])
		i = lft_next(t, i);
	slot = lft_slot(t, i, width);
	for (unsigned w = 1; w < width; w++)
		atomic_store_relaxed(&slot[w], words[w]);
	atomic_store_release(&slot[0], words[0]);
	t->used++;
}

/* Writer: is there room for one more key in t without growing it? */
static inline bool lft_has_room(const struct lft *t)
{
	return t && (t->used + 1) * 2 <= t->mask + 1;
}

/*
 * Writer: room for one more key in *table, growing it at half full to
 * twice its size (min_slots, a power of two, at first).  hash(slot) gives
 * the hash a slot was put with.  False when tracer memory is refused (the
 * table is left as it was).
 */
static inline bool lft_reserve(struct lft **table, unsigned width, size_t min_slots,
			       uint64_t (*hash)(const uintptr_t *slot))
{
	struct lft *old = *table, *t;
	size_t cap;

	if (lft_has_room(old))
		return true;
	cap = old ? (old->mask + 1) * 2 : min_slots;
	t = tmem_alloc(sizeof(*t) + cap * width * sizeof(uintptr_t));
	if (!t)
		return false;
	t->mask = cap - 1;
	for (size_t i = 0; old && i <= old->mask; i++) {
		const uintptr_t *slot = lft_cslot(old, i, width);

		if (slot[0])
			lft_put(t, hash(slot), slot, width);
	}
	atomic_store_release(table, t);
	return true;
}

/* Writer: empty every slot (see the ordering argument above). */
static inline void lft_clear(struct lft *t, unsigned width)
{
	for (size_t i = 0; t && i <= t->mask; i++)
		atomic_store_relaxed(lft_slot(t, i, width), 0);
	if (t)
		t->used = 0;
}

#endif
