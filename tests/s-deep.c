// SPDX-License-Identifier: GPL-2.0-or-later
/* s-deep [N]: backtraces around the default DEPTH of 8 frames, each
 * allocated N times (default 1).
 *  - deep_leak(20) recurses 20 calls deep and leaks 2000 bytes at the
 *    bottom: its backtrace is cut at 8 frames (malloc, then 7 x deep_leak);
 *    the i-th time it recurses 20 + 5 * i deep, the same 8 frames
 *  - level1 -> level2 -> level3 leaks 300 bytes 3 calls below main: with
 *    main and the C start-up frames (libc, __libc_start_main, _start) that
 *    is exactly 8 frames, not cut
 *  - lvl1 -> lvl2 -> lvl3 -> lvl4 leaks 400 bytes one call deeper: 9
 *    frames, cut at 8.
 * With N > 1 the first allocation from each stack learns whether it goes
 * on beyond DEPTH; the later ones are found by their frames alone. */
#include <stdlib.h>

#define MAX_N 10

static void *keep[3 * MAX_N];
static int next;

void deep_leak(int depth)
{
	if (depth > 1)
		deep_leak(depth - 1);
	else
		keep[next++] = malloc(2000);
}

void level3(void)
{
	keep[next++] = malloc(300);
}

void level2(void)
{
	level3();
}

void level1(void)
{
	level2();
}

void lvl4(void)
{
	keep[next++] = malloc(400);
}

void lvl3(void)
{
	lvl4();
}

void lvl2(void)
{
	lvl3();
}

void lvl1(void)
{
	lvl2();
}

int main(int argc, char **argv)
{
	int n = argc > 1 ? atoi(argv[1]) : 1;

	if (n < 1 || n > MAX_N)
		return 2;
	for (int i = 0; i < n; i++) {
		deep_leak(20 + 5 * i);
		level1();
		lvl1();
	}
	return 0;
}
