// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * shim.c - measuring instruments for the benchmarks, not tracers: an
 * LD_PRELOAD library that interposes malloc, free, calloc and realloc and
 * forwards them to the next definition.  Built two ways (bench/Makefile):
 *
 *   nullshim.so   forwarding only: what interposition itself costs
 *   unwshim.so    + unw_backtrace() of DEPTH frames on every allocation, as
 *                 heaptrace --unwind=libunwind captures (frame 0 the hook;
 *                 the one frame more that tells a cut is unwound once per
 *                 backtrace, not per allocation): the cost of unwinding with
 *                 libunwind, the floor the bookkeeping is measured over
 *
 * Nothing is recorded; the frames are folded into a per-thread sink so the
 * unwinding cannot be optimized away.  While dlsym resolves, requests are
 * served from a small static buffer.
 */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#ifdef SHIM_UNWIND
#define UNW_LOCAL_ONLY
#include <libunwind.h>
#endif

#ifndef DEPTH
#define DEPTH 8
#endif

#define EXPORT __attribute__((visibility("default")))
#define TLS __thread __attribute__((tls_model("initial-exec")))

static void *(*next_malloc)(size_t);
static void (*next_free)(void *);
static void *(*next_calloc)(size_t, size_t);
static void *(*next_realloc)(void *, size_t);

static char boot[64 * 1024] __attribute__((aligned(16)));
static size_t boot_used;
static TLS int resolving;

static void resolve(void)
{
	resolving = 1;
	next_malloc = dlsym(RTLD_NEXT, "malloc");
	next_free = dlsym(RTLD_NEXT, "free");
	next_calloc = dlsym(RTLD_NEXT, "calloc");
	next_realloc = dlsym(RTLD_NEXT, "realloc");
	resolving = 0;
}

static void *boot_alloc(size_t size)
{
	size_t start = (boot_used + 15) & ~(size_t)15;

	if (start + size > sizeof(boot))
		return NULL;
	boot_used = start + size;
	return boot + start; /* static: already zero */
}

static int is_boot(const void *p)
{
	return (const char *)p >= boot && (const char *)p < boot + sizeof(boot);
}

#ifdef SHIM_UNWIND
static TLS int inside;
static TLS uintptr_t sink;

static inline __attribute__((always_inline)) void unwind(void)
{
	void *frames[DEPTH];
	int n;

	if (inside)
		return;
	inside = 1;
	n = unw_backtrace(frames, DEPTH);
	for (int i = 0; i < n; i++)
		sink += (uintptr_t)frames[i];
	__asm__ volatile("" ::"r"(sink) : "memory");
	inside = 0;
}
#else
#define unwind() ((void)0)
#endif

#define READY(fn) (next_##fn || (!resolving && (resolve(), next_##fn)))

EXPORT void *malloc(size_t size)
{
	void *p;

	if (!READY(malloc))
		return boot_alloc(size);
	p = next_malloc(size);
	unwind();
	return p;
}

EXPORT void free(void *p)
{
	if (is_boot(p) || !READY(free))
		return;
	next_free(p);
}

EXPORT void *calloc(size_t n, size_t size)
{
	void *p;

	if (!READY(calloc))
		return size && n > SIZE_MAX / size ? NULL : boot_alloc(n * size);
	p = next_calloc(n, size);
	unwind();
	return p;
}

EXPORT void *realloc(void *old, size_t size)
{
	void *p;

	if (is_boot(old) || !READY(realloc)) {
		size_t have = old ? (size_t)(boot + sizeof(boot) - (char *)old) : 0;

		p = malloc(size);
		if (p && old)
			memcpy(p, old, size < have ? size : have);
		return p;
	}
	p = next_realloc(old, size);
	unwind();
	return p;
}
