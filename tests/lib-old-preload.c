// SPDX-License-Identifier: GPL-2.0-or-later
/* lib-old-preload: the caller's own LD_PRELOAD library (test_launcher.py):
 * its constructor says in which program it was loaded, so the test sees it
 * loaded into the launcher and into the program after libheaptrace.so. */
#include <stdio.h>
#include <string.h>
#include <unistd.h>
__attribute__((constructor)) static void hello(void)
{
	char exe[4096], line[4200];
	ssize_t n = readlink("/proc/self/exe", exe, sizeof(exe) - 1);

	exe[n > 0 ? n : 0] = '\0';
	write(1, line, snprintf(line, sizeof(line), "old preload in %s\n", strrchr(exe, '/') + 1));
}
