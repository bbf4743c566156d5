// SPDX-License-Identifier: GPL-2.0-or-later
/* sym-cxx: C++ names and an inlined helper, built with -g and without
 * -rdynamic.  "@name" comments mark the lines the report must give.
 *  - 80 bytes: operator new[] <- outer::inner::Pool<double>::grow <- main
 *  - 48 bytes: malloc <- make_node (always_inline, inlined) <- build_tree
 *              <- main
 *  - 33 bytes: operator new[] <- a lambda in main <- main
 *  - 77 bytes: malloc <- alloc_with<Pair<...>> (a name of over 1,000
 *              characters) <- main */
#include <cstdlib>

namespace outer {
namespace inner {
template <typename T> struct Pool {
	T *grow(std::size_t n)
	{
		return new T[n]; /* @pool_grow */
	}
};
} // namespace inner
} // namespace outer

static inline __attribute__((always_inline)) void *make_node(std::size_t n)
{
	return std::malloc(n); /* @make_node */
}

static volatile int counter;

static void *build_tree(std::size_t n)
{
	void *p = make_node(n); /* @build_tree */

	counter++;
	return p;
}

struct AVeryLongStructNameThatMakesTemplateNamesLongerThanTheyShouldBeAlpha {};
struct AVeryLongStructNameThatMakesTemplateNamesLongerThanTheyShouldBeOmega {};
template <class A, class B> struct Pair {};
using T1 = Pair<AVeryLongStructNameThatMakesTemplateNamesLongerThanTheyShouldBeAlpha,
		AVeryLongStructNameThatMakesTemplateNamesLongerThanTheyShouldBeOmega>;
using T2 = Pair<T1, T1>;
using T3 = Pair<T2, T2>;
using T4 = Pair<T3, T3>;

template <class T> void *alloc_with(T)
{
	return std::malloc(77); /* @alloc_with */
}

static void *keep[8];

int main()
{
	outer::inner::Pool<double> pool;
	auto lambda = [](std::size_t n) {
		return new char[n]; /* @lambda */
	};

	keep[0] = pool.grow(10); /* @main_pool */
	keep[1] = build_tree(48); /* @main_tree */
	keep[2] = lambda(33); /* @main_lambda */
	keep[3] = alloc_with(T4{}); /* @main_long */
	return 0;
}
