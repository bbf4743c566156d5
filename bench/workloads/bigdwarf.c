// SPDX-License-Identifier: GPL-2.0-or-later
/* bigdwarf OUTFILE [UNITS] - issue 16's shape of a large C++ service: the
 * program's allocations go through libbigdwarf.so, a library that carries
 * about 200 MB of DWARF (bench/tools/gen-bigdwarf.py) of which a report
 * needs a few units.  Allocates 16 blocks from each of 12 of its units,
 * then asks heaptrace for two dumps (SIGUSR1) one after the other and
 * prints how long each took to appear complete in OUTFILE, as dumps.py:
 * "dump1=MS dump2=MS". */
#include <signal.h>
#include <time.h>
#include <unistd.h>
#include "wl.h"

void *big_alloc(int unit, size_t n);

static double now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

/* how many report separators OUTFILE holds */
static int separators(const char *path)
{
	static const char sep[] = "=================================================================\n";
	FILE *f = fopen(path, "r");
	char line[4096];
	int n = 0;

	if (!f)
		return 0;
	while (fgets(line, sizeof(line), f))
		n += !strcmp(line, sep);
	fclose(f);
	return n;
}

int main(int argc, char **argv)
{
	static void *keep[12 * 16];
	int units = argc > 2 ? atoi(argv[2]) : 400;

	if (argc < 2) {
		fprintf(stderr, "usage: bigdwarf OUTFILE [UNITS]\n");
		return 2;
	}
	for (int i = 0; i < 12 * 16; i++)
		keep[i] = big_alloc((i / 16) * 37 % units, 100 + (size_t)i);
	for (int k = 1; k <= 2; k++) {
		double t0 = now_ms();

		raise(SIGUSR1);
		while (separators(argv[1]) < 2 * k)
			usleep(500);
		printf("dump%d=%.1f ms\n", k, now_ms() - t0);
	}
	for (int i = 0; i < 12 * 16; i++)
		free(keep[i]);
	return 0;
}
