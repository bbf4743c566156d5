// SPDX-License-Identifier: GPL-2.0-or-later
/* s-new-fail: operator new that cannot succeed.  A new-handler is installed
 * that counts its calls, releases a reserve block (allocated by
 * make_reserve) and uninstalls itself, so the throwing new calls it exactly
 * once and then throws std::bad_alloc; later throwing forms (array,
 * aligned, aligned array) throw at once, the nothrow forms return NULL.
 * After all that, tracing must still work: live at exit are 555 bytes from
 * after_catch_new (operator new) and 444 bytes from after_catch_malloc
 * (malloc); the reserve is gone and nothing failed is recorded.
 * Prints "handler=1 caught=4" and exits 0 when everything went as expected,
 * 1 otherwise. */
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <new>
#include <unistd.h>

static const std::size_t huge = PTRDIFF_MAX; /* more than malloc can give */
static const std::align_val_t al64 = std::align_val_t(64);
static void *reserve;
static void *keep[2];
static int handler_calls, caught, bad;

static void release_reserve(void)
{
	handler_calls++;
	::operator delete(reserve);
	reserve = nullptr;
	std::set_new_handler(nullptr); /* next time: throw */
}

void make_reserve(void)
{
	reserve = ::operator new(4096);
}

template <typename F> static void expect_bad_alloc(const char *what, F f)
{
	try {
		void *p = f();

		std::fprintf(stderr, "s-new-fail: %s returned %p\n", what, p);
		bad = 1;
	} catch (const std::bad_alloc &) {
		caught++;
	}
}

void huge_new(void)
{
	volatile std::size_t n = huge;

	expect_bad_alloc("operator new", [&] { return ::operator new(n); });
}

void huge_new_arr(void)
{
	volatile std::size_t n = huge;

	expect_bad_alloc("operator new[]", [&] { return ::operator new[](n); });
}

void huge_new_al(void)
{
	volatile std::size_t n = huge;

	expect_bad_alloc("operator new(al64)", [&] { return ::operator new(n, al64); });
}

void huge_new_arr_al(void)
{
	volatile std::size_t n = huge;

	expect_bad_alloc("operator new[](al64)", [&] { return ::operator new[](n, al64); });
}

void huge_new_nothrow(void)
{
	volatile std::size_t n = huge;

	if (::operator new(n, std::nothrow) || ::operator new[](n, std::nothrow) ||
	    ::operator new(n, al64, std::nothrow) || ::operator new[](n, al64, std::nothrow)) {
		std::fprintf(stderr, "s-new-fail: a nothrow new did not return NULL\n");
		bad = 1;
	}
}

void after_catch_new(void)
{
	keep[0] = ::operator new(555);
}

void after_catch_malloc(void)
{
	keep[1] = std::malloc(444);
}

int main(void)
{
	make_reserve();
	std::set_new_handler(release_reserve);
	huge_new();
	if (handler_calls != 1 || reserve) {
		std::fprintf(stderr, "s-new-fail: the handler ran %d times\n", handler_calls);
		bad = 1;
	}
	huge_new_arr();
	huge_new_al();
	huge_new_arr_al();
	huge_new_nothrow();
	after_catch_new();
	after_catch_malloc();
	/* no stdio stream (nor dprintf): its buffer would be one more allocation */
	char line[64];
	int len = std::snprintf(line, sizeof(line), "handler=%d caught=%d\n", handler_calls, caught);

	if (write(STDOUT_FILENO, line, (std::size_t)len) != len)
		bad = 1;
	return bad || handler_calls != 1 || caught != 4;
}
