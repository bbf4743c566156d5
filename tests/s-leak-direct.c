// SPDX-License-Identifier: GPL-2.0-or-later
/* s-leak-direct: blocks with no pointer to them anywhere (definitely lost)
 * beside blocks a global points to (reachable), from two sites.
 *   leak_direct  3 x 100 bytes, the pointers dropped: leaked
 *   keep_global  2 x 200 bytes, kept in the global kept[]: reachable */
#include <stdlib.h>

#include "leak.h"

void *kept[2];

__attribute__((noinline)) void leak_direct(void)
{
	for (int i = 0; i < 3; i++) {
		void *volatile p = malloc(100);

		p = NULL;
		(void)p;
	}
}

__attribute__((noinline)) void keep_global(void)
{
	for (int i = 0; i < 2; i++)
		kept[i] = malloc(200);
}

int main(void)
{
	leak_direct();
	keep_global();
	LEAK_WIPE();
	return 0;
}
