// SPDX-License-Identifier: GPL-2.0-or-later
/* lib-leaktls: a library s-leak-tls dlopen()s, with a __thread variable of
 * the general-dynamic model: glibc allocates its TLS block for each thread
 * at the thread's first access (__tls_get_addr), reached from the DTV. */
#include <stdlib.h>

__thread void *tls_lib;

__attribute__((noinline)) void lib_tls_keep(void)
{
	tls_lib = malloc(200);
}
