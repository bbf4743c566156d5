// SPDX-License-Identifier: GPL-2.0-or-later
/* s-new-delete: every form of operator new and operator delete.  Each
 * free_* function allocates and releases with one form of delete (plain,
 * array, sized, nothrow, aligned, aligned sized, aligned nothrow, and their
 * array forms); each leak_* function leaks one block from one form of new.
 * Live at exit, one block each: leak_new 1000 bytes (new S1000),
 * leak_new_arr 1100 (new char[1100]), leak_new_nt 1200 (nothrow new),
 * leak_new_arr_nt 1300, leak_new_al 1408 (alignas(64) type),
 * leak_new_al_explicit 1472 (operator new(n, align_val_t(64))),
 * leak_new_arr_al 1536 (A64[24]), leak_new_al_nt 1600, leak_new_arr_al_nt
 * 1728 (nothrow A64[27]) and leak_new_arr_cookie 128 (three 40-byte
 * objects with a destructor and the 8-byte array cookie).
 * Exits 1 if a result is NULL or misaligned. */
#include <cstdint>
#include <cstdio>
#include <new>

struct S40 {
	char b[40];
};
struct S1000 {
	char b[1000];
};
struct S1200 {
	char b[1200];
};
struct D40 { /* a destructor: new[] stores the count in a cookie */
	char b[40];
	~D40() { b[0] = 0; }
};
struct alignas(64) A64 {
	char b[64];
};
struct alignas(64) A1408 {
	char b[1408];
};
struct alignas(64) AD128 { /* aligned, with a destructor: sized aligned delete[] */
	char b[128];
	~AD128() { b[0] = 0; }
};

static const std::align_val_t al64 = std::align_val_t(64);
static void *keep[10];
static int bad;

static void *check(const char *what, void *p, std::uintptr_t align)
{
	if (!p || reinterpret_cast<std::uintptr_t>(p) % align) {
		std::fprintf(stderr, "s-new-delete: %s gave %p\n", what, p);
		bad = 1;
	}
	return p;
}

/* ------------------------------------------------------------ freed */

void free_plain_sized(void) /* operator delete(void*, size_t) */
{
	delete static_cast<S40 *>(check("new S40", new S40, 1));
}

void free_plain_unsized(void) /* operator delete(void*) */
{
	::operator delete(check("operator new(41)", ::operator new(41), 1));
}

void free_arr_unsized(void) /* operator delete[](void*) */
{
	delete[] static_cast<char *>(check("new char[42]", new char[42], 1));
}

void free_arr_sized(void) /* operator delete[](void*, size_t) */
{
	delete[] static_cast<D40 *>(check("new D40[2]", new D40[2], 1));
}

void free_nothrow(void) /* operator delete(void*, nothrow_t const&) */
{
	::operator delete(check("operator new(43, nothrow)", ::operator new(43, std::nothrow), 1),
			  std::nothrow);
}

void free_arr_nothrow(void) /* operator delete[](void*, nothrow_t const&) */
{
	::operator delete[](
		check("operator new[](44, nothrow)", ::operator new[](44, std::nothrow), 1),
		std::nothrow);
}

void free_nothrow_new_plain_delete(void) /* nothrow new, ordinary delete */
{
	delete static_cast<S40 *>(check("new (nothrow) S40", new (std::nothrow) S40, 1));
}

void free_aligned(void) /* operator delete(void*, align_val_t) */
{
	::operator delete(check("operator new(45, al64)", ::operator new(45, al64), 64), al64);
}

void free_arr_aligned(void) /* operator delete[](void*, align_val_t) */
{
	delete[] static_cast<A64 *>(check("new A64[2]", new A64[2], 64));
}

void free_aligned_sized(void) /* operator delete(void*, size_t, align_val_t) */
{
	delete static_cast<A64 *>(check("new A64", new A64, 64));
}

void free_arr_aligned_sized(void) /* operator delete[](void*, size_t, align_val_t) */
{
	delete[] static_cast<AD128 *>(check("new AD128[2]", new AD128[2], 64));
}

void free_aligned_nothrow(void) /* operator delete(void*, align_val_t, nothrow_t const&) */
{
	::operator delete(check("operator new(46, al64, nothrow)",
				::operator new(46, al64, std::nothrow), 64),
			  al64, std::nothrow);
}

void free_arr_aligned_nothrow(void) /* operator delete[](void*, align_val_t, nothrow_t const&) */
{
	::operator delete[](check("operator new[](47, al64, nothrow)",
				  ::operator new[](47, al64, std::nothrow), 64),
			    al64, std::nothrow);
}

void free_explicit_sized(void) /* the sized forms called by name */
{
	::operator delete(::operator new(48), 48);
	::operator delete[](::operator new[](49), 49);
	::operator delete(::operator new(50, al64), 50, al64);
	::operator delete[](::operator new[](51, al64), 51, al64);
}

/* ------------------------------------------------------------ leaked */

void leak_new(void)
{
	keep[0] = check("new S1000", new S1000, 1);
}

void leak_new_arr(void)
{
	keep[1] = check("new char[1100]", new char[1100], 1);
}

void leak_new_nt(void)
{
	keep[2] = check("new (nothrow) S1200", new (std::nothrow) S1200, 1);
}

void leak_new_arr_nt(void)
{
	keep[3] = check("new (nothrow) char[1300]", new (std::nothrow) char[1300], 1);
}

void leak_new_al(void)
{
	keep[4] = check("new A1408", new A1408, 64);
}

void leak_new_al_explicit(void)
{
	keep[5] = check("operator new(1472, al64)", ::operator new(1472, al64), 64);
}

void leak_new_arr_al(void)
{
	keep[6] = check("new A64[24]", new A64[24], 64);
}

void leak_new_al_nt(void)
{
	keep[7] = check("operator new(1600, al64, nothrow)",
			::operator new(1600, al64, std::nothrow), 64);
}

void leak_new_arr_al_nt(void)
{
	keep[8] = check("new (nothrow) A64[27]", new (std::nothrow) A64[27], 64);
}

void leak_new_arr_cookie(void)
{
	keep[9] = check("new D40[3]", new D40[3], 1);
}

int main(void)
{
	free_plain_sized();
	free_plain_unsized();
	free_arr_unsized();
	free_arr_sized();
	free_nothrow();
	free_arr_nothrow();
	free_nothrow_new_plain_delete();
	free_aligned();
	free_arr_aligned();
	free_aligned_sized();
	free_arr_aligned_sized();
	free_aligned_nothrow();
	free_arr_aligned_nothrow();
	free_explicit_sized();

	leak_new();
	leak_new_arr();
	leak_new_nt();
	leak_new_arr_nt();
	leak_new_al();
	leak_new_al_explicit();
	leak_new_arr_al();
	leak_new_al_nt();
	leak_new_arr_al_nt();
	leak_new_arr_cookie();
	return bad;
}
