// SPDX-License-Identifier: GPL-2.0-or-later
/* s-dlreuse: loads libframe24.so, allocates 100 bytes through its
 * plugin_alloc, unloads it, loads libframe120.so (the same code with a
 * larger frame, see lib-frame.c) and allocates 200 bytes through its
 * plugin_alloc.  Both blocks stay live.  Prints "same address" when the
 * second plugin_alloc got the first one's address (the case under test),
 * "other address" otherwise; exits 1 if a plugin cannot be loaded. */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <libgen.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

static void *keep[2];

void *call_plugin(void *(*fn)(size_t), size_t size)
{
	return fn(size);
}

static void *(*load(const char *dir, const char *name, void **handle))(size_t)
{
	char path[PATH_MAX];

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	*handle = dlopen(path, RTLD_NOW | RTLD_LOCAL);
	return *handle ? (void *(*)(size_t))dlsym(*handle, "plugin_alloc") : NULL;
}

int main(void)
{
	char exe[PATH_MAX];
	ssize_t n = readlink("/proc/self/exe", exe, sizeof(exe) - 1);
	void *h, *(*first)(size_t), *(*second)(size_t);

	if (n <= 0)
		return 1;
	exe[n] = '\0';
	first = load(dirname(exe), "libframe24.so", &h);
	if (!first)
		return 1;
	keep[0] = call_plugin(first, 100);
	dlclose(h);
	second = load(exe, "libframe120.so", &h);
	if (!second)
		return 1;
	keep[1] = call_plugin(second, 200);
	puts(first == second ? "same address" : "other address");
	return 0;
}
