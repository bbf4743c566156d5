// SPDX-License-Identifier: GPL-2.0-or-later
/* s-many: twelve sites, leak_01 .. leak_12, each leaking one block of
 * 100 * N + N bytes (leak_12 the largest), called in a shuffled order; then
 * prints "s-many: done" on stdout and exits with status 5.  For --top and
 * the default of ten backtraces, and for the library's handling of bad
 * HEAPTRACE_* values (the program must run on with its output and status). */
#include <stdio.h>
#include <stdlib.h>

void *keep[12];

void leak_01(void) { keep[0] = malloc(101); }
void leak_02(void) { keep[1] = malloc(202); }
void leak_03(void) { keep[2] = malloc(303); }
void leak_04(void) { keep[3] = malloc(404); }
void leak_05(void) { keep[4] = malloc(505); }
void leak_06(void) { keep[5] = malloc(606); }
void leak_07(void) { keep[6] = malloc(707); }
void leak_08(void) { keep[7] = malloc(808); }
void leak_09(void) { keep[8] = malloc(909); }
void leak_10(void) { keep[9] = malloc(1010); }
void leak_11(void) { keep[10] = malloc(1111); }
void leak_12(void) { keep[11] = malloc(1212); }

int main(void)
{
	leak_07();
	leak_02();
	leak_11();
	leak_05();
	leak_01();
	leak_12();
	leak_09();
	leak_03();
	leak_06();
	leak_10();
	leak_04();
	leak_08();
	printf("s-many: done\n");
	return 5;
}
