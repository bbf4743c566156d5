// SPDX-License-Identifier: GPL-2.0-or-later
// Adapted from the team's peer benchmark lab (shared/bench), to measure
// heaptrace beside the same floors and peers.
/* churn PAIRS - single-threaded malloc/free churn (see churn-core.h).
 * Default 10M pairs.  Prints its own event counts. */
#include "churn-core.h"

int main(int argc, char **argv)
{
	wl_leave_live();
	unsigned long pairs = wl_count(argc > 1 ? argv[1] : NULL, 10000000);
	struct churn c = {.rng = 0x9E3779B97F4A7C15ULL};
	churn_run(&c, pairs);
	printf("churn pairs=%lu mallocs=%lu frees=%lu check=%llx\n", pairs, c.mallocs, c.frees,
	       (unsigned long long)c.sum);
	return 0;
}
