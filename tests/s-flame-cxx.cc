// SPDX-License-Identifier: GPL-2.0-or-later
/* s-flame-cxx: C++ frames whose demangled names hold spaces, '<', '>',
 * '(', ')', ',' and '::' -- a template function and a member of a class in
 * a namespace -- each leaking through operator new[], whose own frame name
 * ("operator new[](unsigned long)") has a space too.  Live:
 *   void make_leak<int, 3>()      new int[30]     120 bytes
 *   space::Holder::grab(int)      new char[456]   456 bytes */
#include <cstddef>

static void *keep[2];

template <typename T, int N> void make_leak()
{
	keep[0] = new T[10 * N];
}

namespace space {
struct Holder {
	void grab(int n);
};
void Holder::grab(int n)
{
	keep[1] = new char[n];
}
}

int main()
{
	space::Holder h;

	make_leak<int, 3>();
	h.grab(456);
	return 0;
}
