// SPDX-License-Identifier: GPL-2.0-or-later
/* s-leak-ignore: memory that only memory the scan cannot see points to,
 * as a program's own mmap'd table would: a 64-byte entry (registry_add)
 * that nothing points to, holding a 100-byte item (make_item).  Leaked,
 * and the item indirectly; with registry_add in --ignore, the entry is
 * hidden and a root, and the item reachable
 * (test_leaks.py::test_ignore_takes_hidden_blocks_for_roots). */
#include <stdlib.h>

#include "leak.h"

__attribute__((noinline)) void *make_item(void)
{
	return calloc(1, 100);
}

__attribute__((noinline)) void registry_add(void *item)
{
	void **volatile entry = calloc(1, 64);

	entry[0] = item;
	entry = NULL;
}

int main(void)
{
	registry_add(make_item());
	LEAK_WIPE();
	return 0;
}
