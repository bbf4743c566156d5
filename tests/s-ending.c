// SPDX-License-Identifier: GPL-2.0-or-later
/* s-ending: ends the way its argument says, after leaking 42 bytes from
 * leak_before_end() (something for an exit report) and writing one line
 * with write(2) and one through stdio (left in the buffer: whether it
 * appears tells whether stdio was flushed).
 *   abort          abort()
 *   segv           a write through a null pointer
 *   wait           writes "ready" with write(2) and waits for a signal
 *   _exit N        _exit(N): no exit handlers, no stdio flush
 *   quick_exit N   quick_exit(N): at_quick_exit handlers only (ours
 *                  writes "quick handler"), no stdio flush
 *   exit N         exit(N): exit handlers, stdio flushed */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

void *keep;
int *volatile nowhere;

void leak_before_end(void)
{
	keep = malloc(42);
}

static void say(const char *s)
{
	if (write(STDOUT_FILENO, s, strlen(s)) != (ssize_t)strlen(s))
		_exit(90);
}

static void quick_handler(void)
{
	say("quick handler\n");
}

int main(int argc, char **argv)
{
	const char *how = argc > 1 ? argv[1] : "";
	int status = argc > 2 ? atoi(argv[2]) : 0;

	leak_before_end();
	say("via write\n");
	printf("via stdio\n");
	if (!strcmp(how, "abort"))
		abort();
	if (!strcmp(how, "segv"))
		*nowhere = 1;
	if (!strcmp(how, "wait")) {
		say("ready\n");
		for (;;)
			pause();
	}
	if (!strcmp(how, "_exit"))
		_exit(status);
	if (!strcmp(how, "quick_exit")) {
		at_quick_exit(quick_handler);
		quick_exit(status);
	}
	if (!strcmp(how, "exit"))
		exit(status);
	say("usage: s-ending abort|segv|wait|_exit N|quick_exit N|exit N\n");
	return 99;
}
