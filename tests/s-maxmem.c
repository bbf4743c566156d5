// SPDX-License-Identifier: GPL-2.0-or-later
/* s-maxmem: keeps many blocks live at once, for the tracer's memory limit.
 * keep_early() keeps 10 x 48 bytes; keep_many() then allocates COUNT
 * (default 200,000) blocks of 32 bytes and keeps them all; free_many()
 * frees them all, in allocation order; after_limit() allocates 50 x 100
 * bytes and frees 20 of them, keeping 30.  Live at exit: keep_early
 * (10 x 48) and after_limit (30 x 100, peak 50).  Allocation calls:
 * 10 + COUNT + 50.  Output with write(2) only ("phase 1", "phase 2",
 * "done"), so stdio allocates nothing.
 *   s-maxmem [COUNT]        runs straight through
 *   s-maxmem wait [COUNT]   after "phase 1" (all of keep_many live) and
 *                           after "phase 2" (all freed) waits for a byte
 *                           on stdin, so a test can have heaptrace dump
 * Exits 4. */
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

void *early[10];
void **many;
void *late[50];

static void say(const char *s)
{
	if (write(STDOUT_FILENO, s, strlen(s)) != (ssize_t)strlen(s))
		_exit(90);
}

static void pause_for_stdin(int wait)
{
	char c;

	if (wait && read(STDIN_FILENO, &c, 1) != 1)
		_exit(91);
}

void keep_early(void)
{
	for (int i = 0; i < 10; i++)
		early[i] = malloc(48);
}

void keep_many(long count)
{
	for (long i = 0; i < count; i++)
		if (!(many[i] = malloc(32)))
			_exit(92);
}

void free_many(long count)
{
	for (long i = 0; i < count; i++)
		free(many[i]);
}

void after_limit(void)
{
	for (int i = 0; i < 50; i++)
		late[i] = malloc(100);
	for (int i = 0; i < 50; i += 5)
		free(late[i]), free(late[i + 1]);
}

int main(int argc, char **argv)
{
	int wait = argc > 1 && !strcmp(argv[1], "wait");
	long count = argc > 1 + wait ? atol(argv[1 + wait]) : 200000;
	static void *slots[1000000];

	if (count < 0 || count > 1000000)
		return 2;
	many = slots;
	keep_early();
	keep_many(count);
	say("phase 1\n");
	pause_for_stdin(wait);
	free_many(count);
	say("phase 2\n");
	pause_for_stdin(wait);
	after_limit();
	say("done\n");
	return 4;
}
