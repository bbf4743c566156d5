// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * opt-rbpdata: a program's own code built -O1 without frame pointers (g++)
 * that keeps data in rbp while it allocates, in the shapes that look like
 * a chain of frames to a walk of frame pointers: records of {a pointer up
 * the stack, a word that could be a return address}, more of them than
 * any DEPTH, so that each case is refused by one check of the walk alone.
 * --unwind=fp must give the default unwinder's backtraces for all of it
 * (test_unwind.py).
 *
 * Each case pins a value in rbp and calls alloc_item() COUNT times, and
 * alloc_item() counts the calls in which rbp held what the case put there,
 * so that the test knows the compiler did as asked:
 *   list_walk   334 x 40 bytes: rbp walks a list of items on main's stack,
 *               {next item, 8 bytes of its name}: "return addresses" that
 *               are string bytes, different for each item (each block
 *               became its own backtrace);
 *   rodata      10 x 48 bytes: records whose return address is a string
 *               literal, in the program's file but not in its code;
 *   misaligned  11 x 56 bytes: records that return to a function, 8 bytes
 *               off the 16 that the ABI aligns every frame to;
 *   off_stack   12 x 64 bytes, on a thread: records that return to a
 *               function, just above the thread's stack, in its mapping;
 *   unloaded    13 x 72 bytes: records that return into the code of
 *               libframe24.so (next to this program), after a block
 *               allocated there (and freed) and dlclose();
 *   zero        14 x 80 bytes: rbp holds 0, which ends a chain of frame
 *               pointers in the outermost frame only.
 * Prints "rbp held: N of M" (M calls in all) and frees nothing else.
 */
#include <dlfcn.h>
#include <libgen.h>
#include <limits.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#pragma GCC diagnostic ignored "-Wregister" /* a register variable pinned to rbp */

static unsigned held, calls;

__attribute__((noinline)) void *alloc_item(size_t size, const void *in_rbp)
{
	uintptr_t rbp;

	__asm__ volatile("mov %%rbp, %0" : "=r"(rbp));
	held += rbp == (uintptr_t)in_rbp;
	calls++;
	return malloc(size);
}

__attribute__((noinline)) void decoy(void)
{
	__asm__ volatile("");
}

/* Calls alloc_item(size, v) n times with v in rbp. */
#define WITH_RBP(v, n, size)                                        \
	do {                                                        \
		register const void *r_ asm("rbp") = (v);           \
		for (int i_ = 0; i_ < (n); i_++) {                  \
			__asm__ volatile("" : "+r"(r_));            \
			alloc_item((size), r_);                     \
		}                                                   \
	} while (0)

/* CHAIN records {next, ret} at rec, each pointing at the one above it. */
#define CHAIN 300
static uintptr_t *chain(uintptr_t *rec, uintptr_t ret)
{
	for (int i = 0; i < CHAIN; i++) {
		rec[2 * i] = i + 1 < CHAIN ? (uintptr_t)&rec[2 * i + 2] : 0;
		rec[2 * i + 1] = ret;
	}
	return rec;
}

struct item {
	item *next;
	char name[8];
};

__attribute__((noinline)) void list_walk(item *head)
{
	register item *p asm("rbp");

	for (p = head; p; p = p->next) {
		__asm__ volatile("" : "+r"(p));
		alloc_item(40, p);
	}
}

__attribute__((noinline)) void rodata(void)
{
	alignas(16) uintptr_t rec[2 * CHAIN];

	WITH_RBP(chain(rec, (uintptr_t) "not code at all"), 10, 48);
	__asm__ volatile("" : : "r"(rec) : "memory");
}

__attribute__((noinline)) void misaligned(void)
{
	alignas(16) uintptr_t rec[2 * CHAIN + 1];

	WITH_RBP(chain(rec + 1, (uintptr_t)decoy), 11, 56);
	__asm__ volatile("" : : "r"(rec) : "memory");
}

#define STACK (256 << 10)

__attribute__((noinline)) void off_stack(uintptr_t *above)
{
	WITH_RBP(above, 12, 64);
}

static void *thread_main(void *above)
{
	off_stack((uintptr_t *)above);
	return NULL;
}

/* A thread on the lower half of a mapping; the records in the upper half. */
static int run_off_stack(void)
{
	char *mem = (char *)mmap(NULL, 2 * STACK, PROT_READ | PROT_WRITE,
				 MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	pthread_attr_t attr;
	pthread_t t;

	if (mem == MAP_FAILED)
		return 1;
	pthread_attr_init(&attr);
	pthread_attr_setstack(&attr, mem, STACK);
	if (pthread_create(&t, &attr, thread_main,
			   chain((uintptr_t *)(mem + STACK + 64), (uintptr_t)decoy)))
		return 1;
	return pthread_join(t, NULL);
}

__attribute__((noinline)) void unloaded(void)
{
	alignas(16) uintptr_t rec[2 * CHAIN];
	char path[PATH_MAX];
	ssize_t n = readlink("/proc/self/exe", path, sizeof(path) - 1);
	void *h, *(*fn)(size_t);

	if (n <= 0)
		return;
	path[n] = '\0';
	snprintf(path + strlen(dirname(path)), sizeof(path) - strlen(path), "/libframe24.so");
	h = dlopen(path, RTLD_NOW | RTLD_LOCAL);
	fn = h ? (void *(*)(size_t))dlsym(h, "plugin_alloc") : NULL;
	if (!fn)
		return;
	free(fn(8));
	chain(rec, (uintptr_t)fn + 1);
	dlclose(h);
	WITH_RBP(rec, 13, 72);
	__asm__ volatile("" : : "r"(rec) : "memory");
}

__attribute__((noinline)) void zero(void)
{
	WITH_RBP(NULL, 14, 80);
}

int main()
{
	alignas(16) item items[334];

	for (int i = 0; i < 334; i++) {
		items[i].next = i + 1 < 334 ? &items[i + 1] : NULL;
		memcpy(items[i].name, "er-", 3);
		snprintf(items[i].name + 3, 5, "%04d", i);
	}
	list_walk(items);
	rodata();
	misaligned();
	if (run_off_stack())
		return 1;
	unloaded();
	zero();
	printf("rbp held: %u of %u\n", held, calls);
	return 0;
}
