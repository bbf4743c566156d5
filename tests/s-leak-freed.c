// SPDX-License-Identifier: GPL-2.0-or-later
/* s-leak-freed: a block whose only pointer lies in a block already freed.
 *   lost_behind_free  a 64-byte holder gets a pointer to a 120-byte block at
 *                     its byte 24 (beyond what free() writes into a chunk:
 *                     its list links), then the holder is freed: the
 *                     120-byte block is leaked, freed memory is no root */
#include <stdlib.h>

#include "leak.h"

__attribute__((noinline)) void *child_new(void)
{
	return malloc(120);
}

__attribute__((noinline)) void lost_behind_free(void)
{
	void **holder = malloc(64);

	holder[0] = holder[1] = holder[2] = NULL;
	holder[3] = child_new();
	free(holder);
}

int main(void)
{
	lost_behind_free();
	LEAK_WIPE();
	return 0;
}
