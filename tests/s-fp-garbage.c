// SPDX-License-Identifier: GPL-2.0-or-later
/* s-fp-garbage: malloc called while the frame-pointer register holds
 * something that is not a frame, as in code built without frame pointers.
 * --unwind=fp must end its walk there, never crash, and count every block.
 * Each case allocates 100 + case bytes, twice; one of the two is freed.
 * The last two cases run on a thread whose stack ends at an unmapped page,
 * with %rbp just above and just below its end: the stack's next frame
 * looks plausible there, and only the page check stops the walk.
 * Prints "done N" with the number of cases. */
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

/* call_with_rbp(size, rbp, fn): fn(size) with %rbp set to rbp. */
void *call_with_rbp(size_t size, uintptr_t rbp, void *(*fn)(size_t));
__asm__(".text\n"
	".globl call_with_rbp\n"
	".type call_with_rbp, @function\n"
	"call_with_rbp:\n"
	"	push %rbp\n"
	"	mov %rsi, %rbp\n"
	"	call *%rdx\n"
	"	pop %rbp\n"
	"	ret\n"
	".size call_with_rbp, .-call_with_rbp\n");

static void *keep[64];

static void run_case(int i, uintptr_t rbp)
{
	keep[2 * i] = call_with_rbp(100 + (size_t)i, rbp, malloc);
	keep[2 * i + 1] = call_with_rbp(100 + (size_t)i, rbp, malloc);
	memset(keep[2 * i], 0, 100);
	free(keep[2 * i + 1]);
}

#define STACK (256 << 10)
static char *stack_end;
static int first_edge_case;

static void *edge_cases(void *arg)
{
	(void)arg;
	run_case(first_edge_case, (uintptr_t)stack_end + 16);
	run_case(first_edge_case + 1, (uintptr_t)stack_end - 8);
	return NULL;
}

/* A thread on a stack followed by an unmapped page. */
static int run_edge_cases(int first)
{
	char *mem = mmap(NULL, STACK + 4096, PROT_READ | PROT_WRITE,
			 MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	pthread_attr_t attr;
	pthread_t t;

	if (mem == MAP_FAILED)
		return 0;
	munmap(mem + STACK, 4096);
	stack_end = mem + STACK;
	first_edge_case = first;
	pthread_attr_init(&attr);
	pthread_attr_setstack(&attr, mem, STACK);
	if (pthread_create(&t, &attr, edge_cases, NULL))
		return 0;
	pthread_join(t, NULL);
	return 2;
}

int main(void)
{
	uintptr_t loop[4], chain[4];
	char *gone = mmap(NULL, 8192, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	char *edge = mmap(NULL, 8192, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	uintptr_t *tail;
	int n = 0;

	if (gone == MAP_FAILED || edge == MAP_FAILED)
		return 1;
	munmap(gone, 8192);
	munmap(edge + 4096, 4096);
	tail = (uintptr_t *)(edge + 4096 - sizeof(uintptr_t)); /* return address unmapped */
	*tail = (uintptr_t)edge;
	loop[0] = (uintptr_t)loop; /* points at itself */
	loop[1] = (uintptr_t)main;
	chain[0] = (uintptr_t)gone; /* next frame unmapped */
	chain[1] = (uintptr_t)main;

	uintptr_t cases[] = {
		0, 8, 4096, (uintptr_t)gone, (uintptr_t)gone + 4088, (uintptr_t)tail,
		(uintptr_t)loop, (uintptr_t)chain, (uintptr_t)chain + 3, (uintptr_t)-8,
		(uintptr_t)0xffff800000000000ULL, (uintptr_t)&n, (uintptr_t)main,
	};
	int ncases = (int)(sizeof(cases) / sizeof(cases[0]));

	for (int i = 0; i < ncases; i++)
		run_case(i, cases[i]);
	ncases += run_edge_cases(ncases);
	printf("done %d\n", ncases);
	return 0;
}
