// SPDX-License-Identifier: GPL-2.0-or-later
/* s-exit: ends the way its arguments say, after leaking one block so the
 * tracer has something to report:
 *   s-exit exit N     exit(N)
 *   s-exit raise SIG  raise(SIG) with SIG's default action
 *   s-exit wait       print "pid=N", then wait for a signal (pause) */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

void *keep;

int main(int argc, char **argv)
{
	keep = malloc(42);
	if (argc == 3 && !strcmp(argv[1], "exit"))
		exit(atoi(argv[2]));
	if (argc == 3 && !strcmp(argv[1], "raise")) {
		signal(atoi(argv[2]), SIG_DFL);
		raise(atoi(argv[2]));
		return 100; /* the signal did not kill us */
	}
	if (argc == 2 && !strcmp(argv[1], "wait")) {
		printf("pid=%d\n", (int)getpid());
		fflush(stdout);
		for (;;)
			pause();
	}
	fprintf(stderr, "usage: s-exit exit N | raise SIG | wait\n");
	return 99;
}
