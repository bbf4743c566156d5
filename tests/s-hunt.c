// SPDX-License-Identifier: GPL-2.0-or-later
/* s-hunt: a daemon whose heap the test drives, for growth, peaks, periodic
 * dumps and JSON.  Commands on stdin, one per line, each answered "ok" on
 * stdout once done (the program uses write(2) only, so stdio's buffers
 * never join the heap):
 *   a SITE N SIZE   allocate N blocks of SIZE bytes at site_a/site_b/site_c
 *   f SITE N        free the last N blocks allocated at SITE
 *   q               exit(0) with what is still allocated
 * End of input also exits. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define MAXB 100000

static void *blocks[3][MAXB];
static int nblocks[3];

static void *site_a(size_t n) { return malloc(n); }
static void *site_b(size_t n) { return malloc(n); }
static void *site_c(size_t n) { return malloc(n); }
static void *(*const sites[3])(size_t) = { site_a, site_b, site_c };

static int read_line(char *buf, size_t cap)
{
	size_t n = 0;

	while (n + 1 < cap && read(0, buf + n, 1) == 1)
		if (buf[n++] == '\n')
			break;
	buf[n] = '\0';
	return n > 0;
}

int main(void)
{
	char line[128];

	while (read_line(line, sizeof(line))) {
		char cmd, site;
		int n = 0, s;
		size_t size = 0;

		if (sscanf(line, "%c %c %d %zu", &cmd, &site, &n, &size) < 1 || cmd == 'q')
			break;
		s = site - 'a';
		if (s < 0 || s > 2 || n < 0)
			return 1;
		for (int i = 0; cmd == 'a' && i < n && nblocks[s] < MAXB; i++)
			blocks[s][nblocks[s]++] = sites[s](size);
		for (int i = 0; cmd == 'f' && i < n && nblocks[s] > 0; i++)
			free(blocks[s][--nblocks[s]]);
		if (write(1, "ok\n", 3) != 3)
			return 1;
	}
	return 0;
}
