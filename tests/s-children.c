// SPDX-License-Identifier: GPL-2.0-or-later
/* s-children: a parent and a forked child, for which of them is traced.
 * Every process writes "ROLE PID ..." lines on stdout with write(2).
 *   s-children fork    parent_leak (300 bytes) and 64 shared blocks of 50
 *                      bytes, then fork(): the child frees the shared
 *                      blocks, grows one with realloc, sets 200 variables
 *                      (setenv() reallocates the environment, which the
 *                      library may have allocated for itself), leaks
 *                      child_leak (200 bytes), writes "child PID" and
 *                      exit()s 0; the parent waits, writes "parent PID
 *                      status N" and frees its shared blocks.
 *   s-children signal  fork(): the child raises SIGUSR1 (heaptrace's dump
 *                      signal), then writes "child PID alive" and exit()s
 *                      0; the parent writes "child killed by N" or "child
 *                      status N".  parent_leak as above. */
#define _GNU_SOURCE
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#define NSHARED 64

void *keep[2];
void *shared[NSHARED];

void parent_leak(void) { keep[0] = malloc(300); }
void child_leak(void) { keep[1] = malloc(200); }

static void say(const char *fmt, long a, long b)
{
	char line[128];
	int n = snprintf(line, sizeof(line), fmt, a, b);

	if (write(1, line, (size_t)n) != n)
		_exit(1);
}

static void child_work(void)
{
	char name[32];

	for (int i = 1; i < NSHARED; i++)
		free(shared[i]);
	shared[0] = realloc(shared[0], 100000);
	for (int i = 0; i < 200; i++) {
		snprintf(name, sizeof(name), "S_CHILDREN_%d", i);
		if (setenv(name, "x", 1))
			_exit(3);
	}
	free(shared[0]);
	child_leak();
	say("child %ld\n", (long)getpid(), 0);
}

static int wait_child(pid_t pid)
{
	int status;

	if (pid < 0 || waitpid(pid, &status, 0) != pid)
		return -1;
	return status;
}

int main(int argc, char **argv)
{
	const char *mode = argc > 1 ? argv[1] : "";
	int status;
	pid_t pid;

	parent_leak();
	for (int i = 0; i < NSHARED; i++)
		shared[i] = malloc(50);
	if (!strcmp(mode, "fork")) {
		pid = fork();
		if (pid == 0) {
			child_work();
			exit(0);
		}
		status = wait_child(pid);
		say("parent %ld status %ld\n", (long)getpid(), status);
	} else if (!strcmp(mode, "signal")) {
		pid = fork();
		if (pid == 0) {
			raise(SIGUSR1);
			say("child %ld alive\n", (long)getpid(), 0);
			exit(0);
		}
		status = wait_child(pid);
		if (WIFSIGNALED(status))
			say("child killed by %ld\n", WTERMSIG(status), 0);
		else
			say("child status %ld\n", WEXITSTATUS(status), 0);
	} else {
		return 2;
	}
	for (int i = 0; i < NSHARED; i++)
		free(shared[i]);
	return 0;
}
