// SPDX-License-Identifier: GPL-2.0-or-later
/* static-prog: a statically linked program (built with -static), which
 * LD_PRELOAD cannot reach; s-spawn's child execs it (test_stress.py): it
 * runs normally, sees LD_PRELOAD and ignores it. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

int main(void)
{
	char *p = malloc(4000);

	memset(p, 1, 4000);
	printf("static %d %s\n", (int)getpid(), getenv("LD_PRELOAD") ? "preload" : "none");
	return 0;
}
