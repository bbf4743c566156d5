// SPDX-License-Identifier: GPL-2.0-or-later
/* s-stdout: writes binary data on stdout, a lot of it, while allocating:
 * all 256 byte values (NUL, CR, LF, invalid UTF-8), then ROUNDS chunks of
 * a xorshift stream of 1..65536 bytes each, alternating fwrite (through
 * the stdio buffer) with write(2) after an fflush, with a malloc'd and
 * freed (or kept) block around each chunk; stdout's tail is left in the
 * stdio buffer for exit() to flush.  Leaks a few blocks, so a traced run
 * writes an exit report.  s-stdout [ROUNDS] (default 400, about 13 MB).
 * Exits 0. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

void *keep[16];

static uint64_t state = 0x9e3779b97f4a7c15ULL;

static uint64_t next(void)
{
	state ^= state << 13;
	state ^= state >> 7;
	state ^= state << 17;
	return state;
}

int main(int argc, char **argv)
{
	int rounds = argc > 1 ? atoi(argv[1]) : 400;
	unsigned char all[256];

	for (int i = 0; i < 256; i++)
		all[i] = (unsigned char)i;
	if (fwrite(all, 1, sizeof(all), stdout) != sizeof(all))
		return 1;
	for (int r = 0; r < rounds; r++) {
		size_t len = (size_t)(next() % 65536) + 1;
		unsigned char *buf = malloc(len);

		if (!buf)
			return 1;
		for (size_t i = 0; i < len; i++)
			buf[i] = (unsigned char)(next() >> 56);
		if (r % 2) {
			if (fwrite(buf, 1, len, stdout) != len)
				return 1;
		} else {
			if (fflush(stdout) || write(STDOUT_FILENO, buf, len) != (ssize_t)len)
				return 1;
		}
		if (r % 50 == 7)
			keep[r / 50] = buf;
		else
			free(buf);
	}
	fwrite(all, 1, 100, stdout); /* stays in the buffer until exit() */
	return 0;
}
