// SPDX-License-Identifier: GPL-2.0-or-later
/* s-thread-clean: starts a thread that allocates 32 blocks and frees them
 * all, joins it, and returns 0.  The program frees everything it
 * allocates; what libc keeps for the finished thread (its cached stack and
 * the thread's TLS vector) is the runtime's, so the exit report must stay
 * silent. */
#include <pthread.h>
#include <stdlib.h>

void *in_thread(void *arg)
{
	void *p[32];

	(void)arg;
	for (int i = 0; i < 32; i++)
		p[i] = malloc(16 * (i + 1));
	for (int i = 31; i >= 0; i--)
		free(p[i]);
	return NULL;
}

int main(void)
{
	pthread_t th;

	if (pthread_create(&th, NULL, in_thread, NULL))
		return 1;
	pthread_join(th, NULL);
	return 0;
}
