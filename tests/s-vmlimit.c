// SPDX-License-Identifier: GPL-2.0-or-later
/* s-vmlimit [KIB]: a program that needs nearly all the address space
 * `ulimit -v` allows it.  keep_big allocates 8 MiB (8,388,608 bytes),
 * writes to every page and keeps it; on failure the program writes "no
 * memory" and exits with status 1.  With KIB, it then maps all the address
 * space left but KIB KiB (PROT_NONE: no memory) and keeps it.  It writes
 * "ready" on stdout, waits until stdin ends and exits with status 0: live
 * at exit, keep_big's block. */
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#define BIG (8u << 20)

static void *big;
static struct {
	char *p;
	size_t len;
} held[64];
static int nheld;

void keep_big(void)
{
	big = malloc(BIG);
	if (big)
		memset(big, 1, BIG);
}

/* Map all the address space there is, biggest pieces first; then unmap
 * kib KiB of it, from the smallest pieces up. */
static void take_all_but(size_t kib)
{
	size_t want = kib * 1024;

	for (size_t len = (size_t)1 << 40; len >= 4096 && nheld < 64;) {
		void *p =
		    mmap(NULL, len, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);

		if (p == MAP_FAILED) {
			len /= 2;
			continue;
		}
		held[nheld].p = p;
		held[nheld++].len = len;
	}
	while (want && nheld) {
		size_t cut = held[nheld - 1].len < want ? held[nheld - 1].len : want;

		held[nheld - 1].len -= cut;
		munmap(held[nheld - 1].p + held[nheld - 1].len, cut);
		want -= cut;
		if (!held[nheld - 1].len)
			nheld--;
	}
}

int main(int argc, char **argv)
{
	char c;

	keep_big();
	if (!big) {
		(void)!write(1, "no memory\n", 10);
		return 1;
	}
	if (argc > 1)
		take_all_but(strtoul(argv[1], NULL, 10));
	(void)!write(1, "ready\n", 6);
	while (read(0, &c, 1) > 0)
		;
	return 0;
}
