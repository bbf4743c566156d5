// SPDX-License-Identifier: GPL-2.0-or-later
/* s-mainerrno: errno as the program finds it where no call of its own set
 * it: in its constructor (which runs after every preloaded library's), at
 * the start of main, and after every exit handler (heaptrace's exit report
 * included), when exit() flushes a stdio stream of the program's whose
 * write function reads errno; main sets errno to 4242 last thing, leaks a
 * block (so a traced run writes its report) and returns 0. */
#define _GNU_SOURCE
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

static int ctor_errno = -1;
void *keep;

__attribute__((constructor)) static void program_ctor(void)
{
	ctor_errno = errno;
}

static void say_errno(const char *where, int e)
{
	char line[128];
	int n = snprintf(line, sizeof(line), "errno %s: %d\n", where, e);

	if (write(STDOUT_FILENO, line, (size_t)n) != n)
		_exit(90);
}

static ssize_t late_write(void *cookie, const char *buf, size_t size)
{
	int e = errno;

	(void)cookie;
	(void)buf;
	say_errno("after exit handlers", e);
	errno = e;
	return (ssize_t)size;
}

int main(void)
{
	int main_errno = errno;
	cookie_io_functions_t io = { .write = late_write };
	FILE *f;

	say_errno("in the program's constructor", ctor_errno);
	say_errno("at the start of main", main_errno);
	keep = malloc(100);
	f = fopencookie(NULL, "w", io);
	if (!f)
		return 1;
	setvbuf(f, NULL, _IOFBF, 64);
	fputs("late", f);
	errno = 4242;
	return 0;
}
