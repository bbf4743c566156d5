// SPDX-License-Identifier: GPL-2.0-or-later
/* s-ignore: sites for --ignore, each leaking from its own function:
 *   keep_me        1 x 100 bytes
 *   hide_by_name   1 x 200 bytes
 *   hide_glob_one  3 x 100 bytes, one call site (one backtrace)
 *   hide_glob_two  2 x 400 bytes, from two call sites (two backtraces)
 *   spaced_name    1 x 500 bytes
 *   commented      1 x 600 bytes
 *   inner_alloc    1 x 900 bytes, called by outer_caller
 * and, when a library defining plugin_leak() is preloaded next to it (a
 * weak reference, so the program runs without one), what plugin_leak
 * leaks from that library (700 bytes). */
#include <stdlib.h>

void plugin_leak(void) __attribute__((weak));
void *keep[16];

void keep_me(void) { keep[0] = malloc(100); }
void hide_by_name(void) { keep[1] = malloc(200); }
void hide_glob_one(void)
{
	for (int i = 0; i < 3; i++)
		keep[8 + i] = malloc(100);
}
void hide_glob_two(void) { keep[3] = malloc(400); keep[4] = malloc(400); }
void spaced_name(void) { keep[5] = malloc(500); }
void commented(void) { keep[6] = malloc(600); }
void inner_alloc(void) { keep[7] = malloc(900); }
void outer_caller(void) { inner_alloc(); }

int main(void)
{
	keep_me();
	hide_by_name();
	hide_glob_one();
	hide_glob_two();
	spaced_name();
	commented();
	outer_caller();
	if (plugin_leak)
		plugin_leak();
	return 0;
}
