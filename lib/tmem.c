// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * tmem.c - the tracer's memory: mmap for page-sized requests, and power-of-two
 * classes from 64 to 2048 bytes carved out of 64 KiB regions for small ones.
 * Callers pass the size back to tmem_free(), so no headers are needed.
 * Nothing here may call malloc; the lock is only ever taken last (callers may
 * hold a table lock, never the other way round).
 */
#define _GNU_SOURCE
#include <stdint.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "atomic.h"
#include "guard.h"
#include "tmem.h"

#define SMALL_MIN_SHIFT 6  /* 64 bytes */
#define SMALL_MAX_SHIFT 11 /* 2048 bytes */
#define SMALL_CLASSES (SMALL_MAX_SHIFT - SMALL_MIN_SHIFT + 1)
#define REGION (64 * 1024)

struct free_block {
	struct free_block *next;
};

static struct {
	spinlock_t lock;
	struct free_block *free[SMALL_CLASSES];
	char *region, *region_end; /* the region small blocks are carved from */
	size_t bytes;              /* mapped, all kinds */
	size_t limit;              /* for tmem_alloc(); 0: none */
} tm;

static void *map_pages(size_t size)
{
	void *p = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);

	if (p == MAP_FAILED)
		return NULL;
	/*
	 * Never merged with the program's anonymous mappings (a thread's
	 * stack, the main thread's TLS): the leak scan takes a stack's
	 * mapping for roots, and the tracer's tables must not be among them.
	 * Nor written into the program's core dumps.
	 */
	madvise(p, size, MADV_DONTDUMP);
	atomic_add_relaxed(&tm.bytes, size);
	return p;
}

static size_t page_round(size_t size)
{
	size_t page = 4096;

	return (size + page - 1) & ~(page - 1);
}

static unsigned size_class(size_t size)
{
	unsigned shift = SMALL_MIN_SHIFT;

	while (((size_t)1 << shift) < size)
		shift++;
	return shift - SMALL_MIN_SHIFT;
}

static void *small_alloc(unsigned cls)
{
	size_t size = (size_t)1 << (cls + SMALL_MIN_SHIFT);
	struct free_block *b;
	void *p = NULL;

	spin_lock(&tm.lock);
	b = tm.free[cls];
	if (b) {
		tm.free[cls] = b->next;
		memset(b, 0, size);
		p = b;
	} else {
		if (tm.region_end - tm.region < (ptrdiff_t)size) {
			/* the rest of the old region is lost: at most 2 KiB per 64 KiB */
			tm.region = map_pages(REGION);
			tm.region_end = tm.region ? tm.region + REGION : NULL;
		}
		if (tm.region) {
			p = tm.region;
			tm.region += size;
		}
	}
	spin_unlock(&tm.lock);
	return p;
}

void tmem_set_limit(size_t bytes)
{
	tm.limit = bytes;
}

static bool over_limit(size_t size)
{
	size_t limit = tm.limit;

	return limit && (size > limit || tmem_bytes() > limit - size);
}

void *tmem_alloc(size_t size)
{
	/* a small block may need a new 64 KiB region */
	if (over_limit(size > ((size_t)1 << SMALL_MAX_SHIFT) ? size : REGION))
		return NULL;
	return tmem_alloc_scratch(size);
}

void *tmem_alloc_scratch(size_t size)
{
	if (size == 0)
		size = 1;
	if (size <= ((size_t)1 << SMALL_MAX_SHIFT))
		return small_alloc(size_class(size));
	if (size > SIZE_MAX - 4096)
		return NULL;
	return map_pages(page_round(size));
}

void tmem_free(void *p, size_t size)
{
	if (!p)
		return;
	if (size == 0)
		size = 1;
	if (size <= ((size_t)1 << SMALL_MAX_SHIFT)) {
		unsigned cls = size_class(size);
		struct free_block *b = p;

		spin_lock(&tm.lock);
		b->next = tm.free[cls];
		tm.free[cls] = b;
		spin_unlock(&tm.lock);
		return;
	}
	size = page_round(size);
	munmap(p, size);
	atomic_sub_relaxed(&tm.bytes, size);
}

bool tmem_grow(void **arr, size_t *cap, size_t n, size_t size, size_t first)
{
	size_t ncap = *cap ? *cap * 2 : first;
	void *na;

	if (n < *cap)
		return true;
	if (ncap * size < 4096)
		ncap = (4096 + size - 1) / size;
	na = tmem_alloc_scratch(ncap * size);
	if (!na)
		return false;
	if (n)
		memcpy(na, *arr, n * size);
	tmem_free(*arr, *cap * size);
	*arr = na;
	*cap = ncap;
	return true;
}

size_t tmem_bytes(void)
{
	return atomic_load_relaxed(&tm.bytes);
}

void tmem_fork_prepare(void)
{
	spin_lock(&tm.lock);
}

void tmem_fork_parent(void)
{
	spin_unlock(&tm.lock);
}

void tmem_fork_child(void)
{
	spin_unlock_in_child(&tm.lock);
}

/* ------------------------------------------------------------ tbuf */

bool tbuf_reserve(struct tbuf *t, size_t more)
{
	size_t cap = t->cap ? t->cap : 4096;
	unsigned char *b;

	if (t->nomem)
		return false;
	if (t->len + more <= t->cap)
		return true;
	while (cap < t->len + more)
		cap *= 2;
	b = tmem_alloc_scratch(cap);
	if (!b) {
		t->nomem = true;
		return false;
	}
	if (t->len)
		memcpy(b, t->b, t->len);
	tmem_free(t->b, t->cap);
	t->b = b;
	t->cap = cap;
	return true;
}

void tbuf_put(struct tbuf *t, const void *d, size_t n)
{
	if (n && tbuf_reserve(t, n)) {
		memcpy(t->b + t->len, d, n);
		t->len += n;
	}
}

void tbuf_free(struct tbuf *t)
{
	tmem_free(t->b, t->cap);
	*t = (struct tbuf){ 0 };
}
