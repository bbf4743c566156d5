// SPDX-License-Identifier: GPL-2.0-or-later
/* s-leak-stack: a block whose only pointer is a local of another thread.
 * The thread allocates 136 bytes (stack_block), keeps the pointer in a
 * local, wipes its dead frames and blocks reading a pipe nobody writes;
 * main waits until it is blocked there and calls exit(): the block is
 * reachable, from the thread's stack.  The thread's own TLS and DTV
 * (glibc's _dl_allocate_tls) are blocks of the C runtime. */
#define _GNU_SOURCE
#include <pthread.h>
#include <stdlib.h>
#include <unistd.h>

#include "leak.h"
#include "leak-thread.h"

__attribute__((noinline)) void *stack_block(void)
{
	return malloc(136);
}

static void *holder(void *arg)
{
	void *volatile local = stack_block();
	char c;

	leak_wipe_stack();
	leak_thread_block(&c);
	return local;
}

int main(void)
{
	leak_thread_run(holder);
	LEAK_WIPE();
	exit(0);
}
