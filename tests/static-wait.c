// SPDX-License-Identifier: GPL-2.0-or-later
/* static-wait: a statically linked program that heaptrace --pid must refuse
 * (test_attach.py): "ready", a line from stdin, "done", exit status 3. */
#include <stdio.h>

int main(void)
{
	char line[64];

	printf("ready\n");
	fflush(stdout);
	if (!fgets(line, sizeof(line), stdin))
		return 1;
	printf("done\n");
	return 3;
}
