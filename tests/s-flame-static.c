// SPDX-License-Identifier: GPL-2.0-or-later
/* s-flame-static: frames without names.  static_1 .. static_8 are static,
 * so they have no dynamic symbol and the flame graph names them by object
 * path and offset -- as it does every function of a program linked without
 * -rdynamic.  The chain leaks 64 bytes, its stack is cut at the depth (8);
 * named_site leaks 32 bytes with an ordinary stack.  Live: 96 bytes in 2
 * blocks, two backtraces. */
#include <stdlib.h>

void *keep[2];

static void static_8(void) { keep[0] = malloc(64); }
static void static_7(void) { static_8(); }
static void static_6(void) { static_7(); }
static void static_5(void) { static_6(); }
static void static_4(void) { static_5(); }
static void static_3(void) { static_4(); }
static void static_2(void) { static_3(); }
static void static_1(void) { static_2(); }

void named_site(void)
{
	keep[1] = malloc(32);
}

int main(void)
{
	static_1();
	named_site();
	return 0;
}
