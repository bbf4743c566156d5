// SPDX-License-Identifier: GPL-2.0-or-later
/* s-cutagain: the backtraces of s-deep, each allocated three times.  The
 * first allocation from a stack learns whether it goes on beyond DEPTH
 * frames; the later ones are found by their frames alone and must be
 * counted against the same backtrace, cut or not as it was learned.
 *  - level1 -> level2 -> level3: 300 bytes, exactly 8 frames, not cut
 *  - lvl1 -> lvl2 -> lvl3 -> lvl4: 400 bytes, 9 frames, cut at 8
 *  - deep_leak(20), (25), (30): 2000 bytes, the same 8 frames (malloc and
 *    7 x deep_leak) above different depths: one backtrace, cut */
#include <stdlib.h>

static void *keep[9];
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

int main(void)
{
	for (int i = 0; i < 3; i++) {
		level1();
		lvl1();
		deep_leak(20 + 5 * i);
	}
	return 0;
}
