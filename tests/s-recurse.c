// SPDX-License-Identifier: GPL-2.0-or-later
/* s-recurse N: leaks one 555-byte block from the bottom of N nested calls
 * of down(), so that its backtrace is malloc, down x N, main, then the C
 * start-up frames (__libc_start_call_main, __libc_start_main, _start on
 * glibc): N + 5 frames.  Exit status 2 for a bad N. */
#include <stdlib.h>

void *keep;

void down(int n)
{
	if (n > 1)
		down(n - 1);
	else
		keep = malloc(555);
}

int main(int argc, char **argv)
{
	int n = argc > 1 ? atoi(argv[1]) : 0;

	if (n < 1 || n > 100000)
		return 2;
	down(n);
	return 0;
}
