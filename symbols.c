// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * symbols.c - names for return addresses: the object and symbol from the
 * dynamic loader (dladdr1), C++ names demangled by libbfd.  libbfd is opened
 * with dlopen(RTLD_LOCAL), so its symbols never mix with the program's, and
 * at start-up: the exit report runs after the loader's destructor pass, and
 * a dlopen() then would run the constructors of every object in the new
 * object's scope a second time.  Apart from sym_init(), report path only:
 * this file may allocate (the caller is busy, so that memory is the
 * tracer's and goes untraced).
 */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <link.h>
#include <string.h>
#include <unistd.h>

#include "symbols.h"

#ifndef HT_LIBBFD
#define HT_LIBBFD "libbfd.so"
#endif

/* from libiberty's demangle.h, which binutils-dev does not ship */
#define DMGL_PARAMS (1 << 0)
#define DMGL_ANSI (1 << 1)

static char *(*bfd_demangle_fn)(void *abfd, const char *name, int options);
static void (*free_fn)(void *);

/* Code ranges whose allocations belong to the runtime (see symbols.h). */
static const char *const runtime_funcs[] = { "_dl_allocate_tls" };
static struct {
	uintptr_t lo, hi;
} runtime[sizeof(runtime_funcs) / sizeof(runtime_funcs[0])];

static void find_runtime_ranges(void)
{
	for (size_t i = 0; i < sizeof(runtime_funcs) / sizeof(runtime_funcs[0]); i++) {
		void *p = dlsym(RTLD_DEFAULT, runtime_funcs[i]);
		const ElfW(Sym) *sym = NULL;
		Dl_info info;

		if (p && dladdr1(p, &info, (void **)&sym, RTLD_DL_SYMENT) && sym) {
			runtime[i].lo = (uintptr_t)p;
			runtime[i].hi = (uintptr_t)p + sym->st_size;
		}
	}
}

bool sym_in_runtime(const void *addr)
{
	for (size_t i = 0; i < sizeof(runtime) / sizeof(runtime[0]); i++)
		if ((uintptr_t)addr > runtime[i].lo && (uintptr_t)addr <= runtime[i].hi)
			return true;
	return false;
}

void sym_init(void)
{
	void *h;

	find_runtime_ranges();
	h = dlopen(HT_LIBBFD, RTLD_NOW | RTLD_LOCAL);

	if (!h)
		h = dlopen("libbfd.so", RTLD_NOW | RTLD_LOCAL);
	if (!h)
		return;
	bfd_demangle_fn = (char *(*)(void *, const char *, int))dlsym(h, "bfd_demangle");
	free_fn = (void (*)(void *))dlsym(RTLD_DEFAULT, "free");
}

/* Copy src into dst[cap]; a name that does not fit ends in "..." */
static void copy_name(char *dst, size_t cap, const char *src)
{
	size_t len = strlen(src);

	if (len < cap) {
		memcpy(dst, src, len + 1);
		return;
	}
	memcpy(dst, src, cap - 4);
	memcpy(dst + cap - 4, "...", 4);
}

static void demangle(const char *name, char *dst, size_t cap)
{
	char *d = NULL;

	if (name[0] == '_' && name[1] == 'Z' && bfd_demangle_fn)
		d = bfd_demangle_fn(NULL, name, DMGL_PARAMS | DMGL_ANSI);
	copy_name(dst, cap, d ? d : name);
	if (d && free_fn)
		free_fn(d);
}

static void exe_path(char *dst, size_t cap)
{
	ssize_t n = readlink("/proc/self/exe", dst, cap - 1);

	dst[n > 0 ? n : 0] = '\0';
}

void sym_resolve(void *addr, struct sym *out)
{
	struct link_map *map = NULL;
	Dl_info info;

	memset(out, 0, sizeof(*out));
	if (!dladdr1(addr, &info, (void **)&map, RTLD_DL_LINKMAP) || !map)
		return;
	out->obj_off = (uintptr_t)addr - map->l_addr;
	if (map->l_name && map->l_name[0])
		copy_name(out->obj, sizeof(out->obj), map->l_name);
	else
		exe_path(out->obj, sizeof(out->obj));
	if (info.dli_sname && info.dli_saddr) {
		demangle(info.dli_sname, out->func, sizeof(out->func));
		out->func_off = (uintptr_t)addr - (uintptr_t)info.dli_saddr;
	}
}
