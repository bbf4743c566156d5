// SPDX-License-Identifier: GPL-2.0-or-later
/* libsym-plugin.so: dlopen'ed by sym-static; allocates through a static
 * function.  Padding keeps its code at different offsets from
 * libsym-shared.so's, so that a look-up in the wrong file shows. */
#include <stdlib.h>

static volatile int counter;

void plugin_padding(void)
{
	counter += 1;
	counter += 2;
	counter += 3;
	counter += 4;
}

static void *plugin_static(size_t n)
{
	return malloc(n); /* @plugin_static */
}

void *plugin_alloc(size_t n)
{
	void *p = plugin_static(n); /* @plugin_alloc */

	counter++;
	return p;
}
