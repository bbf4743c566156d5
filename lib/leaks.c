// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * leaks.c - leak classification (leaks.h): what is stopped, in which
 * order, and which memory counts as roots.  Report path, under the report
 * lock, on the reporter thread (or the thread that reports without it).
 *
 * Order, as LSan's: inside dl_iterate_phdr()'s callback, so the loader's
 * lock is held and no object comes or goes (its lock is recursive: the
 * roots are listed by a nested call); then every shard lock of the address
 * map (no thread is then inside a record, none can free a block while its
 * memory is read); then the other threads are stopped.  With all that
 * held, nothing here may call the program's allocator or take a lock of
 * ours: memory is whole pages of tmem (lock-free), the files are read
 * with plain system calls.
 *
 * Roots:
 *  - the writable PT_LOAD segments of every object but libheaptrace.so
 *    (.data, .bss, relro: libc's own lists, environ, atexit, stdio);
 *  - each stopped thread's registers, its stack from its stack pointer
 *    (less the 128-byte red zone) to the end of the mapping, its static
 *    TLS and TCB (glibc keeps them at the top of a thread's stack, and
 *    elsewhere for the main thread) and its DTV, whose entries point to
 *    the dynamic TLS blocks (malloc'd, so blocks of ours: scanned when
 *    reached);
 *  - a thread that could not be stopped: the whole mapping of its stack
 *    (its stack pointer from /proc/self/task/TID/syscall when it is
 *    blocked; else every mapping shaped like a thread's stack);
 *  - the reporting thread itself when it is one of the program's.
 * heaptrace's own TLS block is left out of every thread's, and the
 * reporter thread is not scanned: their pointers are the tracer's.
 */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <link.h>
#include <malloc.h>
#include <setjmp.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "addrmap.h"
#include "leaks.h"
#include "reporter.h"
#include "sample.h"
#include "scan.h"
#include "stacktrace.h"
#include "tmem.h"
#include "utils.h"
#include "world.h"

#define RED_ZONE 128 /* below the stack pointer, the x86-64 ABI's */
/* A shard lock is held for a few dozen instructions: a second is a thread
 * that will not let go. */
#define LOCK_WAIT_NS 1000000000ull

struct mapping {
	uintptr_t lo, hi;
	bool readable, writable, anonymous, guarded; /* guarded: a ---p mapping right below */
};

/* One scan's state (the callback's argument). */
struct ctx {
	struct leaks *l;
	struct scan *s;
	struct mapping *m;
	size_t nm, capm;
	uintptr_t self_lo, self_hi; /* libheaptrace.so's own span */
	intptr_t tls_off;           /* our TLS block, from a thread pointer */
	size_t tls_size;
	size_t static_tls, tcb;     /* glibc's static TLS below the thread pointer, TCB above */
	const uint8_t *roots;       /* backtrace ids whose blocks are roots */
	uint32_t nroots;
	bool ok;
};

static char anchor; /* an address inside libheaptrace.so */

/* ------------------------------------------------------------ mappings */

static uintptr_t hex(const char **p)
{
	uintptr_t v = 0;

	for (;; (*p)++) {
		char c = **p;
		int d = c >= '0' && c <= '9' ? c - '0' : c >= 'a' && c <= 'f' ? c - 'a' + 10 : -1;

		if (d < 0)
			return v;
		v = v << 4 | (uintptr_t)d;
	}
}

static bool add_mapping(struct ctx *c, const struct mapping *m)
{
	if (!tmem_grow((void **)&c->m, &c->capm, c->nm, sizeof(*m), 1024))
		return false;
	c->m[c->nm++] = *m;
	return true;
}

/* "lo-hi perms offset dev inode path" */
static void parse_line(struct ctx *c, const char *p, const char *end)
{
	struct mapping m = { 0 };
	const char *perms;
	int field = 0;

	m.lo = hex(&p);
	p++;
	m.hi = hex(&p);
	perms = ++p;
	if (end - perms < 4)
		return;
	m.readable = perms[0] == 'r';
	m.writable = perms[1] == 'w';
	/* offset, dev, inode, then the path if any */
	for (; p < end && field < 4; p++)
		if (*p == ' ')
			field++;
	while (p < end && *p == ' ')
		p++;
	m.anonymous = p == end;
	if (c->nm && c->m[c->nm - 1].hi == m.lo && !c->m[c->nm - 1].readable &&
	    !c->m[c->nm - 1].writable)
		m.guarded = true;
	add_mapping(c, &m);
}

static bool read_maps(struct ctx *c)
{
	size_t cap = 1 << 16, len = 0;
	char *buf = tmem_alloc_scratch(cap);
	int fd = (int)syscall(SYS_open, "/proc/self/maps", O_RDONLY | O_CLOEXEC, 0);
	long n;

	if (!buf || fd < 0) {
		tmem_free(buf, cap);
		if (fd >= 0)
			syscall(SYS_close, fd);
		return false;
	}
	for (;;) {
		if (len == cap) {
			char *nb = tmem_alloc_scratch(cap * 2);

			if (!nb)
				break;
			memcpy(nb, buf, len);
			tmem_free(buf, cap);
			buf = nb;
			cap *= 2;
		}
		n = syscall(SYS_read, fd, buf + len, cap - len);
		if (n <= 0)
			break;
		len += (size_t)n;
	}
	syscall(SYS_close, fd);
	for (char *p = buf, *e; p < buf + len; p = e + 1) {
		e = memchr(p, '\n', (size_t)(buf + len - p));
		if (!e)
			e = buf + len;
		parse_line(c, p, e);
	}
	tmem_free(buf, cap);
	return c->nm > 0;
}

/* The mapping holding a, or NULL. */
static const struct mapping *mapping_of(const struct ctx *c, uintptr_t a)
{
	size_t lo = 0, hi = c->nm;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;

		if (c->m[mid].hi <= a)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo < c->nm && c->m[lo].lo <= a ? &c->m[lo] : NULL;
}

/* ------------------------------------------------------------ roots */

/* Scan [lo, hi) where it is mapped readable. */
static void root(struct ctx *c, uintptr_t lo, uintptr_t hi)
{
	for (const struct mapping *m = mapping_of(c, lo); lo < hi; m++) {
		if (!m) { /* lo in a hole: on from the next mapping */
			size_t i = 0;

			while (i < c->nm && c->m[i].hi <= lo)
				i++;
			if (i == c->nm)
				return;
			m = &c->m[i];
		}
		if (m >= c->m + c->nm || m->lo >= hi)
			return;
		if (m->readable)
			scan_root(c->s, (const void *)(lo > m->lo ? lo : m->lo),
				  (const void *)(hi < m->hi ? hi : m->hi));
		lo = m->hi;
	}
}

/* [lo, hi) less [xlo, xhi) */
static void root_except(struct ctx *c, uintptr_t lo, uintptr_t hi, uintptr_t xlo, uintptr_t xhi)
{
	if (xhi <= lo || xlo >= hi) {
		root(c, lo, hi);
		return;
	}
	if (lo < xlo)
		root(c, lo, xlo);
	if (xhi < hi)
		root(c, xhi, hi);
}

/* A thread's stack from sp, its TLS and DTV; tp: its thread pointer. */
static void thread_roots(struct ctx *c, uintptr_t sp, uintptr_t tp)
{
	const struct mapping *m = mapping_of(c, sp);
	uintptr_t ours = tp + (uintptr_t)c->tls_off, dtv;

	if (m) {
		/* a thread of pthread_create(): its TCB ends its stack */
		uintptr_t hi = tp > sp && tp < m->hi && tp + c->tcb < m->hi ? tp + c->tcb : m->hi;

		root_except(c, sp - RED_ZONE > m->lo ? sp - RED_ZONE : m->lo, hi, ours,
			    ours + c->tls_size);
	}
	if (!tp || !mapping_of(c, tp))
		return;
	/* glibc (TLS_TCB_AT_TP): the static TLS size counts the TCB, and the
	 * thread pointer is where the TCB starts */
	root_except(c, tp + c->tcb - c->static_tls, tp + c->tcb, ours, ours + c->tls_size);
	/* the DTV: tcbhead_t's second word; its length in the word before
	 * its first entry (glibc: dtv[-1].counter, entries of 16 bytes) */
	dtv = *(const uintptr_t *)(tp + sizeof(void *));
	if (dtv > 16 && mapping_of(c, dtv - 16)) {
		uintptr_t len = *(const uintptr_t *)(dtv - 16);

		if (len < (1u << 20))
			root(c, dtv - 16, dtv + 16 * (len + 1));
	}
}

/* A thread we could not stop: its whole stack mapping, as best we know it. */
static void running_thread_roots(struct ctx *c, pid_t tid)
{
	char path[64], buf[256];
	const char *p = buf;
	uintptr_t sp = 0;
	long n;
	int fd;

	/* "/proc/self/task/TID/syscall", without stdio */
	char digits[16];
	int nd = 0, i = 16;

	memcpy(path, "/proc/self/task/", 16);
	for (; tid; tid /= 10)
		digits[nd++] = (char)('0' + tid % 10);
	while (nd)
		path[i++] = digits[--nd];
	memcpy(path + i, "/syscall", 9);
	fd = (int)syscall(SYS_open, path, O_RDONLY | O_CLOEXEC, 0);
	n = fd >= 0 ? syscall(SYS_read, fd, buf, sizeof(buf) - 1) : -1;
	if (fd >= 0)
		syscall(SYS_close, fd);
	if (n > 0 && buf[0] >= '0' && buf[0] <= '9') { /* "nr a1 .. a6 sp pc" */
		buf[n] = 0;
		for (int field = 0; *p && field < 7; p++)
			if (*p == ' ')
				field++;
		if (p[0] == '0' && p[1] == 'x')
			p += 2;
		sp = hex(&p);
	}
	const struct mapping *m = sp ? mapping_of(c, sp) : NULL;
	if (m) {
		root(c, m->lo, m->hi);
		return;
	}
	for (size_t i = 0; i < c->nm; i++) /* every mapping shaped like a stack */
		if (c->m[i].writable && c->m[i].anonymous && c->m[i].guarded)
			root(c, c->m[i].lo, c->m[i].hi);
}

/* The writable segments of every object but ours. */
static int segment_roots(struct dl_phdr_info *info, size_t size, void *arg)
{
	struct ctx *c = arg;

	(void)size;
	for (int i = 0; i < info->dlpi_phnum; i++) {
		const ElfW(Phdr) *ph = &info->dlpi_phdr[i];
		uintptr_t lo = info->dlpi_addr + ph->p_vaddr;

		if (ph->p_type != PT_LOAD || !(ph->p_flags & PF_W))
			continue;
		if (lo < c->self_hi && lo + ph->p_memsz > c->self_lo)
			continue;
		root(c, lo, lo + ph->p_memsz);
	}
	return 0;
}

/* Our own object's span and TLS block (in this thread). */
static int find_self(struct dl_phdr_info *info, size_t size, void *arg)
{
	struct ctx *c = arg;
	uintptr_t lo = UINTPTR_MAX, hi = 0;
	size_t tls = 0;

	(void)size;
	for (int i = 0; i < info->dlpi_phnum; i++) {
		const ElfW(Phdr) *ph = &info->dlpi_phdr[i];
		uintptr_t a = info->dlpi_addr + ph->p_vaddr;

		if (ph->p_type == PT_LOAD) {
			lo = a < lo ? a : lo;
			hi = a + ph->p_memsz > hi ? a + ph->p_memsz : hi;
		} else if (ph->p_type == PT_TLS) {
			tls = ph->p_memsz;
		}
	}
	if ((uintptr_t)&anchor < lo || (uintptr_t)&anchor >= hi)
		return 0;
	c->self_lo = lo;
	c->self_hi = hi;
	c->tls_size = info->dlpi_tls_data ? tls : 0;
	c->tls_off = (intptr_t)((uintptr_t)info->dlpi_tls_data - (uintptr_t)__builtin_thread_pointer());
	return 1;
}

/* ------------------------------------------------------------ blocks */

static void add_block(uintptr_t key, const struct am_rec *rec, void *arg)
{
	struct ctx *c = arg;

	if (rec->id != ACCT_TRACER_ID && !scan_add(c->s, key, rec->size, rec->id))
		c->ok = false;
}

static size_t usable(void *p)
{
	return malloc_usable_size(p); /* the hook: it knows boot blocks */
}

static void count(struct ctx *c)
{
	size_t n;
	struct scan_block *b = scan_blocks(c->s, &n);

	c->l->blocks = n;
	for (size_t i = 0; i < n; i++) {
		struct leak_counts *lc;
		uint64_t size, count;

		if (b[i].id >= c->l->n)
			continue;
		lc = &c->l->by_id[b[i].id];
		/* with --sample, a recorded block stands for its estimate, in
		 * the units of the backtrace's counters (sample.h) */
		size = scan_size(c->s, &b[i]);
		count = 1;
		if (ht_sample_rate) {
			count = sample_count_weight(size);
			size = sample_bytes_weight(size);
		}
		switch (scan_class(c->s, &b[i])) {
		case SCAN_LEAKED:
			lc->leaked_count += count;
			lc->leaked_bytes += size;
			break;
		case SCAN_INDIRECT:
			lc->indirect_count += count;
			lc->indirect_bytes += size;
			break;
		default:
			break;
		}
	}
}

/* ------------------------------------------------------------ the scan */

/* Is [lo, hi) mapped readable, all of it? */
static bool readable(const struct ctx *c, uintptr_t lo, uintptr_t hi)
{
	const struct mapping *m = mapping_of(c, lo);

	for (; lo < hi; m++) {
		if (!m || m >= c->m + c->nm || m->lo > lo || !m->readable)
			return false;
		lo = m->hi;
	}
	return true;
}

/*
 * Blocks of a page or more that the program made unreadable in part
 * (mprotect() on a buffer of its own, a guard page): their contents are
 * not read, which would fault.  Smaller ones share their pages with other
 * blocks, which the program reads.
 */
static void opaque_blocks(struct ctx *c)
{
	size_t n;
	struct scan_block *b = scan_blocks(c->s, &n);

	for (size_t i = 0; i < n; i++) {
		uint64_t size = b[i].size >= 4096 ? scan_size(c->s, &b[i]) : 0;

		if (size && !readable(c, b[i].addr, b[i].addr + size))
			scan_opaque(c->s, &b[i]);
	}
}

/* The blocks of backtraces --ignore hides: roots of their own. */
static void ignored_roots(struct ctx *c)
{
	size_t n;
	struct scan_block *b = scan_blocks(c->s, &n);

	if (!c->roots)
		return;
	for (size_t i = 0; i < n; i++)
		if (b[i].id < c->nroots && c->roots[b[i].id])
			scan_ignore(c->s, &b[i]);
}

static void scan_stopped(struct ctx *c, struct world *w)
{
	for (size_t i = 0; i < w->n; i++) {
		struct world_thread *t = &w->t[i];

		if (t->gone)
			continue;
		c->l->threads++;
		if (!t->stopped) {
			c->l->unstopped++;
			running_thread_roots(c, t->tid);
			continue;
		}
		scan_root(c->s, &t->regs, &t->regs + 1);
		thread_roots(c, t->regs.rsp, t->regs.fs_base);
	}
}

/* The reporting thread, when it is the program's: from here up. */
static __attribute__((noinline)) void scan_self(struct ctx *c)
{
	jmp_buf regs; /* its callee-saved registers, on the stack scanned */

	setjmp(regs);
	thread_roots(c, (uintptr_t)&regs, (uintptr_t)__builtin_thread_pointer());
}

static int stop_and_scan(struct dl_phdr_info *info, size_t size, void *arg)
{
	struct ctx *c = arg;
	struct world w;
	uint64_t t0;

	(void)info, (void)size;
	/* every shard lock, in order; a thread that died holding one (a
	 * fatal signal inside a hook: the last report) leaves no scan */
	if (!am_lock_all(ht_now_ns() + LOCK_WAIT_NS, ht_now_ns)) {
		ht_warn("a thread is stuck inside heaptrace's tables: live blocks are not "
			"classified");
		return 1;
	}
	t0 = ht_now_ns();
	world_stop(&w);
	c->ok = scan_reserve(c->s, am_count()) && read_maps(c);
	if (c->ok)
		am_each(add_block, c);
	if (c->ok && scan_index(c->s)) {
		opaque_blocks(c);
		ignored_roots(c);
		dl_iterate_phdr(segment_roots, c);
		scan_stopped(c, &w);
		if (!reporter_is_self())
			scan_self(c);
		scan_classify(c->s);
		count(c);
		c->l->scanned = scan_bytes(c->s);
		c->l->memory = scan_memory(c->s);
		c->l->done = true;
	}
	c->l->why = w.why;
	world_resume(&w);
	c->l->pause_ns = ht_now_ns() - t0;
	am_fork_parent();
	return 1; /* once */
}

bool leaks_scan(struct leaks *l, const uint8_t *roots, uint32_t n)
{
	static void *tls_info; /* glibc's _dl_get_tls_static_info, looked up once */
	static unsigned *sizeof_pthread;
	struct ctx c = { .l = l, .roots = roots, .nroots = n };

	memset(l, 0, sizeof(*l));
	if (!tls_info) {
		tls_info = dlsym(RTLD_DEFAULT, "_dl_get_tls_static_info");
		sizeof_pthread = dlsym(RTLD_DEFAULT, "_thread_db_sizeof_pthread");
	}
	if (tls_info) {
		size_t align;

		((void (*)(size_t *, size_t *))tls_info)(&c.static_tls, &align);
	}
	c.tcb = sizeof_pthread ? *sizeof_pthread : 4096;
	l->n = bt_count();
	l->by_id = tmem_alloc_scratch((l->n ? l->n : 1) * sizeof(*l->by_id));
	if (!l->by_id)
		return false;
	dl_iterate_phdr(find_self, &c);
	/* room for the blocks, with some to spare for those the program
	 * allocates until it is stopped: made before, not during the pause */
	c.s = scan_new(am_count() + am_count() / 16 + 1024, usable);
	if (!c.s)
		return false;
	dl_iterate_phdr(stop_and_scan, &c);
	scan_free(c.s);
	tmem_free(c.m, c.capm * sizeof(*c.m));
	return l->done;
}

void leaks_free(struct leaks *l)
{
	tmem_free(l->by_id, (l->n ? l->n : 1) * sizeof(*l->by_id));
	l->by_id = NULL;
	l->done = false;
}

struct leak_counts leaks_of(const struct leaks *l, uint32_t id)
{
	if (!l || !l->done || id >= l->n)
		return (struct leak_counts){ 0 };
	return l->by_id[id];
}
