// SPDX-License-Identifier: GPL-2.0-or-later
/* s-posix-memalign: posix_memalign succeeding (0), refusing alignments that
 * are not a power of two or smaller than a pointer (EINVAL), and failing on
 * a huge size (ENOMEM); on failure *memptr keeps its sentinel.  Live at
 * exit: 640 bytes (64-aligned) from pm_ok; pm_ok_freed's 4096-aligned block
 * is freed; pm_einval and pm_enomem have nothing live.  Exits 1 on any
 * unexpected result. */
#define _GNU_SOURCE
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

#define SENTINEL ((void *)0x5e471e1)

static void *keep;
static int bad;

static void expect(const char *what, int rc, int want_rc, void *p)
{
	if (rc != want_rc) {
		fprintf(stderr, "s-posix-memalign: %s returned %d, not %d\n", what, rc, want_rc);
		bad = 1;
	}
	if (want_rc && p != SENTINEL) {
		fprintf(stderr, "s-posix-memalign: %s changed *memptr to %p\n", what, p);
		bad = 1;
	}
}

void pm_ok(void)
{
	void *p = SENTINEL;

	expect("posix_memalign(64, 640)", posix_memalign(&p, 64, 640), 0, p);
	if (p == SENTINEL || (uintptr_t)p % 64)
		bad = 1;
	keep = p;
}

void pm_ok_freed(void)
{
	void *p = SENTINEL;

	expect("posix_memalign(4096, 100)", posix_memalign(&p, 4096, 100), 0, p);
	if (p == SENTINEL || (uintptr_t)p % 4096)
		bad = 1;
	free(p);
}

void pm_einval(void)
{
	void *p = SENTINEL;

	expect("posix_memalign(3, 100)", posix_memalign(&p, 3, 100), EINVAL, p);
	expect("posix_memalign(4, 100)", posix_memalign(&p, 4, 100), EINVAL, p);
	expect("posix_memalign(0, 100)", posix_memalign(&p, 0, 100), EINVAL, p);
	expect("posix_memalign(96, 100)", posix_memalign(&p, 96, 100), EINVAL, p);
}

void pm_enomem(void)
{
	volatile size_t huge = SIZE_MAX / 2;
	void *p = SENTINEL;

	expect("posix_memalign(64, huge)", posix_memalign(&p, 64, huge), ENOMEM, p);
}

int main(void)
{
	pm_ok();
	pm_ok_freed();
	pm_einval();
	pm_enomem();
	return bad;
}
