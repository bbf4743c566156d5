// SPDX-License-Identifier: GPL-2.0-or-later
/* s-deep25: leaks one 777-byte block from the bottom of 24 nested calls of
 * deep() (25 calls deep counting main), so that its backtrace is malloc,
 * deep x 24, main, then the C start-up frames: cut at the default DEPTH=8,
 * whole at DEPTH=30. */
#include <stdlib.h>

void *keep;

void deep(int n)
{
	if (n > 1)
		deep(n - 1);
	else
		keep = malloc(777);
}

int main(void)
{
	deep(24);
	return 0;
}
