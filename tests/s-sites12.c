// SPDX-License-Identifier: GPL-2.0-or-later
/* s-sites12: twelve malloc call sites in leak_sites, site i keeping one block
 * of (i + 1) * 100 bytes: twelve backtraces, more than the default --top 10,
 * the biggest 1200 bytes, the smallest 100. */
#include <stdlib.h>

void *keep[12];

void leak_sites(void)
{
	keep[0] = malloc(100);
	keep[1] = malloc(200);
	keep[2] = malloc(300);
	keep[3] = malloc(400);
	keep[4] = malloc(500);
	keep[5] = malloc(600);
	keep[6] = malloc(700);
	keep[7] = malloc(800);
	keep[8] = malloc(900);
	keep[9] = malloc(1000);
	keep[10] = malloc(1100);
	keep[11] = malloc(1200);
}

int main(void)
{
	leak_sites();
	return 0;
}
