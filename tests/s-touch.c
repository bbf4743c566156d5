// SPDX-License-Identifier: GPL-2.0-or-later
/* s-touch: creates the file argv[1] and exits 0; a marker telling a test
 * whether the program ran at all. */
#include <fcntl.h>
#include <unistd.h>

int main(int argc, char **argv)
{
	int fd;

	if (argc != 2)
		return 99;
	fd = open(argv[1], O_WRONLY | O_CREAT | O_TRUNC, 0644);
	if (fd < 0)
		return 98;
	close(fd);
	return 0;
}
