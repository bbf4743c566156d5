// SPDX-License-Identifier: GPL-2.0-or-later
/* s-leak-guard: a buffer of the program's own with a page it made
 * unreadable (mprotect PROT_NONE, as a guard page): the scan must not read
 * it (it would fault), and still classifies it: kept in a global,
 * reachable.  A 48-byte block whose only pointer is in the unreadable page
 * is leaked as far as heaptrace can tell
 * (test_leaks.py::test_scan_skips_unreadable_blocks). */
#include <stdint.h>
#include <stdlib.h>
#include <sys/mman.h>

#include "leak.h"

char *buffer;

__attribute__((noinline)) void guard_buffer(void)
{
	void **inside;

	if (posix_memalign((void **)&buffer, 4096, 4 * 4096))
		exit(1);
	inside = (void **)(buffer + 2 * 4096);
	inside[0] = malloc(48);
	mprotect(buffer + 2 * 4096, 4096, PROT_NONE);
}

int main(void)
{
	guard_buffer();
	LEAK_WIPE();
	return 0;
}
