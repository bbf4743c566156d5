// SPDX-License-Identifier: GPL-2.0-or-later
/* s-deepname: the deepest report heaptrace writes, for the reporter
 * thread's stack.  deep_ptr<int**...*> (1,000 levels of pointer: a mangled
 * name of 1,018 characters, as long as libiberty demangles, nesting as
 * deep as it can) keeps 123 bytes; over_ptr<int**...*> (1,010 levels,
 * 1,028 characters: left mangled) keeps 456.  Writes "ready" on stdout,
 * waits until stdin ends and exits with status 0. */
#include <cstdlib>
#include <unistd.h>

#define P10(T) T **********
#define P100(T) P10(P10(P10(P10(P10(P10(P10(P10(P10(P10(T))))))))))
#define P1000(T) P100(P100(P100(P100(P100(P100(P100(P100(P100(P100(T))))))))))

template <class T> void *deep_ptr(T)
{
	return std::malloc(123);
}

template <class T> void *over_ptr(T)
{
	return std::malloc(456);
}

static void *keep[2];

int main()
{
	char c;

	keep[0] = deep_ptr((P1000(int))0);
	keep[1] = over_ptr((P1000(P10(int)))0);
	(void)!write(1, "ready\n", 6);
	while (read(0, &c, 1) > 0)
		;
	return 0;
}
