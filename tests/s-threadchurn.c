// SPDX-License-Identifier: GPL-2.0-or-later
/* s-threadchurn: 10,000 short-lived threads, 16 at a time: main starts a
 * batch of 16, joins them all, starts the next.  Thread i allocates block
 * i (16 x (1 + i % 7) bytes) from thread_block, and allocates and frees 4
 * blocks in thread_scratch; once all 16 of its batch have allocated (a
 * barrier), it frees:
 *   - if i % 4 == 0: its partner's block i + 1, allocated by a thread
 *     running at the same time;
 *   - if i % 4 == 2: block i - 16, allocated by the thread in the same
 *     place of the previous batch, which has exited;
 *   - if i % 4 == 3: its own block.
 * So block i % 4 == 0 is never freed and stays live after its thread
 * exited, block i % 4 == 1 is freed by another live thread, and block
 * i % 4 == 2 by a thread of the next batch (main frees those of the last
 * batch after the last join).
 * Live at exit: thread_block 2,500 blocks (i % 4 == 0), 16 x (1 + i % 7)
 * bytes each; nothing from thread_scratch; glibc keeps the thread control
 * blocks of the stacks it caches for reuse.  Its peak is at the last
 * batch's barrier: every i % 4 == 0 block, the previous batch's i % 4 == 2
 * blocks and the whole last batch.  Exits 0, or 1 if a thread could not be
 * started. */
#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>

#define TOTAL 10000
#define BATCH 16

static void *blocks[TOTAL];
static pthread_barrier_t allocated;

void *thread_block(int i)
{
	return malloc(16 * (1 + (size_t)(i % 7)));
}

void thread_scratch(int i)
{
	void *p[4];

	for (int k = 0; k < 4; k++)
		p[k] = malloc(8 + (size_t)(i % 5) + (size_t)k);
	for (int k = 0; k < 4; k++)
		free(p[k]);
}

void *thread_main(void *arg)
{
	int i = (int)(intptr_t)arg;

	blocks[i] = thread_block(i);
	thread_scratch(i);
	pthread_barrier_wait(&allocated);
	switch (i % 4) {
	case 0:
		free(blocks[i + 1]);
		blocks[i + 1] = NULL;
		break;
	case 2:
		if (i >= BATCH) {
			free(blocks[i - BATCH]);
			blocks[i - BATCH] = NULL;
		}
		break;
	case 3:
		free(blocks[i]);
		blocks[i] = NULL;
		break;
	}
	return NULL;
}

int main(void)
{
	pthread_t th[BATCH];

	pthread_barrier_init(&allocated, NULL, BATCH);
	for (int base = 0; base < TOTAL; base += BATCH) {
		for (int k = 0; k < BATCH; k++)
			if (pthread_create(&th[k], NULL, thread_main, (void *)(intptr_t)(base + k)))
				return 1;
		for (int k = 0; k < BATCH; k++)
			pthread_join(th[k], NULL);
	}
	for (int i = TOTAL - BATCH + 2; i < TOTAL; i += 4) {
		free(blocks[i]);
		blocks[i] = NULL;
	}
	return 0;
}
