// SPDX-License-Identifier: GPL-2.0-or-later
/* s-fp-outermost: where a chain of frame pointers really ends.  deep()
 * recurses 12 frames, all with frame pointers, and mallocs 24 bytes: more
 * frames than DEPTH, a chain --unwind=fp takes.  run_outermost() calls
 * leaf() with rbp = 0 from a frame that the call-frame rules mark the
 * stack's outermost (as _start and a clone()d thread's first frame are),
 * and leaf() mallocs 32 bytes: a chain that ends there, NULL where the ABI
 * puts it, which --unwind=fp takes too.  Both blocks are kept. */
#include <stdlib.h>

void run_outermost(void (*fn)(void));
__asm__(".text\n"
	".globl run_outermost\n"
	".type run_outermost, @function\n"
	"run_outermost:\n"
	".cfi_startproc\n"
	"	push %rbp\n"
	".cfi_def_cfa_offset 16\n"
	".cfi_offset %rbp, -16\n"
	"	xor %ebp, %ebp\n"
	".cfi_undefined %rip\n"
	"	call *%rdi\n"
	".cfi_offset %rip, -8\n"
	"	pop %rbp\n"
	".cfi_def_cfa_offset 8\n"
	"	ret\n"
	".cfi_endproc\n"
	".size run_outermost, .-run_outermost\n");

static void *keep[2];

void leaf(void)
{
	keep[1] = malloc(32);
}

void deep(int n)
{
	if (n > 0)
		deep(n - 1);
	else
		keep[0] = malloc(24);
}

int main(void)
{
	deep(12);
	run_outermost(leaf);
	return 0;
}
