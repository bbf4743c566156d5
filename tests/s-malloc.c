// SPDX-License-Identifier: GPL-2.0-or-later
/* s-malloc: malloc'ed blocks of known sizes from known functions; some kept,
 * some freed.  Live at exit: 3 x 100 bytes from leak_three, 5000 bytes from
 * leak_big; 10 x 64 bytes from churn were freed. */
#include <stdlib.h>

void *keep[4];

void leak_three(void)
{
	for (int i = 0; i < 3; i++)
		keep[i] = malloc(100);
}

void leak_big(void)
{
	keep[3] = malloc(5000);
}

void churn(void)
{
	for (int i = 0; i < 10; i++)
		free(malloc(64));
}

int main(void)
{
	leak_three();
	leak_big();
	churn();
	return 0;
}
