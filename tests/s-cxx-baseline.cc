// SPDX-License-Identifier: GPL-2.0-or-later
/* s-cxx-baseline: a C++ program that makes one allocation of its own,
 * leak_one's 321 bytes from operator new, which is all that is live at
 * exit.  What the C++ runtime allocates by itself (libstdc++'s emergency
 * exception pool) is released at exit; the tests read its share of
 * "allocations since start" here and add it to the other C++ programs'. */
#include <new>

static void *keep;

void leak_one(void)
{
	keep = ::operator new(321);
}

int main(void)
{
	leak_one();
	return 0;
}
