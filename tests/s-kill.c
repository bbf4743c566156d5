// SPDX-License-Identifier: GPL-2.0-or-later
/* s-kill: a signal storm for the reporter, faster than any script could
 * send it.  Not traced itself; allocates nothing.
 *   s-kill N PID              N signals to the process (through a pidfd, so
 *                             that a reused pid is never hit),
 *                             SIGUSR1 and SIGUSR2 alternately (USR1 first)
 *   s-kill N PID TID...       N signals with tgkill(2), aimed at the given
 *                             threads of PID in turn, each thread a SIGUSR1
 *                             then a SIGUSR2
 *   s-kill -g N PID [TID...]  the same, but the target may go away meanwhile
 *                             (a program that exits during the storm): ESRCH
 *                             ends the storm without an error
 *   s-kill -s N PID [TID...]  the same, but the storm also ends when stdin
 *                             reaches its end (checked every 256 signals), so
 *                             that a test can stop it when it wants
 * Writes "sent K" (the signals delivered to the kernel) on stdout and exits
 * 0, or 1 with a message on stderr if a send failed (ESRCH without -g: the
 * target died during the storm, which the tests count as a crash). */
#define _GNU_SOURCE
#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/pidfd.h>
#include <sys/syscall.h>
#include <unistd.h>

static long number(const char *s)
{
	char *end;
	long v;

	errno = 0;
	v = strtol(s, &end, 10);
	if (errno || end == s || *end || v <= 0) {
		fprintf(stderr, "s-kill: bad number '%s'\n", s);
		exit(2);
	}
	return v;
}

int main(int argc, char **argv)
{
	int may_go = argc > 1 && !strcmp(argv[1], "-g");
	int until_eof = argc > 1 && !strcmp(argv[1], "-s");
	int first = 1 + may_go + until_eof, ntids;
	long n, sent = 0;
	pid_t pid, tids[64];
	int pidfd;

	if (argc < first + 2) {
		fprintf(stderr, "usage: s-kill [-g|-s] N PID [TID...]\n");
		return 2;
	}
	n = number(argv[first]);
	pid = (pid_t)number(argv[first + 1]);
	ntids = argc - first - 2;
	if (ntids > 64) {
		fprintf(stderr, "s-kill: too many threads\n");
		return 2;
	}
	for (int i = 0; i < ntids; i++)
		tids[i] = (pid_t)number(argv[first + 2 + i]);
	pidfd = pidfd_open(pid, 0);
	if (pidfd < 0) {
		fprintf(stderr, "s-kill: pidfd_open %d: %s\n", (int)pid, strerror(errno));
		return 1;
	}
	for (long i = 0; i < n; i++) {
		int sig = i % 2 ? SIGUSR2 : SIGUSR1;
		int r;

		if (until_eof && i % 256 == 0) {
			struct pollfd in = { 0, POLLIN, 0 };
			char c;

			if (poll(&in, 1, 0) > 0 && read(0, &c, 1) <= 0)
				break;
		}
		r = ntids ? (int)syscall(SYS_tgkill, pid, tids[(i / 2) % ntids], sig)
			  : pidfd_send_signal(pidfd, sig, NULL, 0);
		if (r) {
			if (errno == ESRCH && may_go)
				break;
			fprintf(stderr, "s-kill: signal %ld of %ld to %d: %s\n", i + 1, n,
				(int)pid, strerror(errno));
			return 1;
		}
		sent++;
	}
	printf("sent %ld\n", sent);
	return 0;
}
