// SPDX-License-Identifier: GPL-2.0-or-later
/* s-chdir DIR [PROG ARG...]: changes to the directory DIR, then leaks 1234
 * bytes from leak_after_chdir; with PROG, then runs it (fork and exec, from
 * DIR) and waits for it.  A relative --outfile or HEAPTRACE_OUTFILE must
 * still land where s-chdir started, for it and for PROG, not in DIR. */
#include <stdlib.h>
#include <sys/wait.h>
#include <unistd.h>

void *keep;

void leak_after_chdir(void)
{
	keep = malloc(1234);
}

static int run(char **argv)
{
	int status;
	pid_t pid = fork();

	if (pid == 0) {
		execv(argv[0], argv);
		_exit(127);
	}
	if (pid < 0 || waitpid(pid, &status, 0) != pid)
		return 98;
	return WIFEXITED(status) && WEXITSTATUS(status) == 0 ? 0 : 98;
}

int main(int argc, char **argv)
{
	if (argc < 2 || chdir(argv[1]))
		return 99;
	leak_after_chdir();
	return argc > 2 ? run(argv + 2) : 0;
}
