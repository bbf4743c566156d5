// SPDX-License-Identifier: GPL-2.0-or-later
/* sample-leak: the program `make demo` traces.  It keeps a cache that is
 * never freed, leaks a buffer per request, and frees everything else. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static char *cache[16];

void fill_cache(void)
{
	for (int i = 0; i < 16; i++)
		cache[i] = malloc(1024);
}

char *make_reply(int n)
{
	char *reply = malloc(100);

	snprintf(reply, 100, "reply %d", n);
	return reply;
}

void handle_request(int n)
{
	char *scratch = calloc(4, 256);
	char *reply = make_reply(n);

	if (n % 2)
		free(reply); /* even requests leak their reply */
	free(scratch);
}

int main(void)
{
	fill_cache();
	for (int n = 0; n < 10; n++)
		handle_request(n);
	printf("sample-leak: done\n");
	return 0;
}
