// SPDX-License-Identifier: GPL-2.0-or-later
/* s-dlstress: the unwinder's table of rules forgotten while it is read.
 * Four threads each allocate and free blocks of 24 bytes from recurse() at
 * depths 1 to 12 (distinct return addresses, learned again after every
 * forgetting), at least 20,000 and until the fifth thread is done, then
 * keep one of 100 bytes from keep_one(); the fifth thread loads and
 * unloads libplugin.so (next to this program) 300 times, so that every
 * dlclose() forgets every rule while the others read them.  Live at exit: the
 * four 100-byte blocks, and what the loader keeps.  Exits 1 if the plugin
 * cannot be loaded or a thread cannot be started. */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <libgen.h>
#include <limits.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#define ALLOCATORS 4
#define ROUNDS 20000
#define RELOADS 300

static char plugin[PATH_MAX];
static void *kept[ALLOCATORS];
static volatile int failed, reloading = 1;

static __attribute__((noinline)) void recurse(int depth)
{
	if (depth > 0) {
		recurse(depth - 1);
		__asm__ volatile("" ::: "memory");
		return;
	}
	free(malloc(24));
}

static __attribute__((noinline)) void *keep_one(void)
{
	return malloc(100);
}

static void *allocator(void *arg)
{
	long i = (long)arg;

	for (int r = 0; r < ROUNDS || reloading; r++)
		recurse(1 + r % 12);
	kept[i] = keep_one();
	return NULL;
}

static void *reloader(void *arg)
{
	for (int r = 0; r < RELOADS; r++) {
		void *h = dlopen(plugin, RTLD_NOW | RTLD_LOCAL);

		if (!h || dlclose(h)) {
			failed = 1;
			break;
		}
	}
	reloading = 0;
	return arg;
}

int main(void)
{
	char exe[PATH_MAX];
	ssize_t n = readlink("/proc/self/exe", exe, sizeof(exe) - 1);
	pthread_t t[ALLOCATORS + 1];

	if (n <= 0)
		return 1;
	exe[n] = '\0';
	snprintf(plugin, sizeof(plugin), "%s/libplugin.so", dirname(exe));
	for (long i = 0; i < ALLOCATORS; i++)
		if (pthread_create(&t[i], NULL, allocator, (void *)i))
			return 1;
	if (pthread_create(&t[ALLOCATORS], NULL, reloader, NULL))
		return 1;
	for (int i = 0; i <= ALLOCATORS; i++)
		pthread_join(t[i], NULL);
	return failed;
}
