// SPDX-License-Identifier: GPL-2.0-or-later
/* s-errno: errno around every interposed C function.  Before each call
 * errno is set to 12345; after a successful call it must still be 12345,
 * after a failing one it must be what glibc sets (ENOMEM where documented).
 * One line per call on stdout, so the test can compare a traced run with an
 * untraced one.  Live at exit: 77 bytes from errno_leak.  Exits 1 if any
 * result or errno was not as expected. */
#define _GNU_SOURCE
#include <errno.h>
#include <malloc.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

#define MAGIC 12345

static volatile size_t huge = SIZE_MAX / 2;
static void *volatile none;
static void *keep;
static int bad;

/* An allocation that must succeed (not NULL) and keep errno. */
#define OK(expr)                                                                    \
	({                                                                          \
		void *r_;                                                           \
		errno = MAGIC;                                                      \
		r_ = (expr);                                                        \
		report(#expr, r_ != NULL, errno, MAGIC);                            \
		r_;                                                                 \
	})

/* An allocation that must fail (NULL) and set errno to want. */
#define FAIL(expr, want)                                                            \
	({                                                                          \
		void *r_;                                                           \
		errno = MAGIC;                                                      \
		r_ = (expr);                                                        \
		report(#expr, r_ == NULL, errno, want);                             \
	})

/* posix_memalign must return want_rc and leave *memptr alone; it has no
 * errno contract: the test compares the value with an untraced run. */
#define PM_FAIL(align, size, want_rc)                                               \
	({                                                                          \
		void *q_ = (void *)1;                                               \
		int rc_;                                                            \
		errno = MAGIC;                                                      \
		rc_ = posix_memalign(&q_, align, size);                             \
		report("posix_memalign(" #align ", " #size ")",                     \
		       rc_ == (want_rc) && q_ == (void *)1, errno, errno);          \
	})

static void report(const char *what, int result_ok, int got, int want)
{
	printf("%s: %s errno=%d\n", what, result_ok ? "ok" : "WRONG RESULT", got);
	if (!result_ok || got != want) {
		fprintf(stderr, "s-errno: %s: errno %d, expected %d\n", what, got, want);
		bad = 1;
	}
}

static void free_ok(void *p)
{
	errno = MAGIC;
	free(p);
	report("free", 1, errno, MAGIC);
}

void errno_successes(void)
{
	void *p, *q;
	int rc;

	p = OK(malloc(10));
	free_ok(p);
	free_ok(NULL);
	p = OK(calloc(4, 10));
	p = OK(realloc(p, 4000));
	p = OK(realloc(p, 8));
	free_ok(p);
	p = OK(realloc(none, 20));
	p = OK(reallocarray(p, 30, 10));
	p = OK(reallocarray(p, 2, 2));
	free_ok(p);
	p = OK(reallocarray(none, 3, 3));
	free_ok(p);
	p = OK(memalign(256, 10));
	free_ok(p);
	p = OK(aligned_alloc(128, 128));
	free_ok(p);
	p = OK(valloc(10));
	free_ok(p);
	p = OK(pvalloc(10));
	free_ok(p);
	q = NULL;
	errno = MAGIC;
	rc = posix_memalign(&q, 64, 10);
	report("posix_memalign(&q, 64, 10)", rc == 0 && q, errno, MAGIC);
	free_ok(q);
	/* realloc(p, 0) frees p and returns NULL: that is its success */
	p = OK(malloc(10));
	errno = MAGIC;
	p = realloc(p, 0);
	report("realloc(p, 0)", p == NULL, errno, MAGIC);
}

void errno_failures(void)
{
	/* through a volatile, or the compiler warns of a use after realloc */
	void *volatile p = malloc(10);

	FAIL(malloc(huge), ENOMEM);
	FAIL(calloc(huge, 4), ENOMEM);
	FAIL(calloc(1, huge), ENOMEM);
	FAIL(realloc(p, huge), ENOMEM);
	FAIL(realloc(none, huge), ENOMEM);
	FAIL(reallocarray(p, huge, 4), ENOMEM);
	FAIL(reallocarray(p, 1, huge), ENOMEM);
	FAIL(reallocarray(none, huge, 4), ENOMEM);
	FAIL(memalign(64, huge), ENOMEM);
	FAIL(aligned_alloc(64, huge), ENOMEM);
	FAIL(valloc(huge), ENOMEM);
	FAIL(pvalloc(huge), ENOMEM);
	PM_FAIL(3, 10, EINVAL);
	PM_FAIL(64, huge, ENOMEM);
	free(p);
}

void errno_leak(void)
{
	keep = OK(malloc(77));
}

int main(void)
{
	errno_successes();
	errno_failures();
	errno_leak();
	return bad;
}
