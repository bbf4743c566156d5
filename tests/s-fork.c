// SPDX-License-Identifier: GPL-2.0-or-later
/* s-fork: processes of one traced tree, for --outfile FILE / FILE.PID.
 * Every process writes "ROLE PID" lines on stdout with write(2).
 *   s-fork fork         parent_leak (300 bytes), then fork(): the child
 *                       leaks child_leak (200 bytes) and exit()s; the parent
 *                       waits for it.
 *   s-fork exec         parent_leak, then fork() + exec of "s-fork leaf".
 *   s-fork system       parent_leak, then system("s-fork leaf").
 *   s-fork leaf         leaf_leak (123 bytes).
 *   s-fork dump-fork F  parent_leak, "ready", then waits for a byte on
 *                       stdin (the test dumps the parent with SIGUSR1
 *                       meanwhile), then fork(): the child writes "stale"
 *                       into F.<its pid>, leaks child_leak and exit()s. */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

void *keep[4];

void parent_leak(void) { keep[0] = malloc(300); }
void child_leak(void) { keep[1] = malloc(200); }
void leaf_leak(void) { keep[2] = malloc(123); }

static void say(const char *role)
{
	char line[64];
	int n = snprintf(line, sizeof(line), "%s %d\n", role, (int)getpid());

	if (write(1, line, n) != n)
		_exit(1);
}

static int wait_child(pid_t pid)
{
	int status;

	if (pid < 0 || waitpid(pid, &status, 0) != pid)
		return 1;
	return WIFEXITED(status) && WEXITSTATUS(status) == 0 ? 0 : 1;
}

static void write_stale(const char *outfile)
{
	char path[4200];
	int fd;

	snprintf(path, sizeof(path), "%s.%d", outfile, (int)getpid());
	fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
	if (fd < 0 || write(fd, "stale\n", 6) != 6)
		_exit(1);
	close(fd);
}

int main(int argc, char **argv)
{
	const char *mode = argc > 1 ? argv[1] : "";
	char cmd[4200], c;
	pid_t pid;

	if (!strcmp(mode, "leaf")) {
		leaf_leak();
		say("leaf");
		return 0;
	}
	parent_leak();
	say("parent");
	if (!strcmp(mode, "fork")) {
		pid = fork();
		if (pid == 0) {
			child_leak();
			say("child");
			exit(0);
		}
		return wait_child(pid);
	}
	if (!strcmp(mode, "exec")) {
		pid = fork();
		if (pid == 0) {
			execl(argv[0], argv[0], "leaf", (char *)NULL);
			_exit(127);
		}
		return wait_child(pid);
	}
	if (!strcmp(mode, "system")) {
		snprintf(cmd, sizeof(cmd), "'%s' leaf", argv[0]);
		return system(cmd) == 0 ? 0 : 1;
	}
	if (!strcmp(mode, "dump-fork") && argc > 2) {
		if (write(1, "ready\n", 6) != 6 || read(0, &c, 1) != 1)
			return 1;
		pid = fork();
		if (pid == 0) {
			write_stale(argv[2]);
			child_leak();
			say("child");
			exit(0);
		}
		return wait_child(pid);
	}
	return 2;
}
