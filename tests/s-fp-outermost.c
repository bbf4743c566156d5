// SPDX-License-Identifier: GPL-2.0-or-later
/* s-fp-outermost: where a chain of frame pointers really ends, and proof
 * that --unwind=fp took a backtrace itself.  lie() calls its argument
 * from a frame with a frame pointer, under call-frame rules that say it
 * is the stack's outermost frame: the default unwinder stops in it, a
 * chain of frame pointers goes on through it.  deep() recurses 12 frames,
 * all with frame pointers, and has lie() call alloc24(), which mallocs 24
 * bytes: more frames than DEPTH, a chain --unwind=fp takes.
 * run_outermost() calls leaf() with rbp = 0 from a frame that the
 * call-frame rules mark the stack's outermost (as _start and a clone()d
 * thread's first frame are), and leaf() has lie() call alloc32(), which
 * mallocs 32 bytes: a chain that ends there, NULL where the ABI puts it,
 * which --unwind=fp takes too.  Both blocks are kept. */
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

void lie(void (*fn)(void));
__asm__(".text\n"
	".globl lie\n"
	".type lie, @function\n"
	"lie:\n"
	".cfi_startproc\n"
	".cfi_undefined %rip\n"
	"	push %rbp\n"
	"	mov %rsp, %rbp\n"
	"	call *%rdi\n"
	"	pop %rbp\n"
	"	ret\n"
	".cfi_endproc\n"
	".size lie, .-lie\n");

static void *keep[2];

void alloc24(void)
{
	keep[0] = malloc(24);
}

void alloc32(void)
{
	keep[1] = malloc(32);
}

void leaf(void)
{
	lie(alloc32);
}

void deep(int n)
{
	if (n > 0)
		deep(n - 1);
	else
		lie(alloc24);
}

int main(void)
{
	deep(12);
	run_outermost(leaf);
	return 0;
}
