// SPDX-License-Identifier: GPL-2.0-or-later
/* s-leak-seccomp: a program under a seccomp filter (one that allows
 * everything: a filter that did not could kill the process for the leak
 * scan's clone() or ptrace()).  The scan stops nothing then, and reads the
 * running thread's whole stack: the 77 bytes leaked in leak_one are still
 * leaked, the 33 kept in a global reachable
 * (test_leaks.py::test_scan_under_seccomp_stops_nothing). */
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <stdlib.h>
#include <sys/prctl.h>

#include "leak.h"

void *kept;

__attribute__((noinline)) void leak_one(void)
{
	char *volatile p = malloc(77);

	p[0] = 1;
	p = NULL;
}

int main(void)
{
	struct sock_filter allow = BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW);
	struct sock_fprog prog = { 1, &allow };

	if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) ||
	    prctl(PR_SET_SECCOMP, SECCOMP_MODE_FILTER, &prog))
		return 1;
	kept = malloc(33);
	leak_one();
	LEAK_WIPE();
	return 0;
}
