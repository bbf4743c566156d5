// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * A plugin whose one function, plugin_alloc(size), calls malloc from a
 * frame of FRAME bytes.  It is written in assembly so that the two builds
 * (libframe24.so, libframe120.so) have the same code at the same offsets
 * and differ only in the immediates and their call-frame rules: loaded one
 * after the other at the same address, the same return address needs a
 * different rule (test_unwind.py: rules are forgotten at dlclose).  ZERO
 * is a word of the frame cleared first; in the larger frame it is where the
 * smaller frame's rule would look for the return address.
 */
#define STR2(x) #x
#define STR(x) STR2(x)

__asm__(".text\n"
	".globl plugin_alloc\n"
	".type plugin_alloc, @function\n"
	"plugin_alloc:\n"
	".cfi_startproc\n"
	"subq $" STR(FRAME) ", %rsp\n"
	".cfi_def_cfa_offset " STR(FRAME) " + 8\n"
	"movq $0, " STR(ZERO) "(%rsp)\n"
	"call malloc@PLT\n"
	"addq $" STR(FRAME) ", %rsp\n"
	".cfi_def_cfa_offset 8\n"
	"ret\n"
	".cfi_endproc\n"
	".size plugin_alloc, .-plugin_alloc\n");
