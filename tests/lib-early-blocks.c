// SPDX-License-Identifier: GPL-2.0-or-later
/* lib-early-blocks: preloaded after libheaptrace.so (LD_PRELOAD=
 * "libheaptrace.so:this"), so its constructor runs before heaptrace's and
 * allocates before the tracer has started: malloc 101, calloc 3 x 34,
 * realloc(NULL, 55), memalign(64, 77), posix_memalign(32, 88),
 * aligned_alloc(128, 256) and malloc 200,000 (mmapped): 7 calls, 200,679
 * bytes.  early_blocks() hands them to the program (tests/s-free-early.c),
 * which frees them; early_saw_heaptrace() tells whether heaptrace's
 * constructor had run (it sets HEAPTRACE_ROOT_PID when preloaded by hand). */
#define _GNU_SOURCE
#include <malloc.h>
#include <stdlib.h>

static void *blocks[8];
static int saw_heaptrace = -1;

__attribute__((constructor)) static void early_ctor(void)
{
	saw_heaptrace = getenv("HEAPTRACE_ROOT_PID") != NULL;
	blocks[0] = malloc(101);
	blocks[1] = calloc(3, 34);
	blocks[2] = realloc(NULL, 55);
	blocks[3] = memalign(64, 77);
	if (posix_memalign(&blocks[4], 32, 88))
		blocks[4] = NULL;
	blocks[5] = aligned_alloc(128, 256);
	blocks[6] = malloc(200000);
}

void **early_blocks(void)
{
	return blocks;
}

int early_saw_heaptrace(void)
{
	return saw_heaptrace;
}
