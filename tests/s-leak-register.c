// SPDX-License-Identifier: GPL-2.0-or-later
/* s-leak-register: a block whose only pointer is in a register of another
 * thread.  The thread allocates 152 bytes (register_block) and keeps the
 * pointer XORed with a key on its stack (not a pointer to the block for any
 * scan), wipes its dead frames, then in one asm statement puts the real
 * pointer in the callee-saved r12, zeroes every other copy and blocks in a
 * raw read(2) of a pipe nobody writes.  Main waits until the thread is
 * blocked there and calls exit(). */
#define _GNU_SOURCE
#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "leak.h"
#include "leak-thread.h"

#define KEY 0x5a5a5a5a5a5a5a5aULL

__attribute__((noinline)) uintptr_t register_block(void)
{
	return (uintptr_t)malloc(152) ^ KEY;
}

static void *holder(void *arg)
{
	volatile uintptr_t hidden = register_block();
	uintptr_t key = KEY;
	char c;

	leak_wipe_stack();
	leak_tid = (pid_t)syscall(SYS_gettid);
	/* r12 = hidden ^ key; then read(fd, &c, 1) by hand: the kernel keeps
	 * r12 in the thread's saved user registers while it sleeps. */
	__asm__ volatile("mov %[h], %%r12\n\t"
			 "xor %[k], %%r12\n\t"
			 "xor %[k], %[k]\n\t"
			 "mov %[fd], %%edi\n\t"
			 "mov %[buf], %%rsi\n\t"
			 "mov $1, %%edx\n\t"
			 "mov %[nr], %%eax\n\t"
			 "syscall"
			 : [k] "+r"(key)
			 : [h] "m"(hidden), [fd] "m"(leak_pipe[0]), [buf] "r"(&c),
			   [nr] "i"(SYS_read)
			 : "r12", "rax", "rdi", "rsi", "rdx", "rcx", "r11", "memory");
	_exit(94);
}

int main(void)
{
	leak_thread_run(holder);
	LEAK_WIPE();
	exit(0);
}
