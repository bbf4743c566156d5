// SPDX-License-Identifier: GPL-2.0-or-later
/* libsym-shared.so: linked into sym-static; allocates through a static
 * function (named only by the library's .symtab). */
#include <stdlib.h>

static volatile int counter;

static void *shared_static(size_t n)
{
	return malloc(n); /* @shared_static */
}

void *shared_alloc(size_t n)
{
	void *p = shared_static(n); /* @shared_alloc */

	counter++;
	return p;
}
