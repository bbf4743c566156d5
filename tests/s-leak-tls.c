// SPDX-License-Identifier: GPL-2.0-or-later
/* s-leak-tls: blocks whose only pointers are thread-local variables.
 *   static_tls_block  168 bytes in main's __thread variable tls_main
 *                     (static TLS of the executable): reachable
 *   thread_tls_block  184 bytes in the same variable of another thread,
 *                     blocked in read(2) when main calls exit(): reachable
 *   lib_tls_keep      with argv[1], the path of libleaktls.so, which main
 *                     dlopen()s: 200 bytes in the library's __thread
 *                     variable, set from main.  Dynamic TLS: glibc
 *                     mallocs the library's 8-byte TLS block at the first
 *                     access (__tls_get_addr) and points to it from main's
 *                     DTV, which ld.so allocated at start-up outside
 *                     malloc: reachable, both */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <pthread.h>
#include <stdlib.h>
#include <unistd.h>

#include "leak.h"
#include "leak-thread.h"

__thread void *tls_main;

__attribute__((noinline)) void static_tls_block(void)
{
	tls_main = malloc(168);
}

__attribute__((noinline)) void thread_tls_block(void)
{
	tls_main = malloc(184);
}

static void *holder(void *arg)
{
	char c;

	thread_tls_block();
	leak_wipe_stack();
	leak_thread_block(&c);
	return NULL;
}

__attribute__((noinline)) void lib_tls(const char *lib)
{
	void *h = dlopen(lib, RTLD_NOW);
	void (*keep)(void) = h ? (void (*)(void))dlsym(h, "lib_tls_keep") : NULL;

	if (!keep)
		_exit(95);
	keep();
}

int main(int argc, char **argv)
{
	static_tls_block();
	if (argc > 1)
		lib_tls(argv[1]);
	leak_thread_run(holder);
	LEAK_WIPE();
	exit(0);
}
