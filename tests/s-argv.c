// SPDX-License-Identifier: GPL-2.0-or-later
/* s-argv: prints its argc, then each argv[i] on a line of its own, so a test
 * sees exactly which arguments the launcher passed on (and as argv[0]). */
#include <stdio.h>

int main(int argc, char **argv)
{
	printf("argc=%d\n", argc);
	for (int i = 0; i < argc; i++)
		printf("argv[%d]=%s\n", i, argv[i]);
	return 0;
}
