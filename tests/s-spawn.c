// SPDX-License-Identifier: GPL-2.0-or-later
/* s-spawn: children started every way a program can start them.  Every
 * process writes "ROLE PID" lines on stdout with write(2).
 *   s-spawn leaf TAG SIZE  leaks leaf_leak (1 x SIZE bytes), writes
 *                          "leaf-TAG PID" and exits 0.
 *   s-spawn all            leaks parent_leak (1 x 300 bytes), writes
 *                          "parent PID", then runs "s-spawn leaf" four
 *                          times, waiting for each: fork() + execv (TAG fork,
 *                          101 bytes), system() (system, 102), popen() (popen,
 *                          103; main copies the line it reads from the pipe
 *                          to stdout), posix_spawn() (spawn, 104).  Exits 0 if
 *                          every child exited 0, else 1.  Live at exit:
 *                          parent_leak.
 *   s-spawn static PATH    leaks parent_leak, writes "parent PID", then
 *                          fork()s a child that only execs PATH (a static
 *                          program, which heaptrace cannot trace) and waits
 *                          for it; exits 0 if it exited 0, else 1. */
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

extern char **environ;

void *keep[2];

void parent_leak(void)
{
	keep[0] = malloc(300);
}

void leaf_leak(size_t size)
{
	keep[1] = malloc(size);
}

static void say(const char *role)
{
	char line[64];
	int n = snprintf(line, sizeof(line), "%s %d\n", role, (int)getpid());

	if (write(1, line, n) != n)
		_exit(1);
}

static int exited_0(int status)
{
	return WIFEXITED(status) && WEXITSTATUS(status) == 0;
}

static int wait_ok(pid_t pid)
{
	int status;

	return pid > 0 && waitpid(pid, &status, 0) == pid && exited_0(status);
}

static int by_fork(const char *self)
{
	pid_t pid = fork();

	if (pid == 0) {
		execl(self, self, "leaf", "fork", "101", (char *)NULL);
		_exit(127);
	}
	return wait_ok(pid);
}

static int by_system(const char *self)
{
	char cmd[4200];

	snprintf(cmd, sizeof(cmd), "'%s' leaf system 102", self);
	return exited_0(system(cmd));
}

static int by_popen(const char *self)
{
	char cmd[4200], line[128];
	FILE *f;
	int ok = 1;

	snprintf(cmd, sizeof(cmd), "'%s' leaf popen 103", self);
	f = popen(cmd, "r");
	if (!f)
		return 0;
	while (fgets(line, sizeof(line), f))
		if (write(1, line, strlen(line)) < 0)
			ok = 0;
	return exited_0(pclose(f)) && ok;
}

static int by_spawn(const char *self)
{
	char *argv[] = { (char *)self, "leaf", "spawn", "104", NULL };
	pid_t pid;

	if (posix_spawn(&pid, self, NULL, NULL, argv, environ))
		return 0;
	return wait_ok(pid);
}

static int exec_static(const char *path)
{
	pid_t pid = fork();

	if (pid == 0) {
		execl(path, path, (char *)NULL);
		_exit(127);
	}
	return wait_ok(pid);
}

int main(int argc, char **argv)
{
	const char *mode = argc > 1 ? argv[1] : "";
	char role[64];

	if (!strcmp(mode, "leaf") && argc > 3) {
		leaf_leak((size_t)atoi(argv[3]));
		snprintf(role, sizeof(role), "leaf-%s", argv[2]);
		say(role);
		return 0;
	}
	parent_leak();
	say("parent");
	if (!strcmp(mode, "all")) {
		int ok = by_fork(argv[0]);

		ok &= by_system(argv[0]);
		ok &= by_popen(argv[0]);
		ok &= by_spawn(argv[0]);
		return ok ? 0 : 1;
	}
	if (!strcmp(mode, "static") && argc > 2)
		return exec_static(argv[2]) ? 0 : 1;
	return 2;
}
