// SPDX-License-Identifier: GPL-2.0-or-later
/* s-lost: a program that does to its stdout and stderr what real programs
 * do before they exit.  It leaks 3 x 1000 bytes from lost_leak, writes
 * "before" on stdout, does MODE, writes "after" on stdout when it still
 * can, and returns 0 from main (exit handlers run).
 *   close        close(2), as gnulib's close_stdout() does at exit
 *   dup2 FILE    FILE (created) dup2()ed over fd 2, "program's line" written
 *                to fd 2
 *   open FILE    FILE (created) opened, "data" written to it, "fd N" (its
 *                number) on stdout: with stderr closed at start, it is 2
 *   closefrom    close_range(0, ~0U, 0): every descriptor; then exits with
 *                the number of descriptors left open in /proc/self/fd
 *   close-loop   close() of every descriptor below the RLIMIT_NOFILE
 *   close-stdout close(1) (for --flame-graph)
 *   close-wait   close(2), "ready" on stdout, then waits for stdin to end
 *                (the test dumps with SIGUSR1 meanwhile)
 *   none         nothing */
#define _GNU_SOURCE
#include <dirent.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <unistd.h>

void *keep[3];

void lost_leak(void)
{
	for (int i = 0; i < 3; i++)
		keep[i] = malloc(1000);
}

static void say(int fd, const char *s)
{
	if (write(fd, s, strlen(s)) < 0)
		_exit(90);
}

static int open_fds(void)
{
	DIR *d = opendir("/proc/self/fd");
	struct dirent *e;
	int n = 0;

	if (!d)
		return 99;
	while ((e = readdir(d)))
		if (e->d_name[0] != '.' && atoi(e->d_name) != dirfd(d))
			n++;
	closedir(d);
	return n;
}

int main(int argc, char **argv)
{
	const char *mode = argc > 1 ? argv[1] : "";
	struct rlimit rl;
	char line[64], c;
	int fd;

	lost_leak();
	say(1, "before\n");
	if (!strcmp(mode, "close")) {
		close(2);
	} else if (!strcmp(mode, "dup2") && argc > 2) {
		fd = open(argv[2], O_WRONLY | O_CREAT | O_TRUNC, 0644);
		if (fd < 0 || dup2(fd, 2) != 2)
			return 91;
		close(fd);
		say(2, "program's line\n");
	} else if (!strcmp(mode, "open") && argc > 2) {
		fd = open(argv[2], O_WRONLY | O_CREAT | O_TRUNC, 0644);
		if (fd < 0)
			return 92;
		say(fd, "data\n");
		snprintf(line, sizeof(line), "fd %d\n", fd);
		say(1, line);
	} else if (!strcmp(mode, "closefrom")) {
		if (syscall(SYS_close_range, 0, ~0U, 0))
			return 93;
		return open_fds();
	} else if (!strcmp(mode, "close-loop")) {
		getrlimit(RLIMIT_NOFILE, &rl);
		for (rlim_t i = 0; i < rl.rlim_cur && i < 1 << 20; i++)
			close((int)i);
		return 0;
	} else if (!strcmp(mode, "close-stdout")) {
		close(1);
		return 0;
	} else if (!strcmp(mode, "close-wait")) {
		close(2);
		say(1, "ready\n");
		while (read(0, &c, 1) > 0)
			;
	} else if (strcmp(mode, "none")) {
		return 2;
	}
	say(1, "after\n");
	return 0;
}
