// SPDX-License-Identifier: GPL-2.0-or-later
// Adapted from the team's peer benchmark lab (shared/bench), to measure
// heaptrace beside the same floors and peers.
/* mt-churn PAIRS THREADS [own] - churn.c's loop in THREADS threads (default
 * 2); PAIRS (default 10M) is the total, split evenly between the threads, so
 * the untraced CPU work does not depend on THREADS.  The threads share one
 * ring of parked blocks, so a block is often freed by a thread other than
 * the one that allocated it; with "own", each thread parks its blocks in a
 * ring of its own and frees only what it allocated (a server's workers:
 * the same call sites, each thread its own blocks). */
#include <pthread.h>
#include "churn-core.h"

struct job {
	struct churn c;
	unsigned long pairs;
	pthread_t tid;
};

static void *worker(void *arg)
{
	struct job *j = arg;
	churn_run(&j->c, j->pairs);
	return NULL;
}

int main(int argc, char **argv)
{
	wl_leave_live();
	unsigned long pairs = wl_count(argc > 1 ? argv[1] : NULL, 10000000);
	unsigned long nthreads = wl_count(argc > 2 ? argv[2] : NULL, 2);
	int own = argc > 3 && !strcmp(argv[3], "own");
	struct job *jobs = calloc(nthreads, sizeof *jobs);
	void **ring = calloc(RING_SIZE, sizeof(void *)); /* shared: cross-thread frees */
	for (unsigned long t = 0; t < nthreads; t++) {
		jobs[t].c.rng = 0x9E3779B97F4A7C15ULL ^ ((t + 1) * 0xD1B54A32D192ED03ULL);
		jobs[t].c.ring = own ? NULL : ring; /* NULL: churn_run makes its own */
		jobs[t].pairs = pairs / nthreads + (t < pairs % nthreads);
		if (pthread_create(&jobs[t].tid, NULL, worker, &jobs[t]))
			abort();
	}
	unsigned long m = 2, f = 2; /* the jobs array and the ring */
	uint64_t sum = 0;
	for (unsigned long t = 0; t < nthreads; t++) {
		pthread_join(jobs[t].tid, NULL);
		m += jobs[t].c.mallocs;
		f += jobs[t].c.frees;
		sum += jobs[t].c.sum;
	}
	for (unsigned i = 0; i < RING_SIZE; i++)
		if (ring[i]) {
			free(ring[i]);
			f++;
		}
	free(ring);
	free(jobs);
	printf("mt-churn pairs=%lu threads=%lu mallocs=%lu frees=%lu check=%llx\n", pairs, nthreads, m, f,
	       (unsigned long long)sum);
	return 0;
}
