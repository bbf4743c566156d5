// SPDX-License-Identifier: GPL-2.0-or-later
/* s-peak-threads: the heap's peak with threads (test_report.py::
 * test_peak_with_threads_within_a_batch_per_thread).  4 threads each
 * allocate 256 blocks of 4000 bytes (1,024,000), all wait until every thread
 * holds them (the heap's true peak: 4,096,000 bytes and what the C runtime keeps
 * for the threads), then free them all and exit.  heaptrace counts a
 * thread's changes of the heap's size in batches: its peak may be short of
 * the true one by at most a batch per thread. */
#include <pthread.h>
#include <stdlib.h>

#define THREADS 4
#define BLOCKS 256

static pthread_barrier_t held;

static void *worker(void *arg)
{
	void *b[BLOCKS];

	for (int i = 0; i < BLOCKS; i++)
		b[i] = malloc(4000);
	pthread_barrier_wait(&held);
	for (int i = 0; i < BLOCKS; i++)
		free(b[i]);
	return arg;
}

int main(void)
{
	pthread_t t[THREADS];

	pthread_barrier_init(&held, NULL, THREADS);
	for (int i = 0; i < THREADS; i++)
		pthread_create(&t[i], NULL, worker, NULL);
	for (int i = 0; i < THREADS; i++)
		pthread_join(t[i], NULL);
	pthread_barrier_destroy(&held);
	return 0;
}
