// SPDX-License-Identifier: GPL-2.0-or-later
/* s-thread-exit: a second thread, named "worker", leaks 777 bytes from
 * thread_leak() and then calls exit(4) itself, so the exit report is
 * written on a thread that is not the main one while main waits in
 * pthread_join.  The report must still name the process (its pid and the
 * main thread's name), not the thread. */
#define _GNU_SOURCE
#include <pthread.h>
#include <stdlib.h>

void *keep;

void thread_leak(void)
{
	keep = malloc(777);
}

void *thread_main(void *arg)
{
	(void)arg;
	pthread_setname_np(pthread_self(), "worker");
	thread_leak();
	exit(4);
}

int main(void)
{
	pthread_t th;

	if (pthread_create(&th, NULL, thread_main, NULL))
		return 1;
	pthread_join(th, NULL);
	return 0;
}
