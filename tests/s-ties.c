// SPDX-License-Identifier: GPL-2.0-or-later
/* s-ties: five sites with identical statistics (one live block of 64 bytes
 * each, peak the same), first seen in the order tie_c, tie_a, tie_e, tie_b,
 * tie_d -- neither alphabetical nor the order of their addresses -- so only
 * the first-seen tie-break gives a predictable order. */
#include <stdlib.h>

void *keep[5];

void tie_a(void) { keep[0] = malloc(64); }
void tie_b(void) { keep[1] = malloc(64); }
void tie_c(void) { keep[2] = malloc(64); }
void tie_d(void) { keep[3] = malloc(64); }
void tie_e(void) { keep[4] = malloc(64); }

int main(void)
{
	tie_c();
	tie_a();
	tie_e();
	tie_b();
	tie_d();
	return 0;
}
