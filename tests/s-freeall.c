// SPDX-License-Identifier: GPL-2.0-or-later
/* s-freeall: allocates through malloc, calloc, realloc (grow, shrink and
 * move), posix_memalign, aligned_alloc and strdup, and frees every block:
 * the last one in an atexit() handler, after main has returned.  Nothing is
 * live at exit.  Writes nothing. */
#include <stdlib.h>
#include <string.h>

static void *until_exit;

static void free_at_exit(void)
{
	free(until_exit);
}

void churn_all(void)
{
	char *a = malloc(100), *b = calloc(10, 30), *c = strdup("heaptrace");
	void *d = NULL, *e = aligned_alloc(64, 640);

	a = realloc(a, 5000);
	a = realloc(a, 10);
	b = realloc(b, 200000);
	if (posix_memalign(&d, 4096, 300))
		d = NULL;
	free(a);
	free(b);
	free(c);
	free(d);
	free(e);
}

int main(void)
{
	churn_all();
	churn_all();
	until_exit = malloc(12345);
	atexit(free_at_exit);
	return 0;
}
