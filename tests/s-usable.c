// SPDX-License-Identifier: GPL-2.0-or-later
/* s-usable: prints malloc_usable_size() of blocks from every allocator
 * (malloc of 0..1100 bytes and of large, mmapped sizes, calloc, realloc
 * growing and shrinking, memalign, aligned_alloc, posix_memalign, valloc,
 * pvalloc, reallocarray) and of NULL: one "what size -> usable" line each,
 * for comparing a traced run with an untraced one.  Each block is freed
 * before the next is allocated, so what glibc hands out depends on what
 * its heap already holds.
 *   s-usable main      the sequence in the main thread, from the first
 *                      allocation of main: the main arena, which the C
 *                      runtime (and a preloaded library) used before main
 *   s-usable thread    the sequence in a thread the program starts first
 *                      thing: a fresh arena nobody used before
 * Exits 0. */
#define _GNU_SOURCE
#include <malloc.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static void show(const char *what, size_t size, void *p)
{
	char line[128];
	int n = snprintf(line, sizeof(line), "%s %zu -> %zu\n", what, size, malloc_usable_size(p));

	if (!p || write(STDOUT_FILENO, line, (size_t)n) != n)
		_exit(90);
	free(p);
}

static void *sequence(void *arg)
{
	static const size_t big[] = { 100000, 131072, 131073, 200000, 1 << 20, 5000000 };
	void *p;

	for (size_t s = 0; s <= 1100; s += 7)
		show("malloc", s, malloc(s));
	for (unsigned i = 0; i < sizeof(big) / sizeof(big[0]); i++)
		show("malloc", big[i], malloc(big[i]));
	for (size_t s = 1; s < 600; s += 37)
		show("calloc 3 x", s, calloc(3, s));
	for (size_t s = 1; s < 3000; s += 211) {
		p = malloc(50);
		show("realloc 50 to", s, realloc(p, s));
	}
	show("realloc big to", 100, realloc(malloc(300000), 100));
	for (size_t a = 16; a <= 4096; a *= 4) {
		show("memalign", a, memalign(a, 100));
		show("aligned_alloc", a, aligned_alloc(a, a * 3));
		if (posix_memalign(&p, a, 333))
			_exit(1);
		show("posix_memalign", a, p);
	}
	show("valloc", 5000, valloc(5000));
	show("pvalloc", 5000, pvalloc(5000));
	show("reallocarray 7 x", 13, reallocarray(NULL, 7, 13));
	return arg;
}

int main(int argc, char **argv)
{
	char line[64];
	int n;

	if (argc > 1 && !strcmp(argv[1], "main")) {
		sequence(NULL);
	} else if (argc > 1 && !strcmp(argv[1], "thread")) {
		pthread_t th;

		if (pthread_create(&th, NULL, sequence, NULL) || pthread_join(th, NULL))
			return 1;
	} else {
		return 2;
	}
	n = snprintf(line, sizeof(line), "NULL -> %zu\n", malloc_usable_size(NULL));
	return write(STDOUT_FILENO, line, (size_t)n) == n ? 0 : 1;
}
