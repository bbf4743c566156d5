// SPDX-License-Identifier: GPL-2.0-or-later
/* s-printf: only prints with stdio (stdout's buffer is malloc'ed by libc on
 * first use and never freed by the program) and reads nothing: no leak of
 * its own, so the exit report must stay silent. */
#include <stdio.h>

int main(void)
{
	printf("hello from s-printf: %d\n", 42);
	fputs("second line\n", stdout);
	return 0;
}
