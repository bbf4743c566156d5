// SPDX-License-Identifier: GPL-2.0-or-later
/* sym-static: frames that only a full symbol table and debug information
 * can name.  Built without -rdynamic, so no function of the program is
 * exported: static_leaf/static_mid/static_outer are static, main is not
 * in the dynamic symbols either.  Each "@name" comment marks the line the
 * report must give for that frame (the tests read them from this file).
 *  - 111 bytes: malloc <- static_leaf <- static_mid <- static_outer <- main
 *  - 222 bytes: malloc <- shared_static <- shared_alloc (libsym-shared.so)
 *               <- shared_path <- main
 *  - 333 bytes, with PLUGIN: malloc <- plugin_static <- plugin_alloc
 *               (PLUGIN, dlopen'ed) <- plugin <- main
 * Usage: sym-static [PLUGIN [close | replace FILE]]: "close" dlcloses the
 * plugin before exit, "replace" renames FILE over the plugin's file.
 * sym-static wait: prints "ready" and waits for stdin to close. */
#include <dlfcn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void *shared_alloc(size_t n);

static void *keep[8];
static volatile int counter;

static void *static_leaf(size_t n)
{
	return malloc(n); /* @static_leaf */
}

static void static_mid(void)
{
	keep[0] = static_leaf(111); /* @static_mid */
	counter++;
}

static void static_outer(void)
{
	static_mid(); /* @static_outer */
	counter++;
}

void shared_path(void)
{
	keep[1] = shared_alloc(222); /* @shared_path */
	counter++;
}

static int plugin(int argc, char **argv)
{
	void *(*fn)(size_t);
	void *h = dlopen(argv[1], RTLD_NOW);

	if (!h || !(fn = (void *(*)(size_t))dlsym(h, "plugin_alloc"))) {
		fprintf(stderr, "sym-static: %s\n", dlerror());
		return 1;
	}
	keep[2] = fn(333); /* @plugin_call */
	if (argc > 2 && !strcmp(argv[2], "close"))
		dlclose(h);
	if (argc > 3 && !strcmp(argv[2], "replace") && rename(argv[3], argv[1]))
		return 1;
	return 0;
}

int main(int argc, char **argv)
{
	static_outer(); /* @main_static */
	counter++;
	shared_path(); /* @main_shared */
	counter++;
	if (argc > 1 && !strcmp(argv[1], "wait")) {
		printf("ready\n");
		fflush(stdout);
		while (getchar() != EOF)
			;
		return 0;
	}
	if (argc > 1)
		return plugin(argc, argv);
	return 0;
}
