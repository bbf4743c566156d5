// SPDX-License-Identifier: GPL-2.0-or-later
/* s-env: prints its own pid and, in environment order, every HEAPTRACE_*
 * variable and LD_PRELOAD it was given, one "NAME=value" a line: what the
 * launcher turned its options into. */
#include <stdio.h>
#include <string.h>
#include <unistd.h>

extern char **environ;

int main(void)
{
	printf("pid=%d\n", (int)getpid());
	for (char **e = environ; *e; e++)
		if (!strncmp(*e, "HEAPTRACE_", 10) || !strncmp(*e, "LD_PRELOAD=", 11))
			printf("%s\n", *e);
	return 0;
}
