// SPDX-License-Identifier: GPL-2.0-or-later
/* churn-wait PAIRS - churn (churn-core.h) that first prints "ready" and waits
 * for a line on stdin, so that heaptrace --pid can attach before it starts;
 * then prints "ns=N", the time of the churn alone (run.py: attach_cost). */
#include <time.h>

#include "churn-core.h"

int main(int argc, char **argv)
{
	struct churn c = {.rng = 0x9E3779B97F4A7C15ULL};
	unsigned long pairs = wl_count(argc > 1 ? argv[1] : NULL, 4000000);
	struct timespec t0, t1;
	char line[16];

	wl_leave_live();
	printf("ready\n");
	fflush(stdout);
	if (!fgets(line, sizeof(line), stdin))
		return 1;
	clock_gettime(CLOCK_MONOTONIC, &t0);
	churn_run(&c, pairs);
	clock_gettime(CLOCK_MONOTONIC, &t1);
	printf("ns=%lld check=%llx\n",
	       (long long)(t1.tv_sec - t0.tv_sec) * 1000000000LL + (t1.tv_nsec - t0.tv_nsec),
	       (unsigned long long)c.sum);
	return 0;
}
