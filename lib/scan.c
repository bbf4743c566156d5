// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * scan.c - the mark phase of leak classification (scan.h): blocks sorted
 * by address, an index to find the block a word points into, and the
 * marking from roots, then by cliques.  Report path, with the program's
 * other threads stopped (world.c); tracer memory only, no lock, no output.
 *
 * Finding a block is the cost that counts: every word of every root and of
 * every reachable block is looked up.  Words outside [lowest block, end of
 * highest) are discarded by one compare.  The others go to a "region" (a
 * run of blocks without a gap of REGION_GAP: the main heap, a thread's
 * arena, a group of mmap'd blocks) found by bisection over the few
 * regions, then to the region's page: per page of the region, the first
 * block that ends inside or after it, so a bisection over the blocks of
 * one page (at most a page's worth of 16-byte blocks) finishes.
 */
#include <string.h>
#include <sys/mman.h>

#include "compat.h"
#include "scan.h"
#include "tmem.h"

#define PAGE_SHIFT 12

/*
 * Every allocation here is a page or more: tmem maps those without its
 * lock, which a thread stopped in the middle of tmem_alloc() may hold.
 */
static void *big_alloc(size_t size)
{
	return tmem_alloc_scratch(size < 4096 ? 4096 : size);
}

#ifndef MADV_POPULATE_WRITE
#define MADV_POPULATE_WRITE 23 /* Linux 5.14 */
#endif

/*
 * The block array, its pages faulted in at once: before the program's
 * threads are stopped, so that the pause does not pay for them (a page
 * fault in a virtual machine costs microseconds).  Older kernels refuse
 * the advice: the pages then come one by one, as they are written.
 */
static void *prefaulted(size_t size)
{
	void *p = big_alloc(size);

	if (p && size >= (1u << 20))
		madvise(p, size, MADV_POPULATE_WRITE);
	return p;
}

static void big_free(void *p, size_t size)
{
	tmem_free(p, size < 4096 ? 4096 : size);
}
#define REGION_GAP (1u << 20) /* a region's index costs 4 bytes a page of it */

struct region {
	uintptr_t base, end; /* first block's address, last block's end */
	size_t first, last;  /* their indices */
	size_t idx;          /* the region's first page in scan.idx */
};

struct big {
	uintptr_t addr;
	uint64_t size;
};

/* scan.cls: the class in the low bits, and whether the contents are read */
#define CLASS 0x7f
#define OPAQUE 0x80

struct scan {
	struct scan_block *b;
	size_t n, cap;
	uint8_t *cls; /* enum scan_class of b[i], once indexed */
	struct big *big; /* sizes of 4 GiB and more */
	size_t nbig, capbig;
	scan_usable_fn *usable;
	uintptr_t min, max; /* [lowest address, highest end) */
	struct region *reg;
	size_t nreg, capreg, last_reg;
	uint32_t *idx; /* per page of each region: first block ending past its start */
	size_t nidx;
	uint32_t *stack; /* blocks to scan; grows (a chain needs one entry) */
	size_t sp, capstack;
	uint64_t scanned, memory;
};

uint64_t scan_size(const struct scan *s, const struct scan_block *b)
{
	if (b->size != SCAN_BIG)
		return b->size;
	for (size_t i = 0; i < s->nbig; i++)
		if (s->big[i].addr == b->addr)
			return s->big[i].size;
	return SCAN_BIG;
}

enum scan_class scan_class(const struct scan *s, const struct scan_block *b)
{
	return s->cls ? (enum scan_class)(s->cls[b - s->b] & CLASS) : SCAN_LEAKED;
}

static inline uintptr_t block_end(const struct scan *s, const struct scan_block *b)
{
	uint64_t size = likely(b->size != SCAN_BIG) ? b->size : scan_size(s, b);

	return b->addr + (size ? size : 1); /* malloc(0) has an address */
}

struct scan *scan_new(size_t n, scan_usable_fn *usable)
{
	struct scan *s = big_alloc(sizeof(*s));

	if (!s)
		return NULL;
	s->cap = n ? n : 1;
	s->usable = usable;
	s->b = prefaulted(s->cap * sizeof(*s->b));
	if (!s->b) {
		scan_free(s);
		return NULL;
	}
	return s;
}

void scan_free(struct scan *s)
{
	if (!s)
		return;
	big_free(s->b, s->cap * sizeof(*s->b));
	big_free(s->cls, s->cap);
	big_free(s->big, s->capbig * sizeof(*s->big));
	big_free(s->stack, s->capstack * sizeof(*s->stack));
	big_free(s->reg, s->capreg * sizeof(*s->reg));
	big_free(s->idx, s->nidx * sizeof(*s->idx));
	big_free(s, sizeof(*s));
}

bool scan_reserve(struct scan *s, size_t n)
{
	struct scan_block *b;

	if (n <= s->cap)
		return true;
	b = big_alloc(n * sizeof(*b));
	if (!b)
		return false;
	memcpy(b, s->b, s->n * sizeof(*b));
	big_free(s->b, s->cap * sizeof(*b));
	s->b = b;
	s->cap = n;
	return true;
}

bool scan_add(struct scan *s, uintptr_t addr, uint64_t size, uint32_t id)
{
	if (s->n == s->cap)
		return false;
	if (size >= SCAN_BIG) {
		if (!tmem_grow((void **)&s->big, &s->capbig, s->nbig, sizeof(*s->big), 64))
			return false;
		s->big[s->nbig++] = (struct big){ addr, size };
	}
	s->b[s->n++] = (struct scan_block){ .addr = addr, .id = id,
					    .size = size < SCAN_BIG ? (uint32_t)size : SCAN_BIG };
	return true;
}

struct scan_block *scan_blocks(struct scan *s, size_t *n)
{
	*n = s->n;
	return s->b;
}

uint64_t scan_bytes(const struct scan *s)
{
	return s->scanned;
}

uint64_t scan_memory(const struct scan *s)
{
	return s->memory;
}

/* ------------------------------------------------------------ index */

/*
 * In-place MSD radix sort by address, a byte a level from the highest
 * byte in which the addresses differ (American flag sort): no second copy
 * of the blocks, which would double the scan's memory, and the memory the
 * kernel gives, page by page, is what the sort of a big heap costs most.
 * Counts per level are static (under the report lock): no stack use.
 */
static size_t sort_end[8][256], sort_next[8][256];

static void insertion_sort(struct scan_block *a, size_t n)
{
	for (size_t i = 1; i < n; i++) {
		struct scan_block v = a[i];
		size_t j = i;

		for (; j > 0 && a[j - 1].addr > v.addr; j--)
			a[j] = a[j - 1];
		a[j] = v;
	}
}

static void flag_sort(struct scan_block *a, size_t n, int level)
{
	size_t *end = sort_end[level], *next = sort_next[level], sum = 0;
	unsigned shift = (unsigned)level * 8;

	if (n < 32) {
		insertion_sort(a, n);
		return;
	}
	memset(end, 0, sizeof(sort_end[0]));
	for (size_t i = 0; i < n; i++)
		end[(a[i].addr >> shift) & 255]++;
	for (unsigned d = 0; d < 256; d++) {
		next[d] = sum;
		sum += end[d];
		end[d] = sum;
	}
	for (unsigned d = 0; d < 256; d++)
		while (next[d] < end[d]) { /* place a[next[d]], and what it displaces */
			struct scan_block v = a[next[d]];
			unsigned k = (v.addr >> shift) & 255;

			while (k != d) {
				struct scan_block t = a[next[k]];

				a[next[k]++] = v;
				v = t;
				k = (v.addr >> shift) & 255;
			}
			a[next[d]++] = v;
		}
	if (!level)
		return;
	for (size_t d = 0, from = 0; d < 256; from = end[d], d++)
		if (end[d] - from > 1)
			flag_sort(a + from, end[d] - from, level - 1);
}

static void sort_blocks(struct scan *s)
{
	uintptr_t diff = 0;
	int level = 0;

	for (size_t i = 1; i < s->n; i++)
		diff |= s->b[i].addr ^ s->b[0].addr;
	while (level < 7 && diff >> (8 * (level + 1)))
		level++;
	flag_sort(s->b, s->n, level);
}

static bool add_region(struct scan *s, size_t first, size_t last)
{
	struct region *r;

	if (!tmem_grow((void **)&s->reg, &s->capreg, s->nreg, sizeof(*s->reg), 16))
		return false;
	r = &s->reg[s->nreg++];
	r->base = s->b[first].addr;
	r->end = block_end(s, &s->b[last]);
	r->first = first;
	r->last = last;
	r->idx = s->nidx;
	/* a page entry each, and one past the last page */
	s->nidx += ((r->end - 1 - r->base) >> PAGE_SHIFT) + 2;
	return true;
}

static void fill_pages(struct scan *s, const struct region *r)
{
	size_t pages = ((r->end - 1 - r->base) >> PAGE_SHIFT) + 2, i = r->first;

	for (size_t p = 0; p < pages; p++) {
		uintptr_t start = r->base + ((uintptr_t)p << PAGE_SHIFT);

		while (i <= r->last && block_end(s, &s->b[i]) <= start)
			i++;
		s->idx[r->idx + p] = (uint32_t)(i <= r->last ? i : r->last);
	}
}

bool scan_index(struct scan *s)
{
	size_t first = 0;

	if (!s->n)
		return true;
	sort_blocks(s);
	/* the stack's pages are only faulted in as far as it goes */
	s->cls = big_alloc(s->cap); /* freed with cap (scan_free) */
	s->capstack = s->n + 1;
	s->stack = big_alloc(s->capstack * sizeof(*s->stack));
	if (!s->cls || !s->stack)
		return false;
	for (size_t i = 1; i <= s->n; i++)
		if (i == s->n || s->b[i].addr - block_end(s, &s->b[i - 1]) > REGION_GAP) {
			if (!add_region(s, first, i - 1))
				return false;
			first = i;
		}
	s->idx = big_alloc(s->nidx * sizeof(*s->idx));
	if (!s->idx) {
		s->nidx = 0;
		return false;
	}
	for (size_t r = 0; r < s->nreg; r++)
		fill_pages(s, &s->reg[r]);
	s->min = s->b[0].addr;
	s->max = block_end(s, &s->b[s->n - 1]);
	s->memory = s->cap * sizeof(*s->b) + s->cap + s->capstack * sizeof(*s->stack) +
		    s->nidx * sizeof(*s->idx) + s->capreg * sizeof(*s->reg) +
		    s->capbig * sizeof(*s->big);
	return true;
}

static const struct region *region_of(struct scan *s, uintptr_t a)
{
	const struct region *r = &s->reg[s->last_reg];
	size_t lo = 0, hi = s->nreg;

	if (a >= r->base && a < r->end)
		return r;
	while (hi - lo > 1) { /* the last region with base <= a */
		size_t mid = lo + (hi - lo) / 2;

		if (s->reg[mid].base <= a)
			lo = mid;
		else
			hi = mid;
	}
	r = &s->reg[lo];
	if (a < r->base || a >= r->end)
		return NULL;
	s->last_reg = lo;
	return r;
}

struct scan_block *scan_find(struct scan *s, uintptr_t a)
{
	const struct region *r;
	size_t p, lo, hi;

	if (a - s->min >= s->max - s->min || !(r = region_of(s, a)))
		return NULL;
	p = (a - r->base) >> PAGE_SHIFT;
	lo = s->idx[r->idx + p];
	hi = (size_t)s->idx[r->idx + p + 1] + 1; /* may start in this page */
	while (hi - lo > 1) { /* the last block with addr <= a */
		size_t mid = lo + (hi - lo) / 2;

		if (s->b[mid].addr <= a)
			lo = mid;
		else
			hi = mid;
	}
	if (a < s->b[lo].addr || a >= block_end(s, &s->b[lo]))
		return NULL;
	return &s->b[lo];
}

/* ------------------------------------------------------------ marking */

/* Is a, inside b, where glibc keeps the next chunk's header? (scan.h) */
static bool allocator_word(struct scan *s, const struct scan_block *b, uintptr_t a)
{
	uint64_t off = a - b->addr;

	return s->usable && off >= 8 && off + 8 >= scan_size(s, b) &&
	       s->usable((void *)b->addr) == off + 8;
}

static inline void push(struct scan *s, struct scan_block *b)
{
	s->stack[s->sp++] = (uint32_t)(b - s->b);
}

/*
 * Every aligned word of [lo, hi) that points into a block still leaked
 * (and, for a clique, not its leader) gives that block class cls and
 * queues it.
 */
static void scan_range(struct scan *s, const void *lo, const void *hi, uint32_t cls,
		       const struct scan_block *leader)
{
	uintptr_t p = ((uintptr_t)lo + 7) & ~(uintptr_t)7, end = (uintptr_t)hi;
	uintptr_t min = s->min, span = s->max - s->min;

	if (end < p + 8)
		return;
	s->scanned += end - p;
	for (; p + 8 <= end; p += 8) {
		uintptr_t w = *(const uintptr_t *)p;
		struct scan_block *b;

		if (w - min >= span)
			continue;
		b = scan_find(s, w);
		if (!b || (s->cls[b - s->b] & CLASS) != SCAN_LEAKED || b == leader ||
		    allocator_word(s, b, w))
			continue;
		s->cls[b - s->b] |= (uint8_t)cls;
		push(s, b);
	}
}

static void drain(struct scan *s, uint32_t cls, const struct scan_block *leader)
{
	while (s->sp) {
		const struct scan_block *b = &s->b[s->stack[--s->sp]];

		if (s->cls[b - s->b] & OPAQUE)
			continue;

		scan_range(s, (const void *)b->addr, (const void *)(b->addr + scan_size(s, b)), cls,
			   leader);
	}
}

void scan_opaque(struct scan *s, struct scan_block *b)
{
	s->cls[b - s->b] |= OPAQUE;
}

void scan_ignore(struct scan *s, struct scan_block *b)
{
	if ((s->cls[b - s->b] & CLASS) == SCAN_LEAKED) {
		s->cls[b - s->b] |= SCAN_IGNORED;
		push(s, b);
	}
}

void scan_root(struct scan *s, const void *lo, const void *hi)
{
	if (!s->n)
		return;
	scan_range(s, lo, hi, SCAN_REACHABLE, NULL);
	drain(s, SCAN_REACHABLE, NULL); /* keeps the stack short */
}

void scan_classify(struct scan *s)
{
	drain(s, SCAN_REACHABLE, NULL);
	for (size_t i = 0; i < s->n; i++) {
		struct scan_block *b = &s->b[i];

		if ((s->cls[i] & CLASS) != SCAN_LEAKED)
			continue;
		push(s, b);
		drain(s, SCAN_INDIRECT, b);
	}
}
