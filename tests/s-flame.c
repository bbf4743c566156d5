// SPDX-License-Identifier: GPL-2.0-or-later
/* s-flame: many live backtraces for --flame-graph:
 *   flame_01 .. flame_12   one block of 1000 * N bytes each (12 > --top's 10)
 *   two_sites              two malloc call sites in one function: 7 and 11
 *                          bytes (two backtraces, one folded stack)
 *   calloc_site            calloc(4, 25): frame 0 is calloc
 *   deep_01 .. deep_10     a chain deeper than the backtrace depth (8):
 *                          one block of 5000 bytes, the stack is cut
 *   unnamed_site (static)  no dynamic symbol: 321 bytes, frame by object
 *   peak_site              4 x 250 bytes, 3 freed: 250 live, 1,000 at peak
 *   churn                  64 blocks, all freed (not live: no line)
 * Live: 78,000 + 18 + 100 + 5,000 + 321 + 250 = 83,689 bytes in 18 blocks. */
#include <stdlib.h>

void *keep[32];
int nkeep;

#define FLAME(n) void flame_##n(void) { keep[nkeep++] = malloc(1000 * n); }
FLAME(1) FLAME(2) FLAME(3) FLAME(4) FLAME(5) FLAME(6)
FLAME(7) FLAME(8) FLAME(9) FLAME(10) FLAME(11) FLAME(12)

void two_sites(void)
{
	keep[nkeep++] = malloc(7);
	keep[nkeep++] = malloc(11);
}

void calloc_site(void)
{
	keep[nkeep++] = calloc(4, 25);
}

void deep_10(void) { keep[nkeep++] = malloc(5000); }
void deep_09(void) { deep_10(); }
void deep_08(void) { deep_09(); }
void deep_07(void) { deep_08(); }
void deep_06(void) { deep_07(); }
void deep_05(void) { deep_06(); }
void deep_04(void) { deep_05(); }
void deep_03(void) { deep_04(); }
void deep_02(void) { deep_03(); }
void deep_01(void) { deep_02(); }

static void unnamed_site(void)
{
	keep[nkeep++] = malloc(321);
}

void peak_site(void)
{
	void *p[4];

	for (int i = 0; i < 4; i++)
		p[i] = malloc(250);
	for (int i = 1; i < 4; i++)
		free(p[i]);
	keep[nkeep++] = p[0];
}

void churn(void)
{
	for (int i = 0; i < 64; i++)
		free(malloc(48));
}

int main(void)
{
	flame_1(); flame_2(); flame_3(); flame_4(); flame_5(); flame_6();
	flame_7(); flame_8(); flame_9(); flame_10(); flame_11(); flame_12();
	two_sites();
	calloc_site();
	deep_01();
	unnamed_site();
	peak_site();
	churn();
	return 0;
}
