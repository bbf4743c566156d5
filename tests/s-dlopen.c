// SPDX-License-Identifier: GPL-2.0-or-later
/* s-dlopen: loads libplugin.so (next to this program) with dlopen, keeps it
 * loaded and calls its plugin_leak and plugin_calloc_leak (see
 * lib-plugin.c for what they keep).  The program's own leak: 64 bytes from
 * main_leak.  What the dynamic loader allocates for the plugin stays live
 * too.  Exits 1 if the plugin cannot be loaded or its calls fail. */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <libgen.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

static void *keep;

void main_leak(void)
{
	keep = malloc(64);
}

int call_plugin(void *handle, const char *name)
{
	int (*fn)(void) = (int (*)(void))dlsym(handle, name);

	return fn && fn();
}

int main(void)
{
	char exe[PATH_MAX], path[PATH_MAX + 32];
	ssize_t n = readlink("/proc/self/exe", exe, sizeof(exe) - 1);
	void *handle;

	if (n <= 0)
		return 1;
	exe[n] = '\0';
	snprintf(path, sizeof(path), "%s/libplugin.so", dirname(exe));
	handle = dlopen(path, RTLD_NOW | RTLD_LOCAL);
	if (!handle) {
		fprintf(stderr, "s-dlopen: %s\n", dlerror());
		return 1;
	}
	main_leak();
	if (!call_plugin(handle, "plugin_leak") || !call_plugin(handle, "plugin_calloc_leak"))
		return 1;
	return 0;
}
