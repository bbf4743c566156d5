// SPDX-License-Identifier: GPL-2.0-or-later
/* s-early: linked with tests/bin/libctor.so, whose constructor allocates
 * before heaptrace's constructor runs (see lib-ctor.c for what it keeps).
 * The program allocates nothing itself; it prints whether heaptrace's
 * HEAPTRACE_ROOT_PID was set when the constructor ran and is set now, and
 * exits 1 unless every early allocation worked. */
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

int ctor_status(void);
int ctor_saw_heaptrace(void);

int main(void)
{
	char line[64];
	int len = snprintf(line, sizeof(line), "before=%d after=%d\n", ctor_saw_heaptrace(),
			   getenv("HEAPTRACE_ROOT_PID") != NULL);

	/* write(2), not stdio: a stream buffer would be an allocation */
	if (write(STDOUT_FILENO, line, (size_t)len) != len)
		return 1;
	return ctor_status() == 1 ? 0 : 1;
}
