// SPDX-License-Identifier: GPL-2.0-or-later
/* s-vmlimit: a program that needs nearly all the address space `ulimit -v`
 * allows it.  keep_big allocates 8 MiB (8,388,608 bytes), writes to every
 * page and keeps it; on failure the program writes "no memory" and exits
 * with status 1.  Otherwise it writes "ready" on stdout, waits until stdin
 * ends and exits with status 0: live at exit, keep_big's block. */
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define BIG (8u << 20)

static void *big;

void keep_big(void)
{
	big = malloc(BIG);
	if (big)
		memset(big, 1, BIG);
}

int main(void)
{
	char c;

	keep_big();
	if (!big) {
		(void)!write(1, "no memory\n", 10);
		return 1;
	}
	(void)!write(1, "ready\n", 6);
	while (read(0, &c, 1) > 0)
		;
	return 0;
}
