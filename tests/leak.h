// SPDX-License-Identifier: GPL-2.0-or-later
/* leak.h - shared by the tests/s-leak-*.c programs (test_leaks.py): each
 * program allocates in noinline functions of its own and, before it exits,
 * wipes what those calls left behind, so that the only pointers to a block
 * are the ones the program means to keep.  A stale copy in a dead stack
 * slot or a scratch register would make a conservative scan (heaptrace's,
 * memcheck's) see a block as reachable, and the two tools could then
 * disagree for reasons that are not the case under test.  The programs
 * write nothing with stdio: its buffers are blocks the C runtime keeps. */
#ifndef LEAK_H
#define LEAK_H

#include <string.h>

/* Overwrite 64 KB of the stack below the caller with zeros: every dead
 * frame of the functions that allocated.  The asm keeps the memset. */
static __attribute__((noinline)) void leak_wipe_stack(void)
{
	char junk[64 * 1024];

	memset(junk, 0, sizeof(junk));
	__asm__ volatile("" : : "r"(junk) : "memory");
}

/* Zero the registers a call may leave a pointer in (the caller-saved ones
 * are dead after a call anyway; the callee-saved ones are restored by the
 * caller's own epilogue, which at -O0 holds no pointer of ours). */
static inline __attribute__((always_inline)) void leak_wipe_regs(void)
{
	__asm__ volatile("xor %%eax, %%eax\n\txor %%ecx, %%ecx\n\txor %%edx, %%edx\n\t"
			 "xor %%esi, %%esi\n\txor %%edi, %%edi\n\txor %%r8d, %%r8d\n\t"
			 "xor %%r9d, %%r9d\n\txor %%r10d, %%r10d\n\txor %%r11d, %%r11d\n\t"
			 "pxor %%xmm0, %%xmm0\n\tpxor %%xmm1, %%xmm1\n\tpxor %%xmm2, %%xmm2\n\t"
			 "pxor %%xmm3, %%xmm3"
			 : : : "rax", "rcx", "rdx", "rsi", "rdi", "r8", "r9", "r10", "r11",
			   "xmm0", "xmm1", "xmm2", "xmm3", "memory");
}

/* Both, in the order that leaves nothing: the stack, then the registers
 * the memset used. */
#define LEAK_WIPE()                \
	do {                       \
		leak_wipe_stack(); \
		leak_wipe_regs();  \
	} while (0)

#endif
