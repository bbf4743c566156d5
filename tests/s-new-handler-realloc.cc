// SPDX-License-Identifier: GPL-2.0-or-later
/* s-new-handler-realloc: a new-handler that makes room by moving a block
 * with realloc.  make_reserve mallocs 4000 bytes (a fence after it keeps
 * realloc from growing it in place); the handler, called once from inside
 * a throwing operator new, reallocs the reserve to 1 MB (a new address)
 * and uninstalls itself; after std::bad_alloc, main frees the moved block.
 * Live at exit: 16 bytes from keep_fence and 5000 bytes from leak_after;
 * nothing from make_reserve, whose block was moved and then freed.  Exits
 * 1 if the handler did not run once or realloc did not move the block. */
#include <cstdint>
#include <cstdlib>
#include <new>

static void *reserve, *moved, *fence, *after;
static int handler_calls, moved_away;

static void move_reserve(void)
{
	handler_calls++;
	moved = std::realloc(reserve, 1000000);
	moved_away = moved && moved != reserve;
	reserve = nullptr;
	std::set_new_handler(nullptr);
}

void make_reserve(void)
{
	reserve = std::malloc(4000);
}

void keep_fence(void)
{
	fence = std::malloc(16);
}

void leak_after(void)
{
	after = std::malloc(5000); /* too big to reuse the reserve's address */
}

int main(void)
{
	volatile std::size_t huge = PTRDIFF_MAX;

	make_reserve();
	keep_fence();
	std::set_new_handler(move_reserve);
	try {
		void *p = ::operator new(huge);

		return p == nullptr; /* cannot happen */
	} catch (const std::bad_alloc &) {
	}
	std::free(moved);
	leak_after();
	return handler_calls == 1 && moved_away ? 0 : 1;
}
