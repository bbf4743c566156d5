// SPDX-License-Identifier: GPL-2.0-or-later
/* s-leak-daemon: the daemon of issue 15.  It keeps a pool of 10
 * connections with 64 KB buffers and a cache of 64 blocks of 4 KB, both
 * in globals on purpose (reachable), and leaks 200 bytes per tick
 * (handle_tick); it runs TICKS ticks (argv[1], default 59) and returns.
 *   pool_init    10 x 65536 bytes: reachable
 *   cache_init   64 x 4096 bytes: reachable
 *   handle_tick  one 200-byte request per tick, never freed: leaked */
#include <stdlib.h>
#include <string.h>

#include "leak.h"

struct conn {
	int fd;
	char *buf;
};

struct conn pool[10];
char *cache[64];

__attribute__((noinline)) void pool_init(void)
{
	for (int i = 0; i < 10; i++) {
		pool[i].fd = -1;
		pool[i].buf = malloc(64 * 1024);
	}
}

__attribute__((noinline)) void cache_init(void)
{
	for (int i = 0; i < 64; i++)
		cache[i] = calloc(1, 4096);
}

__attribute__((noinline)) void handle_tick(int tick)
{
	char *volatile req = malloc(200);

	memset(req, tick, 200);
	req = NULL;
	(void)req;
}

int main(int argc, char **argv)
{
	int ticks = argc > 1 ? atoi(argv[1]) : 59;

	pool_init();
	cache_init();
	for (int t = 0; t < ticks; t++)
		handle_tick(t);
	LEAK_WIPE();
	return 0;
}
