// SPDX-License-Identifier: GPL-2.0-or-later
/* s-oom: grows until memory runs out, after leaking 4242 bytes from
 * leak_here().
 *   s-oom MB   allocates blocks of MB MiB from grow() and writes to every
 *              page of each (resident), until malloc fails; then writes
 *              "failed after N" (N blocks allocated), waits for the end
 *              of stdin and exits 0.  Under a cgroup's limit the kernel
 *              kills it first.
 *   s-oom N k  the same with blocks of N KiB. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

void *keep;

__attribute__((noinline)) void leak_here(void)
{
	keep = malloc(4242);
}

__attribute__((noinline)) static void *grow(size_t size)
{
	void *p = malloc(size);

	__asm__ volatile("" ::: "memory"); /* not a tail call */
	return p;
}

int main(int argc, char **argv)
{
	size_t size = (size_t)atol(argc > 1 ? argv[1] : "8") << (argc > 2 ? 10 : 20);
	char buf[64];
	void *p;
	long n = 0;

	leak_here();
	while ((p = grow(size))) {
		memset(p, 1, size);
		n++;
	}
	snprintf(buf, sizeof(buf), "failed after %ld\n", n);
	if (write(STDOUT_FILENO, buf, strlen(buf)) < 0)
		return 90;
	while (read(STDIN_FILENO, buf, sizeof(buf)) > 0)
		;
	return 0;
}
