// SPDX-License-Identifier: GPL-2.0-or-later
/* s-deep: backtraces around the default DEPTH of 8 frames.
 *  - deep_leak(20) recurses 20 calls deep and leaks 2000 bytes at the
 *    bottom: its backtrace is cut at 8 frames (malloc, then 7 x deep_leak)
 *  - level1 -> level2 -> level3 leaks 300 bytes 3 calls below main: with
 *    main and the C start-up frames (libc, __libc_start_main, _start) that
 *    is exactly 8 frames, not cut
 *  - lvl1 -> lvl2 -> lvl3 -> lvl4 leaks 400 bytes one call deeper: 9
 *    frames, cut at 8. */
#include <stdlib.h>

static void *keep[3];

void deep_leak(int depth)
{
	if (depth > 1)
		deep_leak(depth - 1);
	else
		keep[0] = malloc(2000);
}

void level3(void)
{
	keep[1] = malloc(300);
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
	keep[2] = malloc(400);
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

int main(void)
{
	deep_leak(20);
	level1();
	lvl1();
	return 0;
}
