// SPDX-License-Identifier: GPL-2.0-or-later
/* s-sort: four sites whose live bytes, live counts, peaks and first-seen
 * times all rank differently, called in this order (oldest first):
 *   oldest      3 x 4 bytes       =     12 live, count   3, peak     12
 *   many_small  100 x 10 bytes    =  1,000 live, count 100, peak  1,000
 *   peak_high   20 x 15,000, 18 freed: 30,000 live, count 2, peak 300,000
 *   big_few     1 x 50,000        = 50,000 live, count   1, peak 50,000
 * A millisecond passes between sites so that their first-seen times differ. */
#include <stdlib.h>
#include <time.h>

void *keep[200];
int nkeep;

static void tick(void)
{
	struct timespec ms = { 0, 1000000 };

	nanosleep(&ms, NULL);
}

void oldest(void)
{
	for (int i = 0; i < 3; i++)
		keep[nkeep++] = malloc(4);
}

void many_small(void)
{
	for (int i = 0; i < 100; i++)
		keep[nkeep++] = malloc(10);
}

void peak_high(void)
{
	void *p[20];

	for (int i = 0; i < 20; i++)
		p[i] = malloc(15000);
	for (int i = 2; i < 20; i++)
		free(p[i]);
	keep[nkeep++] = p[0];
	keep[nkeep++] = p[1];
}

void big_few(void)
{
	keep[nkeep++] = malloc(50000);
}

int main(void)
{
	oldest();
	tick();
	many_small();
	tick();
	peak_high();
	tick();
	big_few();
	return 0;
}
