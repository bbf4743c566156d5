// SPDX-License-Identifier: GPL-2.0-or-later
/* s-free-early: run with lib-early-blocks.so preloaded, whose constructor
 * allocated 7 blocks before heaptrace's constructor ran.  Prints whether
 * heaptrace's constructor had run then, and every block's
 * malloc_usable_size; then frees six of them, grows the seventh (55 bytes)
 * with realloc to 500 in realloc_early() and keeps it, keeps 3 x 111 bytes
 * from keep_after() and allocates and frees 10 x 64 bytes in churn().
 * Afterwards exactly realloc_early (1 x 500) and keep_after (3 x 111) are
 * live: 21 allocation calls, 202,152 bytes since start.  Only write(2)
 * output, so stdio allocates nothing.  Exits 0, or 2 without the library,
 * 1 if a block is missing. */
#define _GNU_SOURCE
#include <malloc.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

extern void **early_blocks(void) __attribute__((weak));
extern int early_saw_heaptrace(void) __attribute__((weak));

void *keep[4];

static void say(const char *line, size_t n)
{
	if (write(STDOUT_FILENO, line, n) != (ssize_t)n)
		_exit(90);
}

void *realloc_early(void *p)
{
	return realloc(p, 500);
}

void keep_after(void)
{
	for (int i = 0; i < 3; i++)
		keep[i + 1] = malloc(111);
}

void churn(void)
{
	for (int i = 0; i < 10; i++)
		free(malloc(64));
}

int main(int argc, char **argv)
{
	char line[128];
	void **b;
	int n;

	if (!early_blocks || !early_saw_heaptrace)
		return 2;
	if (argc > 1 && !strcmp(argv[1], "premise")) {
		n = snprintf(line, sizeof(line), "heaptrace started before: %d\n",
			     early_saw_heaptrace());
		say(line, (size_t)n);
		return 0;
	}
	b = early_blocks();
	for (int i = 0; i < 7; i++) {
		if (!b[i])
			return 1;
		n = snprintf(line, sizeof(line), "block %d usable %zu\n", i, malloc_usable_size(b[i]));
		say(line, (size_t)n);
	}
	for (int i = 0; i < 7; i++)
		if (i != 2)
			free(b[i]);
	keep[0] = realloc_early(b[2]);
	if (!keep[0])
		return 1;
	keep_after();
	churn();
	say("done\n", 5);
	return 0;
}
