// SPDX-License-Identifier: GPL-2.0-or-later
/* lib-ctor: a shared library whose constructor allocates with malloc,
 * calloc, aligned_alloc, reallocarray, posix_memalign and memalign before
 * heaptrace's own constructor has run (it is initialized before the
 * preloaded library).  Kept until exit, one block each: early_malloc 101
 * bytes, early_calloc 3 x 34, early_aligned_alloc 128 (64-aligned),
 * early_reallocarray 5 x 21 (grown from 2 x 26), early_posix_memalign 106
 * (32-aligned), early_memalign 107; early_malloc's 50 bytes and
 * early_memalign's 999 bytes are freed.  ctor_status() tells the program
 * whether every call worked and kept errno, ctor_saw_heaptrace() whether
 * heaptrace had set HEAPTRACE_ROOT_PID (its constructor's doing) when the
 * constructor ran. */
#define _GNU_SOURCE
#include <errno.h>
#include <malloc.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

static void *keep[6];
static int status = -1, saw_heaptrace = -1, errno_changed;

/* errno must survive every successful call, even the first one of each
 * function, which makes heaptrace look its real function up. */
#define E(expr)                                                                     \
	({                                                                          \
		__typeof__(expr) r_;                                                \
		errno = 12345;                                                      \
		r_ = (expr);                                                        \
		if (errno != 12345)                                                 \
			errno_changed = 1;                                          \
		r_;                                                                 \
	})

static int aligned(const void *p, uintptr_t align)
{
	return p && (uintptr_t)p % align == 0;
}

int early_malloc(void)
{
	void *gone = E(malloc(50));

	keep[0] = E(malloc(101));
	E((free(gone), 0));
	return keep[0] && gone;
}

int early_calloc(void)
{
	unsigned char *p = E(calloc(3, 34));

	keep[1] = p;
	for (int i = 0; p && i < 102; i++)
		if (p[i])
			return 0;
	return p != NULL;
}

int early_aligned_alloc(void)
{
	keep[2] = E(aligned_alloc(64, 128));
	return aligned(keep[2], 64);
}

int early_reallocarray(void)
{
	void *volatile none = NULL;
	char *p = E(reallocarray(none, 2, 26)), *q;

	if (!p)
		return 0;
	memset(p, 'r', 52);
	q = E(reallocarray(p, 5, 21));
	keep[3] = q;
	return q && !memcmp(q, (char[52]){ [0 ... 51] = 'r' }, 52);
}

int early_posix_memalign(void)
{
	return E(posix_memalign(&keep[4], 32, 106)) == 0 && aligned(keep[4], 32);
}

int early_memalign(void)
{
	void *gone = E(memalign(4096, 999));
	int ok = aligned(gone, 4096);

	keep[5] = E(memalign(16, 107));
	E((free(gone), 0));
	return ok && aligned(keep[5], 16);
}

__attribute__((constructor)) static void lib_ctor_init(void)
{
	saw_heaptrace = getenv("HEAPTRACE_ROOT_PID") != NULL;
	status = early_malloc() && early_calloc() && early_aligned_alloc() &&
		 early_reallocarray() && early_posix_memalign() && early_memalign() &&
		 !errno_changed;
}

int ctor_status(void)
{
	return status;
}

int ctor_saw_heaptrace(void)
{
	return saw_heaptrace;
}
