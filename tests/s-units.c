// SPDX-License-Identifier: GPL-2.0-or-later
/* s-units: one live block per size-format boundary, each from its own
 * function, to check the report's units: 999, 1000, 1001, 1,000,000,
 * 1,234,567 (truncated, not rounded), 4,034,000 bytes and, if the allocator
 * grants it (overcommit: the pages are never touched), 1,500,000,000 bytes.
 * peak_five allocates 5 x 200 bytes and frees 2 of them (count/peak 3/5,
 * size/peak 600/1000).  Prints "gb=1" or "gb=0" on stdout with write(2). */
#include <stdlib.h>
#include <unistd.h>

void *keep[16];

void leak_999(void) { keep[0] = malloc(999); }
void leak_1000(void) { keep[1] = malloc(1000); }
void leak_1001(void) { keep[2] = malloc(1001); }
void leak_1m(void) { keep[3] = malloc(1000000); }
void leak_1234567(void) { keep[4] = malloc(1234567); }
void leak_4034000(void) { keep[5] = malloc(4034000); }
int leak_1_5g(void) { keep[6] = malloc(1500000000); return keep[6] != NULL; }

void peak_five(void)
{
	void *p[5];

	for (int i = 0; i < 5; i++)
		p[i] = malloc(200);
	free(p[1]);
	free(p[3]);
	keep[7] = p[0];
	keep[8] = p[2];
	keep[9] = p[4];
}

int main(void)
{
	int gb;

	leak_999();
	leak_1000();
	leak_1001();
	leak_1m();
	leak_1234567();
	leak_4034000();
	gb = leak_1_5g();
	peak_five();
	if (write(1, gb ? "gb=1\n" : "gb=0\n", 5) != 5)
		return 1;
	return 0;
}
