// SPDX-License-Identifier: GPL-2.0-or-later
/* s-leak-interior: blocks whose only pointers point inside them.
 *   keep_inside  a 128-byte block, the global inside points at its byte 40:
 *                reachable for heaptrace (as for LSan), "possibly lost" for
 *                memcheck
 *   keep_end     a 96-byte block, the global end points at its last byte:
 *                the same
 *   keep_past    a 72-byte block, the global past points one past its end:
 *                not a pointer into it for either tool (memcheck: "definitely
 *                lost"; heaptrace: leaked), unless the next block starts
 *                there, which malloc's chunk header prevents */
#include <stdlib.h>

#include "leak.h"

char *inside, *end, *past;

__attribute__((noinline)) void keep_inside(void)
{
	inside = (char *)malloc(128) + 40;
}

__attribute__((noinline)) void keep_end(void)
{
	end = (char *)malloc(96) + 95;
}

__attribute__((noinline)) void keep_past(void)
{
	past = (char *)malloc(72) + 72;
}

int main(void)
{
	keep_inside();
	keep_end();
	keep_past();
	LEAK_WIPE();
	return 0;
}
