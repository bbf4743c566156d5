// SPDX-License-Identifier: GPL-2.0-or-later
/* lib-plugin: a plugin that s-dlopen loads with dlopen.  plugin_leak()
 * allocates 3 blocks of 777 bytes and keeps them, and 5 blocks of 50 bytes
 * that it frees; plugin_calloc_leak() keeps one calloc'ed 2 x 450 block.
 * The plugin stays loaded until exit, so its names resolve in the report. */
#include <stdlib.h>

static void *keep[4];

int plugin_leak(void)
{
	for (int i = 0; i < 5; i++)
		free(malloc(50));
	for (int i = 0; i < 3; i++)
		keep[i] = malloc(777);
	return keep[0] && keep[1] && keep[2];
}

int plugin_calloc_leak(void)
{
	keep[3] = calloc(2, 450);
	return keep[3] != NULL;
}
