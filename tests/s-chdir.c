// SPDX-License-Identifier: GPL-2.0-or-later
/* s-chdir: changes to the directory argv[1], then leaks 1234 bytes from
 * leak_after_chdir: a relative --outfile must still land where the launcher
 * ran, not in the program's new working directory. */
#include <stdlib.h>
#include <unistd.h>

void *keep;

void leak_after_chdir(void)
{
	keep = malloc(1234);
}

int main(int argc, char **argv)
{
	if (argc != 2 || chdir(argv[1]))
		return 99;
	leak_after_chdir();
	return 0;
}
