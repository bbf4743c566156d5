// SPDX-License-Identifier: GPL-2.0-or-later
/* s-sample-nest: allocations whose real function calls another hook:
 * operator new[] (libstdc++'s calls malloc()) and reallocarray() (glibc's
 * calls realloc()), N (default 200,000) of 64 bytes each from by_new()
 * and as many from by_reallocarray(), all kept.  Exits 0. */
#include <cstdlib>

static void **keep;

__attribute__((noinline)) void by_new(long i)
{
	keep[i] = new char[64];
}

__attribute__((noinline)) void by_reallocarray(long i)
{
	keep[i] = reallocarray(nullptr, 8, 8);
}

int main(int argc, char **argv)
{
	long n = argc > 1 ? atol(argv[1]) : 200000;

	keep = static_cast<void **>(calloc(2 * n, sizeof(void *)));
	for (long i = 0; i < n; i++)
		by_new(i);
	for (long i = 0; i < n; i++)
		by_reallocarray(n + i);
	return 0;
}
