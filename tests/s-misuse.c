// SPDX-License-Identifier: GPL-2.0-or-later
/* s-misuse: one misuse of the allocator per run, for comparing the fate of
 * a traced run with an untraced one (glibc's diagnostic on stderr, the
 * signal or status).  Every mode first leaks a block (so a traced run has
 * something to report, had it the chance), prints "before" on stdout with
 * write(2), commits the misuse, and prints "survived" and exits 0 if it
 * lives on.
 *   double-free        free(p) twice, p a small block (tcache)
 *   double-free-big    free(p) twice, p a 1 MiB block (mmapped)
 *   fastbin-dup        free(a), free(b), free(a) with the tcache bin full:
 *                      glibc does not notice; the next three mallocs of
 *                      that size return a, b, a ("dup" when they do)
 *   free-stack         free() of a stack address (16 bytes into a zeroed
 *                      buffer: what glibc reads as the chunk header is
 *                      ours, not stack garbage left by whatever ran before)
 *   free-middle        free() of an address 16 bytes into a block
 *   free-misaligned    free() of an address 8 bytes into a block
 *   realloc-stack      realloc() of a stack address (as free-stack)
 *   realloc-middle     realloc() of an address 16 bytes into a block
 *   free-null          free(NULL) and realloc(NULL, 0): no misuse at all */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* the misuse is the point: no warnings about it */
#pragma GCC diagnostic ignored "-Wpragmas"
#pragma GCC diagnostic ignored "-Wunknown-warning-option"
#pragma GCC diagnostic ignored "-Wfree-nonheap-object"
#pragma GCC diagnostic ignored "-Wuse-after-free"

void *keep;
void *volatile sink;

static void say(const char *s)
{
	if (write(STDOUT_FILENO, s, strlen(s)) != (ssize_t)strlen(s))
		_exit(90);
}

static void *zeroed(size_t n)
{
	void *p = malloc(n);

	memset(p, 0, n);
	return p;
}

int main(int argc, char **argv)
{
	const char *mode = argc > 1 ? argv[1] : "";
	_Alignas(16) volatile char stack[64] = { 0 };
	char *p;

	keep = malloc(123);
	say("before\n");
	if (!strcmp(mode, "double-free")) {
		p = zeroed(40);
		free(p);
		free(p);
	} else if (!strcmp(mode, "double-free-big")) {
		p = zeroed(1 << 20);
		free(p);
		free(p);
	} else if (!strcmp(mode, "fastbin-dup")) {
		void *fill[7], *a, *b, *x, *y, *z;

		for (int i = 0; i < 7; i++)
			fill[i] = malloc(24);
		a = malloc(24);
		b = malloc(24);
		for (int i = 0; i < 7; i++)
			free(fill[i]);
		free(a);
		free(b);
		free(a);
		for (int i = 0; i < 7; i++)
			fill[i] = malloc(24);
		x = malloc(24);
		y = malloc(24);
		z = malloc(24);
		say(x == a && y == b && z == a ? "dup\n" : "no dup\n");
	} else if (!strcmp(mode, "free-stack")) {
		free((void *)(stack + 16));
	} else if (!strcmp(mode, "free-middle")) {
		p = zeroed(100);
		free(p + 16);
	} else if (!strcmp(mode, "free-misaligned")) {
		p = zeroed(100);
		free(p + 8);
	} else if (!strcmp(mode, "realloc-stack")) {
		sink = realloc((void *)(stack + 16), 200);
	} else if (!strcmp(mode, "realloc-middle")) {
		p = zeroed(100);
		sink = realloc(p + 16, 200);
	} else if (!strcmp(mode, "free-null")) {
		free(NULL);
		sink = realloc(NULL, 0);
		free(sink);
	} else {
		say("unknown mode\n");
		return 2;
	}
	say("survived\n");
	return 0;
}
