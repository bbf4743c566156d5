// SPDX-License-Identifier: GPL-2.0-or-later
/* leak-thread.h - a thread of the tests/s-leak-*.c programs that blocks
 * in read(2) on a pipe nobody writes, and the main thread's wait until it
 * is blocked there: then main calls exit() with the thread still alive,
 * its stack and registers as the thread left them. */
#ifndef LEAK_THREAD_H
#define LEAK_THREAD_H

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

static int leak_pipe[2];
static volatile pid_t leak_tid;

/* read(leak_pipe[0], buf, 1): never returns. */
static __attribute__((noinline, unused)) void leak_thread_block(char *buf)
{
	leak_tid = (pid_t)syscall(SYS_gettid);
	if (read(leak_pipe[0], buf, 1) < 0)
		_exit(91);
}

/* Is thread tid in read(2) on leak_pipe[0]?  /proc/self/task/TID/syscall
 * starts with the call's number and first argument. */
static int leak_thread_blocked(pid_t tid)
{
	char path[64], want[32], got[64] = "";
	FILE *f;
	int ok;

	snprintf(path, sizeof(path), "/proc/self/task/%d/syscall", (int)tid);
	snprintf(want, sizeof(want), "%d 0x%x ", SYS_read, leak_pipe[0]);
	f = fopen(path, "re");
	if (!f)
		return 0;
	ok = fgets(got, sizeof(got), f) && !strncmp(got, want, strlen(want));
	fclose(f);
	return ok;
}

/* Start fn in a thread and wait until it blocks in leak_thread_block();
 * the fopen()s above are freed before main goes on. */
static void leak_thread_run(void *(*fn)(void *))
{
	struct timespec ts = { 0, 1000000 };
	pthread_t t;

	if (pipe(leak_pipe) || pthread_create(&t, NULL, fn, NULL))
		_exit(92);
	for (int i = 0; i < 60000; i++) {
		if (leak_tid && leak_thread_blocked(leak_tid))
			return;
		nanosleep(&ts, NULL);
	}
	_exit(93);
}

#endif
